"""Per-calendar work queue: one sync at a time per calendar, bursts coalesced.

A notification for a calendar that is already queued changes nothing; one that arrives while the
calendar is being synced marks it dirty, and exactly one follow-up sync runs afterwards. A queued
calendar waits a short debounce before its sync starts, so that a burst of edits (and the echoes
of our own writes) is read with one listing instead of one per notification. Failed
syncs come back after an exponential backoff (or the provider's Retry-After).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass

import structlog

from hybridcal.connectors.errors import ThrottledError

log = structlog.get_logger(__name__)

Handler = Callable[[str, bool], Awaitable[None]]  # (calendar key, full resync wanted)
OnRetry = Callable[[str, Exception, float], None]  # (calendar key, error, seconds to the retry)


@dataclass
class _Backoff:
    failures: int = 0
    handle: asyncio.TimerHandle | None = None
    throttled: bool = False  # the retry honours the provider's Retry-After


class CalendarQueue:
    def __init__(
        self,
        handler: Handler,
        *,
        concurrency: int = 8,
        debounce: float = 0.0,
        max_backoff: float = 600.0,
        on_depth: Callable[[int], None] | None = None,
        on_retry: OnRetry | None = None,
        on_success: Callable[[str], None] | None = None,
    ) -> None:
        self._handler = handler
        self._concurrency = concurrency
        self._debounce = debounce
        self._debouncing: dict[str, asyncio.TimerHandle] = {}
        self._max_backoff = max_backoff
        self._on_depth = on_depth or (lambda _n: None)
        self._on_retry = on_retry or (lambda _key, _exc, _delay: None)
        self._on_success = on_success or (lambda _key: None)
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._pending: set[str] = set()
        self._running: set[str] = set()
        self._dirty: set[str] = set()
        self._full: set[str] = set()
        self._backoff: dict[str, _Backoff] = {}
        self._dropped: set[str] = set()  # forgotten while queued: skipped when taken
        self._finishing: dict[str, asyncio.Event] = {}  # running key -> set when it ends
        self._workers: list[asyncio.Task[None]] = []
        self._idle = asyncio.Event()
        self._idle.set()
        self.completed = 0
        self.failed = 0
        self._progress_at = time.monotonic()

    def enqueue(self, key: str, *, full: bool = False) -> None:
        # The queue belongs to the event loop: called from another thread, fail before any
        # state changes (a calendar marked pending by a failed call would never sync again).
        loop = asyncio.get_running_loop()
        if full:
            self._full.add(key)
        if key in self._running:
            self._dirty.add(key)
            return
        if key in self._pending:
            return
        pending_retry = self._backoff.get(key)
        if pending_retry is not None and pending_retry.handle is not None:
            if pending_retry.throttled:
                return  # the provider said when: the scheduled retry reads this change too
            pending_retry.handle.cancel()  # a fresh notification: try now rather than later
            pending_retry.handle = None
        if not self.busy:
            self._progress_at = time.monotonic()  # the stall clock starts with the work
        self._pending.add(key)
        self._dropped.discard(key)
        self._idle.clear()
        if self._debounce > 0:
            self._debouncing[key] = loop.call_later(self._debounce, self._release, key)
        else:
            self._queue.put_nowait(key)
        self._on_depth(len(self._pending))

    def _release(self, key: str) -> None:
        self._debouncing.pop(key, None)
        self._queue.put_nowait(key)

    def start(self) -> None:
        for n in range(self._concurrency):
            self._workers.append(asyncio.create_task(self._work(), name=f"calendar-worker-{n}"))

    async def stop(self) -> None:
        for handle in self._debouncing.values():
            handle.cancel()
        self._debouncing.clear()
        for entry in self._backoff.values():
            if entry.handle is not None:
                entry.handle.cancel()
        for task in self._workers:
            task.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers.clear()

    async def forget(self, keys: Collection[str]) -> None:
        """Drop the calendars' waiting work (queued, debounced, retries) and return once none
        of them is being synced: another replica takes them over."""
        gone = set(keys)
        for key in gone:
            handle = self._debouncing.pop(key, None)
            if handle is not None:
                handle.cancel()
            entry = self._backoff.pop(key, None)
            if entry is not None and entry.handle is not None:
                entry.handle.cancel()
        self._dirty -= gone
        self._full -= gone
        self._dropped |= gone & self._pending  # skipped when a worker takes them
        self._pending -= gone
        self._on_depth(len(self._pending))
        for key in gone & self._running:
            await self._finishing[key].wait()
        self._idle_if_done()

    async def wait_idle(self) -> None:
        """Until nothing is queued or running (retries waiting on a timer do not count)."""
        await self._idle.wait()

    @property
    def depth(self) -> int:
        return len(self._pending) + len(self._running)

    @property
    def busy(self) -> bool:
        return bool(self._pending or self._running)

    def healthy(self, stall_after: float = 600.0) -> bool:
        """False when work is waiting but nothing has finished for ``stall_after`` seconds."""
        return not self.busy or time.monotonic() - self._progress_at < stall_after

    async def _work(self) -> None:
        while True:
            key = await self._queue.get()
            if key in self._dropped:  # forgotten while it waited in the queue
                self._dropped.discard(key)
                self._queue.task_done()
                self._idle_if_done()
                continue
            self._pending.discard(key)
            self._progress_at = time.monotonic()
            self._running.add(key)
            finished = self._finishing[key] = asyncio.Event()
            full = key in self._full
            self._full.discard(key)
            try:
                await self._handler(key, full)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.failed += 1
                self._schedule_retry(key, exc, full)
            else:
                self.completed += 1
                self._backoff.pop(key, None)
                self._on_success(key)
            finally:
                self._progress_at = time.monotonic()
                self._running.discard(key)
                del self._finishing[key]
                finished.set()
                self._queue.task_done()
            if key in self._dirty:
                self._dirty.discard(key)
                self.enqueue(key)
            self._on_depth(len(self._pending))
            self._idle_if_done()

    def _idle_if_done(self) -> None:
        if not self._pending and not self._running:
            self._idle.set()

    def _schedule_retry(self, key: str, exc: Exception, full: bool) -> None:
        entry = self._backoff.setdefault(key, _Backoff())
        entry.failures += 1
        delay = min(self._max_backoff, 2.0 ** min(entry.failures, 10)) * random.uniform(0.5, 1.0)  # noqa: S311 - jitter
        entry.throttled = isinstance(exc, ThrottledError) and exc.retry_after is not None
        if isinstance(exc, ThrottledError) and exc.retry_after is not None:
            delay = max(delay, exc.retry_after)
        log.warning(
            "sync.failed",
            calendar=key,
            error=str(exc),
            error_type=type(exc).__name__,
            retry_in_s=round(delay, 1),
        )
        loop = asyncio.get_running_loop()
        entry.handle = loop.call_later(delay, self._retry, key, full)
        self._on_retry(key, exc, delay)

    def _retry(self, key: str, full: bool) -> None:
        entry = self._backoff.get(key)
        if entry is not None:
            entry.handle = None
        self.enqueue(key, full=full)
