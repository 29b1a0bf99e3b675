"""The Workspace directory and admin console: users, room resources, service accounts,
domain-wide delegation grants and Gmail vacation settings.

Like Google, the simulator keeps only the *public* half of a service-account key (by
``private_key_id``); the private key stays with whoever downloaded the JSON. Rooms are calendars
without a mailbox: they cannot be impersonated (a token request with a room as ``sub`` fails
with ``invalid_grant``), and users flagged ``admin`` may read and write their calendars.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey


@dataclass
class Person:
    email: str
    name: str
    locale: str
    timezone: str
    admin: bool = False


@dataclass
class Room:
    email: str
    name: str
    timezone: str


@dataclass
class ServiceAccount:
    client_email: str
    client_id: str
    keys: dict[str, RSAPublicKey] = field(default_factory=dict)


@dataclass(frozen=True)
class Vacation:
    enabled: bool = False
    start: datetime | None = None
    end: datetime | None = None
    subject: str = ""
    body: str = ""


class Directory:
    def __init__(self, domain: str) -> None:
        self.domain = domain
        self.users: dict[str, Person] = {}
        self.rooms: dict[str, Room] = {}
        self.accounts: dict[str, ServiceAccount] = {}  # by client_email
        self.delegations: dict[str, frozenset[str]] = {}  # client_id -> scopes
        self.vacations: dict[str, Vacation] = {}

    # -- people and rooms --------------------------------------------------------------------

    def add_user(
        self, email: str, *, name: str | None, locale: str, timezone: str, admin: bool
    ) -> None:
        key = email.lower()
        if key in self.rooms:
            raise ValueError(f"{email} is already a room")
        local = key.split("@", 1)[0]
        self.users[key] = Person(
            key, name or local.replace(".", " ").title(), locale, timezone, admin
        )

    def add_room(self, email: str, *, name: str, timezone: str) -> None:
        key = email.lower()
        if key in self.users:
            raise ValueError(f"{email} is already a user")
        self.rooms[key] = Room(key, name, timezone)

    def is_calendar(self, email: str) -> bool:
        key = email.lower()
        return key in self.users or key in self.rooms

    def display_name(self, email: str) -> str | None:
        key = email.lower()
        if key in self.users:
            return self.users[key].name
        if key in self.rooms:
            return self.rooms[key].name
        return None

    def timezone_of(self, email: str) -> str:
        key = email.lower()
        if key in self.users:
            return self.users[key].timezone
        if key in self.rooms:
            return self.rooms[key].timezone
        return "UTC"

    def may_access(self, subject: str, calendar: str) -> bool:
        """Own calendar always; room calendars for admins; everything else is invisible."""
        subject, calendar = subject.lower(), calendar.lower()
        if subject == calendar:
            return subject in self.users
        person = self.users.get(subject)
        return bool(person and person.admin and calendar in self.rooms)

    # -- service accounts and delegation -----------------------------------------------------

    def register_service_account(self, info: Mapping[str, str]) -> None:
        for name in ("client_email", "client_id", "private_key_id", "private_key"):
            if not info.get(name):
                raise ValueError(f"service-account info lacks {name}")
        private = serialization.load_pem_private_key(info["private_key"].encode(), password=None)
        public = private.public_key()
        if not isinstance(public, RSAPublicKey):
            raise TypeError("service-account keys are RSA keys")
        account = self.accounts.setdefault(
            info["client_email"], ServiceAccount(info["client_email"], str(info["client_id"]))
        )
        account.keys[info["private_key_id"]] = public

    def grant_delegation(self, client_id: str, scopes: Iterable[str]) -> None:
        self.delegations[client_id] = self.delegations.get(client_id, frozenset()) | frozenset(
            scopes
        )

    def revoke_delegation(self, client_id: str) -> None:
        self.delegations.pop(client_id, None)

    # -- out of office -----------------------------------------------------------------------

    def set_vacation(self, email: str, vacation: Vacation) -> None:
        if email.lower() not in self.users:
            raise KeyError(f"no such user: {email}")
        self.vacations[email.lower()] = vacation

    def vacation(self, email: str) -> Vacation:
        return self.vacations.get(email.lower(), Vacation())
