"""The Store protocol: everything the daemon keeps between restarts.

The protocol is asynchronous so that a PostgreSQL implementation (several replicas, calendars
leased with ``SELECT ... FOR UPDATE SKIP LOCKED``) fits beside the embedded SQLite one without
touching ``core`` or the connectors. Implementations encrypt every sensitive field themselves
(titles, addresses, join links, passcodes, channel secrets) with a :class:`RecordCipher`, binding
each ciphertext to its row; only lookup keys and times are stored in clear.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from hybridcal.core.model import (
    Binding,
    CalendarKind,
    CalendarRecord,
    CalendarState,
    Channel,
    Device,
    Fault,
    MeetingEntry,
    Presence,
    Provider,
)


class StoreError(Exception):
    """Base of the store's errors."""


class NotFoundError(StoreError):
    pass


class AlreadyExistsError(StoreError):
    pass


class SchemaError(StoreError):
    """The database was written by an incompatible version of hybridcal."""


@dataclass(frozen=True, slots=True)
class SyncResult:
    """Everything one sync round of one calendar changes, applied in one transaction.

    ``replace`` maps a source event id (event or series master) to its complete new set of rows;
    ``remove`` lists source event ids whose rows go away; ``full`` means the round listed the whole
    calendar, so rows of source events it did not mention go away too. The cursor is saved in the
    same transaction, only after the rows are durable.
    """

    calendar_key: str
    replace: dict[str, Sequence[MeetingEntry]]
    remove: Sequence[str]
    cursor: str | None
    full: bool = False
    synced_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class AppToken:
    """The stored credentials of one of the daemon's own apps (e.g. the Webex Service App).
    ``version`` grows with every write: replicas replace a record only at the version they
    read (compare-and-swap), so a rotated refresh token is never overwritten by a stale one."""

    name: str
    version: int
    data: Mapping[str, str] = field(repr=False)


@dataclass(frozen=True, slots=True)
class DeviceView:
    """Everything the endpoint API needs to answer one poll, read in one store call."""

    device: Device
    calendar: CalendarRecord
    cache_version: int
    presence: Presence | None


@dataclass(frozen=True, slots=True)
class CalendarOverview:
    """Counts over all calendars for ``hybridcal status`` and the gauges, read from clear
    columns only (nothing is decrypted), so they stay cheap at 10,000 calendars.

    A calendar is *synced* when it is active, has a cursor and a live channel. *Newly synced*
    estimates how many became synced since ``recent_since`` without a first-sync column: synced
    calendars whose last round is in that span and whose oldest live channel was made after
    ``fresh_since`` (a calendar synced long ago has an old channel, so a re-sync of it, e.g.
    after a notification, is not counted; a renewed Google channel briefly looks new)."""

    by_state: Mapping[CalendarState, int]
    synced: int
    newly_synced: int
    first_newly_synced: datetime | None  # the earliest last-round time among the newly synced
    channels_expiring: int  # live channels that expire before ``expiring_before``
    calendars_failing: int  # calendars with a sync fault
    event_faults: int
    by_kind: Mapping[CalendarKind, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.by_state.values())

    @property
    def remaining(self) -> int:
        """Calendars the sweep still has to sync: neither synced nor in error."""
        return max(0, self.total - self.by_state.get(CalendarState.ERROR, 0) - self.synced)


class Store(Protocol):
    # -- calendars ---------------------------------------------------------------------------
    async def add_calendar(self, record: CalendarRecord) -> None:
        """Insert a new calendar; raises AlreadyExistsError if the key exists."""

    async def add_calendars(self, records: Sequence[CalendarRecord]) -> list[str]:
        """Insert many new calendars in one transaction; returns the keys that already existed
        (those records are left out, the stored calendars untouched)."""
        existing = []
        for record in records:
            try:
                await self.add_calendar(record)
            except AlreadyExistsError:
                existing.append(record.key)
        return existing

    async def calendar_overview(
        self,
        *,
        now: datetime,
        recent_since: datetime,
        fresh_since: datetime,
        expiring_before: datetime,
    ) -> CalendarOverview:
        """Counts by state and kind, the sweep's progress, expiring channels and faults."""

    async def calendar_reasons(self, state: CalendarState) -> list[tuple[str, str | None]]:
        """(key, reason) of every calendar in ``state``; an unreadable reason is None."""

    async def get_calendar(self, key: str) -> CalendarRecord | None: ...

    async def list_calendars(
        self,
        *,
        provider: Provider | None = None,
        kind: CalendarKind | None = None,
        state: CalendarState | None = None,
    ) -> list[CalendarRecord]: ...

    async def update_calendar(self, record: CalendarRecord) -> None:
        """Replace a calendar's fields; raises NotFoundError if it is unknown."""

    async def set_calendar_state(
        self, key: str, state: CalendarState, reason: str | None = None
    ) -> None: ...

    async def remove_calendar(self, key: str) -> None:
        """Remove a calendar with its channels, bindings, cache rows, presence and devices."""

    # -- push channels -----------------------------------------------------------------------
    async def put_channel(self, channel: Channel) -> None: ...

    async def get_channel(self, channel_id: str) -> Channel | None: ...

    async def list_channels(self, calendar_key: str | None = None) -> list[Channel]: ...

    async def delete_channel(self, channel_id: str) -> None: ...

    # -- bindings: events we acted on --------------------------------------------------------
    async def get_binding(self, calendar_key: str, event_id: str) -> Binding | None: ...

    async def put_binding(self, binding: Binding) -> None: ...

    async def delete_binding(self, calendar_key: str, event_id: str) -> None: ...

    async def list_bindings(self, calendar_key: str) -> list[Binding]: ...

    async def binding_ids(self, calendar_key: str) -> set[str]:
        """Ids of the calendar's events that have a binding (clear columns only: cheap)."""

    # -- the meeting cache -------------------------------------------------------------------
    async def apply_sync(self, result: SyncResult) -> None: ...

    async def list_entries(
        self, calendar_key: str, start: datetime, end: datetime
    ) -> list[MeetingEntry]:
        """Rows overlapping [start, end), ordered by start. Rows that fail authentication
        (tampered, swapped, unknown key) are skipped and reported, never returned."""

    async def cache_version(self, calendar_key: str) -> int:
        """A number that changes whenever the calendar's rows change (for ETags)."""

    async def count_entries(self) -> int:
        """All cache rows of all calendars (a gauge for the admin)."""

    async def prune_entries(self, before: datetime, after: datetime) -> int:
        """Delete rows that end before ``before`` or start after ``after``; returns the count."""

    # -- devices -----------------------------------------------------------------------------
    async def add_device(self, device: Device) -> None: ...

    async def get_device_by_token_hash(self, token_hash: str) -> Device | None: ...

    async def list_devices(self, calendar_key: str | None = None) -> list[Device]: ...

    async def revoke_device(self, device_id: str) -> None: ...

    async def device_view(self, token_hash: str) -> DeviceView | None:
        """The device with this token hash, its calendar, the calendar's cache version and
        presence, in one call (the endpoint's hot path); None when the device is unknown or its
        calendar is gone. Revoked devices are returned, the caller refuses them."""

    # -- presence ----------------------------------------------------------------------------
    async def put_presence(self, presence: Presence) -> None: ...

    async def get_presence(self, calendar_key: str) -> Presence | None: ...

    # -- faults: events (and sync rounds) that could not be handled ---------------------------
    async def put_fault(self, fault: Fault) -> None:
        """Insert or replace the fault of ``(fault.calendar_key, fault.event_id)``."""

    async def clear_faults(self, calendar_key: str, event_ids: Collection[str]) -> None:
        """Forget the faults of these events (they were handled after all)."""

    async def list_faults(self, calendar_key: str | None = None) -> list[Fault]:
        """Faults of one calendar, or of all, oldest first. A fault whose sealed message cannot
        be read is returned with a placeholder message (it is still a fault)."""

    async def latest_faults(self, limit: int) -> list[Fault]:
        """The ``limit`` faults seen most recently (any calendar), newest first."""

    # -- quarantine: rows that fail authentication -------------------------------------------
    async def quarantine_unreadable(self, calendar_key: str) -> int:
        """Move the calendar's bindings and cache rows that no longer decrypt (bit rot, a
        restored backup, a key removed from the keyring) out of the way, keeping their bytes in
        a quarantine table, so that the next full sync rebuilds them from the provider and the
        planner re-adopts meetings from the markers in the events. Returns how many moved."""

    async def count_quarantined(self) -> int:
        """Rows kept in quarantine (a gauge for the admin)."""

    # -- lifecycle ---------------------------------------------------------------------------
    async def integrity_errors(self) -> int:
        """How many rows failed authentication since start (also exported as a metric)."""

    # -- credentials of the daemon's own apps ----------------------------------------------------

    async def get_app_token(self, name: str) -> AppToken | None:
        """None when absent, or when the record no longer decrypts (reported)."""

    async def replace_app_token(
        self, name: str, data: Mapping[str, str], expected_version: int
    ) -> AppToken | None:
        """Compare-and-swap: write only if the record is still at ``expected_version``; None
        when another writer came first (or the record is gone)."""

    async def put_app_token(self, name: str, data: Mapping[str, str]) -> AppToken:
        """Write whatever is stored (an admin authorising the app again)."""

    async def delete_app_token(self, name: str) -> None: ...

    async def close(self) -> None: ...
