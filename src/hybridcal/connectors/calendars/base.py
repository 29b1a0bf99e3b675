"""The calendar-connector protocol: one implementation per calendar system."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from hybridcal.core.model import CalendarRecord, Channel, Event, Presence, Provider, Window
from hybridcal.core.patch import EventPatch


@dataclass(frozen=True, slots=True)
class AccessCheck:
    """Result of enabling a calendar: reachable, with the settings we render with."""

    locale: str | None = None
    timezone: str | None = None
    display_name: str | None = None


@dataclass(frozen=True, slots=True)
class SkippedItem:
    event_id: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class ChangeBatch:
    """One complete sync round: all pages, ending in a new cursor."""

    events: list[Event]
    cursor: str
    full: bool  # True when the round listed the whole calendar (no cursor, or cursor expired)
    skipped: list[SkippedItem] = field(default_factory=list)
    api_calls: int = 0


class CalendarConnector(Protocol):
    provider: Provider

    async def check_access(self, calendar: CalendarRecord) -> AccessCheck:
        """Raise AuthError/NotFoundError with an admin-readable reason when unreachable."""

    async def list_changes(self, calendar: CalendarRecord) -> ChangeBatch:
        """Changes since ``calendar.cursor`` (full listing when None).

        Raises CursorExpiredError when the cursor is no longer valid."""

    async def list_instances(
        self, calendar: CalendarRecord, master_id: str, window: Window
    ) -> list[Event]:
        """Occurrences of a series inside the window, with its exceptions applied."""

    async def get_event(self, calendar: CalendarRecord, event_id: str) -> Event | None: ...

    async def patch_event(self, calendar: CalendarRecord, event: Event, patch: EventPatch) -> Event:
        """Apply ``patch`` with If-Match on ``event.etag``; ConflictError on mismatch."""

    async def watch(
        self, calendar: CalendarRecord, *, address: str, channel_id: str, secret: str, now: datetime
    ) -> Channel: ...

    async def renew_channel(
        self, calendar: CalendarRecord, channel: Channel, *, now: datetime
    ) -> Channel | None:
        """Extend ``channel`` in place (Graph subscriptions), or None where the provider cannot
        (Google channels): the caller then opens a new one and stops the old."""

    async def stop_channel(self, calendar: CalendarRecord, channel: Channel) -> None: ...

    def is_own_write(self, calendar_key: str, event_id: str, etag: str | None) -> bool:
        """Whether a change carrying ``etag`` is our own last write of the event coming back
        (False where the provider's notifications carry no etag, as Google's)."""

    async def get_presence(self, calendar: CalendarRecord, now: datetime) -> Presence: ...

    async def close(self) -> None: ...
