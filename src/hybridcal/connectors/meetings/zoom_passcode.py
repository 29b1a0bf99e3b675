"""Zoom meeting passcodes that satisfy an account's passcode policy.

Zoom rejects a create or update whose passcode breaks the host's ``meeting_password_requirement``;
the account's rules are therefore hard limits, and hybridcal adds its own floor on top.
"""

from __future__ import annotations

import itertools
import random
import secrets
import string
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

MAX_LENGTH = 10
SPECIALS = "@-_*"
ALPHABET = string.ascii_letters + string.digits + SPECIALS

# What the generator draws from. "@" would break the room-connector dial string
# {meeting_id}.{passcode}@zoomcrc.com, and I/O/l are easily misread when a code is typed.
_UPPER = "".join(c for c in string.ascii_uppercase if c not in "IO")
_LOWER = "".join(c for c in string.ascii_lowercase if c != "l")
_DIGITS = string.digits
_SPECIALS = "-_*"

# Lower-case substrings that weak detection rejects anywhere in a passcode.
_COMMON_WORDS = (
    "password",
    "passcode",
    "passwort",
    "qwerty",
    "qwertz",
    "azerty",
    "asdf",
    "letmein",
    "welcome",
    "admin",
    "zoom",
    "meeting",
    "iloveyou",
    "secret",
    "abc123",
    "123abc",
)
_LEET = str.maketrans("013457@", "oieasta")  # "pa55w0rd" is still "password"


@dataclass(frozen=True, slots=True)
class PasscodePolicy:
    """A Zoom ``meeting_password_requirement``; every field has Zoom's "no rule" default."""

    length: int = 6  # minimum length
    have_letter: bool = False
    have_number: bool = False
    have_special_character: bool = False  # one of Zoom's specials: @ - _ *
    have_upper_and_lower_characters: bool = False
    only_allow_numeric: bool = False
    # 0 = no rule; N > 0: no run of N or more identical or consecutive characters
    # ("aaaa", "1234", "dcba" for N=4).
    consecutive_characters_length: int = 0
    # Reject obviously weak codes: a repeated block, one straight sequence, a common word.
    weak_enhance_detection: bool = False

    def __post_init__(self) -> None:
        if self.length < 0:
            raise ValueError(f"passcode length must not be negative, got {self.length}")
        if self.consecutive_characters_length < 0:
            raise ValueError(
                "consecutive_characters_length must not be negative, "
                f"got {self.consecutive_characters_length}"
            )

    @classmethod
    def from_zoom(cls, settings: Mapping[str, Any]) -> PasscodePolicy:
        """Read the JSON of ``GET /users/{id}/settings?option=meeting_security`` (or the account
        variant). The ``meeting_security`` wrapper, the bare ``meeting_password_requirement``
        object and a settings object holding it are all accepted; missing keys keep Zoom's
        defaults, unknown keys are ignored."""
        requirement = _requirement_object(settings)
        values: dict[str, Any] = {}
        for field in fields(cls):
            if field.name not in requirement:
                continue
            value = requirement[field.name]
            # bool is an int subclass: a JSON true must not pass as a length and vice versa.
            wants_bool = isinstance(field.default, bool)
            if not wants_bool and (not isinstance(value, int) or isinstance(value, bool)):
                raise ValueError(
                    f"meeting_password_requirement.{field.name} must be an integer, "
                    f"got {type(value).__name__} {value!r}"
                )
            if wants_bool and not isinstance(value, bool):
                raise ValueError(
                    f"meeting_password_requirement.{field.name} must be true or false, "
                    f"got {type(value).__name__} {value!r}"
                )
            values[field.name] = value
        return cls(**values)

    def strengthened(self, floor: PasscodePolicy) -> PasscodePolicy:
        """This (the account's) policy, made at least as strict as ``floor`` where both can hold.

        Every passcode that satisfies the result satisfies ``self``. Lengths take the maximum,
        requirement flags are OR'd, the consecutive rule takes the smaller active limit.
        ``only_allow_numeric`` narrows the alphabet, so it is a restriction rather than
        strength: the account's value is kept (Zoom enforces it) and a floor never imposes it.
        On a numeric-only account the floor's letter, case and special demands cannot hold and
        are dropped; the floor's length still applies."""
        numeric = self.only_allow_numeric
        limits = [
            n
            for n in (self.consecutive_characters_length, floor.consecutive_characters_length)
            if n > 0
        ]
        return PasscodePolicy(
            length=max(self.length, floor.length),
            have_letter=self.have_letter or (floor.have_letter and not numeric),
            have_number=self.have_number or floor.have_number,
            have_special_character=self.have_special_character
            or (floor.have_special_character and not numeric),
            have_upper_and_lower_characters=self.have_upper_and_lower_characters
            or (floor.have_upper_and_lower_characters and not numeric),
            only_allow_numeric=numeric,
            consecutive_characters_length=min(limits, default=0),
            weak_enhance_detection=self.weak_enhance_detection or floor.weak_enhance_detection,
        )


# Never weaker than Zoom's own default (6 characters, no other rule) and short enough to read out.
DEFAULT_POLICY = PasscodePolicy(
    length=8,
    have_letter=True,
    have_number=True,
    consecutive_characters_length=4,
    weak_enhance_detection=True,
)


def violations(passcode: str, policy: PasscodePolicy) -> list[str]:
    """The names of the rules ``passcode`` breaks, Zoom's format limits included; [] = valid."""
    limit = policy.consecutive_characters_length
    checks = (
        (len(passcode) > MAX_LENGTH, f"longer than {MAX_LENGTH} characters"),
        (len(passcode) < policy.length, f"shorter than {policy.length} characters"),
        (
            any(c not in ALPHABET for c in passcode),
            f"characters other than letters, digits and {' '.join(SPECIALS)}",
        ),
        (
            policy.only_allow_numeric and any(c not in string.digits for c in passcode),
            "only digits allowed",
        ),
        (
            policy.have_letter and not any(c in string.ascii_letters for c in passcode),
            "needs a letter",
        ),
        (policy.have_number and not any(c in string.digits for c in passcode), "needs a digit"),
        (
            policy.have_special_character and not any(c in SPECIALS for c in passcode),
            f"needs a special character ({' '.join(SPECIALS)})",
        ),
        (
            policy.have_upper_and_lower_characters
            and not (any(c.isupper() for c in passcode) and any(c.islower() for c in passcode)),
            "needs upper- and lower-case letters",
        ),
        (
            limit > 0 and _longest_run(passcode) >= limit,
            f"{limit} or more identical or consecutive characters in a row",
        ),
        (
            policy.weak_enhance_detection and _is_weak(passcode),
            "too weak (repeated pattern, straight sequence or common word)",
        ),
    )
    return [name for broken, name in checks if broken]


def generate_passcode(policy: PasscodePolicy, rng: random.Random | None = None) -> str:
    """A random passcode valid for ``policy`` and for ``policy.strengthened(DEFAULT_POLICY)``,
    so never weaker than hybridcal's floor (on numeric-only accounts: as long as the floor).

    ``rng`` defaults to ``secrets.SystemRandom``; tests pass a seeded ``random.Random``. Raises
    ValueError when no passcode can satisfy the policy."""
    target = policy.strengthened(DEFAULT_POLICY)
    problem = _unsatisfiable(target)
    if problem:
        raise ValueError(f"the Zoom passcode policy cannot be satisfied: {problem}")
    chooser = rng or secrets.SystemRandom()
    length = min(target.length, MAX_LENGTH)
    # Weak detection may still hit a common word by chance; a few retries make that vanish.
    for _ in range(100):
        passcode = _construct(target, length, chooser)
        if not violations(passcode, target):
            return passcode
    raise RuntimeError("no valid passcode after 100 attempts")  # pragma: no cover


def _requirement_object(settings: Mapping[str, Any]) -> Mapping[str, Any]:
    found: Any = settings
    for key in ("meeting_security", "meeting_password_requirement"):
        if isinstance(found, Mapping) and key in found:
            found = found[key]
    if isinstance(found, Mapping):
        return found
    raise ValueError(
        f"meeting_password_requirement must be a JSON object, got {type(found).__name__}"
    )


def _unsatisfiable(policy: PasscodePolicy) -> str | None:
    if policy.length > MAX_LENGTH:
        return f"minimum length {policy.length} exceeds Zoom's maximum of {MAX_LENGTH}"
    if policy.only_allow_numeric and (policy.have_letter or policy.have_upper_and_lower_characters):
        return "letters are required but only digits are allowed"
    if policy.only_allow_numeric and policy.have_special_character:
        return "a special character is required but only digits are allowed"
    if policy.consecutive_characters_length == 1:
        return "a limit of 1 consecutive character forbids every character"
    return None


def _construct(policy: PasscodePolicy, length: int, rng: random.Random) -> str:
    """One candidate: each required character class gets a random position, the other positions
    draw from the whole pool, and each character is picked among those that do not complete a
    forbidden run, so the consecutive rule holds by construction."""
    if policy.only_allow_numeric:
        pool = _DIGITS
        required: list[str] = []
    else:
        pool = _UPPER + _LOWER + _DIGITS
        required = [_UPPER, _LOWER] if policy.have_upper_and_lower_characters else []
        if policy.have_letter and not required:
            required.append(_UPPER + _LOWER)
        if policy.have_number:
            required.append(_DIGITS)
        if policy.have_special_character:
            required.append(_SPECIALS)
    classes = required + [pool] * (length - len(required))
    rng.shuffle(classes)
    limit = policy.consecutive_characters_length
    passcode = ""
    for chars in classes:
        allowed = [c for c in chars if limit == 0 or _longest_run(passcode + c) < limit]
        passcode += rng.choice(allowed)
    return passcode


def _group(char: str) -> str:
    if char.isdigit():
        return "digit"
    if char.isalpha():
        return "letter"
    return char  # a special only ever runs with itself


def _step(before: str, after: str) -> int | None:
    """+1/-1 for neighbours in the digit or (case-blind) letter sequence, 0 for the same
    character, None otherwise."""
    if _group(before) != _group(after):
        return None
    step = ord(after.lower()) - ord(before.lower())
    return step if step in (-1, 0, 1) else None


def _longest_run(passcode: str) -> int:
    """Length of the longest stretch of identical, ascending or descending characters."""
    longest = run = min(len(passcode), 1)
    previous: int | None = None
    for before, after in itertools.pairwise(passcode):
        step = _step(before, after)
        if step is None:
            run = 1
        elif step == previous:
            run += 1
        else:
            run = 2
        previous = step
        longest = max(longest, run)
    return longest


def _is_weak(passcode: str) -> bool:
    folded = passcode.lower()
    # a block repeated, possibly cut short: "7777", "121212", "abcabcab"
    repeated = any(folded[size:] == folded[:-size] for size in range(1, len(folded) // 2 + 1))
    straight = len(passcode) > 1 and _longest_run(passcode) == len(passcode)
    words = (folded, folded.translate(_LEET))
    return repeated or straight or any(word in text for word in _COMMON_WORDS for text in words)
