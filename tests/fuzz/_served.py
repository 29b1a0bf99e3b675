"""An aiohttp app served on loopback from a private event loop, for synchronous Hypothesis tests.

Hypothesis drives plain functions; each example here runs one real HTTP request through the
guard and the handler (``loop.run_until_complete``) with a hard time bound.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TypeVar

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from hybridcal.daemon.http_guard import HttpGuard, HttpLimits

T = TypeVar("T")
PER_INPUT_SECONDS = 5.0  # hard bound per request: generous for a shared 2-core machine


class Served:
    def __init__(
        self, loop: asyncio.AbstractEventLoop, client: TestClient[web.Request, web.Application]
    ) -> None:
        self.loop = loop
        self.client = client

    def run(self, make: Callable[[], Awaitable[T]]) -> T:
        async def bounded() -> T:
            async with asyncio.timeout(PER_INPUT_SECONDS):
                return await make()

        return self.loop.run_until_complete(bounded())

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Sequence[tuple[str, str]] = (),
        headers: Mapping[str, str] | None = None,
        body: bytes = b"",
    ) -> int:
        async def call() -> int:
            async with self.client.request(
                method, path, params=list(params), headers=dict(headers or {}), data=body
            ) as resp:
                await resp.read()
                return resp.status

        return self.run(call)


@contextmanager
def served(
    build: Callable[[web.Application], Awaitable[None]], *, max_body: int
) -> Iterator[Served]:
    """Serve an app that ``build`` fills in, behind an :class:`HttpGuard`, until the block ends."""
    loop = asyncio.new_event_loop()
    try:
        app = web.Application(client_max_size=max_body)
        HttpGuard(HttpLimits(max_body_bytes=max_body, max_requests_per_client=1000)).install(app)

        async def start() -> TestClient[web.Request, web.Application]:
            await build(app)
            client = TestClient(TestServer(app, host="127.0.0.1"))
            await client.start_server()
            return client

        client = loop.run_until_complete(start())
        try:
            yield Served(loop, client)
        finally:
            loop.run_until_complete(client.close())
    finally:
        loop.close()
