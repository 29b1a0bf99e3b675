"""GoogleWebhook: a notification causes work only when its channel, resource and token match."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import cast

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer, make_mocked_request
from structlog.testing import capture_logs

from hybridcal.core.model import Channel
from hybridcal.daemon.webhooks import STOPS_PER_MINUTE, GoogleWebhook
from hybridcal.store.base import Store

CAL = "google:alice@example.com"
NOW = datetime(2030, 3, 4, 9, tzinfo=UTC)
CHANNEL = Channel("hc-1", CAL, "s3cret-token", "res-1", NOW + timedelta(days=7), NOW)
URI = "https://www.googleapis.com/calendar/v3/calendars/alice%40example.com/events?alt=json"
MAX_BODY = 1024


class FakeStore:
    def __init__(self, *channels: Channel) -> None:
        self.channels = {c.channel_id: c for c in channels}
        self.lookups = 0

    async def get_channel(self, channel_id: str) -> Channel | None:
        self.lookups += 1
        return self.channels.get(channel_id)


class Recorder:
    def __init__(self) -> None:
        self.enqueued: list[str] = []
        self.stopped: list[tuple[str, str, str]] = []
        self.outcomes: list[str] = []
        self.stop_fails = False

    def webhook(self, provider: str, outcome: str, count: int = 1) -> None:
        assert provider == "google"
        self.outcomes.extend([outcome] * count)

    async def stop_unknown(self, channel_id: str, resource_id: str, calendar: str) -> None:
        self.stopped.append((channel_id, resource_id, calendar))
        if self.stop_fails:
            raise aiohttp.ClientError("provider unreachable")


def make_webhook(
    store: FakeStore, seen: Recorder, clock: Callable[[], float] = lambda: 0.0
) -> GoogleWebhook:
    return GoogleWebhook(
        store=cast("Store", store),
        enqueue=seen.enqueued.append,
        stop_unknown=seen.stop_unknown,
        metrics=seen,
        max_body=MAX_BODY,
        clock=clock,
    )


def headers(**changes: str) -> dict[str, str]:
    base = {
        "X-Goog-Channel-ID": "hc-1",
        "X-Goog-Channel-Token": "s3cret-token",
        "X-Goog-Resource-ID": "res-1",
        "X-Goog-Resource-State": "exists",
        "X-Goog-Resource-URI": URI,
        "X-Goog-Message-Number": "2",
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v != ""}


@pytest.fixture
def seen() -> Recorder:
    return Recorder()


@pytest.fixture
def store() -> FakeStore:
    return FakeStore(CHANNEL)


@pytest.fixture
async def client(
    store: FakeStore, seen: Recorder
) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    app = web.Application()
    app.router.add_post("/webhooks/google", make_webhook(store, seen).handle)
    async with TestClient(TestServer(app)) as test_client:
        yield test_client


Client = TestClient[web.Request, web.Application]


async def post(client: Client, hdrs: dict[str, str], body: bytes = b"") -> int:
    async with client.post("/webhooks/google", headers=hdrs, data=body) as resp:
        return resp.status


async def test_genuine_change_is_accepted_and_enqueued(client: Client, seen: Recorder) -> None:
    assert await post(client, headers()) == 200
    assert seen.enqueued == [CAL]
    assert seen.outcomes == ["accepted"]


async def test_sync_message_only_confirms_the_channel(client: Client, seen: Recorder) -> None:
    assert await post(client, headers(**{"X-Goog-Resource-State": "sync"})) == 200
    assert seen.enqueued == []
    assert seen.outcomes == ["accepted"]


@pytest.mark.parametrize(
    "forged",
    [
        {"X-Goog-Channel-Token": "guess"},
        {"X-Goog-Channel-Token": ""},
        {"X-Goog-Channel-Token": "s3cret-token-and-more"},
        {"X-Goog-Resource-ID": "res-2"},
    ],
    ids=["wrong-token", "no-token", "longer-token", "wrong-resource"],
)
async def test_forged_notifications_are_refused(
    client: Client, seen: Recorder, forged: dict[str, str]
) -> None:
    assert await post(client, headers(**forged)) == 403
    assert seen.enqueued == []
    assert seen.stopped == []
    assert seen.outcomes == ["forbidden"]


@pytest.mark.parametrize(
    "missing", ["X-Goog-Channel-ID", "X-Goog-Resource-ID", "X-Goog-Resource-State"]
)
async def test_missing_headers_are_a_bad_request(
    client: Client, store: FakeStore, seen: Recorder, missing: str
) -> None:
    assert await post(client, headers(**{missing: ""})) == 400
    assert store.lookups == 0  # refused before any store work
    assert seen.outcomes == ["bad_request"]


async def test_overlong_channel_id_is_a_bad_request(client: Client, store: FakeStore) -> None:
    assert await post(client, headers(**{"X-Goog-Channel-ID": "x" * 513})) == 400
    assert store.lookups == 0


async def test_declared_large_body_is_refused(
    client: Client, store: FakeStore, seen: Recorder
) -> None:
    assert await post(client, headers(), b"x" * (MAX_BODY + 1)) == 413
    assert store.lookups == 0
    assert seen.outcomes == ["too_large"]


async def test_streamed_large_body_is_refused(
    client: Client, store: FakeStore, seen: Recorder
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(4):
            yield b"x" * (MAX_BODY // 2)

    async with client.post("/webhooks/google", headers=headers(), data=chunks()) as resp:
        assert resp.status == 413
    assert store.lookups == 0
    assert seen.enqueued == []


async def test_small_body_is_fine(client: Client, seen: Recorder) -> None:
    assert await post(client, headers(), b"{}") == 200
    assert seen.enqueued == [CAL]


async def test_unknown_channel_is_stopped_once(client: Client, seen: Recorder) -> None:
    unknown = headers(**{"X-Goog-Channel-ID": "hc-old", "X-Goog-Resource-ID": "res-old"})
    for _ in range(3):
        assert await post(client, unknown) == 200
    assert seen.stopped == [("hc-old", "res-old", "alice@example.com")]
    assert seen.enqueued == []
    assert seen.outcomes == ["unknown_channel"] * 3


async def test_unknown_channel_without_calendar_in_uri_is_not_stopped(
    client: Client, seen: Recorder
) -> None:
    odd = headers(**{"X-Goog-Channel-ID": "hc-old", "X-Goog-Resource-URI": "https://x/y"})
    assert await post(client, odd) == 200
    assert seen.stopped == []


async def test_failing_stop_still_answers_200(client: Client, seen: Recorder) -> None:
    seen.stop_fails = True
    assert await post(client, headers(**{"X-Goog-Channel-ID": "hc-old"})) == 200
    assert len(seen.stopped) == 1


async def test_a_flood_of_unknown_channels_costs_few_stop_calls(seen: Recorder) -> None:
    now = [0.0]
    webhook = make_webhook(FakeStore(), seen, clock=lambda: now[0])

    async def notify(channel_id: str) -> None:
        request = make_mocked_request(
            "POST", "/webhooks/google", headers=headers(**{"X-Goog-Channel-ID": channel_id})
        )
        assert (await webhook.handle(request)).status == 200

    await notify("forged-0")
    await notify("forged-0")
    assert len(seen.stopped) == 1
    for n in range(1, 1100):  # a flood of made-up ids within one minute
        await notify(f"forged-{n}")
    assert len(seen.stopped) == STOPS_PER_MINUTE
    now[0] = 61.0
    await notify("forged-500")  # deferred, not forgotten: stopped once the minute has passed
    assert len(seen.stopped) == STOPS_PER_MINUTE + 1
    await notify("forged-500")
    assert len(seen.stopped) == STOPS_PER_MINUTE + 1


async def test_stopped_channel_memory_is_bounded(seen: Recorder) -> None:
    now = [0.0]
    webhook = make_webhook(FakeStore(), seen, clock=lambda: now[0])
    for n in range(1100):
        now[0] += 61.0  # never rate limited
        request = make_mocked_request(
            "POST", "/webhooks/google", headers=headers(**{"X-Goog-Channel-ID": f"old-{n}"})
        )
        await webhook.handle(request)
    assert len(seen.stopped) == 1100
    again = make_mocked_request(
        "POST", "/webhooks/google", headers=headers(**{"X-Goog-Channel-ID": "old-0"})
    )
    await webhook.handle(again)  # long forgotten: stopped again rather than remembered forever
    assert len(seen.stopped) == 1101


async def test_provisional_channel_accepts_its_first_message(seen: Recorder) -> None:
    provisional = Channel("hc-new", CAL, "fresh-token", None, NOW + timedelta(days=1), NOW)
    webhook = make_webhook(FakeStore(provisional), seen)
    first = headers(
        **{
            "X-Goog-Channel-ID": "hc-new",
            "X-Goog-Channel-Token": "fresh-token",
            "X-Goog-Resource-ID": "res-9",
            "X-Goog-Resource-State": "sync",
        }
    )
    response = await webhook.handle(make_mocked_request("POST", "/webhooks/google", headers=first))
    assert response.status == 200
    assert seen.outcomes == ["accepted"]


@pytest.mark.parametrize(
    "changes",
    [
        {"X-Goog-Channel-Token": "s3cret-t\u00f6ken"},  # non-ASCII
        {"X-Goog-Resource-ID": "r" * 600},
        {"X-Goog-Resource-URI": URI + "&x=" + "a" * 3000},
        {"X-Goog-Resource-State": "exists\u2028"},
    ],
)
async def test_odd_header_values_are_a_bad_request(
    client: Client, seen: Recorder, store: FakeStore, changes: dict[str, str]
) -> None:
    assert await post(client, headers(**changes)) == 400
    assert store.lookups == 0
    assert seen.outcomes == ["bad_request"]


async def test_forged_flood_logs_a_few_lines_with_counts(seen: Recorder) -> None:
    webhook = make_webhook(FakeStore(CHANNEL), seen)
    request = make_mocked_request(
        "POST", "/webhooks/google", headers=headers(**{"X-Goog-Channel-Token": "guess"})
    )
    with capture_logs() as logs:
        for _ in range(100):
            assert (await webhook.handle(request)).status == 403
    lines = [e for e in logs if e["event"] == "webhook.forged"]
    assert len(lines) == 10
    assert seen.outcomes == ["forbidden"] * 100


async def test_only_genuine_deliveries_count_as_our_channel_alive(seen: Recorder) -> None:
    now = [100.0]
    webhook = make_webhook(FakeStore(CHANNEL), seen, clock=lambda: now[0])
    assert not webhook.delivered_within(CAL, 5.0)
    forged = headers(**{"X-Goog-Channel-Token": "guess"})
    await webhook.handle(make_mocked_request("POST", "/webhooks/google", headers=forged))
    stray = headers(**{"X-Goog-Channel-ID": "hc-unknown"})
    await webhook.handle(make_mocked_request("POST", "/webhooks/google", headers=stray))
    assert not webhook.delivered_within(CAL, 5.0)  # neither proves our channel alive
    await webhook.handle(make_mocked_request("POST", "/webhooks/google", headers=headers()))
    assert webhook.delivered_within(CAL, 5.0)
    now[0] += 6.0
    assert not webhook.delivered_within(CAL, 5.0)
