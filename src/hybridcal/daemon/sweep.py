"""The sweep: activate pending calendars and give every active one a channel and a first sync.

The start-up sweep of a large organisation takes minutes, so its order matters: calendars that
registered devices show first, then rooms, then people. A calendar enabled (or taken over from
another replica) while a sweep runs joins the running sweep in its place rather than waiting
for the end. Calendars are handled a few at a time; only calendars this replica leases are
swept.
"""

from __future__ import annotations

import asyncio
import heapq
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog

from hybridcal.cluster.base import Coordinator
from hybridcal.connectors.calendars.base import CalendarConnector
from hybridcal.connectors.errors import ConnectorError
from hybridcal.core.model import CalendarKind, CalendarRecord, CalendarState, Provider
from hybridcal.daemon.activation import activate
from hybridcal.daemon.channels import ChannelManager
from hybridcal.daemon.sync import CalendarSyncer
from hybridcal.store.base import Store

log = structlog.get_logger(__name__)

ERROR_RECHECK = timedelta(minutes=15)  # how often a calendar in error is checked again
SWEEP_CONCURRENCY = 8  # calendars activated / watched at the same time


def sweep_rank(record: CalendarRecord, with_devices: Collection[str]) -> tuple[int, int, str]:
    """Where a calendar comes in a sweep: what endpoints show first, then the order the
    calendars were enabled in."""
    if record.key in with_devices:
        group = 0
    elif record.kind is CalendarKind.ROOM:
        group = 1
    else:
        group = 2
    enabled = record.enabled_seq if record.enabled_seq is not None else 2**62
    return group, enabled, record.key


@dataclass(frozen=True, slots=True)
class SweepProgress:
    done: int
    total: int
    started: float  # time.monotonic() at the start
    running: bool

    def as_dict(self) -> dict[str, object]:
        return {
            "running": self.running,
            "calendars_done": self.done,
            "calendars_total": self.total,
            "seconds": round(time.monotonic() - self.started, 1),
        }


@dataclass
class SweepRun:
    """One sweep in progress: its ordered work, and what each calendar waits for."""

    heap: list[tuple[tuple[int, int, str], str]] = field(default_factory=list)
    todo: dict[str, tuple[CalendarRecord, bool]] = field(default_factory=dict)  # -> catch_up
    seen: set[str] = field(default_factory=set)
    total: int = 0  # calendars queued in this run (one taken over twice counts twice)
    done: int = 0
    started: float = field(default_factory=time.monotonic)
    finished: asyncio.Event = field(default_factory=asyncio.Event)

    def add(
        self, records: list[CalendarRecord], with_devices: Collection[str], *, catch_up: bool
    ) -> None:
        for record in records:
            queued = self.todo.get(record.key)
            if queued is not None:  # still waiting: a catch-up wins over a plain sweep
                self.todo[record.key] = (record, catch_up or queued[1])
            elif record.key not in self.seen:
                self.seen.add(record.key)
                self.todo[record.key] = (record, catch_up)
                heapq.heappush(self.heap, (sweep_rank(record, with_devices), record.key))
                self.total += 1

    def pop(self) -> tuple[CalendarRecord, bool] | None:
        while self.heap:
            _rank, key = heapq.heappop(self.heap)
            item = self.todo.pop(key, None)
            if item is not None:
                return item
        return None


class Sweeper:
    def __init__(
        self,
        *,
        store: Store,
        connectors: Mapping[Provider, CalendarConnector],
        channels: ChannelManager,
        syncer: CalendarSyncer,
        coordinator: Coordinator,
        enqueue: Callable[..., None],
        now: Callable[[], datetime],
        concurrency: int = SWEEP_CONCURRENCY,
    ) -> None:
        self._store = store
        self._connectors = connectors
        self._channels = channels
        self._syncer = syncer
        self._coordinator = coordinator
        self._enqueue = enqueue
        self._now = now
        self._concurrency = concurrency
        self._error_checks: dict[str, datetime] = {}
        self._run: SweepRun | None = None
        self._last: SweepProgress | None = None
        self._background: set[asyncio.Task[None]] = set()

    def progress(self) -> SweepProgress | None:
        """The running sweep's progress, else the last one's; None before the first."""
        run = self._run
        if run is None:
            return self._last
        return SweepProgress(run.done, run.total, run.started, running=True)

    def first_sweep_running(self) -> bool:
        """Whether the start-up sweep has not ended yet."""
        return self._last is None

    async def sweep(self, *, catch_up: bool = False) -> None:
        """Sweep every calendar this replica leases. With ``catch_up`` (at start, and for
        calendars taken over) every active calendar is synced from its stored cursor: changes
        made while nobody watched are read at once, not at the next reconcile. While a sweep
        runs, another call only adds the calendars the running one has not seen."""
        records = [r for r in await self._store.list_calendars() if self._coordinator.owns(r.key)]
        await self._sweep(records, catch_up=catch_up)

    async def taken_over(self, keys: Collection[str]) -> None:
        """Calendars this replica has just taken over: swept as at start, in the background
        (the coordinator calls this inside its claim round, which must not wait for syncs)."""
        task = asyncio.create_task(self._catch_up(set(keys)), name="sweep-taken-over")
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _catch_up(self, keys: set[str]) -> None:
        try:
            records = [r for r in await self._store.list_calendars() if r.key in keys]
            await self._sweep(records, catch_up=True)
        except Exception:  # the periodic sweep and reconcile pick them up
            log.exception("sweep.catch_up_failed", calendars=len(keys))

    async def aclose(self) -> None:
        for task in self._background:
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)

    async def _sweep(self, records: list[CalendarRecord], *, catch_up: bool) -> None:
        with_devices = {d.calendar_key for d in await self._store.list_devices() if not d.revoked}
        if self._run is not None:  # joins the running sweep, in its place
            joined = self._run
            joined.add(records, with_devices, catch_up=catch_up)
            await joined.finished.wait()
            return
        run = self._run = SweepRun()
        run.add(records, with_devices, catch_up=catch_up)
        try:
            await asyncio.gather(*(self._work(run) for _ in range(self._concurrency)))
        finally:
            self._run = None
            self._last = SweepProgress(run.done, run.total, run.started, running=False)
            run.finished.set()

    async def _work(self, run: SweepRun) -> None:
        # A worker ends when nothing is waiting; calendars added while others still work are
        # picked up by those (the run ends only when every worker has ended).
        while (item := run.pop()) is not None:
            record, catch_up = item
            try:
                if self._coordinator.owns(record.key):
                    await self.sweep_calendar(record, catch_up=catch_up)
            except Exception:
                log.exception("sweep.calendar_failed", calendar=record.key)
            finally:
                run.done += 1

    async def sweep_calendar(self, record: CalendarRecord, *, catch_up: bool) -> None:
        connector = self._connectors.get(record.provider)
        if connector is None:
            return
        calendar = record
        if record.state is CalendarState.PENDING or self._recheck_due(record, catch_up):
            calendar = await activate(record, connector, self._store)
        if calendar.state is not CalendarState.ACTIVE:
            return
        if catch_up:  # refusals (Zoom's, Meet's) outlive restarts
            await self._syncer.load_deferred(calendar.key)
        try:
            had = await self._store.list_channels(calendar.key)
            channel = await self._channels.ensure(calendar)
        except ConnectorError as exc:
            log.warning("channel.open_failed", calendar=calendar.key, error=str(exc))
            return
        recovered = record.state is not CalendarState.ACTIVE
        fresh = calendar.cursor is None or not had or (channel and channel not in had)
        if catch_up or fresh or recovered:
            self._enqueue(calendar.key)

    def _recheck_due(self, calendar: CalendarRecord, at_start: bool) -> bool:
        """Calendars in error are checked again at start and every ERROR_RECHECK after they
        were first seen in error: the admin may have fixed the cause."""
        if calendar.state is not CalendarState.ERROR:
            self._error_checks.pop(calendar.key, None)
            return False
        now = self._now()
        last = self._error_checks.setdefault(calendar.key, now)
        if at_start or now - last >= ERROR_RECHECK:
            self._error_checks[calendar.key] = now
            return True
        return False
