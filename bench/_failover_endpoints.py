"""Room devices polling their meeting lists on the replicas throughout the failover.

Every request goes straight to one replica that is live (not killed, not being stopped) and
stays live until the answer is in: before a replica is killed or stopped it is taken out of
``live`` and its requests in flight are awaited, as a load balancer drains it. An error is any
answer but 200 with a JSON meeting list, or no answer at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import aiohttp

MEETINGS_PATH = "/api/v1/meetings"


@dataclass
class Target:
    name: str
    url: str
    live: bool = True
    in_flight: int = 0
    requests: int = 0
    errors: int = 0

    async def quiesce(self, within: float = 5.0) -> None:
        """Stop sending to this replica and wait for what is in flight."""
        self.live = False
        deadline = time.monotonic() + within
        while self.in_flight and time.monotonic() < deadline:  # noqa: ASYNC110 - a counter
            await asyncio.sleep(0.01)


@dataclass
class PollStats:
    requests: int = 0
    errors: int = 0
    samples: list[str] = field(default_factory=list)  # the first few errors, for the report
    latencies: list[float] = field(default_factory=list)


class EndpointPoller:
    def __init__(
        self,
        targets: Sequence[Target],
        tokens: Sequence[str],
        *,
        workers: int = 2,
        interval: float = 0.1,
        seed: int = 0,
    ) -> None:
        self.targets = targets
        self.tokens = tokens
        self.stats = PollStats()
        self._workers = workers
        self._interval = interval
        self._rng = random.Random(seed)
        self._tasks: list[asyncio.Task[None]] = []
        self._http: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        self._tasks = [asyncio.create_task(self._work()) for _ in range(self._workers)]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._http is not None:
            await self._http.close()

    async def _work(self) -> None:
        while True:
            live = [t for t in self.targets if t.live]
            if live and self.tokens:
                await self._poll(self._rng.choice(live), self._rng.choice(self.tokens))
            await asyncio.sleep(self._interval)

    async def _poll(self, target: Target, token: str) -> None:
        assert self._http is not None
        target.in_flight += 1
        began = time.perf_counter()
        error: str | None = None
        try:
            async with self._http.get(
                f"{target.url}{MEETINGS_PATH}", headers={"Authorization": f"Bearer {token}"}
            ) as resp:
                if resp.status != 200:
                    error = f"{target.name}: HTTP {resp.status} {(await resp.text())[:200]}"
                elif not isinstance((await resp.json()).get("meetings"), list):
                    error = f"{target.name}: 200 without a meeting list"
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            error = f"{target.name}: {type(exc).__name__}: {exc}"
        finally:
            target.in_flight -= 1
        self.stats.latencies.append(time.perf_counter() - began)
        self.stats.requests += 1
        target.requests += 1
        if error is not None:
            self.stats.errors += 1
            target.errors += 1
            if len(self.stats.samples) < 5:
                self.stats.samples.append(error)
