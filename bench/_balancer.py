"""What a load balancer does in front of the replicas, small enough to trust: one loopback
address (the daemons' common ``public_url``) that forwards every request to a random replica
in rotation.

A replica is in rotation while its ``/readyz`` answers 200 (checked every
``check_interval`` seconds; a new one counts as healthy until a check fails) and the operator
has not drained it. A request whose connection
to a replica fails is sent to another replica at once, and that replica leaves the rotation
until its health check passes again (nginx's ``proxy_next_upstream error``, HAProxy's
``redispatch``). Provider notifications are safe to send twice, so a retry after a replica
died half-way through a request is harmless.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web

from hybridcal.sandbox import listen

_HOP_BY_HOP = frozenset(
    {
        "connection",
        "content-length",
        "host",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)


@dataclass
class Backend:
    name: str
    url: str
    healthy: bool = True  # until a check fails, as HAProxy starts its servers
    drained: bool = False
    forwarded: int = 0

    @property
    def in_rotation(self) -> bool:
        return self.healthy and not self.drained


@dataclass
class BalancerStats:
    forwarded: int = 0
    retried: int = 0  # a replica refused or dropped the connection; another one answered
    failed: int = 0  # no replica could take the request (answered 502)
    failed_at: list[float] = field(default_factory=list)  # time.monotonic() of each
    unhealthy_checks: int = 0  # health checks that failed or timed out
    by_status: dict[int, int] = field(default_factory=dict)


class Balancer:
    def __init__(self, *, check_interval: float = 1.0, seed: int = 0) -> None:
        self.backends: list[Backend] = []
        self.stats = BalancerStats()
        self.url = ""
        self._check_interval = check_interval
        self._rng = random.Random(seed)
        self._runner: web.AppRunner | None = None
        self._http: aiohttp.ClientSession | None = None
        self._checker: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._http = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=30, connect=2),
            connector=aiohttp.TCPConnector(limit=0, force_close=True),
        )
        app = web.Application(client_max_size=1 << 20)
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        sock, self.url = listen.bind("127.0.0.1", 0)
        await web.SockSite(self._runner, sock).start()
        self._checker = asyncio.create_task(self._check_forever())

    async def close(self) -> None:
        if self._checker is not None:
            self._checker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._checker
        if self._runner is not None:
            await self._runner.cleanup()
        if self._http is not None:
            await self._http.close()

    def add(self, name: str, url: str) -> Backend:
        backend = Backend(name, url)
        self.backends.append(backend)
        return backend

    def drain(self, name: str) -> None:
        """Take a replica out of rotation (before stopping it): no new request reaches it."""
        for backend in self.backends:
            if backend.name == name:
                backend.drained = True

    def undrain(self, name: str) -> None:
        for backend in self.backends:
            if backend.name == name:
                backend.drained = False

    def in_rotation(self) -> list[Backend]:
        return [b for b in self.backends if b.in_rotation]

    async def check_all(self) -> None:
        await asyncio.gather(*(self._check(b) for b in self.backends))

    async def _check_forever(self) -> None:
        while True:
            await self.check_all()
            await asyncio.sleep(self._check_interval)

    async def _check(self, backend: Backend) -> None:
        assert self._http is not None
        try:
            async with self._http.get(
                f"{backend.url}/readyz", timeout=aiohttp.ClientTimeout(total=2)
            ) as resp:
                backend.healthy = resp.status == 200
        except (aiohttp.ClientError, TimeoutError):
            backend.healthy = False
        if not backend.healthy and not backend.drained:
            self.stats.unhealthy_checks += 1

    def _order(self) -> Sequence[Backend]:
        candidates = self.in_rotation()
        self._rng.shuffle(candidates)
        return candidates

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        assert self._http is not None
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
        path = request.rel_url.raw_path_qs
        for attempt, backend in enumerate(self._order()):
            try:
                async with self._http.request(
                    request.method, f"{backend.url}{path}", headers=headers, data=body
                ) as resp:
                    payload = await resp.read()
                    out_headers = {
                        k: v for k, v in resp.headers.items() if k.lower() not in _HOP_BY_HOP
                    }
            except (aiohttp.ClientConnectionError, TimeoutError):
                backend.healthy = False  # until its next health check passes
                continue
            self.stats.forwarded += 1
            self.stats.retried += attempt > 0
            self.stats.by_status[resp.status] = self.stats.by_status.get(resp.status, 0) + 1
            backend.forwarded += 1
            return web.Response(status=resp.status, body=payload, headers=out_headers)
        self.stats.failed += 1
        self.stats.failed_at.append(time.monotonic())
        return web.Response(status=502, text="no replica in rotation\n")
