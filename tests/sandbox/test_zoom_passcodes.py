"""Passcode rules (meeting_password_requirement) and generated passcodes of the Zoom simulator."""

from __future__ import annotations

import random
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from tests.sandbox.zoom_support import ALICE, BOB, ZoomClient, client_for, started

from hybridcal.sandbox.zoom import ZoomSimulator
from hybridcal.sandbox.zoom.passcodes import PasswordRules, generate, longest_run, violations


@pytest.fixture
async def zoom() -> AsyncIterator[ZoomSimulator]:
    async with started() as sim:
        yield sim


@pytest.fixture
async def client(zoom: ZoomSimulator) -> AsyncIterator[ZoomClient]:
    async with client_for(zoom) as made:
        yield made


RULE_CASES: list[tuple[dict[str, Any], list[str], str]] = [
    ({"length": 8}, ["Ab3xy9"], "Ab3xy9kq"),
    ({"have_letter": True}, ["739164"], "7391a4"),
    ({"have_number": True}, ["kwrtzq"], "kwr7zq"),
    ({"have_special_character": True}, ["Ab3xyz"], "Ab3x@z"),
    ({"have_upper_and_lower_characters": True}, ["ab3xyz", "AB3XYZ"], "aB3xyz"),
    ({"only_allow_numeric": True}, ["73916a", "7391-4"], "739164"),
    ({"consecutive_characters_length": 4}, ["ab1234x", "zzzz91", "x4321q", "qABCDq"], "ab123x"),
    (
        {"weak_enhance_detection": True},
        ["123456", "PassWord", "aaaaaa", "abcabc", "987654"],
        "k7Rw2q",
    ),
    ({}, ["abc def", "abcdefghijk", "ab$d12"], "a-b_c*@9"),
]


@pytest.mark.parametrize(("rules", "bad", "good"), RULE_CASES)
async def test_each_rule_rejects_a_violation_and_accepts_a_good_one(
    zoom: ZoomSimulator, client: ZoomClient, rules: dict[str, Any], bad: list[str], good: str
) -> None:
    zoom.set_password_requirement(**rules)
    rule = next(iter(rules), "")
    for password in bad:
        answer = await client.create(password=password)
        assert answer.status == 400, password
        assert answer.body["code"] == 300
        assert answer.body["message"] == "Invalid parameter: password."
        assert answer.fields()[0] == "password"
        assert any(rule in e["message"] for e in answer.body["errors"]), answer.body
    accepted = await client.create(password=good)
    assert accepted.status == 201, accepted.body
    assert accepted.body["password"] == good


def test_rule_interpretation_in_detail() -> None:
    rules = PasswordRules(consecutive_characters_length=5)
    assert violations("a1234b", rules) == []  # a run of four is below five
    assert violations("a12345", rules) != []
    assert longest_run("aBcD") == 4  # letters compare case-insensitively
    assert longest_run("9abc") == 3  # a run never mixes digits and letters
    assert longest_run("1221") == 2


def _meets(password: str, length: int) -> bool:
    return (
        length <= len(password) <= 10
        and re.fullmatch(r"[A-Za-z0-9@\-_*]+", password) is not None
        and re.search(r"\d", password) is not None
        and re.search(r"[a-z]", password) is not None
        and re.search(r"[A-Z]", password) is not None
        and re.search(r"[@\-_*]", password) is not None
    )


async def test_generated_passcode_satisfies_the_rules(
    zoom: ZoomSimulator, client: ZoomClient
) -> None:
    zoom.set_password_requirement(
        length=8,
        have_number=True,
        have_upper_and_lower_characters=True,
        have_special_character=True,
        consecutive_characters_length=4,
        weak_enhance_detection=True,
    )
    for _ in range(10):
        answer = await client.create()
        password = answer.body["password"]
        assert _meets(password, 8), password
        assert answer.body["join_url"].endswith("?pwd=" + answer.body["encrypted_password"])


async def test_generated_numeric_passcode(zoom: ZoomSimulator, client: ZoomClient) -> None:
    zoom.set_password_requirement(only_allow_numeric=True, length=10)
    password = (await client.create()).body["password"]
    assert password.isdigit()
    assert len(password) == 10


def test_generator_never_breaks_any_rule_combination() -> None:
    rng = random.Random(7)
    combos = [
        PasswordRules(length=n, have_letter=True, have_number=True, weak_enhance_detection=True)
        for n in range(1, 11)
    ] + [
        PasswordRules(only_allow_numeric=True, consecutive_characters_length=4, length=6),
        PasswordRules(have_special_character=True, have_upper_and_lower_characters=True),
    ]
    for rules in combos:
        for _ in range(20):
            assert violations(generate(rules, rng), rules) == []


async def test_no_passcode_when_the_account_does_not_require_one(
    zoom: ZoomSimulator, client: ZoomClient
) -> None:
    zoom.set_meeting_security(require_password_for_scheduled_meeting=False)
    answer = await client.create()
    assert "password" not in answer.body
    assert "?pwd=" not in answer.body["join_url"]
    generated = await client.create(default_password=True)
    assert generated.body["password"]


async def test_user_rules_apply_to_the_meetings_host(
    zoom: ZoomSimulator, client: ZoomClient
) -> None:
    zoom.set_password_requirement(user=BOB, have_special_character=True)
    assert (await client.create(ALICE, password="Ab3xyz")).status == 201
    assert (await client.create(BOB, password="Ab3xyz")).status == 400
    zoom.grant_scheduling_privilege(ALICE, BOB)
    on_behalf = await client.create(ALICE, schedule_for=BOB, password="Ab3xyz")
    assert on_behalf.status == 400


async def test_patch_checks_and_clears_passcodes(zoom: ZoomSimulator, client: ZoomClient) -> None:
    zoom.set_password_requirement(have_number=True)
    created = (await client.create()).body
    path = f"/meetings/{created['id']}"
    bad = await client.call("PATCH", path, json={"password": "abcxyz"})
    assert bad.body["message"] == "Invalid parameter: password."
    assert (await client.call("PATCH", path, json={"password": "abc7yz"})).status == 204
    assert (await client.call("PATCH", path, json={"password": ""})).status == 400
    zoom.set_meeting_security(require_password_for_scheduled_meeting=False)
    assert (await client.call("PATCH", path, json={"password": ""})).status == 204
    after = zoom.meeting(created["id"])
    assert after is not None
    assert "password" not in after


async def test_a_policy_tightened_while_running_applies_to_the_next_request(
    zoom: ZoomSimulator, client: ZoomClient
) -> None:
    """An admin may tighten the rules at any time (here through the control panel, as in the
    demo): the settings answer the new rules at once, and a passcode made for the old ones is
    refused with 300 ``Invalid parameter: password.``, naming each broken rule."""
    assert (await client.create(password="Kq7mWz2x")).status == 201
    async with client.session.put(
        f"{zoom.base_url}/_control/password_requirement",
        json={"only_allow_numeric": True, "length": 10},
    ) as response:
        assert response.status == 200
    settings = await client.call(
        "GET", f"/users/{ALICE}/settings", params={"option": "meeting_security"}
    )
    requirement = settings.body["meeting_security"]["meeting_password_requirement"]
    assert (requirement["only_allow_numeric"], requirement["length"]) == (True, 10)
    refused = await client.create(password="Kq7mWz2x")
    assert refused.status == 400
    assert (refused.code, refused.body["message"]) == (300, "Invalid parameter: password.")
    assert set(refused.fields()) == {"password"}
    assert len(refused.body["errors"]) == 2  # too short, and not only digits
    assert (await client.create(password="7305194826")).status == 201
