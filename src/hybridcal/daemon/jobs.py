"""Periodic work on APScheduler: activation sweep, channel renewal, reconciliation, window
refresh, pruning and out-of-office presence. Jobs only enqueue or do small store work; syncs
themselves always run on the per-calendar queue.

With several replicas each job works on the calendars this replica leases (so each calendar's
channels are renewed and its presence read once per cluster), and the jobs that work on the
store as a whole (pruning) run on the cluster's leader only. Every job is a coroutine:
APScheduler runs plain functions in a worker thread, and the queue belongs to the event loop.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from hybridcal.cluster.base import Coordinator
from hybridcal.config.settings import ScheduleSettings, WindowSettings
from hybridcal.connectors.calendars.base import CalendarConnector
from hybridcal.connectors.errors import ConnectorError
from hybridcal.core.model import CalendarKind, CalendarState, Provider
from hybridcal.daemon.channels import ChannelManager
from hybridcal.daemon.faults import FaultBook
from hybridcal.daemon.metrics import Metrics
from hybridcal.daemon.status import overview
from hybridcal.store.base import Store

log = structlog.get_logger(__name__)

SWEEP_SECONDS = 30
RENEW_CHECK_MINUTES = 10
GAUGE_SECONDS = 60
RETRY_SECONDS = 60  # how often refused meetings (daily limit, no account) are checked for due
PRESENCE_START_DELAY_SECONDS = 5  # after the start-up syncs have had their turn
FULL_REFRESH_HOURS = 24  # the window slides: new occurrences of series enter it every day


@dataclass(frozen=True, slots=True)
class JobParts:
    """What the jobs work with (not the whole daemon)."""

    schedule: ScheduleSettings
    window: WindowSettings
    store: Store
    connectors: Mapping[Provider, CalendarConnector]
    channels: ChannelManager
    metrics: Metrics
    faults: FaultBook
    coordinator: Coordinator
    enqueue: Callable[..., None]  # (calendar key, *, full=False) on this replica's queue
    sweep: Callable[[], Awaitable[None]]
    retry_deferred: Callable[[], Awaitable[int]]
    now: Callable[[], datetime]


class Jobs:
    def __init__(self, parts: JobParts) -> None:
        self._p = parts
        self._scheduler = AsyncIOScheduler(timezone="UTC")

    def start(self) -> None:
        p = self._p
        s = p.schedule
        add = self._scheduler.add_job
        options: dict[str, Any] = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 60}
        add(p.sweep, "interval", seconds=SWEEP_SECONDS, id="sweep", **options)
        add(self.renew, "interval", minutes=RENEW_CHECK_MINUTES, id="renew", **options)
        add(self.reconcile, "interval", minutes=s.reconcile_minutes, id="reconcile", **options)
        add(self.refresh, "interval", hours=FULL_REFRESH_HOURS, id="refresh", **options)
        add(self.prune, "interval", minutes=s.prune_minutes, id="prune", **options)
        # presence is read right after start too, not only after the first interval
        soon = datetime.now(UTC) + timedelta(seconds=PRESENCE_START_DELAY_SECONDS)
        add(
            self.presence,
            "interval",
            minutes=s.presence_minutes,
            id="presence",
            next_run_time=soon,
            **options,
        )
        add(self.gauges, "interval", seconds=GAUGE_SECONDS, id="gauges", **options)
        add(p.retry_deferred, "interval", seconds=RETRY_SECONDS, id="retry", **options)
        self._scheduler.start()

    def stop(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    async def renew(self) -> int:
        p = self._p
        return await p.channels.renew_due(
            lambda provider: p.metrics.renewal(provider.value, "ok"), owned=p.coordinator.owns
        )

    async def reconcile(self) -> None:
        """An incremental sync of every calendar catches notifications that never arrived."""
        await self._enqueue_active(full=False)

    async def refresh(self) -> None:
        await self._enqueue_active(full=True)

    async def prune(self) -> int:
        p = self._p
        if not p.coordinator.leader():
            return 0  # the store is pruned once per cluster
        now = p.now()
        pruned = await p.store.prune_entries(
            now - timedelta(days=p.window.past_days), now + timedelta(days=p.window.future_days)
        )
        if pruned:
            log.info("cache.pruned", rows=pruned)
        return pruned

    async def presence(self) -> None:
        p = self._p
        for calendar in await p.store.list_calendars(state=CalendarState.ACTIVE):
            connector = p.connectors.get(calendar.provider)
            if (
                connector is None
                or calendar.kind is not CalendarKind.USER
                or not p.coordinator.owns(calendar.key)
            ):
                continue
            try:
                await p.store.put_presence(await connector.get_presence(calendar, p.now()))
            except ConnectorError as exc:
                log.info("presence.failed", calendar=calendar.key, error=str(exc))
            except Exception:  # one mailbox's odd settings must not stop everyone's presence
                log.exception("presence.failed", calendar=calendar.key)

    async def gauges(self) -> None:
        """Calendars by state and left in the sweep, cache rows, store integrity errors and
        faults for /metrics (counted from clear columns: nothing is decrypted)."""
        p = self._p
        counts = await overview(p.store, p.now())
        p.metrics.set_calendars(counts.by_state)
        p.metrics.set_sweep(synced=counts.synced, remaining=counts.remaining)
        p.metrics.set_channels_expiring(counts.channels_expiring)
        p.metrics.set_cache_rows(await p.store.count_entries())
        p.metrics.observe_integrity_errors(await p.store.integrity_errors())
        p.metrics.set_faults(
            calendars_in_trouble=p.faults.troubled_calendars(),
            event_faults=p.faults.event_faults(),
            quarantined=await p.store.count_quarantined(),
        )

    async def _enqueue_active(self, *, full: bool) -> None:
        p = self._p
        for calendar in await p.store.list_calendars(state=CalendarState.ACTIVE):
            if p.coordinator.owns(calendar.key):
                p.enqueue(calendar.key, full=full)
