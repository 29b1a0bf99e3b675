"""The per-user daily create/update limit and the account's per-second limit."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from tests.sandbox.zoom_support import (
    ALICE,
    BOB,
    Clock,
    ZoomClient,
    client_for,
    started,
    weekly,
)

from hybridcal.sandbox.zoom import ZoomSimulator

DAILY = (
    "You have exceeded the daily rate limit (100) of Meeting Create/Update API requests "
    "permitted for this particular user. You may resume these requests at GMT 00:00:00."
)
PER_SECOND = "You have reached the maximum per-second rate limit for this API. Try again later."


async def test_101st_create_or_update_of_a_host_is_refused_until_midnight_utc(
    zoom: ZoomSimulator, client: ZoomClient, clock: Clock
) -> None:
    created = [await client.create() for _ in range(60)]
    assert all(a.status == 201 for a in created)
    meeting_id = created[0].body["id"]
    for n in range(40):
        patched = await client.call("PATCH", f"/meetings/{meeting_id}", json={"agenda": str(n)})
        assert patched.status == 204
    assert zoom.daily_count(ALICE) == 100
    for refused in (
        await client.call("PATCH", f"/meetings/{meeting_id}", json={"agenda": "x"}),
        await client.create(),
    ):
        assert refused.status == 429
        assert refused.body == {"code": 429, "message": DAILY}
        assert "Retry-After" not in refused.headers
    assert zoom.daily_count(ALICE) == 100  # refusals are not charged
    assert len(zoom.meetings(ALICE)) == 60
    assert (await client.create(BOB)).status == 201  # per user
    reads = await client.call("GET", f"/meetings/{meeting_id}")
    assert reads.status == 200  # reads are not limited
    delete = await client.call("DELETE", f"/meetings/{meeting_id}")
    assert (delete.status, delete.body) == (429, {"code": 429, "message": DAILY})  # deletes are
    assert zoom.meeting(meeting_id) is not None
    clock.now = datetime(2030, 3, 4, 23, 59, 59, tzinfo=UTC)
    await client.token()
    assert (await client.create()).status == 429
    clock.now = datetime(2030, 3, 5, 0, 0, 0, tzinfo=UTC)
    assert (await client.create()).status == 201
    assert zoom.daily_count(ALICE) == 1


async def test_invalid_but_well_formed_requests_are_charged(clock: Clock) -> None:
    async with started(now=clock, daily_limit=3) as sim, client_for(sim) as client:
        sim.set_password_requirement(have_special_character=True)
        assert (await client.create(password="abc123x")).status == 400  # charged
        assert (await client.create(duration="x")).status == 400  # malformed: not charged
        assert (await client.create(type=8)).status == 400  # no recurrence: charged
        assert sim.daily_count(ALICE) == 2
        assert (await client.create()).status == 201
        refused = await client.create()
    assert refused.status == 429
    assert "(3)" in refused.body["message"]


async def test_schedule_for_is_charged_to_the_host(zoom: ZoomSimulator, client: ZoomClient) -> None:
    zoom.grant_scheduling_privilege(ALICE, BOB)
    zoom.daily_limit = 1
    assert (await client.create(ALICE, schedule_for=BOB)).status == 201
    assert (await client.create(ALICE, schedule_for=BOB)).status == 429
    assert (await client.create(ALICE)).status == 201


async def test_per_second_limit_answers_429_with_retry_after(clock: Clock) -> None:
    ticks = [100.0]
    async with started(now=clock, qps_limit=5) as sim, client_for(sim) as client:
        sim.qps_clock = lambda: ticks[0]
        await client.token()  # the token endpoint is not limited
        answers = await asyncio.gather(*(client.call("GET", f"/users/{ALICE}") for _ in range(8)))
        assert sorted(a.status for a in answers) == [200] * 5 + [429] * 3
        refused = next(a for a in answers if a.status == 429)
        assert refused.body == {"code": 429, "message": PER_SECOND}
        assert refused.headers["Retry-After"] == "1"
        ticks[0] += 0.5
        assert (await client.call("GET", f"/users/{ALICE}")).status == 429
        ticks[0] += 0.6  # the first five left the window
        assert (await client.call("GET", f"/users/{ALICE}")).status == 200
        unauthenticated = await client.call("GET", f"/users/{ALICE}", token="nope")
        assert unauthenticated.status == 401


async def test_deletes_of_meetings_and_of_occurrences_are_charged(clock: Clock) -> None:
    """Zoom: "A single user can only make 100 create, update, or delete meeting requests per
    day (UTC)" — deleting one occurrence is a delete request like any other."""
    async with started(now=clock, daily_limit=5) as sim, client_for(sim) as client:
        single = (await client.create()).body
        made = await client.create(
            type=8,
            start_time="2030-03-05T10:00:00",
            timezone="Europe/Zurich",
            recurrence=weekly("3", end_times=4),
        )
        series_path = f"/meetings/{made.body['id']}"
        first, second, third, _ = (o["occurrence_id"] for o in made.body["occurrences"])
        assert sim.daily_count(ALICE) == 2
        deleted = await client.call("DELETE", series_path, params={"occurrence_id": first})
        assert deleted.status == 204
        assert sim.daily_count(ALICE) == 3
        again = await client.call("DELETE", series_path, params={"occurrence_id": first})
        assert again.code == 3000  # already gone: refused before the budget, not charged
        assert sim.daily_count(ALICE) == 3
        moved = await client.call(
            "PATCH",
            series_path,
            params={"occurrence_id": second},
            json={"start_time": "2030-03-12T15:00:00Z"},
        )
        assert moved.status == 204
        assert (await client.call("DELETE", f"/meetings/{single['id']}")).status == 204
        assert sim.daily_count(ALICE) == 5
        refused = await client.call("DELETE", series_path, params={"occurrence_id": third})
        assert (refused.status, refused.body) == (
            429,
            {"code": 429, "message": DAILY.replace("(100)", "(5)")},
        )
        assert sim.daily_count(ALICE) == 5
        live = sim.meeting(made.body["id"])
        assert live is not None
        assert [o["status"] for o in live["occurrences"]] == [
            "deleted",
            "available",
            "available",
            "available",
        ]
        clock.now = datetime(2030, 3, 5, 0, 0, 0, tzinfo=UTC)
        await client.token()
        retried = await client.call("DELETE", series_path, params={"occurrence_id": third})
        assert retried.status == 204
        assert sim.daily_count(ALICE) == 1
