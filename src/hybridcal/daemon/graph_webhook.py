"""Change and lifecycle notifications from Microsoft Graph: verified before they cause any work.

Both URLs first answer Graph's validation handshake (``?validationToken=``: 200, text/plain, the
decoded token). A notification POST carries ``{"value": [...]}``, possibly for several
subscriptions; each item counts only when its ``subscriptionId`` is a channel we stored and its
``clientState`` equals that channel's secret (constant-time compare). Valid items enqueue their
calendar (the queue coalesces); the rest are counted and dropped, with one log line per
request (rate-limited), not one per item. Items for subscriptions we do not know (an orphan of a
lost channel, an old subscription Graph still serves) are acknowledged and dropped: answering
them with an error only makes Graph retry them for up to four hours. When the clientState proves
the orphan is this app's (``forget``), it is deleted in the background. A batch in which nothing
was accepted and an item of a known subscription carried a wrong clientState is answered 403,
without saying why. A forged batch costs little: the body is bounded, deep nesting is a 400, and
at most ``MAX_LOOKUPS`` distinct subscriptions are looked up per POST, fewer once ``MAX_MISSES``
of them proved unknown or forged (a genuine batch names subscriptions we created). Graph wants
an answer within 3 seconds, so the handler never calls Graph itself: lifecycle work (renew,
re-create, resync) and orphan deletion run in tracked background tasks.
"""

from __future__ import annotations

import asyncio
import hmac
import json
from collections import Counter, OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import structlog
from aiohttp import web

from hybridcal.core.model import Channel
from hybridcal.daemon.http_guard import LogThrottle
from hybridcal.daemon.webhooks import WebhookMetrics
from hybridcal.store.base import Store

log = structlog.get_logger(__name__)

PROVIDER = "microsoft"
MAX_VALIDATION_TOKEN = 1024  # Graph's tokens are a few hundred characters
MAX_ITEMS = 1000  # items of one POST that are looked at; a larger batch is not from Graph
# Distinct subscription ids looked up in the store per POST, and how many unknown or forged ones
# end the lookups. Graph groups a POST by notification URL, so a genuine batch may span several
# of our subscriptions, but each of them is ours: a run of misses means a forgery.
MAX_LOOKUPS = 100
MAX_MISSES = 8
_MAX_ID = 256
_FORGOTTEN_KEPT = 1000
# one rejection line per request, and no more than this many per minute
_REJECTIONS_LOGGED_PER_MINUTE = 10

Callback = Callable[[str], Awaitable[None]]
# (subscription id, clientState) -> deletes the subscription if it is provably ours
Forget = Callable[[str, str], Awaitable[bool]]


@dataclass(frozen=True, slots=True)
class _Item:
    subscription_id: str
    client_state: str
    lifecycle_event: str | None
    event_id: str | None = None  # resourceData.id of a change notification
    etag: str | None = None  # resourceData["@odata.etag"]


# (calendar key, event id, etag) -> the change is our own write coming back
OwnWrite = Callable[[str, str, str | None], bool]


class GraphWebhook:
    def __init__(
        self,
        *,
        store: Store,
        enqueue: Callable[[str], None],
        metrics: WebhookMetrics,
        max_body: int,
        renew: Callback,
        recreate: Callback,
        resync: Callback,
        own_write: OwnWrite | None = None,
        forget: Forget | None = None,
        ours: Callable[[str], bool] | None = None,
    ) -> None:
        """``renew(subscription_id)`` extends a subscription; ``recreate(calendar_key)`` makes
        a new one for a calendar whose subscription Graph removed; ``resync(calendar_key)``
        queues a full resync of the window (notifications were missed); ``forget(subscription,
        clientState)`` deletes an unknown subscription whose clientState proves it ours;
        ``ours(clientState)``, a cheap check made first, keeps forged items from costing more
        than their lookup."""
        self._store = store
        self._enqueue = enqueue
        self._metrics = metrics
        self._max_body = max_body
        self._renew = renew
        self._recreate = recreate
        self._resync = resync
        self._own_write = own_write or (lambda _key, _event, _etag: False)
        self._forget = forget
        self._ours = ours or (lambda _state: True)
        self._forgotten: OrderedDict[str, None] = OrderedDict()  # orphans deleted lately
        self._tasks: set[asyncio.Task[None]] = set()
        self._running: set[tuple[str, str]] = set()  # (action, key) in flight: no duplicates
        self._again: set[tuple[str, str]] = set()  # asked for again while in flight
        self._rejections = LogThrottle(_REJECTIONS_LOGGED_PER_MINUTE)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """The subscription's ``notificationUrl``."""
        return await self._serve(request, lifecycle=False)

    async def handle_lifecycle(self, request: web.Request) -> web.StreamResponse:
        """The subscription's ``lifecycleNotificationUrl``."""
        return await self._serve(request, lifecycle=True)

    async def stop(self) -> None:
        """Cancel lifecycle work still in flight and wait for it to end (daemon shutdown)."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # -- request handling --------------------------------------------------------------------

    async def _serve(self, request: web.Request, *, lifecycle: bool) -> web.StreamResponse:
        if "validationToken" in request.query:
            outcome, response = _validation(request.query.getall("validationToken"))
            self._metrics.webhook(PROVIDER, outcome)
            return response
        if request.method != "POST":
            self._metrics.webhook(PROVIDER, "bad_request")
            return web.Response(status=405)
        items = await self._read(request)
        if isinstance(items, web.Response):
            return items
        accepted, rejected = await self._process(items)
        if rejected and self._rejections.allow():  # one line per request, counts only
            log.info(
                "graph_webhook.rejected",
                items=len(items),
                accepted=accepted,
                lifecycle_url=lifecycle,
                **rejected,
                earlier_lines_suppressed=self._rejections.take_suppressed(),
            )
        if not accepted and rejected.get("forbidden"):
            # a forged batch learns nothing about which of its ids exist
            return web.Response(status=403)
        # unknown subscriptions are acknowledged: refusing them only makes Graph retry them
        return web.Response(status=202)

    async def _read(self, request: web.Request) -> list[_Item] | web.Response:
        if request.content_length is not None and request.content_length > self._max_body:
            self._metrics.webhook(PROVIDER, "too_large")
            return web.Response(status=413)
        chunks: list[bytes] = []
        size = 0
        while chunk := await request.content.read(self._max_body + 1 - size):
            chunks.append(chunk)
            size += len(chunk)
            if size > self._max_body:
                self._metrics.webhook(PROVIDER, "too_large")
                return web.Response(status=413)
        items = _parse(b"".join(chunks))
        if items is None:
            self._metrics.webhook(PROVIDER, "bad_request")
            return web.Response(status=400)
        return items

    async def _process(self, items: list[_Item]) -> tuple[int, dict[str, int]]:
        """Act on the valid items (each kind of work once per calendar).

        Returns how many were accepted and the rejected ones counted by outcome."""
        verdicts = _Verdicts(self._store)
        changed: dict[str, None] = {}
        rejected: dict[str, int] = {}
        accepted = 0
        orphans: dict[str, str] = {}
        outcomes: Counter[str] = Counter()  # counted once per request: a forged batch of 1,000
        for item in items:  # items cost 1,000 metric updates otherwise
            outcome, channel = await verdicts.of(item)
            outcomes[outcome] += 1
            if channel is None or outcome != "accepted":
                rejected[outcome] = rejected.get(outcome, 0) + 1
                if verdicts.looked_up_and_unknown(item.subscription_id) and self._ours(
                    item.client_state
                ):
                    orphans.setdefault(item.subscription_id, item.client_state)
                continue
            accepted += 1
            if item.lifecycle_event is None:
                key, event_id = channel.calendar_key, item.event_id
                if event_id and self._own_write(key, event_id, item.etag):
                    outcomes["own_write"] += 1  # nothing new to read
                    continue
                changed[channel.calendar_key] = None
            else:
                self._lifecycle(item.lifecycle_event, channel, changed)
        for outcome, count in outcomes.items():
            self._metrics.webhook(PROVIDER, outcome, count)
        for calendar_key in changed:
            self._enqueue(calendar_key)
        if self._forget_orphans(orphans):
            rejected["orphans_checked"] = len(orphans)
        return accepted, rejected

    def _forget_orphans(self, orphans: dict[str, str]) -> bool:
        """Offer unknown subscriptions for deletion (in the background); whether any was."""
        if self._forget is None or not orphans:
            return False
        for subscription, state in orphans.items():
            if subscription in self._forgotten:
                continue  # deleted already; Graph may still be sending what it queued
            self._spawn("forget", subscription, self._forget_orphan(subscription, state))
        return True

    def _forget_orphan(self, subscription: str, state: str) -> Callable[[], Awaitable[None]]:
        forget = self._forget
        assert forget is not None

        async def work() -> None:
            if await self._store.get_channel(subscription) is not None:
                return  # stored meanwhile (a subscription that was being made)
            if await forget(subscription, state):
                self._forgotten[subscription] = None
                while len(self._forgotten) > _FORGOTTEN_KEPT:
                    self._forgotten.popitem(last=False)

        return work

    def _lifecycle(self, event: str, channel: Channel, changed: dict[str, None]) -> None:
        key = channel.calendar_key
        log.info("graph_webhook.lifecycle", lifecycle_event=event, calendar=key)
        if event == "reauthorizationRequired":
            subscription = channel.channel_id
            self._spawn("renew", subscription, lambda: self._reauthorize(subscription, key))
        elif event == "subscriptionRemoved":
            self._spawn("recreate", key, lambda: self._recreate_then_resync(key))
        elif event == "missed":
            self._spawn("resync", key, lambda: self._resync(key))
        else:  # an event Graph added later: an ordinary sync is the safe answer
            changed[key] = None

    async def _reauthorize(self, subscription: str, calendar_key: str) -> None:
        # Graph holds back the subscription's change notifications from the challenge until the
        # renewal: a delta round (cheap when nothing changed) picks up what they would have said
        await self._renew(subscription)
        self._enqueue(calendar_key)

    async def _recreate_then_resync(self, calendar_key: str) -> None:
        await self._recreate(calendar_key)
        await self._resync(calendar_key)

    def _spawn(self, action: str, key: str, work: Callable[[], Awaitable[None]]) -> None:
        token = (action, key)
        if token in self._running:
            # under way: no second copy in parallel, but one more run once it ends (the event
            # may concern a state the running work has already left behind, e.g. a second
            # reauthorizationRequired after our renewal)
            self._again.add(token)
            return
        self._running.add(token)

        async def run() -> None:
            try:
                while True:
                    self._again.discard(token)
                    try:
                        await work()
                    except Exception as exc:
                        log.warning("graph_webhook.lifecycle_failed", action=action, error=str(exc))
                    if token not in self._again:
                        break
            finally:
                self._running.discard(token)
                self._again.discard(token)

        task = asyncio.get_running_loop().create_task(run(), name=f"graph-{action}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


class _Verdicts:
    """Item checks for one POST: each subscription looked up once, and only so many."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._channels: dict[str, Channel | None] = {}
        self._looked_up: set[str] = set()
        self._forged: set[str] = set()
        self._misses = 0

    def looked_up_and_unknown(self, sub: str) -> bool:
        """The store was asked and knows no such subscription (not merely skipped)."""
        return sub in self._looked_up and self._channels.get(sub) is None

    async def of(self, item: _Item) -> tuple[str, Channel | None]:
        sub = item.subscription_id
        if sub not in self._channels:
            if (
                len(sub) > _MAX_ID
                or len(self._channels) >= MAX_LOOKUPS
                or self._misses >= MAX_MISSES
            ):
                self._channels[sub] = None  # not worth a lookup: counted as unknown
            else:
                self._channels[sub] = await self._store.get_channel(sub)
                self._looked_up.add(sub)
                self._misses += self._channels[sub] is None
        channel = self._channels[sub]
        if channel is None:
            return "unknown_channel", None
        if not hmac.compare_digest(item.client_state.encode(), channel.secret.encode()):
            if sub not in self._forged:  # a wrong clientState counts once per subscription
                self._forged.add(sub)
                self._misses += 1
            return "forbidden", channel
        return "accepted", channel


def _validation(tokens: list[str]) -> tuple[str, web.Response]:
    """Echo Graph's token: only a single, reasonably sized one, as inert plain text."""
    if len(tokens) != 1 or not tokens[0] or len(tokens[0]) > MAX_VALIDATION_TOKEN:
        return "bad_request", web.Response(status=400)
    return "validation", web.Response(
        status=200,
        text=tokens[0],
        content_type="text/plain",
        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"},
    )


def _parse(body: bytes) -> list[_Item] | None:
    """The envelope's items; None when it is not a Graph notification envelope."""
    try:
        # strict UTF-8 (json.loads would also guess UTF-16/32); deep nesting is RecursionError
        data: Any = json.loads(body.decode("utf-8"))
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("value"), list):
        return None
    values = data["value"]
    if len(values) > MAX_ITEMS:
        return None
    items = []
    for value in values:
        if not isinstance(value, dict):
            return None
        subscription = value.get("subscriptionId")
        state = value.get("clientState")
        event = value.get("lifecycleEvent")
        if not isinstance(subscription, str) or not subscription:
            return None
        data = value.get("resourceData")
        data = data if isinstance(data, dict) else {}
        event_id, etag = data.get("id"), data.get("@odata.etag")
        items.append(
            _Item(
                subscription_id=subscription,
                client_state=state if isinstance(state, str) else "",
                lifecycle_event=event if isinstance(event, str) else None,
                event_id=event_id if isinstance(event_id, str) else None,
                etag=etag if isinstance(etag, str) else None,
            )
        )
    return items
