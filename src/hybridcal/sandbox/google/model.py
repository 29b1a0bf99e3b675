"""Stored events and their per-calendar copies.

Google keeps one copy of a meeting per calendar that shows it (the organiser's, each attendee
user's, each room's). The copies share ``id`` and ``iCalUID`` and the *shared* fields (title,
times, location, description, recurrence, attendees, status, visibility, conference data,
``extendedProperties.shared``); each copy has its own ``extendedProperties.private``, colour,
reminders, ``etag`` and ``updated``. Every change gets a number from one global counter, so a
calendar's sync token is simply "changes after number N on this calendar".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hybridcal.sandbox.google.times import When

SHARED_FIELDS = (
    "summary",
    "description",
    "location",
    "status",
    "visibility",
    "transparency",
    "attendees",
    "recurrence",
    "guestsCanModify",
    "guestsCanInviteOthers",
    "guestsCanSeeOtherGuests",
    "anyoneCanAddSelf",
    "source",
    "attachments",
    "eventType",
    "endTimeUnspecified",
    "outOfOfficeProperties",
    "focusTimeProperties",
    "workingLocationProperties",
)
COPY_FIELDS = ("colorId", "reminders")
# the fields whose change makes Google raise the iCalendar SEQUENCE
SEQUENCE_FIELDS = ("start", "end", "recurrence", "location", "status")


@dataclass
class Copy:
    calendar: str
    private: dict[str, str]
    local: dict[str, Any]
    etag: str
    updated: datetime
    seq: int
    removed: bool = False  # no longer on this calendar (uninvited, or deleted by its owner)


@dataclass
class StoredEvent:
    id: str
    ical_uid: str
    organizer: str
    ordinal: int
    created: datetime
    fields: dict[str, Any]
    start: When
    end: When
    shared_props: dict[str, str]
    conference: dict[str, Any] | None
    copies: dict[str, Copy]
    sequence: int = 0
    recurring_event_id: str | None = None
    original_start: When | None = None
    request_ids: set[str] = field(default_factory=set)
    # read-only fields of a replayed recording, shown as recorded (replay.VERBATIM_FIELDS)
    verbatim: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> str:
        return str(self.fields.get("status", "confirmed"))

    @property
    def recurrence(self) -> list[str]:
        return list(self.fields.get("recurrence") or [])

    def shared_state(self) -> tuple[Any, ...]:
        return (self.fields, self.start, self.end, self.shared_props, self.conference)

    def live_calendars(self) -> set[str]:
        return {cal for cal, copy in self.copies.items() if not copy.removed}

    def live_copy(self, calendar: str) -> Copy | None:
        copy = self.copies.get(calendar)
        return None if copy is None or copy.removed else copy
