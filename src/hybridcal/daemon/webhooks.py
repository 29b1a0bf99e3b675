"""Push notifications from Google: verified before they can cause any work.

Google posts an empty body with headers naming the channel. A notification is accepted only
when the channel id is one we created, and both the resource id and the per-channel random token
match what Google gave us and what we gave Google. Anything else costs the sender a 4xx and us
no API call, except an unknown channel, which is stopped once so that Google stops sending. An
unknown channel of a calendar we watch may also mean that our own channels are dead (a store
restored from a backup): the daemon then checks whether ours still deliver and, if they do not,
opens a new one (``Daemon._stop_unknown_channel``).
Header values must be short printable ASCII, as Google's are; anything else is a 400. Refusals are
logged at most ``_LOG_PER_MINUTE`` times a minute, each line counting those left out before it.
"""

from __future__ import annotations

import hmac
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Mapping
from typing import Protocol
from urllib.parse import unquote, urlsplit

import structlog
from aiohttp import web

from hybridcal.daemon.http_guard import LogThrottle
from hybridcal.store.base import Store

log = structlog.get_logger(__name__)

_MAX_HEADER = 512
_MAX_URI = 2048
_LOG_PER_MINUTE = 10
STOPS_PER_MINUTE = 10  # channels.stop calls for unknown channels, at most


class WebhookMetrics(Protocol):
    def webhook(self, provider: str, outcome: str, count: int = 1) -> None: ...


StopUnknown = Callable[[str, str, str], Awaitable[None]]  # (channel id, resource id, calendar)


class GoogleWebhook:
    def __init__(
        self,
        *,
        store: Store,
        enqueue: Callable[[str], None],
        stop_unknown: StopUnknown,
        metrics: WebhookMetrics,
        max_body: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clock = clock
        self._store = store
        self._enqueue = enqueue
        self._stop_unknown = stop_unknown
        self._metrics = metrics
        self._max_body = max_body
        self._stopped: OrderedDict[str, None] = OrderedDict()  # bounded: forged ids cannot grow it
        self._stop_times: deque[float] = deque(maxlen=STOPS_PER_MINUTE)
        self._log_forged = LogThrottle(_LOG_PER_MINUTE, clock)
        self._log_deferred = LogThrottle(_LOG_PER_MINUTE, clock)
        # calendar -> when one of our channels last delivered (one entry per calendar we watch)
        self._delivered: dict[str, float] = {}

    def delivered_within(self, calendar_key: str, seconds: float) -> bool:
        """Whether one of our channels of the calendar delivered in the last ``seconds``: it
        is alive at Google (a stray channel of the same calendar does not prove ours dead)."""
        at = self._delivered.get(calendar_key)
        return at is not None and self._clock() - at <= seconds

    async def handle(self, request: web.Request) -> web.Response:
        outcome, response = await self._verify(request)
        self._metrics.webhook("google", outcome)
        return response

    async def _verify(self, request: web.Request) -> tuple[str, web.Response]:
        if request.content_length is not None and request.content_length > self._max_body:
            return "too_large", web.Response(status=413)
        body = await request.content.read(self._max_body + 1)
        if len(body) > self._max_body:
            return "too_large", web.Response(status=413)
        headers = request.headers
        channel_id = _header(headers, "X-Goog-Channel-ID", _MAX_HEADER)
        resource_id = _header(headers, "X-Goog-Resource-ID", _MAX_HEADER)
        state = _header(headers, "X-Goog-Resource-State", _MAX_HEADER)
        token = _header(headers, "X-Goog-Channel-Token", _MAX_HEADER)
        uri = _header(headers, "X-Goog-Resource-URI", _MAX_URI)
        if not channel_id or not resource_id or not state or token is None or uri is None:
            return "bad_request", web.Response(status=400)
        channel = await self._store.get_channel(channel_id)
        if channel is None:
            if state != "sync":  # a "sync" may outrun our own record of a brand-new channel
                await self._stop_once(channel_id, resource_id, uri)
            return "unknown_channel", web.Response(status=200)
        token_ok = hmac.compare_digest(token.encode(), channel.secret.encode())
        # the resource id is unknown only while our watch call is still in flight; the
        # 256-bit channel token alone proves the sender then
        expected = channel.resource_id or resource_id
        resource_ok = hmac.compare_digest(resource_id.encode(), expected.encode())
        if not (token_ok and resource_ok):
            if self._log_forged.allow():
                log.warning(
                    "webhook.forged",
                    channel=channel_id,
                    calendar=channel.calendar_key,
                    earlier_lines_suppressed=self._log_forged.take_suppressed(),
                )
            return "forbidden", web.Response(status=403)
        self._delivered[channel.calendar_key] = self._clock()
        if state != "sync":  # "sync" only confirms a new channel; nothing changed yet
            self._enqueue(channel.calendar_key)
        return "accepted", web.Response(status=200)

    async def _stop_once(self, channel_id: str, resource_id: str, resource_uri: str) -> None:
        if channel_id in self._stopped:
            return
        calendar = _calendar_from_uri(resource_uri)
        if not calendar:
            return
        now = self._clock()
        if len(self._stop_times) == STOPS_PER_MINUTE and now - self._stop_times[0] < 60:
            # a flood of made-up channel ids must not turn into a flood of API calls; a real
            # stray channel notifies again and is stopped then
            if self._log_deferred.allow():
                log.info(
                    "webhook.unknown_channel_stop_deferred",
                    channel=channel_id,
                    earlier_lines_suppressed=self._log_deferred.take_suppressed(),
                )
            return
        self._stop_times.append(now)
        self._stopped[channel_id] = None
        if len(self._stopped) > 1024:
            self._stopped.popitem(last=False)
        try:
            await self._stop_unknown(channel_id, resource_id, calendar)
        except Exception as exc:
            log.info("webhook.unknown_channel_not_stopped", channel=channel_id, error=str(exc))


def _header(headers: Mapping[str, str], name: str, limit: int) -> str | None:
    """The header's value ("" when absent); None unless it is printable ASCII within ``limit``."""
    value = headers.get(name, "")
    if len(value) > limit or not (value.isascii() and value.isprintable()):
        return None
    return value


def _calendar_from_uri(uri: str) -> str | None:
    """``.../calendars/alice%40example.com/events?...`` -> ``alice@example.com``."""
    parts = urlsplit(uri).path.split("/")
    try:
        return unquote(parts[parts.index("calendars") + 1]) or None
    except (ValueError, IndexError):
        return None
