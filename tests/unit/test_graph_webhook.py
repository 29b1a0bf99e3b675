"""GraphWebhook: handshake, verified notifications, lifecycle events."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, cast
from urllib.parse import quote

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from structlog.testing import capture_logs

from hybridcal.core.model import Channel
from hybridcal.daemon.graph_webhook import MAX_MISSES, MAX_VALIDATION_TOKEN, GraphWebhook
from hybridcal.store.base import Store

CAL = "microsoft:alice@example.com"
CAL_B = "microsoft:room1@example.com"
NOW = datetime(2030, 3, 4, 9, tzinfo=UTC)
SUB = "7f105c7d-2dc5-4530-97cd-4e7ae6534c07"
SUB_B = "2a0cf2b4-0b0a-4cdb-9c77-0d6e4b1f5f1a"
SECRET = "N2Mx3q1J9v0Zp8d5i6bK1sL3oQ8uT4wR7yA2cE5fG0h"  # a clientState (random per subscription)
CHANNELS = (
    Channel(SUB, CAL, SECRET, "users/alice@example.com/events", NOW + timedelta(days=6), NOW),
    Channel(SUB_B, CAL_B, "other-secret", "users/room1@example.com/events", NOW, NOW),
)
MAX_BODY = 4096


class FakeStore:
    def __init__(self, *channels: Channel) -> None:
        self.channels = {c.channel_id: c for c in channels}
        self.lookups: list[str] = []

    async def get_channel(self, channel_id: str) -> Channel | None:
        self.lookups.append(channel_id)
        return self.channels.get(channel_id)


class Recorder:
    def __init__(self) -> None:
        self.enqueued: list[str] = []
        self.outcomes: list[str] = []
        self.calls: list[tuple[str, str]] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.fail = False

    def webhook(self, provider: str, outcome: str, count: int = 1) -> None:
        assert provider == "microsoft"
        self.outcomes.extend([outcome] * count)

    async def _call(self, name: str, arg: str) -> None:
        self.calls.append((name, arg))
        await self.gate.wait()
        if self.fail:
            raise RuntimeError("graph unreachable")

    async def renew(self, subscription_id: str) -> None:
        await self._call("renew", subscription_id)

    async def recreate(self, calendar_key: str) -> None:
        await self._call("recreate", calendar_key)

    async def resync(self, calendar_key: str) -> None:
        await self._call("resync", calendar_key)


Client = TestClient[web.Request, web.Application]


@pytest.fixture
def seen() -> Recorder:
    return Recorder()


@pytest.fixture
def store() -> FakeStore:
    return FakeStore(*CHANNELS)


@pytest.fixture
async def hook(store: FakeStore, seen: Recorder) -> AsyncIterator[GraphWebhook]:
    webhook = GraphWebhook(
        store=cast("Store", store),
        enqueue=seen.enqueued.append,
        metrics=seen,
        max_body=MAX_BODY,
        renew=seen.renew,
        recreate=seen.recreate,
        resync=seen.resync,
    )
    yield webhook
    await webhook.stop()


@pytest.fixture
async def client(hook: GraphWebhook) -> AsyncIterator[Client]:
    app = web.Application()
    app.router.add_post("/webhooks/microsoft", hook.handle)
    app.router.add_post("/webhooks/microsoft/lifecycle", hook.handle_lifecycle)
    async with TestClient(TestServer(app)) as test_client:
        yield test_client


def change(sub: str = SUB, state: str = SECRET, **extra: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": "lsgTZMr9KwAAA",
        "subscriptionId": sub,
        "subscriptionExpirationDateTime": "2030-03-10T09:00:00Z",
        "clientState": state,
        "changeType": "updated",
        "resource": "Users/0f3c/Events/AAMkAD-evt1",
        "tenantId": "84bd8158-6d4d-4958-8b9f-9d6445542f95",
        "resourceData": {
            "@odata.type": "#Microsoft.Graph.Event",
            "@odata.id": "Users/0f3c/Events/AAMkAD-evt1",
            "@odata.etag": 'W/"DwAAABYAAAB1"',
            "id": "AAMkAD-evt1",
        },
    }
    item.update(extra)
    return item


def lifecycle(event: str, sub: str = SUB, state: str = SECRET) -> dict[str, Any]:
    return {
        "subscriptionId": sub,
        "subscriptionExpirationDateTime": "2030-03-10T09:00:00Z",
        "tenantId": "84bd8158-6d4d-4958-8b9f-9d6445542f95",
        "clientState": state,
        "lifecycleEvent": event,
    }


async def post(client: Client, items: list[dict[str, Any]], path: str = "") -> int:
    body = json.dumps({"value": items}).encode()
    url = f"/webhooks/microsoft{path}"
    async with client.post(url, data=body, headers={"Content-Type": "application/json"}) as r:
        return r.status


# -- validation handshake ---------------------------------------------------------------------


@pytest.mark.parametrize("path", ["", "/lifecycle"])
async def test_validation_handshake_echoes_the_decoded_token(client: Client, path: str) -> None:
    token = "Validation: Testing client application reachability for subscription Request-Id: 1a2b"
    url = f"/webhooks/microsoft{path}?validationToken={quote(token)}"
    async with client.post(url, headers={"Content-Type": "text/plain"}) as resp:
        assert resp.status == 200
        assert resp.content_type == "text/plain"
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert await resp.text() == token


async def test_oversized_or_repeated_validation_token_is_refused(
    client: Client, seen: Recorder
) -> None:
    big = "x" * (MAX_VALIDATION_TOKEN + 1)
    async with client.post(f"/webhooks/microsoft?validationToken={big}") as resp:
        assert resp.status == 400
    async with client.post("/webhooks/microsoft?validationToken=a&validationToken=b") as resp:
        assert resp.status == 400
    assert seen.outcomes == ["bad_request", "bad_request"]


# -- change notifications ---------------------------------------------------------------------


async def test_valid_notification_enqueues_the_calendar_once(
    client: Client, seen: Recorder, store: FakeStore
) -> None:
    assert await post(client, [change(), change(changeType="created")]) == 202
    assert seen.enqueued == [CAL]
    assert seen.outcomes == ["accepted", "accepted"]
    assert store.lookups == [SUB]  # one lookup per subscription of the batch


async def test_batch_for_two_subscriptions(client: Client, seen: Recorder) -> None:
    items = [change(), change(SUB_B, "other-secret")]
    assert await post(client, items) == 202
    assert seen.enqueued == [CAL, CAL_B]


@pytest.mark.parametrize(
    "state", ["guess", "", SECRET + "x", SECRET[:-1], "other-secret"], ids=lambda s: repr(s[:8])
)
async def test_forged_client_state_is_refused(client: Client, seen: Recorder, state: str) -> None:
    assert await post(client, [change(state=state)]) == 403
    assert seen.enqueued == []
    assert seen.outcomes == ["forbidden"]


async def test_missing_client_state_is_refused(client: Client, seen: Recorder) -> None:
    item = change()
    del item["clientState"]
    assert await post(client, [item]) == 403
    assert seen.enqueued == []


async def test_unknown_subscription_is_acknowledged_and_dropped(
    client: Client, seen: Recorder
) -> None:
    # refusing it would only make Graph retry it for up to four hours
    assert await post(client, [change("00000000-dead-beef-0000-000000000000")]) == 202
    assert seen.enqueued == []
    assert seen.outcomes == ["unknown_channel"]


async def test_overlong_subscription_id_is_not_looked_up(
    client: Client, seen: Recorder, store: FakeStore
) -> None:
    assert await post(client, [change("s" * 300)]) == 202
    assert store.lookups == []


async def test_good_items_count_beside_bad_ones(client: Client, seen: Recorder) -> None:
    items = [change(state="guess"), change(), change("unknown")]
    assert await post(client, items) == 202  # the sender learns nothing about the bad ones
    assert seen.enqueued == [CAL]
    assert sorted(seen.outcomes) == ["accepted", "forbidden", "unknown_channel"]


async def test_empty_batch_is_accepted(client: Client, seen: Recorder) -> None:
    assert await post(client, []) == 202
    assert seen.enqueued == []


async def test_oversized_body_is_refused(client: Client, seen: Recorder, store: FakeStore) -> None:
    items = [change() for _ in range(20)]
    assert len(json.dumps({"value": items})) > MAX_BODY
    assert await post(client, items) == 413
    assert store.lookups == []
    assert seen.outcomes == ["too_large"]


async def test_streamed_oversized_body_is_refused(client: Client, store: FakeStore) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(6):
            yield b" " * (MAX_BODY // 4)

    async with client.post("/webhooks/microsoft", data=chunks()) as resp:
        assert resp.status == 413
    assert store.lookups == []


async def test_streamed_body_within_the_limit_is_read_whole(client: Client, seen: Recorder) -> None:
    body = json.dumps({"value": [change()]}).encode()

    async def chunks() -> AsyncIterator[bytes]:
        for i in range(0, len(body), 100):
            yield body[i : i + 100]
            await asyncio.sleep(0)

    async with client.post("/webhooks/microsoft", data=chunks()) as resp:
        assert resp.status == 202
    assert seen.enqueued == [CAL]


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"\xff\xfe",
        b"[]",
        b'{"value": {}}',
        b'{"values": []}',
        b'{"value": ["x"]}',
        b'{"value": [{"clientState": "x"}]}',
        b'{"value": [{"subscriptionId": 5}]}',
    ],
)
async def test_malformed_bodies_are_a_bad_request(
    client: Client, seen: Recorder, store: FakeStore, body: bytes
) -> None:
    async with client.post("/webhooks/microsoft", data=body) as resp:
        assert resp.status == 400
    assert store.lookups == []
    assert seen.outcomes == ["bad_request"]


# -- lifecycle notifications ------------------------------------------------------------------


async def settle(hook: GraphWebhook) -> None:
    for _ in range(10):
        await asyncio.sleep(0)


async def test_reauthorization_required_renews_the_subscription(
    client: Client, hook: GraphWebhook, seen: Recorder
) -> None:
    assert await post(client, [lifecycle("reauthorizationRequired")], "/lifecycle") == 202
    await settle(hook)
    assert seen.calls == [("renew", SUB)]
    # then one delta round: Graph held the notifications back until the renewal
    assert seen.enqueued == [CAL]


async def test_subscription_removed_recreates_then_resyncs(
    client: Client, hook: GraphWebhook, seen: Recorder
) -> None:
    assert await post(client, [lifecycle("subscriptionRemoved")], "/lifecycle") == 202
    await settle(hook)
    assert seen.calls == [("recreate", CAL), ("resync", CAL)]


async def test_missed_notifications_resync(
    client: Client, hook: GraphWebhook, seen: Recorder
) -> None:
    assert await post(client, [lifecycle("missed")], "/lifecycle") == 202
    await settle(hook)
    assert seen.calls == [("resync", CAL)]


async def test_unknown_lifecycle_event_syncs(client: Client, seen: Recorder) -> None:
    assert await post(client, [lifecycle("somethingNew")], "/lifecycle") == 202
    assert seen.enqueued == [CAL]


async def test_forged_lifecycle_event_does_nothing(
    client: Client, hook: GraphWebhook, seen: Recorder
) -> None:
    assert await post(client, [lifecycle("subscriptionRemoved", state="x")], "/lifecycle") == 403
    assert await post(client, [lifecycle("missed", sub="nope")], "/lifecycle") == 202
    await settle(hook)
    assert seen.calls == []


async def test_lifecycle_answers_before_the_work_is_done_and_coalesces(
    client: Client, hook: GraphWebhook, seen: Recorder
) -> None:
    seen.gate.clear()  # the callback blocks, as a slow Graph call would
    for _ in range(3):
        status = await asyncio.wait_for(
            post(client, [lifecycle("reauthorizationRequired")], "/lifecycle"), 2
        )
        assert status == 202
    await settle(hook)
    assert seen.calls == [("renew", SUB)]  # one renewal in flight, not three
    seen.gate.set()
    await settle(hook)
    # the two that came during it are answered by one more run, not lost and not doubled
    assert seen.calls == [("renew", SUB), ("renew", SUB)]
    assert await post(client, [lifecycle("reauthorizationRequired")], "/lifecycle") == 202
    await settle(hook)
    assert seen.calls == [("renew", SUB), ("renew", SUB), ("renew", SUB)]


async def test_failing_callback_is_logged_not_raised(
    client: Client, hook: GraphWebhook, seen: Recorder
) -> None:
    seen.fail = True
    assert await post(client, [lifecycle("missed")], "/lifecycle") == 202
    await settle(hook)
    assert seen.calls == [("resync", CAL)]
    seen.fail = False
    assert await post(client, [lifecycle("missed")], "/lifecycle") == 202
    await settle(hook)
    assert seen.calls == [("resync", CAL), ("resync", CAL)]


async def test_stop_cancels_work_in_flight(
    client: Client, hook: GraphWebhook, seen: Recorder
) -> None:
    seen.gate.clear()
    assert await post(client, [lifecycle("missed")], "/lifecycle") == 202
    await settle(hook)
    await asyncio.wait_for(hook.stop(), 1)
    assert seen.calls == [("resync", CAL)]


async def test_our_own_write_coming_back_needs_no_sync(store: FakeStore, seen: Recorder) -> None:
    ours = {(CAL, "AAMkAD-evt1", 'W/"DwAAABYAAAB1"')}
    webhook = GraphWebhook(
        store=cast("Store", store),
        enqueue=seen.enqueued.append,
        metrics=seen,
        max_body=MAX_BODY,
        renew=seen.renew,
        recreate=seen.recreate,
        resync=seen.resync,
        own_write=lambda key, event_id, etag: (key, event_id, etag) in ours,
    )
    app = web.Application()
    app.router.add_post("/webhooks/microsoft", webhook.handle)
    try:
        async with TestClient(TestServer(app)) as test_client:
            assert await post(test_client, [change()]) == 202
            assert seen.enqueued == []  # the echo of our PATCH: nothing new to read
            assert seen.outcomes == ["accepted", "own_write"]
            later = change(resourceData={"id": "AAMkAD-evt1", "@odata.etag": 'W/"Dw2"'})
            assert await post(test_client, [later]) == 202
            assert seen.enqueued == [CAL]  # a person's edit after ours
    finally:
        await webhook.stop()


# -- hostile input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 50_000 + b"]" * 50_000,  # deeper than the interpreter's recursion limit
        b'{"value": ' + b"[" * 3000 + b"]" * 3000 + b"}",
        b'{"value": [{"subscriptionId": "\xff\xfe"}]}',  # not UTF-8
        '{"value": []}'.encode("utf-16"),  # json.loads(bytes) would guess UTF-16
        b'{"value": [1e999999]}',
        b'{"value": [' + b"1" * 5000 + b"]}",  # past int()'s digit limit
    ],
)
async def test_hostile_bodies_are_a_bad_request(
    store: FakeStore, seen: Recorder, body: bytes
) -> None:
    hook = GraphWebhook(
        store=cast("Store", store),
        enqueue=seen.enqueued.append,
        metrics=seen,
        max_body=len(body) + 1,
        renew=seen.renew,
        recreate=seen.recreate,
        resync=seen.resync,
    )
    app = web.Application(client_max_size=len(body) + 1)
    app.router.add_post("/webhooks/microsoft", hook.handle)
    async with (
        TestClient(TestServer(app)) as test_client,
        test_client.post("/webhooks/microsoft", data=body) as resp,
    ):
        assert resp.status == 400
    assert store.lookups == []


def tiny(sub: str, state: str = "x") -> dict[str, Any]:
    return {"subscriptionId": sub, "clientState": state}


async def test_forged_batch_costs_few_lookups_and_one_log_line(
    client: Client, seen: Recorder, store: FakeStore
) -> None:
    items = [tiny(f"f{n}") for n in range(80)]  # fits in the fixture's 4 KiB
    with capture_logs() as logs:
        assert await post(client, items) == 202  # unknown ids: acknowledged, dropped
    assert len(store.lookups) == MAX_MISSES
    assert seen.outcomes == ["unknown_channel"] * 80
    (line,) = [e for e in logs if e["event"] == "graph_webhook.rejected"]
    assert line["items"] == 80
    assert line["unknown_channel"] == 80


async def test_wrong_client_states_also_end_the_lookups(
    client: Client, seen: Recorder, store: FakeStore
) -> None:
    store.channels.update(
        {f"sub-{n}": replace(CHANNELS[0], channel_id=f"sub-{n}") for n in range(20)}
    )
    items = [tiny(f"sub-{n}", state="guess") for n in range(20)]
    assert await post(client, items) == 403
    assert len(store.lookups) == MAX_MISSES


async def test_genuine_items_after_a_few_stale_ones_still_count(
    client: Client, seen: Recorder, store: FakeStore
) -> None:
    items = [change(f"stale-{n}") for n in range(MAX_MISSES - 1)] + [change()]
    assert await post(client, items) == 202
    assert seen.enqueued == [CAL]


async def test_rejection_lines_are_rate_limited(client: Client) -> None:
    with capture_logs() as logs:
        for _ in range(30):
            assert await post(client, [change("unknown")]) == 202
    lines = [e for e in logs if e["event"] == "graph_webhook.rejected"]
    assert 1 <= len(lines) <= 10


# -- subscriptions we no longer know ----------------------------------------------------------


class Forgetter:
    def __init__(self, store: FakeStore, ours: bool = True) -> None:
        self.calls: list[tuple[str, str]] = []
        self.store = store
        self.ours = ours

    async def __call__(self, subscription: str, state: str) -> bool:
        self.calls.append((subscription, state))
        return self.ours


async def _forgetting(
    store: FakeStore,
    seen: Recorder,
    forget: Forgetter,
    ours: Callable[[str], bool] | None = None,
) -> tuple[GraphWebhook, web.Application]:
    hook = GraphWebhook(
        store=cast("Store", store),
        enqueue=seen.enqueued.append,
        metrics=seen,
        max_body=MAX_BODY * 4,
        renew=seen.renew,
        recreate=seen.recreate,
        resync=seen.resync,
        forget=forget,
        ours=ours,
    )
    app = web.Application()
    app.router.add_post("/webhooks/microsoft", hook.handle)
    app.router.add_post("/webhooks/microsoft/lifecycle", hook.handle_lifecycle)
    return hook, app


async def test_orphans_are_acknowledged_and_offered_for_deletion_once(
    store: FakeStore, seen: Recorder
) -> None:
    forget = Forgetter(store)
    hook, app = await _forgetting(store, seen, forget)
    try:
        async with TestClient(TestServer(app)) as test_client:
            batch = [change("orphan-1", "state-1"), change("orphan-1", "state-1"), change()]
            batch += [change("orphan-2", "state-2"), change(state="guess")]
            with capture_logs() as logs:
                assert await post(test_client, batch) == 202
                await settle(hook)
            assert seen.enqueued == [CAL]  # the genuine item still counts
            assert sorted(forget.calls) == [("orphan-1", "state-1"), ("orphan-2", "state-2")]
            (line,) = [e for e in logs if e["event"] == "graph_webhook.rejected"]
            assert line["unknown_channel"] == 3
            assert line["orphans_checked"] == 2
            # deleted: later notifications that Graph had queued cost no second deletion
            assert await post(test_client, [change("orphan-1", "state-1")]) == 202
            await settle(hook)
            assert len(forget.calls) == 2
            lone = [lifecycle("missed", sub="orphan-3", state="state-3")]
            assert await post(test_client, lone, "/lifecycle") == 202
            await settle(hook)
            assert forget.calls[-1] == ("orphan-3", "state-3")
            assert seen.calls == []  # an unknown subscription's lifecycle event is no work
    finally:
        await hook.stop()


async def test_an_orphan_stored_meanwhile_is_not_deleted(store: FakeStore, seen: Recorder) -> None:
    forget = Forgetter(store)
    hook, app = await _forgetting(store, seen, forget)
    try:
        async with TestClient(TestServer(app)) as test_client:
            gate = asyncio.Event()
            real = store.get_channel
            calls = 0

            async def slow(channel_id: str) -> Channel | None:
                nonlocal calls
                calls += 1
                if calls == 2:  # the background check: the channel is being stored
                    await gate.wait()
                return await real(channel_id)

            store.get_channel = slow  # type: ignore[method-assign]
            assert await post(test_client, [change("fresh", "state")]) == 202
            store.channels["fresh"] = replace(CHANNELS[0], channel_id="fresh", secret="state")
            gate.set()
            await settle(hook)
            assert forget.calls == []
    finally:
        await hook.stop()


async def test_skipped_lookups_and_missing_states_are_not_offered(
    store: FakeStore, seen: Recorder
) -> None:
    forget = Forgetter(store)
    hook, app = await _forgetting(store, seen, forget)
    try:
        async with TestClient(TestServer(app)) as test_client:
            items = [tiny(f"f{n}", state=f"s{n}") for n in range(20)] + [tiny("g", state="")]
            assert await post(test_client, items) == 202
            await settle(hook)
            # only the subscriptions the store was asked about, never past the lookup cap
            assert len(forget.calls) == MAX_MISSES
            assert all(sub.startswith("f") for sub, _ in forget.calls)
    finally:
        await hook.stop()


async def test_forged_states_of_unknown_subscriptions_cost_only_their_lookup(
    store: FakeStore, seen: Recorder
) -> None:
    forget = Forgetter(store)
    hook, app = await _forgetting(store, seen, forget, ours=lambda state: state == "signed")
    try:
        async with TestClient(TestServer(app)) as test_client:
            items = [change("x1", "forged"), change("x2", "signed"), change("x3", "")]
            assert await post(test_client, items) == 202
            await settle(hook)
            assert forget.calls == [("x2", "signed")]
            assert store.lookups == ["x1", "x2", "x3", "x2"]  # the last: the re-check
    finally:
        await hook.stop()
