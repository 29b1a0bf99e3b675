"""Periodic work on APScheduler: activation sweep, channel renewal, reconciliation, window
refresh, pruning and out-of-office presence. Jobs only enqueue or do small store work; syncs
themselves always run on the per-calendar queue."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from hybridcal.connectors.errors import ConnectorError
from hybridcal.core.model import CalendarKind, CalendarState

if TYPE_CHECKING:
    from hybridcal.daemon.service import Daemon

log = structlog.get_logger(__name__)

SWEEP_SECONDS = 30
RENEW_CHECK_MINUTES = 10
GAUGE_SECONDS = 60
RETRY_SECONDS = 60  # how often refused meetings (daily limit, no account) are checked for due
PRESENCE_START_DELAY_SECONDS = 5  # after the start-up syncs have had their turn
FULL_REFRESH_HOURS = 24  # the window slides: new occurrences of series enter it every day


class Jobs:
    def __init__(self, daemon: Daemon) -> None:
        self._d = daemon
        self._scheduler = AsyncIOScheduler(timezone="UTC")

    def start(self) -> None:
        s = self._d.settings.schedule
        add = self._scheduler.add_job
        options = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 60}
        add(self._d.sweep, "interval", seconds=SWEEP_SECONDS, id="sweep", **options)
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
        add(self._d.retry_deferred, "interval", seconds=RETRY_SECONDS, id="retry", **options)
        self._scheduler.start()

    def stop(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    async def renew(self) -> int:
        assert self._d.channels is not None
        return await self._d.channels.renew_due(
            lambda provider: self._d.metrics.renewal(provider.value, "ok")
        )

    async def reconcile(self) -> None:
        """An incremental sync of every calendar catches notifications that never arrived."""
        await self._enqueue_active(full=False)

    async def refresh(self) -> None:
        await self._enqueue_active(full=True)

    async def prune(self) -> int:
        assert self._d.store is not None
        w = self._d.settings.window
        now = self._d.now()
        pruned = await self._d.store.prune_entries(
            now - timedelta(days=w.past_days), now + timedelta(days=w.future_days)
        )
        if pruned:
            log.info("cache.pruned", rows=pruned)
        return pruned

    async def presence(self) -> None:
        store = self._d.store
        assert store is not None
        for calendar in await store.list_calendars(state=CalendarState.ACTIVE):
            connector = self._d.connectors.get(calendar.provider)
            if connector is None or calendar.kind is not CalendarKind.USER:
                continue
            try:
                await store.put_presence(await connector.get_presence(calendar, self._d.now()))
            except ConnectorError as exc:
                log.info("presence.failed", calendar=calendar.key, error=str(exc))
            except Exception:  # one mailbox's odd settings must not stop everyone's presence
                log.exception("presence.failed", calendar=calendar.key)

    async def gauges(self) -> None:
        """Calendars by state, cache rows, store integrity errors and faults for /metrics."""
        store = self._d.store
        assert store is not None
        counts = Counter(c.state for c in await store.list_calendars())
        self._d.metrics.set_calendars(counts)
        self._d.metrics.set_cache_rows(await store.count_entries())
        self._d.metrics.observe_integrity_errors(await store.integrity_errors())
        faults = self._d.faults
        if faults is not None:
            self._d.metrics.set_faults(
                calendars_in_trouble=faults.troubled_calendars(),
                event_faults=faults.event_faults(),
                quarantined=await store.count_quarantined(),
            )

    async def _enqueue_active(self, *, full: bool) -> None:
        store, queue = self._d.store, self._d.queue
        assert store is not None
        assert queue is not None
        for calendar in await store.list_calendars(state=CalendarState.ACTIVE):
            queue.enqueue(calendar.key, full=full)
