"""Recurring meetings of the Webex simulator: RRULE expansion, occurrences, exceptions."""

from __future__ import annotations

from typing import Any

from tests.sandbox.test_webex_support import ALICE, WebexClient, wclient, webex
from tests.sandbox.zoom_support import Clock

from hybridcal.sandbox.webex import WebexSimulator

__all__ = ["wclient", "webex"]  # fixtures

HOST = {"hostEmail": ALICE}


async def _series(wclient: WebexClient, rule: str, **extra: Any) -> dict[str, Any]:
    answer = await wclient.create(
        start="2030-03-05T10:00:00",
        end="2030-03-05T10:30:00",
        timezone="Europe/Zurich",
        recurrence=rule,
        **extra,
    )
    assert answer.status == 200, answer.body
    return dict(answer.body)


async def _occurrences(wclient: WebexClient, series_id: str) -> list[dict[str, Any]]:
    answer = await wclient.call(
        "GET",
        "/meetings",
        params={
            **HOST,
            "meetingType": "scheduledMeeting",
            "meetingSeriesId": series_id,
            "from": "2030-03-01T00:00:00Z",
            "to": "2030-06-01T00:00:00Z",
            "max": "100",
        },
    )
    assert answer.status == 200, answer.body
    return list(answer.body["items"])


async def test_weekly_series_keeps_local_time_across_dst(
    webex: WebexSimulator, wclient: WebexClient
) -> None:
    series = await _series(wclient, "FREQ=WEEKLY;INTERVAL=1;COUNT=5;BYDAY=TU")
    assert series["recurrence"] == "FREQ=WEEKLY;INTERVAL=1;COUNT=5;BYDAY=TU"
    items = await _occurrences(wclient, series["id"])
    starts = [i["start"] for i in items]
    # Zurich moves to summer time on 31 March 2030: 10:00 local stays 10:00 local
    assert starts == [
        "2030-03-05T09:00:00Z",
        "2030-03-12T09:00:00Z",
        "2030-03-19T09:00:00Z",
        "2030-03-26T09:00:00Z",
        "2030-04-02T08:00:00Z",
    ]
    first = items[0]
    assert first["meetingType"] == "scheduledMeeting"
    assert first["meetingSeriesId"] == series["id"]
    assert first["id"] == f"{series['id']}_20300305T090000Z"
    assert first["isModified"] is False
    assert first["meetingNumber"] == series["meetingNumber"]
    assert "recurrence" not in first
    stored = webex.meeting(series["id"])
    assert stored is not None
    assert len(stored["occurrences"]) == 5


async def test_monthly_keeps_only_the_first_day(wclient: WebexClient) -> None:
    series = await _series(wclient, "FREQ=MONTHLY;BYMONTHDAY=5,20;COUNT=3")
    starts = [i["start"][:10] for i in await _occurrences(wclient, series["id"])]
    assert starts == ["2030-03-05", "2030-04-05", "2030-05-05"]


async def test_an_occurrence_can_be_read_moved_and_deleted(wclient: WebexClient) -> None:
    series = await _series(wclient, "FREQ=DAILY;COUNT=3")
    second = f"{series['id']}_20300306T090000Z"
    got = await wclient.call("GET", f"/meetings/{second}", params=HOST)
    assert got.status == 200
    assert got.body["start"] == "2030-03-06T09:00:00Z"
    moved = await wclient.call(
        "PATCH",
        f"/meetings/{second}",
        json={**HOST, "start": "2030-03-06T13:00:00+01:00", "end": "2030-03-06T14:00:00+01:00"},
    )
    assert moved.status == 200, moved.body
    assert moved.body["start"] == "2030-03-06T12:00:00Z"
    assert moved.body["isModified"] is True
    assert moved.body["id"] == second  # the id keeps the original start
    same_day = await wclient.call(
        "PATCH",
        f"/meetings/{second}",
        json={**HOST, "start": "2030-03-07T11:00:00Z", "end": "2030-03-07T11:30:00Z"},
    )
    assert same_day.status == 400
    assert same_day.body["errors"][0]["description"] == (
        "meeting.err.two_meeting_schedule_at_same_day"
    )
    not_here = await wclient.call(
        "PATCH", f"/meetings/{second}", json={**HOST, "recurrence": "FREQ=DAILY;COUNT=2"}
    )
    assert not_here.status == 400
    deleted = await wclient.call("DELETE", f"/meetings/{second}", params=HOST)
    assert deleted.status == 204
    assert (await wclient.call("GET", f"/meetings/{second}", params=HOST)).status == 404
    left = [i["start"] for i in await _occurrences(wclient, series["id"])]
    assert left == ["2030-03-05T09:00:00Z", "2030-03-07T09:00:00Z"]


async def test_changing_the_series_time_drops_its_exceptions(wclient: WebexClient) -> None:
    series = await _series(wclient, "FREQ=DAILY;COUNT=3")
    second = f"{series['id']}_20300306T090000Z"
    await wclient.call("DELETE", f"/meetings/{second}", params=HOST)
    retitled = await wclient.call(
        "PATCH", f"/meetings/{series['id']}", json={**HOST, "title": "Renamed"}
    )
    assert retitled.status == 200
    assert len(await _occurrences(wclient, series["id"])) == 2  # a title keeps exceptions
    moved = await wclient.call(
        "PATCH",
        f"/meetings/{series['id']}",
        json={**HOST, "start": "2030-03-05T11:00:00", "end": "2030-03-05T11:30:00"},
    )
    assert moved.status == 200, moved.body
    starts = [i["start"] for i in await _occurrences(wclient, series["id"])]
    assert starts == ["2030-03-05T10:00:00Z", "2030-03-06T10:00:00Z", "2030-03-07T10:00:00Z"]


async def test_recurrence_can_be_removed_by_patch(wclient: WebexClient) -> None:
    series = await _series(wclient, "FREQ=DAILY;COUNT=3")
    answer = await wclient.call(
        "PATCH", f"/meetings/{series['id']}", json={**HOST, "recurrence": None}
    )
    assert answer.status == 200
    assert "recurrence" not in answer.body
    assert len(await _occurrences(wclient, series["id"])) == 1


async def test_get_current_shows_the_next_occurrence(wclient: WebexClient, clock: Clock) -> None:
    series = await _series(wclient, "FREQ=DAILY;COUNT=3")
    path = f"/meetings/{series['id']}"
    assert (await wclient.call("GET", path, params=HOST)).body["start"] == "2030-03-05T09:00:00Z"
    clock.advance(days=1, hours=2)
    current = await wclient.call("GET", path, params={**HOST, "current": "true"})
    assert current.body["start"] == "2030-03-06T09:00:00Z"
    bad = await wclient.call("GET", path, params={**HOST, "current": "yes"})
    assert bad.status == 400


async def test_until_as_date_or_utc_time(wclient: WebexClient) -> None:
    by_date = await _series(wclient, "FREQ=DAILY;UNTIL=20300307")
    assert len(await _occurrences(wclient, by_date["id"])) == 3
    by_time = await _series(wclient, "FREQ=DAILY;UNTIL=20300306T235959Z")
    assert len(await _occurrences(wclient, by_time["id"])) == 2


async def test_a_running_series_can_still_be_changed(wclient: WebexClient, clock: Clock) -> None:
    series = await _series(wclient, "FREQ=DAILY;COUNT=5")
    path = f"/meetings/{series['id']}"
    clock.advance(days=2)  # the first two occurrences are over
    retitled = await wclient.call("PATCH", path, json={**HOST, "title": "Still on"})
    assert retitled.status == 200, retitled.body
    assert retitled.body["start"] == "2030-03-05T09:00:00Z"  # the first occurrence's time
    utc_times = await wclient.call(
        "PATCH",
        path,
        json={**HOST, "start": "2030-03-07T12:00:00Z", "end": "2030-03-07T12:30:00Z"},
    )
    assert utc_times.status == 200, utc_times.body  # an offset without timezone: fine
    assert utc_times.body["timezone"] == "Europe/Zurich"
    past = await wclient.call(
        "PATCH",
        path,
        json={**HOST, "start": "2030-03-05T10:00:00", "end": "2030-03-05T10:30:00"},
    )
    assert past.status == 400
