"""What happens around one calendar's sync: only the lease holder syncs, failures become the
calendar's sync fault (cleared by the next good round), unreadable rows are repaired, and
refused work comes back when it is due. The queue's handler and callbacks."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

import structlog

from hybridcal.cluster.base import Coordinator, LeaseLostError
from hybridcal.core.model import SYNC_FAULT
from hybridcal.daemon.faults import FaultBook
from hybridcal.daemon.sync import CalendarSyncer

log = structlog.get_logger(__name__)

Deliver = Callable[..., None]  # (calendar key, *, full=False): see Dispatcher
REPAIRABLE_TABLES = frozenset({"bindings", "meetings", "presence"})


class Dispatcher:
    """Where "look at this calendar again" goes: the local queue when this replica holds the
    calendar's lease, else through the coordinator to the replica that does."""

    def __init__(self, enqueue: Deliver, coordinator: Coordinator) -> None:
        self._enqueue = enqueue
        self._coordinator = coordinator
        self._sending: set[asyncio.Task[None]] = set()

    def __call__(self, key: str, *, full: bool = False) -> None:
        if self._coordinator.owns(key):
            self._enqueue(key, full=full)
            return
        task = asyncio.create_task(self._send(key, full))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send(self, key: str, full: bool) -> None:
        try:
            await self._coordinator.notify(key, full=full)
        except Exception:  # the owner's reconcile reads the change all the same
            log.exception("cluster.notify_failed", calendar=key)

    async def aclose(self) -> None:
        await asyncio.gather(*self._sending, return_exceptions=True)


class CalendarWork:
    def __init__(
        self,
        *,
        syncer: CalendarSyncer,
        faults: FaultBook,
        coordinator: Coordinator,
        deliver: Deliver,
    ) -> None:
        self._syncer = syncer
        self._faults = faults
        self._coordinator = coordinator
        self._deliver = deliver
        self._bookkeeping: set[asyncio.Task[None]] = set()

    async def run(self, key: str, full: bool) -> None:
        """The queue's handler: one sync round, by the lease holder only."""
        if not self._coordinator.owns(key):
            log.debug("sync.not_ours", calendar=key)
            return
        try:
            await self._syncer.sync(key, full)
        except LeaseLostError:
            log.info("sync.lease_lost", calendar=key)  # the new owner catches up from the cursor

    def failed(self, key: str, exc: Exception, retry_in: float) -> None:
        """A calendar's sync round failed; the queue retries it in ``retry_in`` seconds."""
        delay = timedelta(seconds=retry_in)
        self._book(self._faults.failed(key, SYNC_FAULT, exc, retry_in=delay), f"sync fault {key}")

    def succeeded(self, key: str) -> None:
        if self._faults.attempts(key, SYNC_FAULT):
            self._book(self._faults.handled(key, [SYNC_FAULT]), f"sync recovered {key}")

    def unreadable(self, table: str, row_id: str) -> None:
        """A stored row failed to decrypt: quarantine the calendar's unreadable rows and
        rebuild them from the provider in its next (full) sync."""
        if table not in REPAIRABLE_TABLES:
            return
        key = row_id.split("/", 1)[0]
        self._syncer.needs_repair(key)
        self._deliver(key, full=True)

    async def retry_deferred(self) -> int:
        """Queue the calendars whose refused meetings or failed events are due to be tried
        again. A coroutine on purpose: APScheduler runs plain functions in a worker thread,
        and the queue belongs to the event loop."""
        due = [key for key in self._syncer.due_calendars() if self._coordinator.owns(key)]
        for key in due:
            self._deliver(key)
        return len(due)

    def _book(self, work: Coroutine[Any, Any, object], what: str) -> None:
        """Run a small store write from a synchronous callback, keeping a reference."""

        async def run() -> None:
            try:
                await work
            except Exception:
                log.exception("daemon.bookkeeping_failed", what=what)

        task = asyncio.create_task(run())
        self._bookkeeping.add(task)
        task.add_done_callback(self._bookkeeping.discard)

    async def aclose(self) -> None:
        await asyncio.gather(*self._bookkeeping, return_exceptions=True)
