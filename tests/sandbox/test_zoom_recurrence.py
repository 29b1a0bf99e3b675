"""Recurring meetings with a fixed time (type 8): validation, occurrences, occurrence updates."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from tests.sandbox.zoom_support import Clock, ZoomClient, weekly

from hybridcal.sandbox.zoom import ZoomSimulator


def starts(meeting: dict[str, Any]) -> list[str]:
    return [o["start_time"] for o in meeting["occurrences"]]


async def series(client: ZoomClient, recurrence: dict[str, Any], **body: Any) -> dict[str, Any]:
    body.setdefault("start_time", "2030-03-05T10:00:00")
    body.setdefault("timezone", "Europe/Zurich")
    answer = await client.create(type=8, recurrence=recurrence, **body)
    assert answer.status == 201, answer.body
    result: dict[str, Any] = answer.body
    return result


async def test_weekly_on_two_days(client: ZoomClient) -> None:
    meeting = await series(client, weekly("3,5", end_times=4))  # Tuesday and Thursday
    assert starts(meeting) == [
        "2030-03-05T09:00:00Z",
        "2030-03-07T09:00:00Z",
        "2030-03-12T09:00:00Z",
        "2030-03-14T09:00:00Z",
    ]
    first = meeting["occurrences"][0]
    moment = datetime(2030, 3, 5, 9, tzinfo=UTC)
    assert first == {
        "occurrence_id": str(int(moment.timestamp() * 1000)),
        "start_time": "2030-03-05T09:00:00Z",
        "duration": 30,
        "status": "available",
    }
    assert meeting["recurrence"] == {
        "type": 2,
        "repeat_interval": 1,
        "weekly_days": "3,5",
        "end_times": 4,
    }


async def test_first_occurrence_is_the_first_matching_day(client: ZoomClient) -> None:
    meeting = await series(client, weekly("5", end_times=2), start_time="2030-03-04T10:00:00")
    assert starts(meeting) == ["2030-03-07T09:00:00Z", "2030-03-14T09:00:00Z"]
    assert meeting["start_time"] == "2030-03-07T09:00:00Z"


async def test_local_time_is_kept_across_daylight_saving(client: ZoomClient) -> None:
    meeting = await series(client, weekly("2", end_times=2), start_time="2030-03-25T10:00:00")
    assert starts(meeting) == ["2030-03-25T09:00:00Z", "2030-04-01T08:00:00Z"]


async def test_weekly_interval_counts_weeks_from_the_start(client: ZoomClient) -> None:
    meeting = await series(client, weekly("2,6", repeat_interval=2, end_times=4))
    assert starts(meeting) == [
        "2030-03-08T09:00:00Z",  # Friday of the first week
        "2030-03-18T09:00:00Z",  # two weeks on
        "2030-03-22T09:00:00Z",
        "2030-04-01T08:00:00Z",
    ]


async def test_monthly_by_weekday_last_friday(client: ZoomClient) -> None:
    recurrence = {"type": 3, "monthly_week": -1, "monthly_week_day": 6, "end_times": 3}
    meeting = await series(client, recurrence)
    assert starts(meeting) == [
        "2030-03-29T09:00:00Z",
        "2030-04-26T08:00:00Z",
        "2030-05-31T08:00:00Z",
    ]


async def test_monthly_by_day_skips_short_months(client: ZoomClient) -> None:
    meeting = await series(client, {"type": 3, "monthly_day": 31, "end_times": 3})
    assert [s[:10] for s in starts(meeting)] == ["2030-03-31", "2030-05-31", "2030-07-31"]


async def test_daily_until_an_end_date(client: ZoomClient) -> None:
    recurrence = {"type": 1, "repeat_interval": 2, "end_date_time": "2030-03-11T23:00:00Z"}
    meeting = await series(client, recurrence)
    assert [s[:10] for s in starts(meeting)] == [
        "2030-03-05",
        "2030-03-07",
        "2030-03-09",
        "2030-03-11",
    ]


@pytest.mark.parametrize(
    ("recurrence", "field"),
    [
        (weekly("2", end_times=61), "recurrence.end_times"),
        (weekly("2", end_times=0), "recurrence.end_times"),
        (weekly("2", end_times=3, end_date_time="2030-04-01T00:00:00Z"), "recurrence"),
        (weekly("2"), "recurrence"),
        ({"type": 2, "end_times": 3}, "recurrence.weekly_days"),
        (weekly("8", end_times=3), "recurrence.weekly_days"),
        (weekly("1,1", end_times=3), "recurrence.weekly_days"),
        (weekly("Mon", end_times=3), "recurrence.weekly_days"),
        (weekly("2", repeat_interval=13, end_times=3), "recurrence.repeat_interval"),
        ({"type": 1, "repeat_interval": 91, "end_times": 3}, "recurrence.repeat_interval"),
        (
            {"type": 3, "repeat_interval": 4, "monthly_day": 1, "end_times": 3},
            "recurrence.repeat_interval",
        ),
        ({"type": 3, "end_times": 3}, "recurrence"),
        (
            {"type": 3, "monthly_day": 1, "monthly_week": 1, "monthly_week_day": 2, "end_times": 3},
            "recurrence",
        ),
        ({"type": 3, "monthly_day": 32, "end_times": 3}, "recurrence.monthly_day"),
        (
            {"type": 3, "monthly_week": 5, "monthly_week_day": 2, "end_times": 3},
            "recurrence.monthly_week",
        ),
        ({"type": 3, "monthly_week": 1, "end_times": 3}, "recurrence.monthly_week_day"),
        ({"type": 4, "end_times": 3}, "recurrence.type"),
        ({"type": 1, "end_date_time": "2030-04-01T00:00:00"}, "recurrence.end_date_time"),
        ({"type": 1, "end_date_time": "2030-12-31T00:00:00Z"}, "recurrence.end_date_time"),
        ({"type": 1, "end_date_time": "2030-03-01T00:00:00Z"}, "recurrence.end_date_time"),
        ("weekly", "recurrence"),
    ],
)
async def test_bad_recurrence_is_300_naming_the_field(
    zoom: ZoomSimulator, client: ZoomClient, recurrence: Any, field: str
) -> None:
    answer = await client.create(type=8, recurrence=recurrence)
    assert answer.status == 400
    assert answer.code == 300
    assert field in answer.fields(), answer.body
    assert zoom.meetings() == []


async def test_type_8_needs_recurrence(client: ZoomClient) -> None:
    answer = await client.create(type=8)
    assert answer.fields() == ["recurrence"]


async def test_changing_recurrence_recomputes_occurrences(
    zoom: ZoomSimulator, client: ZoomClient
) -> None:
    meeting = await series(client, weekly("3", end_times=2))
    path = f"/meetings/{meeting['id']}"
    answer = await client.call("PATCH", path, json={"recurrence": weekly("5", end_times=3)})
    assert answer.status == 204
    after = zoom.meeting(meeting["id"])
    assert after is not None
    assert [s[:10] for s in starts(after)] == ["2030-03-07", "2030-03-14", "2030-03-21"]
    to_single = await client.call("PATCH", path, json={"type": 2})
    assert to_single.status == 204
    single = zoom.meeting(meeting["id"])
    assert single is not None
    assert "occurrences" not in single


async def test_occurrence_patch_changes_only_that_occurrence(
    zoom: ZoomSimulator, client: ZoomClient
) -> None:
    meeting = await series(client, weekly("3", end_times=3))
    second = meeting["occurrences"][1]["occurrence_id"]
    path = f"/meetings/{meeting['id']}"
    answer = await client.call(
        "PATCH",
        path,
        params={"occurrence_id": second},
        json={"start_time": "2030-03-13T15:00:00", "duration": 90, "agenda": "moved"},
    )
    assert answer.status == 204
    assert answer.raw == b""
    full = (await client.call("GET", path)).body
    assert starts(full) == ["2030-03-05T09:00:00Z", "2030-03-13T14:00:00Z", "2030-03-19T09:00:00Z"]
    assert [o["duration"] for o in full["occurrences"]] == [30, 90, 30]
    assert full["occurrences"][1]["occurrence_id"] == second
    assert full["agenda"] == ""
    one = (await client.call("GET", path, params={"occurrence_id": second})).body
    assert (one["start_time"], one["duration"], one["agenda"]) == (
        "2030-03-13T14:00:00Z",
        90,
        "moved",
    )


@pytest.mark.parametrize(
    "body", [{"topic": "x"}, {"recurrence": weekly("2", end_times=2)}, {"type": 2}]
)
async def test_occurrence_patch_refuses_series_fields(
    client: ZoomClient, body: dict[str, Any]
) -> None:
    meeting = await series(client, weekly("3", end_times=3))
    occurrence = meeting["occurrences"][0]["occurrence_id"]
    answer = await client.call(
        "PATCH", f"/meetings/{meeting['id']}", params={"occurrence_id": occurrence}, json=body
    )
    assert answer.status == 400
    assert answer.code == 300
    assert answer.fields() == list(body)


async def test_unknown_occurrence_is_400_code_3000(client: ZoomClient) -> None:
    meeting = await series(client, weekly("3", end_times=3))
    path = f"/meetings/{meeting['id']}"
    for method in ("GET", "PATCH", "DELETE"):
        answer = await client.call(
            method, path, params={"occurrence_id": "123"}, json={} if method == "PATCH" else None
        )
        assert (answer.status, answer.code) == (400, 3000)
    single = (await client.create()).body
    answer = await client.call("GET", f"/meetings/{single['id']}", params={"occurrence_id": "1"})
    assert answer.code == 3000


async def test_occurrence_delete_hides_it(zoom: ZoomSimulator, client: ZoomClient) -> None:
    meeting = await series(client, weekly("3", end_times=2))
    path = f"/meetings/{meeting['id']}"
    first, second = (o["occurrence_id"] for o in meeting["occurrences"])
    answer = await client.call("DELETE", path, params={"occurrence_id": first})
    assert answer.status == 204
    assert answer.raw == b""
    shown = (await client.call("GET", path)).body
    assert [o["occurrence_id"] for o in shown["occurrences"]] == [second]
    inspected = zoom.meeting(meeting["id"])
    assert inspected is not None
    assert [o["status"] for o in inspected["occurrences"]] == ["deleted", "available"]
    again = await client.call("DELETE", path, params={"occurrence_id": first})
    assert again.code == 3000
    last = await client.call("DELETE", path, params={"occurrence_id": second})
    assert last.status == 204
    empty = await client.call("GET", path)
    assert (empty.status, empty.body["occurrences"]) == (200, [])


async def test_past_occurrences_only_with_show_previous(client: ZoomClient, clock: Clock) -> None:
    meeting = await series(client, weekly("3", end_times=3))
    path = f"/meetings/{meeting['id']}"
    clock.advance(days=2)  # the first one ended
    await client.token()  # the old one expired meanwhile
    assert len((await client.call("GET", path)).body["occurrences"]) == 2
    previous = await client.call("GET", path, params={"show_previous_occurrences": "true"})
    assert len(previous.body["occurrences"]) == 3
    bad = await client.call("GET", path, params={"show_previous_occurrences": "yes"})
    assert bad.fields() == ["show_previous_occurrences"]
