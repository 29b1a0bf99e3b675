"""The daemon as a service: start (assemble every part, tell systemd READY=1), serve, stop
(undo the assembly in reverse order). What the parts are and the order they are built in is
``hybridcal.daemon.assembly``."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from contextlib import AsyncExitStack
from datetime import datetime

import structlog

from hybridcal.config.secrets import Overrides
from hybridcal.config.settings import Settings
from hybridcal.connectors.calendars.base import CalendarConnector
from hybridcal.core.clock import utcnow
from hybridcal.core.model import Provider
from hybridcal.daemon.assembly import Parts, assemble
from hybridcal.daemon.faults import FaultBook
from hybridcal.daemon.jobs import Jobs
from hybridcal.daemon.metrics import Metrics
from hybridcal.daemon.sdnotify import SystemdNotifier
from hybridcal.daemon.work_queue import CalendarQueue
from hybridcal.store.base import Store

log = structlog.get_logger(__name__)


class NotStartedError(RuntimeError):
    def __init__(self) -> None:
        super().__init__("the daemon has not been started")


class Daemon:
    def __init__(
        self,
        settings: Settings,
        *,
        overrides: Overrides | None = None,
        environ: Mapping[str, str] | None = None,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self._overrides = overrides or Overrides()
        self._environ = dict(environ or {})
        self.now = now
        self.metrics = Metrics()  # before start: tests and the demo read it across restarts
        self._notifier = SystemdNotifier(self._environ)
        self._stack: AsyncExitStack | None = None
        self._parts: Parts | None = None
        self.ready = False

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        stack = AsyncExitStack()
        try:
            self._parts = await assemble(
                stack,
                self.settings,
                overrides=self._overrides,
                environ=self._environ,
                now=self.now,
                metrics=self.metrics,
                ready=lambda: self.ready,
            )
            watchdog = self._notifier.start_watchdog(self._healthy)
            if watchdog is not None:
                stack.push_async_callback(_cancel, watchdog)
        except BaseException:
            await stack.aclose()
            raise
        self._stack = stack
        self.ready = True
        self._notifier.notify("READY=1", f"STATUS=serving on {self.base_url}")
        log.info(
            "daemon.started",
            url=self.base_url,
            providers=[p.value for p in self._parts.connectors],
            replica=self._parts.coordinator.replica_id,
        )

    async def stop(self) -> None:
        self.ready = False
        self._notifier.notify("STOPPING=1")
        stack, self._stack = self._stack, None
        if stack is not None:
            await stack.aclose()
            log.info("daemon.stopped")

    async def run_until(self, stop: asyncio.Event) -> None:
        """Serve until ``stop`` is set; whatever part of the start-up succeeded is undone."""
        try:
            await self.start()
            await stop.wait()
        finally:
            await self.stop()

    def _healthy(self) -> bool:
        """Watchdog pings only while work makes progress (a wedged worker stops them)."""
        return self.ready and self._parts is not None and self._parts.queue.healthy()

    # -- what tests, the demo and the benchmarks look at -------------------------------------

    @property
    def parts(self) -> Parts:
        if self._parts is None:
            raise NotStartedError
        return self._parts

    @property
    def base_url(self) -> str:
        return self.parts.base_url

    @property
    def store(self) -> Store:
        return self.parts.store

    @property
    def queue(self) -> CalendarQueue:
        return self.parts.queue

    @property
    def jobs(self) -> Jobs:
        return self.parts.jobs

    @property
    def faults(self) -> FaultBook:
        return self.parts.faults

    @property
    def connectors(self) -> Mapping[Provider, CalendarConnector]:
        return self.parts.connectors

    @property
    def stray_grace_s(self) -> float:
        return self.parts.care.stray_grace_s

    @stray_grace_s.setter
    def stray_grace_s(self, seconds: float) -> None:
        self.parts.care.stray_grace_s = seconds

    async def sweep(self, *, catch_up: bool = False) -> None:
        await self.parts.sweeper.sweep(catch_up=catch_up)

    async def retry_deferred(self) -> int:
        return await self.parts.work.retry_deferred()

    async def wait_initial_sweep(self) -> None:
        """Until the start-up sweep has activated, watched and queued every calendar."""
        await asyncio.shield(self.parts.initial_sweep)

    async def wait_channel_checks(self) -> None:
        """Until the channel checks started by stray notifications are done (tests, demo)."""
        await self.parts.care.wait_checks()


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
