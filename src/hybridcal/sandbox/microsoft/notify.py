"""Delivery of change and lifecycle notifications.

A change of an event in a subscribed mailbox (by a person or through the API, the daemon's own
writes included) becomes one notification per matching live subscription::

    {"value": [{"id", "subscriptionId", "subscriptionExpirationDateTime", "changeType",
                "resource": "Users/{userGuid}/Events/{eventId}", "clientState", "tenantId",
                "resourceData": {"@odata.type": "#Microsoft.Graph.Event",
                                 "@odata.id": "Users/{userGuid}/Events/{eventId}",
                                 "@odata.etag": "W/\"...\"", "id": "{eventId}"}}]}

(no ``@odata.etag`` for deletions). Notifications for one URL that arise within ``BATCH_S`` are
sent in one POST (at most ``MAX_BATCH``). A non-2xx answer, a failed connection or no answer
within ``ANSWER_TIMEOUT_S`` is retried with exponential backoff; when retries run out the
notifications are lost and, as Graph does, a ``missed`` lifecycle notification is sent to
subscriptions that have a lifecycle URL. ``faults.drop_notification_rate`` drops notifications
before sending. Lifecycle notifications use the same envelope with ``lifecycleEvent`` instead of
resource data.

Simplified: Graph retries for up to four hours and throttles slow endpoints; the sandbox retries
``retries`` times, quickly.
"""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import aiohttp

from hybridcal.sandbox.faults import Faults
from hybridcal.sandbox.microsoft.events import Change
from hybridcal.sandbox.microsoft.subscriptions import Subscription, SubscriptionService
from hybridcal.sandbox.microsoft.times import format_stamp
from hybridcal.sandbox.tasks import TaskSet

BATCH_S = 0.01
MAX_BATCH = 100
ANSWER_TIMEOUT_S = 3.0
LIFECYCLE_EVENTS = ("reauthorizationRequired", "subscriptionRemoved", "missed")


@dataclass
class _Pending:
    subscription: Subscription
    payload: dict[str, Any]
    queued_at: float


@dataclass
class _Outbox:
    items: list[_Pending] = field(default_factory=list)
    scheduled: bool = False


class Notifier:
    def __init__(
        self,
        subscriptions: SubscriptionService,
        faults: Faults,
        now: Callable[[], datetime],
        tasks: TaskSet,
        *,
        tenant_id: str,
        retries: int,
        backoff_s: float,
    ) -> None:
        self._subs = subscriptions
        self._faults = faults
        self._now = now
        self._tasks = tasks
        self._tenant = tenant_id
        self._retries = retries
        self._backoff = backoff_s
        self._rng = random.Random(faults.seed + 7)  # noqa: S311 - notification ids only
        self._session: aiohttp.ClientSession | None = None
        self._outboxes: dict[str, _Outbox] = {}
        self.sent = 0
        self.dropped = 0
        self.failed = 0
        self.posts = 0
        self.lifecycle_sent = 0
        self.held_back = 0  # notifications not sent while a reauthorization was pending
        self.lifecycle_by_event: dict[str, int] = {}  # lifecycle notifications made, by event
        self.latencies_s: list[float] = []
        self.delivered: list[dict[str, Any]] = []  # every notification that was acknowledged

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=ANSWER_TIMEOUT_S))

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    # -- change notifications ------------------------------------------------------------------

    def changed(self, changes: list[Change]) -> None:
        loop_time = asyncio.get_running_loop().time() if _has_loop() else 0.0
        lost: dict[str, Subscription] = {}
        for change in changes:
            for sub in self._subs.live_for(change.mailbox):
                if change.change_type not in sub.change_types:
                    continue
                if sub.reauthorization_pending:
                    self.held_back += 1  # the flow is paused until the app reauthorizes
                    continue
                if sub.lose_next or sub.id in lost:
                    lost[sub.id] = sub
                    self.dropped += 1
                    continue
                if self._faults.drop_notification():
                    self.dropped += 1
                    continue
                self._queue(sub, self._payload(sub, change), loop_time)
        for sub in lost.values():
            sub.lose_next = False
            self.lifecycle(sub, "missed")

    def _payload(self, sub: Subscription, change: Change) -> dict[str, Any]:
        resource = f"Users/{sub.mailbox.id}/Events/{change.event_id}"
        data: dict[str, Any] = {"@odata.type": "#Microsoft.Graph.Event", "@odata.id": resource}
        if change.etag is not None and change.change_type != "deleted":
            data["@odata.etag"] = change.etag
        data["id"] = change.event_id
        return {
            "id": str(uuid.UUID(int=self._rng.getrandbits(128), version=4)),
            "subscriptionId": sub.id,
            "subscriptionExpirationDateTime": format_stamp(sub.expiration),
            "changeType": change.change_type,
            "resource": resource,
            "resourceData": data,
            "clientState": sub.client_state,
            "tenantId": self._tenant,
        }

    def _queue(self, sub: Subscription, payload: dict[str, Any], at: float) -> None:
        box = self._outboxes.setdefault(sub.notification_url, _Outbox())
        box.items.append(_Pending(sub, payload, at))
        if not box.scheduled:
            box.scheduled = True
            self._tasks.spawn(self._flush(sub.notification_url))

    async def _flush(self, url: str) -> None:
        await asyncio.sleep(BATCH_S)
        box = self._outboxes[url]
        box.scheduled = False
        while box.items:
            batch, box.items = box.items[:MAX_BATCH], box.items[MAX_BATCH:]
            self._tasks.spawn(self._deliver(url, batch))

    async def _deliver(self, url: str, batch: list[_Pending]) -> None:
        for attempt in range(self._retries + 1):
            now = self._now()
            batch = [p for p in batch if p.subscription.live(now) and self._current(p)]
            if not batch:
                return
            if await self._post(url, {"value": [p.payload for p in batch]}):
                done = asyncio.get_running_loop().time()
                self.sent += len(batch)
                self.latencies_s += [done - p.queued_at for p in batch]
                self.delivered += [p.payload for p in batch]
                return
            if attempt < self._retries:
                await asyncio.sleep(self._backoff * (2**attempt))
        self.failed += len(batch)
        for sub in {p.subscription.id: p.subscription for p in batch}.values():
            if sub.lifecycle_url is not None:
                self.lifecycle(sub, "missed")

    def _current(self, pending: _Pending) -> bool:
        return self._subs.subscriptions.get(pending.subscription.id) is pending.subscription

    async def _post(self, url: str, body: dict[str, Any]) -> bool:
        if self._session is None:
            return False
        self.posts += 1
        try:
            async with self._session.post(
                url,
                data=json.dumps(body),
                headers={"Content-Type": "application/json; charset=utf-8"},
            ) as resp:
                await resp.read()
                return 200 <= resp.status < 300
        except (aiohttp.ClientError, TimeoutError):
            return False

    # -- lifecycle notifications ---------------------------------------------------------------

    def lifecycle(self, sub: Subscription, event: str) -> None:
        if event not in LIFECYCLE_EVENTS:
            raise ValueError(f"lifecycle event must be one of {LIFECYCLE_EVENTS}")
        self.lifecycle_by_event[event] = self.lifecycle_by_event.get(event, 0) + 1
        if event == "subscriptionRemoved":
            self._subs.remove(sub.id)
        elif event == "reauthorizationRequired":
            sub.reauthorization_pending = True
        if sub.lifecycle_url is None:
            return
        body = {
            "value": [
                {
                    "subscriptionId": sub.id,
                    "subscriptionExpirationDateTime": format_stamp(sub.expiration),
                    "tenantId": self._tenant,
                    "clientState": sub.client_state,
                    "lifecycleEvent": event,
                }
            ]
        }
        self._tasks.spawn(self._deliver_lifecycle(sub.lifecycle_url, body))

    async def _deliver_lifecycle(self, url: str, body: dict[str, Any]) -> None:
        for attempt in range(self._retries + 1):
            if await self._post(url, body):
                self.lifecycle_sent += 1
                return
            if attempt < self._retries:
                await asyncio.sleep(self._backoff * (2**attempt))


def _has_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True
