"""The account's users, scheduling privileges and dial-in numbers.

Users are found by id or, case-insensitively, by email. ``type`` 1 is Basic, 2 Licensed;
``status`` is ``active``, ``inactive`` (deactivated) or ``pending`` (invited, not yet joined).
Only active licensed users may host a meeting here (real Zoom also lets Basic users host
short meetings; the simulator is stricter on purpose). Scheduling privilege is granted by the
host to an assistant, who may then ``schedule_for`` the host.

Every user has a Personal Meeting ID (``pmi``, 10 digits) with its own passcode
(``pmi_password``, shown in the user's ``schedule_meeting`` settings) and
``personal_meeting_url``, which embeds the encrypted passcode when the PMI requires one and the
user's ``embed_password_in_join_link`` is on. The PMI can be turned off per user
(``personal_meeting``); it is never a meeting in the meeting list.

Simplified: no roles, groups, sub-accounts or user creation through the API; the ``me`` alias
is not resolved (an S2S app has no user context of its own); the PMI and its passcode are
changed only through the Python API.
"""

from __future__ import annotations

import base64
import hashlib
import random
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hybridcal.sandbox.zoom.errors import user_not_active, user_not_found, user_not_licensed
from hybridcal.sandbox.zoom.passcodes import encrypted_passcode
from hybridcal.sandbox.zoom.security import SecurityPolicy
from hybridcal.sandbox.zoom.times import utc_text, valid_zone

USER_TYPES = frozenset({1, 2})
USER_STATUSES = frozenset({"active", "inactive", "pending"})
LICENSED = 2
# what Zoom accepts as a passcode: at most 10 of these characters
_PASSCODE = re.compile(r"[A-Za-z0-9@_*-]{1,10}")
_PMI_KEY = b"hybridcal sandbox: personal meeting links"  # a simulator's fixed key
_PMI_ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
DIAL_IN_TYPES = frozenset({"toll", "tollfree"})
DEFAULT_DIAL_IN: tuple[dict[str, str], ...] = (
    {
        "country": "CH",
        "country_name": "Switzerland",
        "city": "Zurich",
        "number": "+41 43 210 71 08",
        "type": "toll",
    },
    {
        "country": "DE",
        "country_name": "Germany",
        "city": "Frankfurt",
        "number": "+49 69 7104 9922",
        "type": "toll",
    },
    {
        "country": "US",
        "country_name": "US",
        "city": "New York",
        "number": "+1 646 558 8656",
        "type": "toll",
    },
)


@dataclass
class User:
    id: str
    email: str
    first_name: str
    last_name: str
    type: int
    status: str
    timezone: str
    created_at: datetime
    pmi: int
    pmi_password: str = ""
    personal_meeting: bool = True  # the PMI is turned on for the user

    @property
    def display_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip() or self.email


def _check(type_: int, status: str, timezone: str) -> None:
    if type_ not in USER_TYPES or isinstance(type_, bool):
        raise ValueError("type must be 1 (basic) or 2 (licensed)")
    if status not in USER_STATUSES:
        raise ValueError(f"status must be one of {sorted(USER_STATUSES)}")
    if not valid_zone(timezone):
        raise ValueError(f"unknown time zone: {timezone}")


class Directory:
    def __init__(
        self,
        account_id: str,
        join_host: str,
        rng: random.Random,
        security: SecurityPolicy | None = None,
    ) -> None:
        self.account_id = account_id
        self._security = security or SecurityPolicy()  # whether PMI links embed the passcode
        self.join_host = join_host
        self._rng = rng
        self._by_id: dict[str, User] = {}
        self._by_email: dict[str, User] = {}
        self._privileges: set[tuple[str, str]] = set()  # (assistant id, host id)
        self.dial_in: list[dict[str, str]] = [dict(n) for n in DEFAULT_DIAL_IN]
        self.account_number = rng.randint(10_000_000, 99_999_999)

    def add(
        self,
        email: str,
        *,
        first_name: str,
        last_name: str,
        type_: int,
        status: str,
        timezone: str,
        now: datetime,
    ) -> User:
        key = email.strip().lower()
        if "@" not in key or key.startswith("@") or key.endswith("@"):
            raise ValueError(f"not an email address: {email!r}")
        if key in self._by_email:
            raise ValueError(f"user exists: {key}")
        _check(type_, status, timezone)
        user_id = base64.urlsafe_b64encode(self._rng.randbytes(16)).decode().rstrip("=")
        pmi = self._rng.randint(2_000_000_000, 9_999_999_999)
        user = User(user_id, key, first_name, last_name, type_, status, timezone, now, pmi)
        # derived, not drawn: the seeded ids and PMIs of later users stay what they were
        user.pmi_password = _pmi_passcode(self.account_id, pmi)
        self._by_id[user_id] = user
        self._by_email[key] = user
        return user

    def update(self, ref: str, changes: Mapping[str, Any]) -> User:
        user = self.get(ref)
        type_ = changes.get("type", user.type)
        status = changes.get("status", user.status)
        timezone = changes.get("timezone", user.timezone)
        _check(type_, status, timezone)
        allowed = {"type", "status", "timezone", "first_name", "last_name"}
        unknown = set(changes) - allowed - {"pmi_password", "personal_meeting"}
        if unknown:
            raise ValueError(f"cannot change {sorted(unknown)}")
        pmi_password = changes.get("pmi_password", user.pmi_password)
        if not isinstance(pmi_password, str) or not _PASSCODE.fullmatch(pmi_password):
            raise ValueError("pmi_password: at most 10 of A-Z a-z 0-9 @ - _ *")
        personal_meeting = changes.get("personal_meeting", user.personal_meeting)
        if not isinstance(personal_meeting, bool):
            raise TypeError("personal_meeting must be a boolean")
        user.pmi_password, user.personal_meeting = pmi_password, personal_meeting
        user.type, user.status, user.timezone = type_, status, timezone
        user.first_name = changes.get("first_name", user.first_name)
        user.last_name = changes.get("last_name", user.last_name)
        return user

    def find(self, ref: str) -> User | None:
        return self._by_id.get(ref) or self._by_email.get(ref.strip().lower())

    def get(self, ref: str) -> User:
        user = self.find(ref)
        if user is None:
            raise user_not_found(ref)
        return user

    def host(self, ref: str) -> User:
        """A user who may host meetings: exists (1001), is active (1120) and licensed."""
        user = self.get(ref)
        if user.status != "active":
            raise user_not_active(ref)
        if user.type != LICENSED:
            raise user_not_licensed(ref)
        return user

    def all(self) -> list[User]:
        return list(self._by_id.values())

    # -- scheduling privilege ------------------------------------------------------------------

    def grant(self, assistant: str, host: str) -> None:
        a, h = self.find(assistant), self.find(host)
        if a is None or h is None:
            raise KeyError(f"no such user: {assistant if a is None else host}")
        self._privileges.add((a.id, h.id))

    def revoke(self, assistant: str, host: str) -> None:
        a, h = self.find(assistant), self.find(host)
        if a is not None and h is not None:
            self._privileges.discard((a.id, h.id))

    def may_schedule_for(self, assistant: User, host: User) -> bool:
        return assistant.id == host.id or (assistant.id, host.id) in self._privileges

    # -- dial-in numbers -----------------------------------------------------------------------

    def set_dial_in(self, numbers: Iterable[Mapping[str, str]]) -> None:
        checked: list[dict[str, str]] = []
        for number in numbers:
            item = {k: number.get(k) for k in ("country", "country_name", "city", "number")}
            if not all(isinstance(v, str) and v for v in item.values()):
                raise ValueError(
                    f"a dial-in number needs country, country_name, city, number: {number}"
                )
            kind = number.get("type", "toll")
            if kind not in DIAL_IN_TYPES:
                raise ValueError(f"dial-in type must be toll or tollfree: {number}")
            checked.append({**{k: str(v) for k, v in item.items()}, "type": kind})
        self.dial_in = checked

    # -- rendering -----------------------------------------------------------------------------

    def render(self, user: User) -> dict[str, Any]:
        created = utc_text(user.created_at)
        personal_url = f"https://{self.join_host}/j/{user.pmi}"
        flags = self._security.flags_for(user.id)
        if flags.pmi_password and flags.embed_password_in_join_link and user.pmi_password:
            personal_url += "?pwd=" + encrypted_passcode(user.pmi, user.pmi_password, _PMI_KEY)
        return {
            "id": user.id,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "display_name": user.display_name,
            "email": user.email,
            "type": user.type,
            "role_name": "Member",
            "pmi": user.pmi,
            "use_pmi": False,
            "personal_meeting_url": personal_url,
            "timezone": user.timezone,
            "verified": 1,
            "dept": "",
            "created_at": created,
            "user_created_at": created,
            "language": "en-US",
            "phone_number": "",
            "status": user.status,
            "role_id": "2",
            "account_id": self.account_id,
            "account_number": self.account_number,
            "cluster": "us06",
            "login_types": [100],
        }


def _pmi_passcode(account_id: str, pmi: int) -> str:
    digest = hashlib.sha256(f"{account_id}:pmi:{pmi}".encode()).digest()
    return "".join(_PMI_ALPHABET[b % len(_PMI_ALPHABET)] for b in digest[:6]) + str(pmi % 10)
