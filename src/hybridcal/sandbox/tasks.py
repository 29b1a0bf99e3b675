"""Background work the simulator owns: every task is kept until done and cancelled on close."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine
from typing import Any


class TaskSet:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: int | None = None
        self._closed = False

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._thread = threading.get_ident()
        self._closed = False

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run ``coro`` on the simulator's loop; safe to call from the loop or another thread."""
        if self._closed or self._loop is None:
            coro.close()
            return
        if threading.get_ident() == self._thread:
            self._start(coro)
        else:
            self._loop.call_soon_threadsafe(self._start, coro)

    def _start(self, coro: Coroutine[Any, Any, Any]) -> None:
        if self._closed or self._loop is None:
            coro.close()
            return
        task = self._loop.create_task(coro)  # the simulator's loop, whoever is calling
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self, limit_s: float = 5.0) -> None:
        """Wait until no background work is left (new work spawned meanwhile included)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(limit_s):
                while self._tasks:
                    await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        self._closed = True
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()

    def __len__(self) -> int:
        return len(self._tasks)
