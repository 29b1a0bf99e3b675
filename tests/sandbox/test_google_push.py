"""events.watch / channels.stop and notification delivery to a real local receiver."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from googleapiclient.errors import HttpError
from tests.sandbox.google_support import ALICE, BOB, CalendarFactory, run, timed

from hybridcal.sandbox.faults import Faults
from hybridcal.sandbox.google import GoogleSimulator


@dataclass
class Receiver:
    server: TestServer
    seen: list[dict[str, str]] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)
    fail_next: int = 0
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def url(self) -> str:
        return str(self.server.make_url("/hook"))

    async def wait_for(self, count: int, limit_s: float = 5.0) -> None:
        async with asyncio.timeout(limit_s):
            while len(self.seen) < count:
                self.arrived.clear()
                await self.arrived.wait()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    app = web.Application()
    box: list[Receiver] = []

    async def hook(request: web.Request) -> web.Response:
        rec = box[0]
        if rec.fail_next > 0:
            rec.fail_next -= 1
            return web.Response(status=503)
        rec.seen.append(
            {k: v for k, v in request.headers.items() if k.lower().startswith("x-goog")}
        )
        rec.bodies.append(await request.read())
        rec.arrived.set()
        return web.Response(status=200)

    app.router.add_post("/hook", hook)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    box.append(Receiver(server))
    yield box[0]
    await server.close()


def channel_body(
    receiver: Receiver, channel_id: str = "chan-1", **extra: object
) -> dict[str, object]:
    return {
        "id": channel_id,
        "type": "web_hook",
        "address": receiver.url,
        "token": "s3cret",
        **extra,
    }


async def test_watch_sync_then_exists_with_google_headers(
    sim: GoogleSimulator, calendar: CalendarFactory, receiver: Receiver
) -> None:
    alice = calendar(ALICE)
    channel = await run(
        alice.events().watch(calendarId=ALICE, body=channel_body(receiver, params={"ttl": "3600"}))
    )
    assert channel["kind"] == "api#channel"
    assert channel["id"] == "chan-1"
    assert channel["token"] == "s3cret"
    assert channel["resourceUri"].startswith(sim.calendar_root)
    assert channel["expiration"].isdigit()
    await receiver.wait_for(1)
    sync = receiver.seen[0]
    assert sync["X-Goog-Resource-State"] == "sync"
    assert sync["X-Goog-Message-Number"] == "1"
    assert sync["X-Goog-Channel-ID"] == "chan-1"
    assert sync["X-Goog-Channel-Token"] == "s3cret"
    assert sync["X-Goog-Resource-ID"] == channel["resourceId"]
    assert sync["X-Goog-Resource-URI"] == channel["resourceUri"]
    assert sync["X-Goog-Channel-Expiration"].endswith("GMT")
    # a person invites Alice: her calendar changed
    sim.person_insert(
        BOB,
        {
            "summary": "1:1",
            "attendees": [{"email": ALICE}],
            **timed("2030-01-01T10:00:00", "2030-01-01T10:30:00"),
        },
    )
    await receiver.wait_for(2)
    exists = receiver.seen[1]
    assert exists["X-Goog-Resource-State"] == "exists"
    assert int(exists["X-Goog-Message-Number"]) > 1
    await sim.drain()
    assert receiver.bodies == [b"", b""]
    assert sim.notifications_sent == 2
    assert [c["id"] for c in sim.channels(ALICE)] == ["chan-1"]


async def test_channel_validation(
    sim: GoogleSimulator, calendar: CalendarFactory, receiver: Receiver
) -> None:
    alice = calendar(ALICE)
    await run(alice.events().watch(calendarId="primary", body=channel_body(receiver)))
    bad = [
        channel_body(receiver),  # duplicate id
        channel_body(receiver, "x" * 65),
        {**channel_body(receiver, "c2"), "type": "email"},
        {**channel_body(receiver, "c3"), "address": "http://example.org/hook"},
        {**channel_body(receiver, "c4"), "token": "t" * 257},
    ]
    for body in bad:
        with pytest.raises(HttpError) as info:
            await run(alice.events().watch(calendarId="primary", body=body))
        assert info.value.status_code == 400, body


async def test_stop_ends_delivery_and_unknown_channel_is_404(
    sim: GoogleSimulator, calendar: CalendarFactory, receiver: Receiver
) -> None:
    alice = calendar(ALICE)
    channel = await run(alice.events().watch(calendarId="primary", body=channel_body(receiver)))
    await receiver.wait_for(1)
    await run(
        alice.channels().stop(body={"id": channel["id"], "resourceId": channel["resourceId"]})
    )
    sim.person_insert(
        ALICE, {"summary": "quiet", **timed("2030-01-01T10:00:00", "2030-01-01T10:30:00")}
    )
    await sim.drain()
    assert len(receiver.seen) == 1
    assert sim.channels() == []
    with pytest.raises(HttpError) as info:
        await run(
            alice.channels().stop(body={"id": channel["id"], "resourceId": channel["resourceId"]})
        )
    assert info.value.status_code == 404


async def test_server_errors_are_retried(
    sim: GoogleSimulator, calendar: CalendarFactory, receiver: Receiver
) -> None:
    receiver.fail_next = 2
    await run(calendar(ALICE).events().watch(calendarId="primary", body=channel_body(receiver)))
    await receiver.wait_for(1)
    assert receiver.seen[0]["X-Goog-Resource-State"] == "sync"


async def test_dropped_notifications_and_early_expiry(
    sim: GoogleSimulator, calendar: CalendarFactory, receiver: Receiver
) -> None:
    sim.faults.drop_notification_rate = 1.0
    alice = calendar(ALICE)
    await run(alice.events().watch(calendarId="primary", body=channel_body(receiver)))
    sim.person_insert(
        ALICE, {"summary": "lost", **timed("2030-01-01T10:00:00", "2030-01-01T10:30:00")}
    )
    await sim.drain()
    assert receiver.seen == []
    assert sim.notifications_dropped == 2
    sim.faults.drop_notification_rate = 0.0
    sim.faults.channel_ttl_override_s = 0.2
    await run(alice.events().watch(calendarId="primary", body=channel_body(receiver, "short")))
    await receiver.wait_for(1)
    await asyncio.sleep(0.3)
    assert [c["id"] for c in sim.channels(ALICE)] == ["chan-1"]
    sim.person_insert(
        ALICE, {"summary": "late", **timed("2030-01-02T10:00:00", "2030-01-02T10:30:00")}
    )
    await receiver.wait_for(2)
    await sim.drain()
    channels = [seen["X-Goog-Channel-ID"] for seen in receiver.seen]
    assert channels == ["short", "chan-1"]  # the expired channel stays silent


def test_faults_are_seeded_and_deterministic() -> None:
    first = Faults(error_rate=0.3, throttle_rate=0.2, seed=7)
    second = Faults(error_rate=0.3, throttle_rate=0.2, seed=7)
    assert [first.choose() for _ in range(50)] == [second.choose() for _ in range(50)]
    with pytest.raises(ValueError, match="error_rate"):
        Faults(error_rate=2)


async def test_injected_errors_and_throttling(
    sim: GoogleSimulator, calendar: CalendarFactory
) -> None:
    alice = calendar(ALICE)
    await run(alice.settings().get(setting="locale"))  # token first: faults hit the API only
    sim.faults.error_rate = 1.0
    with pytest.raises(HttpError) as info:
        await run(alice.events().list(calendarId="primary"))
    assert info.value.status_code == 500
    assert info.value.error_details[0]["reason"] == "backendError"
    sim.faults.error_rate, sim.faults.throttle_rate = 0.0, 1.0
    statuses = set()
    for _ in range(8):
        with pytest.raises(HttpError) as info:
            await run(alice.events().list(calendarId="primary"))
        assert info.value.error_details[0]["reason"] == "rateLimitExceeded"
        statuses.add(info.value.status_code)
    assert statuses == {403, 429}
