"""Push notifications: forged ones cost nothing, unknown channels are stopped, channels are
renewed without a gap."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from tests.e2e.harness import (
    ALICE,
    ROOM,
    Harness,
    conference_status,
    start_harness,
    tomorrow_at,
    when,
)

from hybridcal.core.model import Channel, Provider, calendar_key


async def _channel(h: Harness, address: str) -> Channel:
    assert h.daemon.store is not None
    [channel] = await h.daemon.store.list_channels(calendar_key(Provider.GOOGLE, address))
    return channel


def _headers(h: Harness, channel: Channel, **override: str) -> dict[str, str]:
    [live] = [c for c in h.sim.channels() if c["id"] == channel.channel_id]
    headers = {
        "X-Goog-Channel-ID": channel.channel_id,
        "X-Goog-Message-Number": "7",
        "X-Goog-Resource-ID": channel.resource_id or "",
        "X-Goog-Resource-State": "exists",
        "X-Goog-Resource-URI": live["resourceUri"],
        "X-Goog-Channel-Token": channel.secret,
    }
    headers.update(override)
    return {k: v for k, v in headers.items() if v}


async def test_forged_and_odd_notifications(h: Harness) -> None:
    channel = await _channel(h, ALICE)
    lists = len(h.requests("calendar.events.list"))

    assert await h.post_webhook(_headers(h, channel, **{"X-Goog-Channel-Token": "guess"})) == 403
    forged_resource = {"X-Goog-Resource-ID": "not-the-resource"}
    assert await h.post_webhook(_headers(h, channel, **forged_resource)) == 403
    no_token = _headers(h, channel)
    del no_token["X-Goog-Channel-Token"]
    assert await h.post_webhook(no_token) == 403
    await h.settle()
    assert len(h.requests("calendar.events.list")) == lists  # no sync for a forged message
    assert (
        h.metric("hybridcal_webhook_notifications_total", provider="google", outcome="forbidden")
        == 3
    )

    # the genuine headers do cause exactly one sync (the check above can fail)
    assert await h.post_webhook(_headers(h, channel)) == 200
    await h.settle()
    assert len(h.requests("calendar.events.list")) == lists + 1

    # missing headers, and a body larger than the limit
    for name in ("X-Goog-Channel-ID", "X-Goog-Resource-ID", "X-Goog-Resource-State"):
        assert await h.post_webhook(_headers(h, channel, **{name: ""})) == 400, name
    too_big = b"x" * (h.settings.daemon.max_webhook_body_bytes + 1)
    assert await h.post_webhook(_headers(h, channel), too_big) == 413
    await h.settle()
    assert len(h.requests("calendar.events.list")) == lists + 1


async def test_unknown_channel_is_stopped_once(h: Harness) -> None:
    """A leftover channel of a lost store: stopped once; ours delivered the same change, so
    ours is alive and stays."""
    h.daemon.stray_grace_s = 1.0
    channel = await _channel(h, ALICE)
    stray = _headers(h, channel, **{"X-Goog-Channel-ID": "hc-left-over-from-a-lost-store"})
    watches = len(h.requests("calendar.events.watch"))

    # a change: Google notifies every live channel of the calendar, the stray and ours
    h.sim.person_insert(ALICE, {"summary": "Lunch", **when(tomorrow_at(12))})
    assert await h.post_webhook(stray) == 200
    assert await h.post_webhook(stray) == 200
    await h.settle()
    await h.daemon.wait_channel_checks()
    await h.settle()

    stops = h.requests("calendar.channels.stop")
    assert [s.body["id"] for s in stops] == ["hc-left-over-from-a-lost-store"]
    assert stops[0].subject == ALICE
    assert len(h.requests("calendar.events.watch")) == watches
    assert [c["id"] for c in h.sim.channels(ALICE)] == [channel.channel_id]  # ours untouched


async def test_forged_strays_open_at_most_one_channel(h: Harness) -> None:
    """Notifications on made-up channels naming a calendar we watch: the stray is stopped,
    ours is replaced at most once however many arrive, and never for a foreign resource."""
    h.daemon.stray_grace_s = 0.1
    channel = await _channel(h, ALICE)
    watches = len(h.requests("calendar.events.watch"))
    foreign = {"X-Goog-Resource-ID": "some-other-resource"}
    for n in range(3):
        forged = {"X-Goog-Channel-ID": f"hc-forged-foreign-{n}", **foreign}
        assert await h.post_webhook(_headers(h, channel, **forged)) == 200
    await h.daemon.wait_channel_checks()
    await h.settle()
    assert len(h.requests("calendar.events.watch")) == watches  # not our resource: nothing

    genuine = _headers(h, channel)  # what a forger who saw one notification knows
    for n in range(8):
        forged = {**genuine, "X-Goog-Channel-ID": f"hc-forged-{n}"}
        assert await h.post_webhook(forged) == 200
        await h.daemon.wait_channel_checks()
    await h.settle()
    assert len(h.requests("calendar.events.watch")) == watches + 1
    [fresh] = await h.daemon.store.list_channels(channel.calendar_key)
    assert [c["id"] for c in h.sim.channels(ALICE)] == [fresh.channel_id]


async def test_channel_renewal_opens_before_it_stops(
    tmp_path: Path, sa_info: dict[str, str]
) -> None:
    short = {
        "google": {"channel_ttl_seconds": 120},
        "schedule": {"channel_renew_before_hours": 0.01},  # 36 s: renew at 84 s of 120
    }
    h = await start_harness(tmp_path, sa_info, settings=short)
    try:
        old = {a: await _channel(h, a) for a in (ALICE, ROOM)}
        jobs = h.daemon.jobs
        assert jobs is not None
        assert await jobs.renew() == 0  # nothing is due yet
        mark = len(h.sim.request_log)

        h.clock.advance(timedelta(seconds=90))
        assert await jobs.renew() == 3  # alice, bob and the room
        await h.settle()

        log = h.sim.request_log[mark:]
        for address, channel in old.items():
            fresh = await _channel(h, address)
            assert fresh.channel_id != channel.channel_id
            opened = [
                i
                for i, r in enumerate(log)
                if r.method_id == "calendar.events.watch" and r.body["id"] == fresh.channel_id
            ]
            stopped = [
                i
                for i, r in enumerate(log)
                if r.method_id == "calendar.channels.stop" and r.body["id"] == channel.channel_id
            ]
            assert len(opened) == 1
            assert len(stopped) == 1
            assert opened[0] < stopped[0], f"{address}: old channel stopped before the new opened"
            assert [c["id"] for c in h.sim.channels(address)] == [fresh.channel_id]
        assert h.metric("hybridcal_channel_renewals_total", provider="google", outcome="ok") == 3

        # notifications keep flowing through the new channels
        event = h.sim.person_insert(
            ALICE,
            {
                "summary": "After renewal",
                "location": "@meet",
                "attendees": [{"email": ROOM}],
                **when(tomorrow_at(10)),
            },
        )
        await h.settle()
        assert conference_status(h.event(ALICE, event["id"])) == "success"
        assert [m["id"] for m in await h.meetings()] == [event["id"]]
    finally:
        await h.close()
