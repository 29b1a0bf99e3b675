"""Faults: the events (and sync rounds) hybridcal could not handle, and when to try again.

Invitation content is hostile input and providers answer in ways no test foresaw, so one event
must never hold up its calendar: the syncer records the event's fault here and moves on, the
admin sees it (``users show``, ``/readyz``, ``/metrics``), and the event is read again once its
retry time has come — sooner after the first failure, rarely once it keeps failing. A calendar
whose sync round itself keeps failing is recorded the same way under ``SYNC_FAULT``.

The book is the in-memory index (one per daemon) over the store's ``faults`` table, so that a
healthy round costs no store access at all: it is loaded once at start and written through.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import replace
from datetime import datetime, timedelta

import structlog

from hybridcal.connectors.errors import ConnectorError, WritesPausedError
from hybridcal.core.entries import RowsError
from hybridcal.core.model import SYNC_FAULT, Fault
from hybridcal.store.base import Store

log = structlog.get_logger(__name__)

FIRST_RETRY = timedelta(minutes=1)
MAX_RETRY = timedelta(hours=6)
MESSAGE_LIMIT = 500  # characters of an error message kept for the admin
# how long one event's transient failures (5xx, throttling, a lost answer) hold the calendar's
# cursor back, so that its rounds replay it at the queue's pace; after that the event waits for
# its own retry time and the cursor moves on
TRANSIENT_GRACE = timedelta(minutes=10)


def retry_delay(attempts: int) -> timedelta:
    """1 min after the first failure, doubling, at most 6 h."""
    doublings: int = min(max(attempts - 1, 0), 20)
    return min(MAX_RETRY, FIRST_RETRY * (1 << doublings))


def describe(exc: BaseException) -> tuple[str, str]:
    """(error type, admin-readable message) of ``exc``; never more than MESSAGE_LIMIT."""
    error = exc.error if isinstance(exc, RowsError) else type(exc).__name__  # from a worker
    text = str(exc).strip() or error
    if not isinstance(exc, ConnectorError):
        text = f"{text} (unexpected: a bug in hybridcal or the provider's answer; please report)"
    if len(text) > MESSAGE_LIMIT:
        text = text[: MESSAGE_LIMIT - 1] + "…"
    return error, text


class FaultBook:
    def __init__(self, store: Store, now: Callable[[], datetime]) -> None:
        self._store = store
        self._now = now
        self._faults: dict[str, dict[str, Fault]] = {}

    async def load(self) -> None:
        """Fill the index from the store (faults outlive restarts)."""
        self._faults.clear()
        for fault in await self._store.list_faults():
            self._faults.setdefault(fault.calendar_key, {})[fault.event_id] = fault

    # -- what the syncer reports -----------------------------------------------------------------

    async def failed(
        self,
        calendar_key: str,
        event_id: str,
        exc: BaseException,
        *,
        retry_in: timedelta | None = None,
    ) -> Fault:
        """Record that ``event_id`` (or SYNC_FAULT) failed with ``exc``; returns the fault."""
        now = self._now()
        error, message = describe(exc)
        known = self._faults.get(calendar_key, {}).get(event_id)
        attempts = 1 if known is None else known.attempts + 1
        if retry_in is None and isinstance(exc, WritesPausedError):
            retry_in = max(exc.until - now, FIRST_RETRY)  # the provider said for how long
        fault = Fault(
            calendar_key=calendar_key,
            event_id=event_id,
            error=error,
            message=message,
            first_seen=now if known is None else known.first_seen,
            last_seen=now,
            attempts=attempts,
            retry_at=now + (retry_in if retry_in is not None else retry_delay(attempts)),
        )
        self._faults.setdefault(calendar_key, {})[event_id] = fault
        await self._store.put_fault(fault)
        return fault

    async def handled(self, calendar_key: str, event_ids: Iterable[str]) -> None:
        """These events (or SYNC_FAULT) went through: forget their faults, if they had any."""
        known = self._faults.get(calendar_key)
        if not known:
            return
        cleared = [event_id for event_id in event_ids if event_id in known]
        if not cleared:
            return
        for event_id in cleared:
            del known[event_id]
        if not known:
            del self._faults[calendar_key]
        await self._store.clear_faults(calendar_key, cleared)
        log.info("fault.cleared", calendar=calendar_key, events=len(cleared))

    def forget_calendar(self, calendar_key: str) -> None:
        self._faults.pop(calendar_key, None)

    # -- what the syncer and the daemon ask ------------------------------------------------------

    def attempts(self, calendar_key: str, event_id: str) -> int:
        fault = self._faults.get(calendar_key, {}).get(event_id)
        return 0 if fault is None else fault.attempts

    def has_faults(self, calendar_key: str) -> bool:
        return bool(self._faults.get(calendar_key))

    def event_ids(self, calendar_key: str) -> Collection[str]:
        return [e for e in self._faults.get(calendar_key, {}) if e != SYNC_FAULT]

    def due_events(self, calendar_key: str) -> list[str]:
        """Events of the calendar whose retry time has come."""
        now = self._now()
        return [
            fault.event_id
            for fault in self._faults.get(calendar_key, {}).values()
            if fault.event_id != SYNC_FAULT and (fault.retry_at is None or fault.retry_at <= now)
        ]

    def postpone(self, calendar_key: str, event_id: str) -> None:
        """The event could not even be read again: try at its next retry time, not at once."""
        fault = self._faults.get(calendar_key, {}).get(event_id)
        if fault is not None:
            retry = self._now() + retry_delay(fault.attempts)
            self._faults[calendar_key][event_id] = replace(fault, retry_at=retry)

    def due_calendars(self) -> list[str]:
        return [key for key in self._faults if self.due_events(key)]

    def troubled_calendars(self) -> int:
        """Calendars whose sync round itself is failing."""
        return sum(1 for faults in self._faults.values() if SYNC_FAULT in faults)

    def event_faults(self) -> int:
        return sum(
            1 for faults in self._faults.values() for event_id in faults if event_id != SYNC_FAULT
        )
