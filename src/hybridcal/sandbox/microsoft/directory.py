"""The tenant's directory: users and room mailboxes, their mailbox settings.

Users and rooms are both user objects with a GUID ``id``; ``/users/{id}`` accepts the GUID or
the user principal name (the e-mail address here), case-insensitively. A user created with
``mailbox=False`` exists in Entra ID but has no Exchange mailbox: directory reads work, calendar
calls answer 404 ``MailboxNotEnabledForRESTAPI`` as Graph does for unlicensed users.

Simplified: UPN and primary SMTP address are the same string; no aliases, groups or licences.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from hybridcal.sandbox.microsoft.errors import GraphError
from hybridcal.sandbox.microsoft.times import zone

REPLY_STATUSES = ("disabled", "alwaysEnabled", "scheduled")
LANGUAGE_NAMES = {
    "en-US": "English (United States)",
    "en-GB": "English (United Kingdom)",
    "de-DE": "German (Germany)",
    "de-CH": "German (Switzerland)",
    "fr-FR": "French (France)",
    "fr-CH": "French (Switzerland)",
    "it-IT": "Italian (Italy)",
    "ja-JP": "Japanese (Japan)",
    "es-ES": "Spanish (Spain)",
    "nl-NL": "Dutch (Netherlands)",
}


@dataclass
class AutomaticReplies:
    status: str = "disabled"
    start: datetime | None = None
    end: datetime | None = None
    message: str = ""


@dataclass
class Mailbox:
    id: str
    email: str
    name: str
    kind: str  # "user" | "room"
    timezone: str
    language: str
    has_mailbox: bool = True
    replies: AutomaticReplies = field(default_factory=AutomaticReplies)

    @property
    def is_room(self) -> bool:
        return self.kind == "room"


class Directory:
    def __init__(self, domain: str, rng: random.Random) -> None:
        self.domain = domain
        self._rng = rng
        self._by_email: dict[str, Mailbox] = {}
        self._by_id: dict[str, Mailbox] = {}

    def _new_id(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def add(
        self,
        email: str,
        *,
        name: str | None,
        kind: str,
        timezone: str,
        language: str,
        has_mailbox: bool = True,
    ) -> Mailbox:
        key = email.strip().lower()
        if "@" not in key:
            raise ValueError(f"not an e-mail address: {email!r}")
        if key in self._by_email:
            raise ValueError(f"already in the directory: {email}")
        zone(timezone)  # refuse unknown zones up front
        mailbox = Mailbox(
            id=self._new_id(),
            email=key,
            name=name or key.split("@", 1)[0].replace(".", " ").title(),
            kind=kind,
            timezone=timezone,
            language=language,
            has_mailbox=has_mailbox,
        )
        self._by_email[key] = mailbox
        self._by_id[mailbox.id] = mailbox
        return mailbox

    def find(self, key: str) -> Mailbox | None:
        """By GUID or user principal name (case-insensitive)."""
        text = key.strip().lower()
        return self._by_id.get(text) or self._by_email.get(text)

    def get(self, key: str) -> Mailbox:
        """A directory object or 404 ``Request_ResourceNotFound`` (Entra ID's answer)."""
        found = self.find(key)
        if found is None:
            raise GraphError(
                404,
                "Request_ResourceNotFound",
                f"Resource '{key}' does not exist or one of its queried reference-property "
                "objects are not present.",
            )
        return found

    def mailbox(self, key: str) -> Mailbox:
        """A mailbox for calendar and settings calls (Exchange's answers when there is none)."""
        found = self.find(key)
        if found is None:
            raise GraphError(404, "ErrorInvalidUser", f"The requested user '{key}' is invalid.")
        if not found.has_mailbox:
            raise GraphError(
                404,
                "MailboxNotEnabledForRESTAPI",
                "The mailbox is either inactive, soft-deleted, or is hosted on-premise.",
            )
        return found

    def by_email(self, email: str) -> Mailbox | None:
        return self._by_email.get(email.strip().lower())

    def all(self) -> list[Mailbox]:
        return list(self._by_email.values())

    def set_replies(self, email: str, replies: AutomaticReplies) -> None:
        if replies.status not in REPLY_STATUSES:
            raise ValueError(f"status must be one of {REPLY_STATUSES}")
        if replies.status == "scheduled" and (replies.start is None or replies.end is None):
            raise ValueError("scheduled automatic replies need start and end")
        mailbox = self.by_email(email)
        if mailbox is None:
            raise KeyError(f"no such mailbox: {email}")
        mailbox.replies = replies
