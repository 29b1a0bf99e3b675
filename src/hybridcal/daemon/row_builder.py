"""Meeting-list rows built away from the event loop, in a worker process when the text is big.

Building rows means detecting join links in invitation text that anyone who can invite a user
or a room wrote. In a thread, that work still competes with the event loop for Python's global
lock: every socket call of the loop then waits for it, and a megabyte of hostile text put
/healthz at 170 ms p99 (bench/hostile.py). Rounds with little text (nearly all) are built in a
thread, which costs no more than a hop; rounds with more than ``process_threshold`` characters go
to one worker process, whose CPU the loop never waits for. A worker that dies or overruns
``hard_timeout`` is replaced, and its round's sources get a fault instead of rows (they keep the
rows they had).
"""

from __future__ import annotations

import asyncio
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING

import structlog

from hybridcal.core.entries import RowsError, Sources, rows_for_sources, text_size

if TYPE_CHECKING:
    from hybridcal.core.model import MeetingEntry, Window

log = structlog.get_logger(__name__)

PROCESS_THRESHOLD = 64 * 1024  # characters of text in one round that go to the worker process
HARD_TIMEOUT = 120.0  # seconds: far above any budget; a worker this late is stuck, not slow

Built = tuple[dict[str, list["MeetingEntry"]], dict[str, RowsError]]


class RowBuilder:
    def __init__(
        self, *, process_threshold: int = PROCESS_THRESHOLD, hard_timeout: float = HARD_TIMEOUT
    ) -> None:
        self._threshold = process_threshold
        self._hard_timeout = hard_timeout
        self._pool: ProcessPoolExecutor | None = None
        self.process_rounds = 0  # rounds built in the worker process (for tests and metrics)

    async def build(self, sources: Sources, window: Window, budget: float) -> Built:
        if text_size(sources) < self._threshold:
            return await asyncio.to_thread(rows_for_sources, sources, window, budget)
        pool = self._worker()
        self.process_rounds += 1
        try:
            future = asyncio.get_running_loop().run_in_executor(
                pool, rows_for_sources, sources, window, budget
            )
            return await asyncio.wait_for(future, self._hard_timeout)
        except (BrokenProcessPool, TimeoutError) as exc:
            self._discard()
            log.warning("rows.worker_failed", error=type(exc).__name__, sources=len(sources))
            failure = RowsError(
                type(exc).__name__, "the worker building meeting-list rows died or got stuck"
            )
            return {}, dict.fromkeys(sources, failure)

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)

    def _worker(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # spawn, not fork: the daemon has threads (SQLite, the Google client, this pool)
            context = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(max_workers=1, mp_context=context)
        return self._pool

    def _discard(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
