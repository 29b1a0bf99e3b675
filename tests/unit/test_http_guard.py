"""HttpGuard: slow clients are dropped, connections and concurrent requests are capped,
client noise stays out of the log, and every answer carries the security headers."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace

import pytest
from aiohttp import ClientSession, web
from aiohttp.http_exceptions import BadHttpMessage
from aiohttp.test_utils import make_mocked_request
from prometheus_client import CollectorRegistry, generate_latest

from hybridcal.daemon.http_guard import (
    ClientNoiseFilter,
    HttpGuard,
    HttpLimits,
    LogThrottle,
    install_log_filter,
    serve,
)

# Short timeouts keep the tests quick; the assertions wait with generous margins.
LIMITS = HttpLimits(
    header_timeout=0.3,
    body_timeout=0.5,
    keepalive_timeout=5,
    max_connections=8,
    max_requests_per_client=2,
    max_body_bytes=4096,
)
GONE = 3.0  # how long a test waits for a connection that should be dropped


class Server:
    def __init__(self, guard: HttpGuard, port: int) -> None:
        self.guard = guard
        self.port = port
        self.release = asyncio.Event()  # /slow waits for it

    async def open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection("127.0.0.1", self.port)

    async def get(self, path: str, **kwargs: object) -> tuple[int, dict[str, str], bytes]:
        async with (
            ClientSession() as session,
            session.get(f"http://127.0.0.1:{self.port}{path}", **kwargs) as resp,  # type: ignore[arg-type]
        ):
            return resp.status, dict(resp.headers), await resp.read()


async def _closed(reader: asyncio.StreamReader) -> bytes:
    """Everything the server sent before it closed the connection (b"" for a bare close)."""
    data = b""
    async with asyncio.timeout(GONE):
        while True:
            try:
                chunk = await reader.read(65536)
            except ConnectionResetError:
                return data
            if not chunk:
                return data
            data += chunk


async def _until(predicate: Callable[[], bool]) -> None:
    async with asyncio.timeout(GONE):
        while True:
            if predicate():
                return
            await asyncio.sleep(0.01)


def _app(server_ref: list[Server], limits: HttpLimits) -> tuple[web.Application, HttpGuard]:
    app = web.Application(client_max_size=limits.max_body_bytes)
    guard = HttpGuard(limits)
    guard.install(app)

    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"status": "alive"})

    async def slow(_request: web.Request) -> web.Response:
        await server_ref[0].release.wait()
        return web.Response(text="done")

    async def echo(request: web.Request) -> web.Response:
        body = await request.content.read()
        return web.Response(text=str(len(body)))

    async def boom(_request: web.Request) -> web.Response:
        raise RuntimeError("secret input 'x'")

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/slow", slow)
    app.router.add_post("/echo", echo)
    app.router.add_get("/boom", boom)
    return app, guard


ServerFactory = Callable[[HttpLimits], Awaitable[Server]]


@pytest.fixture
async def start() -> AsyncIterator[ServerFactory]:
    runners: list[web.AppRunner] = []
    servers: list[Server] = []

    async def factory(limits: HttpLimits = LIMITS) -> Server:
        ref: list[Server] = []
        app, guard = _app(ref, limits)
        runner = await serve(app, "127.0.0.1", 0)
        runners.append(runner)
        port = runner.addresses[0][1]
        server = Server(guard, port)
        ref.append(server)
        servers.append(server)
        return server

    yield factory
    for server in servers:
        server.release.set()
    for runner in runners:
        await runner.cleanup()


async def test_healthy_request_passes_with_security_headers(start: ServerFactory) -> None:
    server = await start(LIMITS)
    status, headers, body = await server.get("/healthz")
    assert status == 200
    assert b"alive" in body
    assert "Server" not in headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["Cache-Control"] == "no-store"


async def test_router_404_has_no_banner_either(start: ServerFactory) -> None:
    server = await start(LIMITS)
    status, headers, _ = await server.get("/nowhere")
    assert status == 404
    assert "Server" not in headers
    assert headers["X-Content-Type-Options"] == "nosniff"


async def test_slow_loris_head_is_dropped(start: ServerFactory) -> None:
    server = await start(LIMITS)
    reader, writer = await server.open()
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # never finishes the head
    assert await _closed(reader) == b""
    assert server.guard.stats["header_timeout"] == 1
    writer.close()


async def test_silent_connection_is_dropped(start: ServerFactory) -> None:
    server = await start(LIMITS)
    reader, writer = await server.open()
    assert await _closed(reader) == b""
    assert server.guard.stats["header_timeout"] == 1
    writer.close()


async def test_slow_body_is_dropped(start: ServerFactory) -> None:
    server = await start(LIMITS)
    reader, writer = await server.open()
    writer.write(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789")
    assert b"200" not in await _closed(reader)
    assert server.guard.stats["body_timeout"] == 1
    writer.close()
    # the server is fine afterwards
    assert (await server.get("/healthz"))[0] == 200


async def test_keep_alive_connection_serves_several_requests(start: ServerFactory) -> None:
    server = await start(LIMITS)
    reader, writer = await server.open()
    for _ in range(3):
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), GONE)
        assert head.startswith(b"HTTP/1.1 200")
        length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
        await reader.readexactly(length)
    writer.close()
    assert server.guard.stats["header_timeout"] == 0


async def test_oversized_head_is_dropped(start: ServerFactory) -> None:
    server = await start(LIMITS)
    reader, writer = await server.open()
    junk = b"X-Filler: " + b"a" * 4000 + b"\r\n"
    writer.write(b"GET /healthz HTTP/1.1\r\n" + junk * 40)  # past the head allowance, unfinished
    await _closed(reader)
    assert server.guard.stats["head_too_large"] == 1
    writer.close()


async def test_at_the_cap_a_new_connection_evicts_the_oldest_waiting_one(
    start: ServerFactory,
) -> None:
    limits = replace(LIMITS, header_timeout=30)
    server = await start(limits)
    lorises = [await server.open() for _ in range(limits.max_connections)]
    for _, writer in lorises:
        writer.write(b"GET / HTTP/1.1\r\n")
    await asyncio.sleep(0.05)
    assert server.guard.open_connections == limits.max_connections
    status, _, _ = await server.get("/healthz")  # still served: it evicted a loris
    assert status == 200
    assert server.guard.stats["evicted"] >= 1
    assert await _closed(lorises[0][0]) == b""  # the oldest went first
    assert server.guard.open_connections <= limits.max_connections
    for _, writer in lorises:
        writer.close()


async def test_at_the_cap_with_every_connection_busy_new_ones_are_refused(
    start: ServerFactory,
) -> None:
    limits = replace(LIMITS, max_requests_per_client=100, header_timeout=30)
    server = await start(limits)
    busy = [await server.open() for _ in range(limits.max_connections)]
    for _, writer in busy:
        writer.write(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
    await _until(
        lambda: (
            server.guard.open_connections == limits.max_connections and not server.guard._waiting
        )
    )
    reader, writer = await server.open()
    assert await _closed(reader) == b""
    assert server.guard.stats["refused"] == 1
    server.release.set()
    for busy_reader, _ in busy:
        head = await asyncio.wait_for(busy_reader.readuntil(b"\r\n\r\n"), GONE)
        assert head.startswith(b"HTTP/1.1 200")
    for _, busy_writer in busy:
        busy_writer.close()
    writer.close()


async def test_concurrent_requests_per_client_are_capped_with_429(start: ServerFactory) -> None:
    server = await start(LIMITS)
    slow = [asyncio.create_task(server.get("/slow")) for _ in range(LIMITS.max_requests_per_client)]
    await _until(lambda: sum(server.guard._in_flight.values()) == LIMITS.max_requests_per_client)
    status, headers, body = await server.get("/slow")
    assert status == 429
    assert headers["Retry-After"] == "1"
    assert b"too_many_requests" in body
    # the health probe is exempt from the per-client cap
    assert (await server.get("/healthz"))[0] == 200
    server.release.set()
    assert [s for s, _, _ in await asyncio.gather(*slow)] == [200, 200]
    assert server.guard._in_flight == {}


async def test_unexpected_exception_is_a_bare_500_without_the_input(
    start: ServerFactory,
) -> None:
    server = await start(LIMITS)
    status, headers, body = await server.get("/boom")
    assert status == 500
    assert b"secret" not in body
    assert b"internal" in body
    assert "Server" not in headers


def test_client_address_trusts_forwarded_for_only_from_configured_proxies() -> None:
    guard = HttpGuard(replace(LIMITS, trusted_proxies=frozenset({"10.0.0.1", "10.0.0.2"})))

    class Transport:
        def __init__(self, peer: str) -> None:
            self.peer = peer

        def get_extra_info(self, name: str) -> object:
            return (self.peer, 1234) if name == "peername" else None

    def request(peer: str, forwarded: str | None) -> web.BaseRequest:
        headers = {"X-Forwarded-For": forwarded} if forwarded else {}
        return make_mocked_request("GET", "/", headers=headers, transport=Transport(peer))

    assert guard.client_address(request("192.0.2.9", "203.0.113.5")) == "192.0.2.9"
    assert guard.client_address(request("10.0.0.1", "203.0.113.5, 10.0.0.2")) == "203.0.113.5"
    assert guard.client_address(request("10.0.0.1", "not-an-ip")) == "10.0.0.1"
    assert guard.client_address(request("10.0.0.1", None)) == "10.0.0.1"


def test_noise_filter_swallows_client_errors_and_summarises() -> None:
    now = [0.0]
    noise = ClientNoiseFilter(clock=lambda: now[0])

    def record(exc: BaseException | None) -> logging.LogRecord:
        info = (type(exc), exc, None) if exc is not None else None
        return logging.LogRecord("aiohttp.server", logging.ERROR, "x", 1, "m", (), info)

    assert not noise.filter(record(BadHttpMessage("garbage")))
    assert not noise.filter(record(ConnectionResetError()))
    assert noise.filter(record(RuntimeError("our bug")))  # not the client's doing: kept
    assert noise.filter(record(None))
    assert noise.counts == {"BadHttpMessage": 1, "ConnectionResetError": 1}
    assert install_log_filter("hybridcal.test.noise") is install_log_filter("hybridcal.test.noise")


def test_log_throttle_counts_what_it_suppresses() -> None:
    now = [100.0]
    throttle = LogThrottle(per_minute=2, clock=lambda: now[0])
    assert [throttle.allow() for _ in range(5)] == [True, True, False, False, False]
    assert throttle.take_suppressed() == 3
    now[0] += 61
    assert throttle.allow()


def test_guard_counters_are_exposed_as_metrics() -> None:
    guard = HttpGuard(LIMITS)
    registry = CollectorRegistry()
    guard.register(registry)
    guard.stats["header_timeout"] += 3
    text = generate_latest(registry).decode()
    assert 'hybridcal_http_rejected_total{reason="header_timeout"} 3.0' in text
    assert "hybridcal_http_open_connections 0.0" in text
