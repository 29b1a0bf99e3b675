"""Bounded cost for hostile HTTP clients: timeouts, caps, quiet logs, safe response headers.

aiohttp reads request heads and bodies without a deadline and accepts connections without a
limit, so one client trickling bytes can hold sockets (and file descriptors) for as long as it
likes. :class:`HttpGuard` closes that gap in two places:

* a thin protocol in front of aiohttp's ``RequestHandler`` (:class:`_GuardedConnection`) sees
  every connection: it caps their number, drops a connection whose request head is not complete
  ``header_timeout`` seconds after its first byte (or after connecting), and bounds the bytes a
  connection may send before its head is complete;
* a middleware sees every request: it drops a connection whose body is still incomplete
  ``body_timeout`` seconds after the head, answers ``429`` beyond ``max_requests_per_client``
  concurrent requests from one address, and turns an unexpected exception into a bare ``500``.

At the connection cap a new connection first evicts the connection that has been waiting longest
for a request head (idle keep-alive or slow head): a slow-loris crowd then cannot lock out a
health probe, whose request follows its connect within a millisecond. Only when every connection
is busy with a request is the new one refused (reset at once, before aiohttp sees it).

Dropped clients are counted, not logged one by one: aiohttp's ``aiohttp.server`` logger writes a
traceback for every malformed head or vanished client, which a flood turns into megabytes of
log. :func:`install_log_filter` swallows those records and logs a summary at most once a minute.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import ipaddress
import json
import logging
import time
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import structlog
from aiohttp import hdrs, web
from aiohttp.http_exceptions import HttpProcessingError
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from prometheus_client import CollectorRegistry

    from hybridcal.config.settings import DaemonSettings

log = structlog.get_logger(__name__)

# Request heads: aiohttp's own limits per line and field, fewer fields than its default 128.
MAX_LINE_SIZE = 8190
MAX_FIELD_SIZE = 8190
MAX_HEADERS = 64
# Bytes a connection may send before its head is complete: a full head plus, because a small
# POST arrives in the same read as its head, one webhook body.
HEAD_ALLOWANCE = 32 * 1024
# After an answer, unread request body is drained (and then the connection closed) this long.
LINGERING_SECONDS = 2.0
RETRY_AFTER_SECONDS = 1
SUMMARY_INTERVAL = 60.0  # seconds between "suppressed client errors" summaries


@dataclass(frozen=True, slots=True)
class HttpLimits:
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    keepalive_timeout: float = 75.0
    max_connections: int = 1000
    max_requests_per_client: int = 32
    max_body_bytes: int = 65536
    trusted_proxies: frozenset[str] = frozenset()
    # cheap, answered from memory: never throttled, so a probe is not starved by a busy client
    exempt_paths: frozenset[str] = frozenset({"/healthz", "/readyz"})

    @classmethod
    def from_settings(cls, daemon: DaemonSettings) -> HttpLimits:
        return cls(
            header_timeout=daemon.header_timeout_seconds,
            body_timeout=daemon.body_timeout_seconds,
            keepalive_timeout=daemon.keepalive_timeout_seconds,
            max_connections=daemon.max_connections,
            max_requests_per_client=daemon.max_requests_per_client,
            max_body_bytes=daemon.max_webhook_body_bytes,
            trusted_proxies=frozenset(daemon.trusted_proxies),
        )

    @property
    def head_allowance(self) -> int:
        return HEAD_ALLOWANCE + self.max_body_bytes


class _Phase(enum.Enum):
    HEAD = "head"  # waiting for a complete request head (timer armed)
    REQUEST = "request"  # a handler runs
    IDLE = "idle"  # between requests of a keep-alive connection (aiohttp's keep-alive timer)
    CLOSED = "closed"


class _GuardedConnection(asyncio.Protocol):
    """Stands between the transport and aiohttp's ``RequestHandler``, forwarding everything."""

    def __init__(self, guard: HttpGuard, make_handler: Callable[[], asyncio.Protocol]) -> None:
        self._guard = guard
        self._make_handler = make_handler
        self._inner: asyncio.Protocol | None = None
        self.transport: asyncio.Transport | None = None
        self.phase = _Phase.HEAD
        self._timer: asyncio.TimerHandle | None = None
        self._head_bytes = 0
        self._request: web.BaseRequest | None = None

    # -- asyncio.Protocol ------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        if not self._guard.admit(self):
            self.phase = _Phase.CLOSED
            transport.abort()
            return
        self._inner = self._make_handler()
        self._inner.connection_made(transport)
        self._await_head()

    def data_received(self, data: bytes) -> None:
        if self._inner is None or self.phase is _Phase.CLOSED:
            return
        if self.phase is _Phase.IDLE:
            self._await_head()
        if self.phase is _Phase.HEAD:
            self._head_bytes += len(data)
            if self._head_bytes > self._guard.limits.head_allowance:
                self.drop("head_too_large")
                return
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received() if self._inner is not None else None

    def connection_lost(self, exc: Exception | None) -> None:
        self._close()
        if self._inner is not None:
            self._inner.connection_lost(exc)
            self._inner = None

    def pause_writing(self) -> None:
        if self._inner is not None:
            self._inner.pause_writing()

    def resume_writing(self) -> None:
        if self._inner is not None:
            self._inner.resume_writing()

    # -- phases ----------------------------------------------------------------------------
    def _await_head(self) -> None:
        self._set_phase(_Phase.HEAD)
        self._head_bytes = 0
        self._arm(self._guard.limits.header_timeout, self._head_expired)

    def request_started(self, request: web.BaseRequest) -> None:
        if self.phase is _Phase.CLOSED:
            return
        self._set_phase(_Phase.REQUEST)
        self._request = request
        if request.body_exists and not request.content.is_eof():
            self._arm(self._guard.limits.body_timeout, self._body_expired)
        else:
            self._disarm()

    def request_finished(self) -> None:
        if self.phase is not _Phase.REQUEST:
            return
        self._request = None
        self._disarm()
        self._set_phase(_Phase.IDLE)

    def drop(self, reason: str) -> None:
        """Close at once (RST), without an answer: the client stalled or crowds others out."""
        if self.phase is _Phase.CLOSED:
            return
        self._guard.stats[reason] += 1
        self._close()
        if self.transport is not None:
            self.transport.abort()

    def _set_phase(self, phase: _Phase) -> None:
        self.phase = phase
        self._guard.waiting(self, phase in (_Phase.HEAD, _Phase.IDLE))

    def _head_expired(self) -> None:
        self._timer = None
        if self.phase is _Phase.HEAD:
            self.drop("header_timeout")

    def _body_expired(self) -> None:
        self._timer = None
        request = self._request
        if self.phase is _Phase.REQUEST and request is not None and not request.content.is_eof():
            self.drop("body_timeout")

    def _arm(self, delay: float, callback: Callable[[], None]) -> None:
        self._disarm()
        self._timer = asyncio.get_running_loop().call_later(delay, callback)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _close(self) -> None:
        if self.phase is _Phase.CLOSED:
            return
        self._disarm()
        self._set_phase(_Phase.CLOSED)
        self._request = None
        self._guard.release(self)


@dataclass(eq=False)
class HttpGuard:
    """Shared by the protocol (per connection) and the middleware (per request)."""

    limits: HttpLimits = field(default_factory=HttpLimits)
    stats: Counter[str] = field(default_factory=Counter)
    _open: int = 0
    _waiting: OrderedDict[_GuardedConnection, None] = field(default_factory=OrderedDict)
    _by_transport: dict[asyncio.BaseTransport, _GuardedConnection] = field(default_factory=dict)
    _in_flight: dict[str, int] = field(default_factory=dict)

    @property
    def open_connections(self) -> int:
        return self._open

    def install(self, app: web.Application) -> None:
        """Add the middleware and the response-header hook to ``app`` (before it starts)."""

        @web.middleware
        async def guard(
            request: web.Request,
            handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
        ) -> web.StreamResponse:
            return await self._middleware(request, handler)

        app.middlewares.append(guard)
        app.on_response_prepare.append(_security_headers)
        app[GUARD] = self

    def protocol_factory(self, make_handler: Callable[[], asyncio.Protocol]) -> Callable[[], Any]:
        return lambda: _GuardedConnection(self, make_handler)

    def register(self, registry: CollectorRegistry) -> None:
        """Expose the counters as Prometheus metrics in the daemon's registry."""
        registry.register(_GuardCollector(self))

    # -- connections -----------------------------------------------------------------------
    def admit(self, conn: _GuardedConnection) -> bool:
        if self._open >= self.limits.max_connections:
            if not self._waiting:
                self.stats["refused"] += 1
                return False
            oldest = next(iter(self._waiting))
            oldest.drop("evicted")
        self._open += 1
        assert conn.transport is not None
        self._by_transport[conn.transport] = conn
        return True

    def waiting(self, conn: _GuardedConnection, waiting: bool) -> None:
        """Track connections without a request in progress; newest last, evicted oldest first."""
        self._waiting.pop(conn, None)
        if waiting:
            self._waiting[conn] = None

    def release(self, conn: _GuardedConnection) -> None:
        self._waiting.pop(conn, None)
        if conn.transport is not None and self._by_transport.pop(conn.transport, None) is conn:
            self._open -= 1

    # -- requests --------------------------------------------------------------------------
    def client_address(self, request: web.BaseRequest) -> str:
        """The peer; behind a configured proxy, the nearest untrusted X-Forwarded-For hop."""
        transport = request.transport
        peer = transport.get_extra_info("peername") if transport is not None else None
        address = str(peer[0]) if isinstance(peer, tuple) and peer else "unknown"
        if address not in self.limits.trusted_proxies:
            return address
        hops = ",".join(request.headers.getall(hdrs.X_FORWARDED_FOR, []))
        for hop in reversed(hops.split(",")):
            try:
                candidate = str(ipaddress.ip_address(hop.strip()))
            except ValueError:
                break  # garbage: stop trusting the chain here
            if candidate not in self.limits.trusted_proxies:
                return candidate
        return address

    async def _middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        conn = self._by_transport.get(request.transport) if request.transport else None
        if conn is not None:
            conn.request_started(request)
        try:
            if request.path in self.limits.exempt_paths:
                return await _guarded(handler, request, self)
            client = self.client_address(request)
            count = self._in_flight.get(client, 0)
            if count >= self.limits.max_requests_per_client:
                self.stats["throttled"] += 1
                return _json_error(
                    429,
                    "too_many_requests",
                    "too many concurrent requests from this address",
                    {hdrs.RETRY_AFTER: str(RETRY_AFTER_SECONDS)},
                )
            self._in_flight[client] = count + 1
            try:
                return await _guarded(handler, request, self)
            finally:
                left = self._in_flight[client] - 1
                if left:
                    self._in_flight[client] = left
                else:
                    del self._in_flight[client]
        finally:
            if conn is not None:
                conn.request_finished()


GUARD = web.AppKey("http_guard", HttpGuard)


async def _guarded(
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    request: web.Request,
    guard: HttpGuard,
) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException:
        raise  # aiohttp's own answers (404, 405, 413, ...)
    except (ConnectionError, web.RequestPayloadError):
        # the client vanished or sent a broken body: nobody is left to read an answer
        guard.stats["client_gone"] += 1
        return web.Response(status=400)
    except Exception:
        # A bug, not the client's fault. Say nothing about the input; log it (five times a
        # minute at most, so that a request that triggers it cannot flood the log).
        guard.stats["internal_error"] += 1
        if _ERROR_LOG.allow():
            log.exception("http.unhandled_exception", path=request.path)
        return _json_error(500, "internal", "internal error")


def _json_error(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        status=status,
        body=json.dumps({"error": code, "message": message}).encode(),
        content_type="application/json",
        headers=headers,
    )


async def _security_headers(_request: web.Request, response: web.StreamResponse) -> None:
    headers = response.headers
    headers.pop(hdrs.SERVER, None)  # no "Python/3.x aiohttp/3.y" banner
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault(hdrs.CACHE_CONTROL, "no-store")  # every answer here is dynamic


class LogThrottle:
    """At most ``per_minute`` log lines a minute; the suppressed ones are counted."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._per_minute = per_minute
        self._clock = clock
        self._window_start = -SUMMARY_INTERVAL
        self._used = 0
        self.suppressed = 0

    def allow(self) -> bool:
        now = self._clock()
        if now - self._window_start >= SUMMARY_INTERVAL:
            self._window_start, self._used = now, 0
        if self._used < self._per_minute:
            self._used += 1
            return True
        self.suppressed += 1
        return False

    def take_suppressed(self) -> int:
        count, self.suppressed = self.suppressed, 0
        return count


_ERROR_LOG = LogThrottle(per_minute=5)


# -- aiohttp's server log --------------------------------------------------------------------------
_CLIENT_NOISE: tuple[type[BaseException], ...] = (
    HttpProcessingError,  # malformed request line or headers
    web.RequestPayloadError,
    ConnectionError,
    asyncio.CancelledError,
    TimeoutError,
)


class ClientNoiseFilter(logging.Filter):
    """Drops aiohttp.server records caused by clients; logs a count at most once a minute."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.counts: Counter[str] = Counter()
        self._pending: Counter[str] = Counter()
        self._clock = clock
        self._last_summary = clock()

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is None or not isinstance(exc, _CLIENT_NOISE):
            return True
        kind = type(exc).__name__
        self.counts[kind] += 1
        self._pending[kind] += 1
        now = self._clock()
        if now - self._last_summary >= SUMMARY_INTERVAL:
            self._last_summary = now
            pending, self._pending = dict(self._pending), Counter()
            log.info("http.client_errors_suppressed", counts=pending)
        return False


def install_log_filter(logger_name: str = "aiohttp.server") -> ClientNoiseFilter:
    """Attach the filter once per process; returns the one attached."""
    logger = logging.getLogger(logger_name)
    for existing in logger.filters:
        if isinstance(existing, ClientNoiseFilter):
            return existing
    noise = ClientNoiseFilter()
    logger.addFilter(noise)
    return noise


# -- serving -------------------------------------------------------------------------------------
class GuardedSite(web.BaseSite):
    """A TCP site whose connections pass through the guard's protocol."""

    __slots__ = ("_guard", "_host", "_port")

    def __init__(
        self, runner: web.BaseRunner, guard: HttpGuard, host: str, port: int, backlog: int = 512
    ) -> None:
        super().__init__(runner, backlog=backlog)
        self._guard = guard
        self._host = host
        self._port = port

    @property
    def name(self) -> str:
        return f"http://{self._host}:{self._port}"

    async def start(self) -> None:
        await super().start()
        server = self._runner.server
        assert server is not None
        self._server = await asyncio.get_running_loop().create_server(
            self._guard.protocol_factory(server),
            self._host,
            self._port,
            backlog=self._backlog,
            reuse_address=True,
        )


def make_runner(app: web.Application) -> web.AppRunner:
    """An ``AppRunner`` with the guard's limits for ``app`` (built with :meth:`install`)."""
    limits = app[GUARD].limits
    return web.AppRunner(
        app,
        access_log=None,
        handler_cancellation=True,  # a vanished client's handler stops instead of running on
        keepalive_timeout=limits.keepalive_timeout,
        max_line_size=MAX_LINE_SIZE,
        max_field_size=MAX_FIELD_SIZE,
        max_headers=MAX_HEADERS,
        lingering_time=min(LINGERING_SECONDS, limits.body_timeout),
    )


async def serve(app: web.Application, host: str, port: int) -> web.AppRunner:
    """Start ``app`` on ``host:port`` behind its guard; ``runner.cleanup()`` stops it."""
    install_log_filter()
    runner = make_runner(app)
    await runner.setup()
    try:
        await GuardedSite(runner, app[GUARD], host, port).start()
    except BaseException:
        with contextlib.suppress(Exception):
            await runner.cleanup()
        raise
    return runner


class _GuardCollector:
    """Prometheus view of the guard's counters (read at scrape time, nothing to update)."""

    def __init__(self, guard: HttpGuard) -> None:
        self._guard = guard

    def describe(self) -> list[Any]:
        return list(self.collect())

    def collect(self) -> list[Any]:
        dropped = CounterMetricFamily(
            "hybridcal_http_rejected",
            "Connections dropped or requests refused by the HTTP guard, by reason",
            labels=["reason"],
        )
        for reason in REASONS:
            dropped.add_metric([reason], self._guard.stats[reason])
        open_now = GaugeMetricFamily("hybridcal_http_open_connections", "Open HTTP connections")
        open_now.add_metric([], self._guard.open_connections)
        return [dropped, open_now]


REASONS = (
    "header_timeout",
    "body_timeout",
    "head_too_large",
    "evicted",
    "refused",
    "throttled",
    "client_gone",
    "internal_error",
)
