"""The Webex site and its people: host licences, time zones, personal rooms, site rules.

One site per simulator (``site_url``, e.g. ``sandbox.webex.com``), managed by the admin who
authorised the Service App, so every user is schedulable with ``hostEmail`` if licensed
(webex.md §1: the authorizer must be site admin of the users' sites [OVW]).

- A user **without a host licence** cannot host: creating, reading or listing meetings for
  them answers 404 "Cannot find the data" — webex.md §4 records this answer from a Cisco lab
  and marks it unverified, so a client must treat any 403/404 naming the host as "cannot host".
- An **unknown** ``hostEmail`` answers 404 the same way.
- **Password rules** of the site (webex.md §2 "password must meet site rules"): by default at
  least 8 characters with a letter and a digit; settable (length, letter, digit, upper and
  lower case, special character). A password that breaks them → 400 "Meeting password
  validation failed…" (webex.md §4's example).
- **Call-in numbers**: the site's telephony ``callInNumbers``; empty when the site has none.

Personal rooms (webex.md §3 [PREF]): a licensed user has one unless added with
``personal_room=False``; its id is the address' local part, its link
``https://<site>/meet/<id>``, an access code (the personal meeting number) and a 4-digit host
PIN that is neither sequential nor repeated (Get Personal Meeting Room Options). Its SIP address
is the user's e-mail address, as in the reference's example answer — deliberately *not*
``<id>@<site>``, so a client that builds the address from the link instead of reading
``sipAddress`` (webex.md §3: "don't build it") fails here.
"""

from __future__ import annotations

import itertools
import random
import re
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hybridcal.sandbox.webex.errors import WebexError, bad_request, not_found

CANNOT_FIND = "Cannot find the data"


@dataclass
class PersonalRoom:
    room_id: str
    access_code: str
    host_pin: str


@dataclass
class User:
    email: str
    person_id: str
    display_name: str
    licensed: bool
    timezone: str
    room: PersonalRoom | None


@dataclass
class PasswordRules:
    min_length: int = 8
    require_letter: bool = True
    require_digit: bool = True
    require_mixed_case: bool = False
    require_special: bool = False

    def violations(self, password: str) -> list[str]:
        found: list[str] = []
        if len(password) < self.min_length:
            found.append(f"at least {self.min_length} characters")
        if self.require_letter and not re.search(r"[A-Za-z]", password):
            found.append("a letter")
        if self.require_digit and not re.search(r"\d", password):
            found.append("a digit")
        if self.require_mixed_case and not (
            re.search(r"[a-z]", password) and re.search(r"[A-Z]", password)
        ):
            found.append("upper and lower case letters")
        if self.require_special and not re.search(r"[^A-Za-z0-9]", password):
            found.append("a special character")
        return found


@dataclass
class Site:
    site_url: str
    rng: random.Random
    users: dict[str, User] = field(default_factory=dict)
    password_rules: PasswordRules = field(default_factory=PasswordRules)
    call_in_numbers: list[dict[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.call_in_numbers:
            self.call_in_numbers = [
                {"label": "Sandbox toll", "callInNumber": "+41-44-000-0000", "tollType": "toll"},
                {
                    "label": "Sandbox toll free",
                    "callInNumber": "0800-000-000",
                    "tollType": "tollFree",
                },
            ]

    def add(
        self,
        email: str,
        *,
        licensed: bool,
        timezone: str,
        personal_room: bool,
        display_name: str | None,
    ) -> User:
        if "@" not in email or email.lower() in self.users:
            raise ValueError(f"not a new address: {email!r}")
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"not an IANA zone: {timezone!r}") from None
        local = email.split("@", 1)[0]
        room = None
        if personal_room and licensed:
            room_id = re.sub(r"[^a-z0-9.]", "", local.lower()) or "room"
            room = PersonalRoom(room_id, self._digits(10, "2"), self._host_pin())
        user = User(
            email=email,
            person_id="".join(self.rng.choice(string.ascii_letters) for _ in range(40)),
            display_name=display_name or local.replace(".", " ").title(),
            licensed=licensed,
            timezone=timezone,
            room=room,
        )
        self.users[email.lower()] = user
        return user

    def _digits(self, count: int, first: str = "") -> str:
        rest = "".join(self.rng.choice(string.digits) for _ in range(count - len(first)))
        return first + rest

    def _host_pin(self) -> str:
        """Four digits, neither sequential (1234, 4321) nor repeated (1111) [PREF]."""
        while True:
            pin = self._digits(4)
            steps = {int(b) - int(a) for a, b in itertools.pairwise(pin)}
            if steps not in ({1}, {-1}, {0}):
                return pin

    def find(self, email: str) -> User | None:
        return self.users.get(email.lower())

    def host(self, email: str | None) -> User:
        """The host named by ``hostEmail`` (required for a Service App: it hosts nothing)."""
        if not email:
            raise not_found(CANNOT_FIND)
        user = self.find(email)
        if user is None or not user.licensed:
            raise not_found(CANNOT_FIND)
        return user

    def set_password_rules(self, rules: Mapping[str, Any]) -> None:
        for key, value in rules.items():
            if not hasattr(self.password_rules, key):
                raise ValueError(f"no such password rule: {key}")
            setattr(self.password_rules, key, value)

    def set_call_in_numbers(self, numbers: Iterable[Mapping[str, str]]) -> None:
        chosen = [dict(n) for n in numbers]
        for number in chosen:
            if set(number) != {"label", "callInNumber", "tollType"}:
                raise ValueError("a number has label, callInNumber and tollType")
            if number["tollType"] not in {"toll", "tollFree"}:
                raise ValueError("tollType is toll or tollFree")
        self.call_in_numbers = chosen

    def check_password(self, password: str) -> None:
        missing = self.password_rules.violations(password)
        if missing:
            raise bad_request(
                "Meeting password validation failed: the site requires " + ", ".join(missing) + "."
            )

    def generate_password(self) -> str:
        """A password that meets the site's rules (Webex generates one when none is sent)."""
        length = max(self.password_rules.min_length, 8)
        pool = string.ascii_letters + string.digits
        while True:
            chars = [self.rng.choice(pool) for _ in range(length - 1)]
            chars.append(self.rng.choice("@#$"))
            password = "".join(chars)
            if not self.password_rules.violations(password):
                return password

    def telephony(self, access_code: str, links_href: str | None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "accessCode": access_code,
            "callInNumbers": [dict(n) for n in self.call_in_numbers],
        }
        if links_href is not None:
            out["links"] = [{"rel": "globalCallinNumbers", "href": links_href, "method": "GET"}]
        return out


__all__ = ["CANNOT_FIND", "PasswordRules", "Site", "User", "WebexError"]
