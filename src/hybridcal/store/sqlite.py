"""The embedded SQLite store: the asynchronous face of the table classes.

Every call runs on one dedicated worker thread (a single-thread executor) which owns the only
connection, so the event loop never waits for SQLite or for encryption, calls are served in the
order they were made, and the connection never crosses threads. The file is created with mode
0600, in WAL mode with ``synchronous=NORMAL`` and foreign keys on.

Usage::

    cipher = RecordCipher(open_keyring(path=..., credential=..., environ=os.environ))
    store = await SQLiteStore.open(Path("/var/lib/hybridcal/store.db"), cipher)
    try:
        ...
    finally:
        await store.close()

``open`` raises ``WrongKeyringError`` when the keyring is not the one the database was created
with, and ``SchemaError`` when a newer hybridcal wrote the database.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Generic, ParamSpec, Self, TypeVar, cast

from hybridcal.store.base import AppToken, CalendarOverview, DeviceView, StoreError
from hybridcal.store.sqlite_cache import CacheTables
from hybridcal.store.sqlite_faults import FaultTables
from hybridcal.store.sqlite_overview import OverviewTables
from hybridcal.store.sqlite_tables import DirectoryTables
from hybridcal.store.sqlite_tokens import AppTokenTables

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Mapping, Sequence
    from pathlib import Path
    from types import TracebackType

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
    from hybridcal.crypto import RecordCipher
    from hybridcal.store.base import SyncResult

P = ParamSpec("P")
T = TypeVar("T")


def _utcnow() -> datetime:
    return datetime.now(UTC)


class _Tables(DirectoryTables, CacheTables, FaultTables, OverviewTables, AppTokenTables):
    """Every table of the store on one connection."""


@dataclass(frozen=True, slots=True)
class _Outcome(Generic[T]):
    """What one job on the worker thread produced, with the rows it found unreadable."""

    failures: list[tuple[str, str]]
    value: T | None = None
    error: BaseException | None = None


class SQLiteStore:
    """Implements ``hybridcal.store.base.Store``. Create with :meth:`open`."""

    def __init__(
        self,
        tables: _Tables,
        reader: _Tables,
        executor: ThreadPoolExecutor,
        on_integrity_error: Callable[[str, str], None] | None,
    ) -> None:
        self._tables = tables
        self._reader = reader
        self._executor = executor
        self._on_integrity_error = on_integrity_error
        self._integrity_errors = 0
        self._closed = False

    @classmethod
    async def open(
        cls,
        path: Path,
        cipher: RecordCipher,
        *,
        now: Callable[[], datetime] = _utcnow,
        on_integrity_error: Callable[[str, str], None] | None = None,
    ) -> SQLiteStore:
        """Open or create the database at ``path``.

        ``on_integrity_error(table, row_id)`` is called on the event loop for every stored value
        that fails authentication (tampered, moved to another row, or sealed with a key the
        keyring lacks); such rows are skipped, logged without content and counted.
        """
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hybridcal-sqlite")
        loop = asyncio.get_running_loop()
        try:
            tables = await loop.run_in_executor(executor, _Tables.open, path, cipher, now)
            await loop.run_in_executor(executor, tables.seal_devices)
        except BaseException:
            executor.shutdown(wait=False)
            raise
        try:
            reader = _Tables.reader(path, cipher, now)
        except BaseException:
            await loop.run_in_executor(executor, tables.close)
            executor.shutdown(wait=False)
            raise
        return cls(tables, reader, executor, on_integrity_error)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._reader.close()
            await asyncio.get_running_loop().run_in_executor(self._executor, self._tables.close)
        finally:
            self._executor.shutdown(wait=False)  # the queue is empty: the thread ends at once

    def _report(self, failures: list[tuple[str, str]]) -> None:
        for table, row_id in failures:
            self._integrity_errors += 1
            if self._on_integrity_error is not None:
                self._on_integrity_error(table, row_id)

    async def integrity_errors(self) -> int:
        return self._integrity_errors

    async def _run(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        if self._closed:
            raise StoreError("the store is closed")

        def job() -> _Outcome[T]:
            try:
                value = fn(*args, **kwargs)
            except Exception as exc:  # handed back to the awaiting coroutine below
                return _Outcome(self._tables.take_failures(), error=exc)
            return _Outcome(self._tables.take_failures(), value=value)

        outcome = await asyncio.get_running_loop().run_in_executor(self._executor, job)
        self._report(outcome.failures)
        if outcome.error is not None:
            raise outcome.error
        return cast("T", outcome.value)  # T may itself be None, so no narrowing here

    # -- calendars -------------------------------------------------------------------------------

    async def add_calendar(self, record: CalendarRecord) -> None:
        await self._run(self._tables.add_calendar, record)

    async def add_calendars(self, records: Sequence[CalendarRecord]) -> list[str]:
        return await self._run(self._tables.add_calendars, records)

    async def get_calendar(self, key: str) -> CalendarRecord | None:
        return await self._run(self._tables.get_calendar, key)

    async def calendar_overview(
        self,
        *,
        now: datetime,
        recent_since: datetime,
        fresh_since: datetime,
        expiring_before: datetime,
    ) -> CalendarOverview:
        return await self._run(
            self._tables.calendar_overview, now, recent_since, fresh_since, expiring_before
        )

    async def calendar_reasons(self, state: CalendarState) -> list[tuple[str, str | None]]:
        return await self._run(self._tables.calendar_reasons, state)

    async def list_calendars(
        self,
        *,
        provider: Provider | None = None,
        kind: CalendarKind | None = None,
        state: CalendarState | None = None,
    ) -> list[CalendarRecord]:
        return await self._run(self._tables.list_calendars, provider, kind, state)

    async def update_calendar(self, record: CalendarRecord) -> None:
        await self._run(self._tables.update_calendar, record)

    async def set_calendar_state(
        self, key: str, state: CalendarState, reason: str | None = None
    ) -> None:
        await self._run(self._tables.set_calendar_state, key, state, reason)

    async def remove_calendar(self, key: str) -> None:
        await self._run(self._tables.remove_calendar, key)

    # -- push channels ---------------------------------------------------------------------------

    async def put_channel(self, channel: Channel) -> None:
        await self._run(self._tables.put_channel, channel)

    async def get_channel(self, channel_id: str) -> Channel | None:
        return await self._run(self._tables.get_channel, channel_id)

    async def list_channels(self, calendar_key: str | None = None) -> list[Channel]:
        return await self._run(self._tables.list_channels, calendar_key)

    async def delete_channel(self, channel_id: str) -> None:
        await self._run(self._tables.delete_channel, channel_id)

    # -- bindings --------------------------------------------------------------------------------

    async def get_binding(self, calendar_key: str, event_id: str) -> Binding | None:
        """Raises the crypto DecryptionError when the stored binding cannot be read."""
        return await self._run(self._tables.get_binding, calendar_key, event_id)

    async def put_binding(self, binding: Binding) -> None:
        await self._run(self._tables.put_binding, binding)

    async def delete_binding(self, calendar_key: str, event_id: str) -> None:
        await self._run(self._tables.delete_binding, calendar_key, event_id)

    async def list_bindings(self, calendar_key: str) -> list[Binding]:
        return await self._run(self._tables.list_bindings, calendar_key)

    async def binding_ids(self, calendar_key: str) -> set[str]:
        return await self._run(self._tables.binding_ids, calendar_key)

    # -- the meeting cache -----------------------------------------------------------------------

    async def apply_sync(self, result: SyncResult) -> None:
        await self._run(self._tables.apply_sync, result)

    async def list_entries(
        self, calendar_key: str, start: datetime, end: datetime
    ) -> list[MeetingEntry]:
        return await self._run(self._tables.list_entries, calendar_key, start, end)

    async def cache_version(self, calendar_key: str) -> int:
        return await self._run(self._tables.cache_version, calendar_key)

    async def count_entries(self) -> int:
        return await self._run(self._tables.count_entries)

    async def prune_entries(self, before: datetime, after: datetime) -> int:
        return await self._run(self._tables.prune_entries, before, after)

    # -- devices ---------------------------------------------------------------------------------

    async def add_device(self, device: Device) -> None:
        await self._run(self._tables.add_device, device)

    async def get_device_by_token_hash(self, token_hash: str) -> Device | None:
        return await self._run(self._tables.get_device_by_token_hash, token_hash)

    async def list_devices(self, calendar_key: str | None = None) -> list[Device]:
        return await self._run(self._tables.list_devices, calendar_key)

    async def revoke_device(self, device_id: str) -> None:
        await self._run(self._tables.revoke_device, device_id)

    async def device_view(self, token_hash: str) -> DeviceView | None:
        """The endpoint's hot path runs on the event loop with a read-only connection: one
        indexed query and a few small (memoised) decryptions cost less than the hop to the
        worker thread would, and polls do not queue behind a sync's writes (WAL readers never
        wait)."""
        if self._closed:
            raise StoreError("the store is closed")
        try:
            return self._reader.device_view(token_hash)
        finally:
            self._report(self._reader.take_failures())

    # -- faults and quarantine -------------------------------------------------------------------

    async def put_fault(self, fault: Fault) -> None:
        await self._run(self._tables.put_fault, fault)

    async def clear_faults(self, calendar_key: str, event_ids: Collection[str]) -> None:
        await self._run(self._tables.clear_faults, calendar_key, tuple(event_ids))

    async def list_faults(self, calendar_key: str | None = None) -> list[Fault]:
        return await self._run(self._tables.list_faults, calendar_key)

    async def latest_faults(self, limit: int) -> list[Fault]:
        return await self._run(self._tables.latest_faults, limit)

    async def quarantine_unreadable(self, calendar_key: str) -> int:
        return await self._run(self._tables.quarantine_unreadable, calendar_key)

    async def count_quarantined(self) -> int:
        return await self._run(self._tables.count_quarantined)

    # -- presence --------------------------------------------------------------------------------

    async def put_presence(self, presence: Presence) -> None:
        await self._run(self._tables.put_presence, presence)

    async def get_presence(self, calendar_key: str) -> Presence | None:
        return await self._run(self._tables.get_presence, calendar_key)

    # -- credentials of the daemon's own apps ----------------------------------------------------

    async def get_app_token(self, name: str) -> AppToken | None:
        return await self._run(self._tables.get_app_token, name)

    async def replace_app_token(
        self, name: str, data: Mapping[str, str], expected_version: int
    ) -> AppToken | None:
        return await self._run(self._tables.replace_app_token, name, data, expected_version)

    async def put_app_token(self, name: str, data: Mapping[str, str]) -> AppToken:
        return await self._run(self._tables.put_app_token, name, data)

    async def delete_app_token(self, name: str) -> None:
        await self._run(self._tables.delete_app_token, name)
