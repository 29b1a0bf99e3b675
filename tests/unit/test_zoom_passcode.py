"""Zoom passcodes: every policy rule, their interactions, parsing Zoom's settings, generation."""

from __future__ import annotations

import random
import string
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hybridcal.connectors.meetings.zoom_passcode import (
    ALPHABET,
    DEFAULT_POLICY,
    MAX_LENGTH,
    PasscodePolicy,
    generate_passcode,
    violations,
)

STRICT = PasscodePolicy(
    length=10,
    have_letter=True,
    have_number=True,
    have_special_character=True,
    have_upper_and_lower_characters=True,
    consecutive_characters_length=2,
    weak_enhance_detection=True,
)


def broken(passcode: str, **rules: Any) -> list[str]:
    return violations(passcode, PasscodePolicy(**rules))


# --- the constants -------------------------------------------------------------------------------


def test_alphabet_is_zooms() -> None:
    assert MAX_LENGTH == 10
    assert set(ALPHABET) == set(string.ascii_letters + string.digits + "@-_*")


def test_default_policy_is_never_weaker_than_zooms_default_and_fits_zoom() -> None:
    assert PasscodePolicy().length <= DEFAULT_POLICY.length <= MAX_LENGTH
    assert DEFAULT_POLICY.have_letter
    assert DEFAULT_POLICY.have_number
    assert not DEFAULT_POLICY.only_allow_numeric


# --- violations ----------------------------------------------------------------------------------


def test_a_valid_passcode_breaks_nothing() -> None:
    assert violations("Xk3-b9QzR5", STRICT) == []
    assert broken("") == ["shorter than 6 characters"]


@pytest.mark.parametrize(
    ("passcode", "rules", "rule"),
    [
        ("k3b9Qz", {"length": 8}, "shorter than 8 characters"),
        ("k3b9Qzk3b9Q", {}, "longer than 10 characters"),
        ("k3b9Qz!", {}, "characters other than letters, digits and @ - _ *"),
        ("k3b9Qz é", {}, "characters other than letters, digits and @ - _ *"),
        ("38294a", {"only_allow_numeric": True}, "only digits allowed"),
        ("382941", {"have_letter": True}, "needs a letter"),
        ("kxbmQz", {"have_number": True}, "needs a digit"),
        ("k3b9Qz", {"have_special_character": True}, "needs a special character (@ - _ *)"),
        (
            "k3b9qz",
            {"have_upper_and_lower_characters": True},
            "needs upper- and lower-case letters",
        ),
        (
            "K3B9QZ",
            {"have_upper_and_lower_characters": True},
            "needs upper- and lower-case letters",
        ),
        (
            "382941",
            {"have_upper_and_lower_characters": True},
            "needs upper- and lower-case letters",
        ),
    ],
)
def test_each_rule_is_reported_by_name(passcode: str, rules: dict[str, Any], rule: str) -> None:
    assert broken(passcode, **rules) == [rule]


@pytest.mark.parametrize("special", list("@-_*"))
def test_each_zoom_special_counts(special: str) -> None:
    assert broken(f"k3b9Q{special}", have_special_character=True) == []


def test_several_broken_rules_are_all_reported() -> None:
    assert broken("abc", length=6, have_number=True, have_special_character=True) == [
        "shorter than 6 characters",
        "needs a digit",
        "needs a special character (@ - _ *)",
    ]


@pytest.mark.parametrize(
    "passcode",
    ["xaaaaz", "x1234z", "xdcbaz", "x9876z", "xAbCdz", "xaAaAz", "x----z", "x****z", "xzyxwz"],
)
def test_runs_of_the_limit_are_rejected(passcode: str) -> None:
    assert broken(passcode, consecutive_characters_length=4) == [
        "4 or more identical or consecutive characters in a row"
    ]


@pytest.mark.parametrize(
    "passcode",
    ["xaaa1z", "x123az", "x12321", "xab-cd", "x@ABCz", "x9a0bz", "k3b9Qz", "a1b2c3"],
)
def test_shorter_runs_and_runs_across_character_kinds_pass(passcode: str) -> None:
    assert broken(passcode, consecutive_characters_length=4) == []


def test_no_consecutive_rule_allows_any_run() -> None:
    assert broken("aaaaaa") == []
    assert broken("123456") == []


def test_a_limit_of_two_forbids_any_neighbouring_pair() -> None:
    assert broken("135792", consecutive_characters_length=2) == []
    assert broken("135798", consecutive_characters_length=2) != []
    assert broken("13579a", consecutive_characters_length=2) == []


@pytest.mark.parametrize(
    "passcode",
    ["777777", "abcabcab", "121212", "abcdefgh", "98765432", "myzoom42", "Pa55word", "xQwErTy1"],
)
def test_weak_detection_rejects_obvious_codes(passcode: str) -> None:
    assert broken(passcode, length=1, weak_enhance_detection=True) == [
        "too weak (repeated pattern, straight sequence or common word)"
    ]


@pytest.mark.parametrize("passcode", ["Xk3-b9Qz", "5717151917", "a1b2c3", "abcdx"])
def test_weak_detection_accepts_irregular_codes(passcode: str) -> None:
    assert broken(passcode, length=1, weak_enhance_detection=True) == []


def test_weak_passcodes_pass_when_detection_is_off() -> None:
    assert broken("password") == []


# --- policy construction, from_zoom ---------------------------------------------------------------

ZOOM_REQUIREMENT = {
    "length": 8,
    "have_letter": True,
    "have_number": True,
    "have_special_character": False,
    "have_upper_and_lower_characters": True,
    "only_allow_numeric": False,
    "consecutive_characters_length": 4,
    "weak_enhance_detection": True,
}
EXPECTED = PasscodePolicy(
    length=8,
    have_letter=True,
    have_number=True,
    have_upper_and_lower_characters=True,
    consecutive_characters_length=4,
    weak_enhance_detection=True,
)


@pytest.mark.parametrize(
    "settings",
    [
        {
            "meeting_security": {
                "auto_security": True,
                "waiting_room": False,
                "meeting_password_requirement": ZOOM_REQUIREMENT,
            }
        },
        {"meeting_password_requirement": ZOOM_REQUIREMENT},
        ZOOM_REQUIREMENT,
        {**ZOOM_REQUIREMENT, "some_future_field": "ignored"},
    ],
    ids=["settings-answer", "meeting-security-object", "requirement-object", "unknown-keys"],
)
def test_from_zoom_reads_every_shape(settings: dict[str, Any]) -> None:
    assert PasscodePolicy.from_zoom(settings) == EXPECTED


def test_from_zoom_keeps_defaults_for_missing_keys() -> None:
    assert PasscodePolicy.from_zoom({}) == PasscodePolicy()
    assert PasscodePolicy.from_zoom({"meeting_security": {}}) == PasscodePolicy()
    partial = {"meeting_password_requirement": {"length": 9}}
    assert PasscodePolicy.from_zoom(partial) == PasscodePolicy(length=9)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"length": "8"}, "length must be an integer, got str '8'"),
        ({"length": True}, "length must be an integer, got bool True"),
        ({"length": 8.0}, "length must be an integer"),
        ({"have_letter": 1}, "have_letter must be true or false, got int 1"),
        ({"only_allow_numeric": "false"}, "only_allow_numeric must be true or false"),
        ({"consecutive_characters_length": None}, "consecutive_characters_length must be an"),
        ({"length": -1}, "length must not be negative"),
        ({"consecutive_characters_length": -4}, "must not be negative"),
        ({"meeting_security": []}, "must be a JSON object, got list"),
        ({"meeting_password_requirement": "strict"}, "must be a JSON object, got str"),
    ],
)
def test_from_zoom_rejects_wrong_types_clearly(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=r"meeting_password_requirement|negative") as caught:
        PasscodePolicy.from_zoom(settings)
    assert message in str(caught.value)


# --- strengthened ---------------------------------------------------------------------------------


def test_strengthened_takes_the_stricter_of_each_rule() -> None:
    account = PasscodePolicy(length=6, have_special_character=True, consecutive_characters_length=6)
    floor = PasscodePolicy(length=8, have_letter=True, consecutive_characters_length=4)
    assert account.strengthened(floor) == PasscodePolicy(
        length=8, have_letter=True, have_special_character=True, consecutive_characters_length=4
    )


def test_strengthened_keeps_an_active_consecutive_limit_against_none() -> None:
    limited = PasscodePolicy(consecutive_characters_length=5)
    assert limited.strengthened(PasscodePolicy()).consecutive_characters_length == 5
    assert PasscodePolicy().strengthened(limited).consecutive_characters_length == 5


def test_a_numeric_only_account_drops_the_floors_letter_demands_but_keeps_its_length() -> None:
    account = PasscodePolicy(only_allow_numeric=True)
    floor = PasscodePolicy(
        length=9,
        have_letter=True,
        have_number=True,
        have_special_character=True,
        have_upper_and_lower_characters=True,
    )
    assert account.strengthened(floor) == PasscodePolicy(
        length=9, have_number=True, only_allow_numeric=True
    )


def test_a_floor_never_imposes_numeric_only() -> None:
    assert (
        not PasscodePolicy()
        .strengthened(PasscodePolicy(only_allow_numeric=True))
        .only_allow_numeric
    )


def test_an_unsatisfiable_account_stays_unsatisfiable() -> None:
    account = PasscodePolicy(only_allow_numeric=True, have_letter=True)
    assert account.strengthened(DEFAULT_POLICY).have_letter


# --- generate_passcode ----------------------------------------------------------------------------


def test_default_generation_meets_the_default_policy() -> None:
    passcode = generate_passcode(PasscodePolicy(), random.Random(1))
    assert len(passcode) == DEFAULT_POLICY.length
    assert violations(passcode, DEFAULT_POLICY) == []


def test_generation_uses_the_system_random_by_default() -> None:
    codes = {generate_passcode(PasscodePolicy()) for _ in range(20)}
    assert len(codes) == 20
    assert all(violations(code, DEFAULT_POLICY) == [] for code in codes)


def test_a_seeded_random_makes_generation_reproducible() -> None:
    assert generate_passcode(STRICT, random.Random(7)) == generate_passcode(
        STRICT, random.Random(7)
    )


def test_longer_minimums_are_honoured() -> None:
    assert len(generate_passcode(PasscodePolicy(length=10), random.Random(2))) == 10


@pytest.mark.parametrize("seed", range(30))
def test_the_strictest_mixed_policy_is_met(seed: int) -> None:
    passcode = generate_passcode(STRICT, random.Random(seed))
    assert violations(passcode, STRICT) == []


@pytest.mark.parametrize("seed", range(30))
def test_numeric_only_with_a_tight_consecutive_limit_is_met(seed: int) -> None:
    policy = PasscodePolicy(
        length=10,
        only_allow_numeric=True,
        consecutive_characters_length=2,
        weak_enhance_detection=True,
    )
    passcode = generate_passcode(policy, random.Random(seed))
    assert passcode.isdigit()
    assert violations(passcode, policy) == []


def test_generated_codes_avoid_the_at_sign_that_breaks_sip_dial_strings() -> None:
    policy = PasscodePolicy(have_special_character=True)
    codes = [generate_passcode(policy, random.Random(seed)) for seed in range(50)]
    assert all("@" not in code for code in codes)
    assert all(violations(code, policy) == [] for code in codes)


@pytest.mark.parametrize(
    ("policy", "reason"),
    [
        (PasscodePolicy(length=11), "exceeds Zoom's maximum of 10"),
        (PasscodePolicy(only_allow_numeric=True, have_letter=True), "only digits are allowed"),
        (
            PasscodePolicy(only_allow_numeric=True, have_upper_and_lower_characters=True),
            "only digits are allowed",
        ),
        (
            PasscodePolicy(only_allow_numeric=True, have_special_character=True),
            "only digits are allowed",
        ),
        (PasscodePolicy(consecutive_characters_length=1), "forbids every character"),
    ],
)
def test_unsatisfiable_policies_raise(policy: PasscodePolicy, reason: str) -> None:
    with pytest.raises(ValueError, match="cannot be satisfied") as caught:
        generate_passcode(policy, random.Random(0))
    assert reason in str(caught.value)


# --- properties -----------------------------------------------------------------------------------

lengths = st.integers(min_value=0, max_value=MAX_LENGTH)
limits = st.sampled_from([0]) | st.integers(min_value=2, max_value=12)
policies = st.builds(
    PasscodePolicy,
    length=lengths,
    have_letter=st.booleans(),
    have_number=st.booleans(),
    have_special_character=st.booleans(),
    have_upper_and_lower_characters=st.booleans(),
    only_allow_numeric=st.booleans(),
    consecutive_characters_length=limits,
    weak_enhance_detection=st.booleans(),
)
satisfiable = policies.filter(
    lambda p: (
        not p.only_allow_numeric
        or not (p.have_letter or p.have_special_character or p.have_upper_and_lower_characters)
    )
)
unsatisfiable = st.one_of(
    st.builds(PasscodePolicy, length=st.integers(min_value=MAX_LENGTH + 1, max_value=100)),
    st.builds(PasscodePolicy, consecutive_characters_length=st.just(1)),
    st.builds(
        PasscodePolicy,
        only_allow_numeric=st.sampled_from([True]),
        have_letter=st.booleans(),
        have_special_character=st.booleans(),
        have_upper_and_lower_characters=st.booleans(),
    ).filter(
        lambda p: p.have_letter or p.have_special_character or p.have_upper_and_lower_characters
    ),
)
seeds = st.integers(min_value=0, max_value=2**32 - 1)


@given(policy=satisfiable, seed=seeds)
def test_generated_passcodes_satisfy_their_policy(policy: PasscodePolicy, seed: int) -> None:
    passcode = generate_passcode(policy, random.Random(seed))
    assert violations(passcode, policy) == []
    assert violations(passcode, policy.strengthened(DEFAULT_POLICY)) == []
    assert DEFAULT_POLICY.length <= len(passcode) <= MAX_LENGTH
    assert set(passcode) <= set(ALPHABET)


@given(policy=unsatisfiable, seed=seeds)
def test_unsatisfiable_policies_always_raise(policy: PasscodePolicy, seed: int) -> None:
    with pytest.raises(ValueError, match="cannot be satisfied"):
        generate_passcode(policy, random.Random(seed))


@given(account=policies, floor=policies, seed=seeds)
def test_a_strengthened_policy_only_admits_codes_the_account_admits(
    account: PasscodePolicy, floor: PasscodePolicy, seed: int
) -> None:
    combined = account.strengthened(floor)
    assert combined.length >= max(account.length, floor.length)
    try:
        passcode = generate_passcode(combined, random.Random(seed))
    except ValueError:
        return  # the account's own rules (or a length over 10) cannot be met
    assert violations(passcode, account) == []
