"""Meeting passcodes: the account's ``meeting_password_requirement`` and generated passcodes.

Zoom's base rule: at most 10 characters of ``[A-Za-z0-9@-_*]``. The requirement's fields, as
interpreted here (Zoom documents them only loosely):

- ``length``: the *minimum* length (1-10).
- ``have_letter`` / ``have_number``: at least one ASCII letter / digit.
- ``have_special_character``: at least one of ``@ - _ *``.
- ``have_upper_and_lower_characters``: at least one upper-case and one lower-case letter.
- ``only_allow_numeric``: digits only (cannot be combined with the three letter/special rules).
- ``consecutive_characters_length`` N (0 = off, else 4-8): no run of N or more characters that
  are identical (``aaaa``), ascending (``1234``, ``abcd``) or descending (``4321``); letters are
  compared case-insensitively, a run never mixes letters and digits. A run of N-1 is allowed.
- ``weak_enhance_detection``: refuses well-known passcodes (``123456``, ``password``, ...,
  case-insensitive), passcodes made of one character, passcodes that are one ascending or
  descending sequence of four or more characters, and short units repeated (``123123``,
  ``abab``).

A passcode Zoom generates (the host sent none but the account requires one) is 6 characters, or
the minimum length if longer, and satisfies every rule. ``h323_password``/``pstn_password`` are
the passcode itself when numeric, else a numeric value derived from it; ``encrypted_password``
(the ``pwd=`` of the join URL) is derived from the meeting and the passcode with a server key.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import itertools
import random
import re
import string
from dataclasses import dataclass
from typing import Any

MAX_LENGTH = 10
SPECIALS = "@-_*"
_ALLOWED = re.compile(r"^[A-Za-z0-9@\-_*]*$")
_WEAK = frozenset(
    {
        "123456", "1234567", "12345678", "123456789", "1234567890", "654321", "111111",
        "000000", "123123", "112233", "121212", "123321", "696969", "password", "password1",
        "passw0rd", "qwerty", "qwerty123", "qwertyuiop", "abc123", "123abc", "1q2w3e",
        "1q2w3e4r", "iloveyou", "admin", "admin123", "welcome", "letmein", "monkey", "dragon",
        "zoom", "zoom123", "zoomzoom", "meeting", "test", "test123",
    }
)  # fmt: skip


@dataclass(frozen=True)
class PasswordRules:
    length: int = 6
    have_letter: bool = False
    have_number: bool = False
    have_special_character: bool = False
    have_upper_and_lower_characters: bool = False
    only_allow_numeric: bool = False
    consecutive_characters_length: int = 0
    weak_enhance_detection: bool = False

    def updated(self, **rules: Any) -> PasswordRules:
        names = {f.name for f in dataclasses.fields(self)}
        for name, value in rules.items():
            if name not in names:
                raise ValueError(f"unknown passcode rule: {name}")
            wants_int = name in {"length", "consecutive_characters_length"}
            if wants_int and (isinstance(value, bool) or not isinstance(value, int)):
                raise ValueError(f"{name} must be an integer")
            if not wants_int and not isinstance(value, bool):
                raise ValueError(f"{name} must be a boolean")
        new = dataclasses.replace(self, **rules)
        if not 1 <= new.length <= MAX_LENGTH:
            raise ValueError("length must be within 1..10")
        if (
            new.consecutive_characters_length != 0
            and not 4 <= new.consecutive_characters_length <= 8
        ):
            raise ValueError("consecutive_characters_length must be 0 or within 4..8")
        if new.only_allow_numeric and (
            new.have_letter or new.have_special_character or new.have_upper_and_lower_characters
        ):
            raise ValueError("only_allow_numeric cannot be combined with letter/special rules")
        return new

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def violations(password: str, rules: PasswordRules) -> list[str]:
    """Every rule ``password`` breaks, as messages naming the rule; empty when it is fine."""
    out: list[str] = []
    if not _ALLOWED.match(password):
        out.append("Passcode may only contain letters, numbers and @ - _ *.")
    if len(password) > MAX_LENGTH:
        out.append(f"Passcode can have a maximum of {MAX_LENGTH} characters.")
    if len(password) < rules.length:
        out.append(f"Passcode must have at least {rules.length} characters (length).")
    if rules.have_letter and not any(c in string.ascii_letters for c in password):
        out.append("Passcode must contain at least one letter (have_letter).")
    if rules.have_number and not any(c in string.digits for c in password):
        out.append("Passcode must contain at least one number (have_number).")
    if rules.have_special_character and not any(c in SPECIALS for c in password):
        out.append(
            "Passcode must contain at least one special character @ - _ * (have_special_character)."
        )
    if rules.have_upper_and_lower_characters and not (
        any(c in string.ascii_uppercase for c in password)
        and any(c in string.ascii_lowercase for c in password)
    ):
        out.append(
            "Passcode must contain upper- and lower-case letters (have_upper_and_lower_characters)."
        )
    if rules.only_allow_numeric and not password.isdigit():
        out.append("Passcode may only contain numbers (only_allow_numeric).")
    limit = rules.consecutive_characters_length
    if limit and longest_run(password) >= limit:
        out.append(
            f"Passcode cannot contain {limit} or more identical or consecutive characters "
            "(consecutive_characters_length)."
        )
    if rules.weak_enhance_detection and is_weak(password):
        out.append("Passcode is too weak (weak_enhance_detection).")
    return out


def _step(a: str, b: str) -> int | None:
    """+1/-1/0 when ``b`` follows ``a`` in one alphabet (digits or letters), else None."""
    a, b = a.lower(), b.lower()
    same_class = (a.isdigit() and b.isdigit()) or (
        a in string.ascii_lowercase and b in string.ascii_lowercase
    )
    if a == b:
        return 0
    if same_class and abs(ord(b) - ord(a)) == 1:
        return ord(b) - ord(a)
    return None


def longest_run(password: str) -> int:
    """The longest run of identical, ascending or descending characters."""
    if not password:
        return 0
    best = run = 1
    direction: int | None = None
    for previous, current in itertools.pairwise(password):
        step = _step(previous, current)
        if step is not None and (run == 1 or step == direction):
            run += 1
        elif step is not None:
            run = 2
        else:
            run = 1
        direction = step
        best = max(best, run)
    return best


def is_weak(password: str) -> bool:
    lowered = password.lower()
    if lowered in _WEAK or len(set(lowered)) <= 1:
        return True
    if len(password) >= 4 and longest_run(password) == len(password):
        return True
    return any(
        len(lowered) >= 2 * unit and lowered[:unit] * (len(lowered) // unit) == lowered
        for unit in range(1, 4)
    )


def generate(rules: PasswordRules, rng: random.Random) -> str:
    """A passcode that satisfies ``rules``, as Zoom generates one for the host."""
    size = min(MAX_LENGTH, max(6, rules.length))
    if rules.only_allow_numeric:
        pools = [string.digits]
    else:
        pools = [string.ascii_lowercase, string.digits]
        if rules.have_upper_and_lower_characters:
            pools.append(string.ascii_uppercase)
        if rules.have_special_character:
            pools.append(SPECIALS)
    alphabet = "".join(pools)
    for _ in range(10_000):
        chars = [rng.choice(pool) for pool in pools]
        chars += [rng.choice(alphabet) for _ in range(size - len(chars))]
        rng.shuffle(chars)
        candidate = "".join(chars)
        strict = dataclasses.replace(rules, weak_enhance_detection=True)
        if not violations(candidate, strict) and longest_run(candidate) < 3:
            return candidate
    raise RuntimeError("could not generate a passcode for these rules")  # pragma: no cover


def _digest(key: bytes, *parts: object) -> bytes:
    message = "\x1f".join(str(p) for p in parts).encode()
    return hmac.new(key, message, hashlib.sha256).digest()


def numeric_passcode(password: str, key: bytes) -> str:
    """``h323_password``/``pstn_password``: numeric passcodes stay as they are."""
    if password.isdigit():
        return password
    size = min(MAX_LENGTH, max(6, len(password)))
    value = int.from_bytes(_digest(key, "numeric", password), "big")
    return str(value)[-size:].rjust(size, "0")


def encrypted_passcode(meeting_id: int, password: str, key: bytes) -> str:
    raw = base64.b64encode(_digest(key, "pwd", meeting_id, password)).decode("ascii")
    return "".join(c for c in raw if c.isalnum())[:32]
