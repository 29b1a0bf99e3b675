"""Recurring series: patterns, occurrences, instances, exceptions, cancellations."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph.generated.models.event_type import EventType
from msgraph.generated.users.item.events.item.instances.instances_request_builder import (
    InstancesRequestBuilder,
)
from tests.sandbox.graph_support import ALICE, BOB, PROP_ID, Env, graph_env, timed

Query = InstancesRequestBuilder.InstancesRequestBuilderGetQueryParameters


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    async with graph_env() as found:
        yield found


def series(pattern: dict[str, Any], span: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "subject": "Series",
        "recurrence": {"pattern": pattern, "range": span},
        **timed("2026-03-02T10:00:00", "2026-03-02T10:30:00"),
        **extra,
    }


async def instances(env: Env, mailbox: str, master_id: str, low: str, high: str) -> list[Any]:
    status, body, _ = await env.raw(
        "GET",
        f"/users/{mailbox}/events/{master_id}/instances?startDateTime={low}&endDateTime={high}"
        "&$top=100",
    )
    assert status == 200, body
    return list(body["value"])


def starts(rows: list[dict[str, Any]]) -> list[str]:
    return [r["start"]["dateTime"][:16] for r in rows]


@pytest.mark.parametrize(
    ("pattern", "span", "expected"),
    [
        (
            {"type": "daily", "interval": 2},
            {"type": "numbered", "startDate": "2026-03-02", "numberOfOccurrences": 3},
            ["2026-03-02T09:00", "2026-03-04T09:00", "2026-03-06T09:00"],
        ),
        (
            {"type": "weekly", "interval": 1, "daysOfWeek": ["monday", "thursday"]},
            {"type": "endDate", "startDate": "2026-03-02", "endDate": "2026-03-09"},
            ["2026-03-02T09:00", "2026-03-05T09:00", "2026-03-09T09:00"],
        ),
        (
            {"type": "weekly", "interval": 1, "daysOfWeek": ["monday"]},
            {"type": "numbered", "startDate": "2026-03-23", "numberOfOccurrences": 2},
            ["2026-03-23T09:00", "2026-03-30T08:00"],  # 10:00 local across the DST change
        ),
        (
            {"type": "absoluteMonthly", "interval": 1, "dayOfMonth": 31},
            {"type": "numbered", "startDate": "2026-03-02", "numberOfOccurrences": 3},
            ["2026-03-31T08:00", "2026-04-30T08:00", "2026-05-31T08:00"],
        ),
        (
            {"type": "relativeMonthly", "interval": 1, "daysOfWeek": ["friday"], "index": "last"},
            {"type": "numbered", "startDate": "2026-03-02", "numberOfOccurrences": 2},
            ["2026-03-27T09:00", "2026-04-24T08:00"],
        ),
        (
            {"type": "absoluteYearly", "interval": 1, "dayOfMonth": 2, "month": 3},
            {"type": "noEnd", "startDate": "2026-03-02"},
            ["2026-03-02T09:00", "2027-03-02T09:00"],
        ),
    ],
)
async def test_patterns_expand_like_outlook(
    env: Env, pattern: dict[str, Any], span: dict[str, Any], expected: list[str]
) -> None:
    master = env.sim.person_create(ALICE, series(pattern, span))
    assert master["type"] == "seriesMaster"
    assert master["recurrence"]["pattern"]["type"] == pattern["type"]
    assert master["recurrence"]["range"]["recurrenceTimeZone"] == "W. Europe Standard Time"
    rows = await instances(env, ALICE, master["id"], "2026-03-01T00:00:00Z", "2027-03-03T00:00:00Z")
    assert starts(rows) == expected
    assert master["start"]["dateTime"][:16] == expected[0]  # the master moves to the first one
    assert {r["seriesMasterId"] for r in rows} == {master["id"]}
    assert len({r["id"] for r in rows}) == len(rows)


@pytest.mark.parametrize(
    "recurrence",
    [
        {
            "pattern": {"type": "weekly", "interval": 1},
            "range": {"type": "noEnd", "startDate": "2026-03-02"},
        },
        {
            "pattern": {"type": "daily", "interval": 0},
            "range": {"type": "noEnd", "startDate": "2026-03-02"},
        },
        {
            "pattern": {"type": "hourly", "interval": 1},
            "range": {"type": "noEnd", "startDate": "2026-03-02"},
        },
        {
            "pattern": {"type": "daily", "interval": 1},
            "range": {"type": "endDate", "startDate": "2026-03-02", "endDate": "2026-03-01"},
        },
        {
            "pattern": {"type": "daily", "interval": 1},
            "range": {"type": "numbered", "startDate": "2026-03-02"},
        },
    ],
)
async def test_bad_recurrence_is_refused(env: Env, recurrence: dict[str, Any]) -> None:
    status, body, _ = await env.raw(
        "POST",
        f"/users/{ALICE}/events",
        json={
            "subject": "x",
            "recurrence": recurrence,
            **timed("2026-03-02T10:00:00", "2026-03-02T10:30:00"),
        },
    )
    assert status == 400, body


async def test_instances_through_the_sdk_and_occurrence_ids_resolve(env: Env) -> None:
    master = env.sim.person_create(
        ALICE,
        series(
            {"type": "daily", "interval": 1},
            {"type": "numbered", "startDate": "2026-03-02", "numberOfOccurrences": 5},
            attendees=[{"emailAddress": {"address": BOB}}],
        ),
    )
    config = RequestConfiguration(
        query_parameters=Query(
            start_date_time="2026-03-03T00:00:00Z", end_date_time="2026-03-05T00:00:00Z"
        )
    )
    found = (
        await env.client.users.by_user_id(ALICE)
        .events.by_event_id(master["id"])
        .instances.get(config)
    )
    assert found is not None
    assert found.value is not None
    assert [e.type for e in found.value] == [EventType.Occurrence, EventType.Occurrence]
    one = found.value[0]
    again = env.sim.get_event(ALICE, str(one.id))
    assert again is not None
    assert again["type"] == "occurrence"
    assert again["start"] == {"dateTime": "2026-03-03T09:00:00.0000000", "timeZone": "UTC"}
    assert again["iCalUId"] != master["iCalUId"]
    bob_master = env.sim.list_events(BOB)[0]
    bob_rows = await instances(env, BOB, bob_master["id"], "2026-03-01", "2026-03-10")
    assert len(bob_rows) == 5
    assert (
        bob_rows[0]["id"]
        != (await instances(env, ALICE, master["id"], "2026-03-01", "2026-03-10"))[0]["id"]
    )


async def test_editing_an_occurrence_makes_an_exception(env: Env) -> None:
    master = env.sim.person_create(
        ALICE,
        series(
            {"type": "daily", "interval": 1},
            {"type": "numbered", "startDate": "2026-03-02", "numberOfOccurrences": 3},
        ),
    )
    env.sim.person_update(
        ALICE,
        master["id"],
        {"singleValueExtendedProperties": [{"id": PROP_ID, "value": "series-marker"}]},
    )
    rows = await instances(env, ALICE, master["id"], "2026-03-01", "2026-03-10")
    second = rows[1]
    status, body, _ = await env.raw(
        "PATCH",
        f"/users/{ALICE}/events/{second['id']}",
        json={"subject": "Special", **timed("2026-03-03T15:00:00", "2026-03-03T16:00:00")},
        headers={"If-Match": second["@odata.etag"]},
    )
    assert status == 200, body
    assert body["id"] == second["id"]
    assert body["type"] == "exception"
    assert body["originalStart"] == "2026-03-03T09:00:00Z"
    assert body["start"]["dateTime"] == "2026-03-03T14:00:00.0000000"
    status, body, _ = await env.raw(
        "GET",
        f"/users/{ALICE}/events/{second['id']}?$expand=singleValueExtendedProperties($filter=id eq "
        f"'{PROP_ID}')",
    )
    assert body["singleValueExtendedProperties"][0]["value"] == "series-marker"  # inherited
    env.sim.person_update(
        ALICE, master["id"], {"subject": "Renamed", "location": {"displayName": "Hall"}}
    )
    rows = await instances(env, ALICE, master["id"], "2026-03-01", "2026-03-10")
    assert [r["subject"] for r in rows] == ["Renamed", "Special", "Renamed"]
    assert [r["location"]["displayName"] for r in rows] == ["Hall", "Hall", "Hall"]
    status, body, _ = await env.raw(
        "PATCH", f"/users/{ALICE}/events/{second['id']}", json={"recurrence": None}
    )
    assert status == 400


async def test_cancelled_occurrences_and_series_time_changes(env: Env) -> None:
    master = env.sim.person_create(
        ALICE,
        series(
            {"type": "daily", "interval": 1},
            {"type": "numbered", "startDate": "2026-03-02", "numberOfOccurrences": 4},
            attendees=[{"emailAddress": {"address": BOB}}],
        ),
    )
    rows = await instances(env, ALICE, master["id"], "2026-03-01", "2026-03-10")
    env.sim.person_cancel_occurrence(ALICE, rows[0]["id"])
    env.sim.person_update(ALICE, rows[1]["id"], {"subject": "Exception"})
    assert len(await instances(env, ALICE, master["id"], "2026-03-01", "2026-03-10")) == 3
    bob_master = env.sim.list_events(BOB)[0]
    bob_rows = await instances(env, BOB, bob_master["id"], "2026-03-01", "2026-03-10")
    assert [r["subject"] for r in bob_rows] == ["Exception", "Series", "Series"]
    status, _, _ = await env.raw("DELETE", f"/users/{BOB}/events/{bob_rows[2]['id']}")
    assert status == 204  # an attendee hides one occurrence from their own calendar
    assert len(await instances(env, BOB, bob_master["id"], "2026-03-01", "2026-03-10")) == 2
    assert len(await instances(env, ALICE, master["id"], "2026-03-01", "2026-03-10")) == 3
    env.sim.person_update(ALICE, master["id"], timed("2026-03-02T11:00:00", "2026-03-02T11:30:00"))
    rows = await instances(env, ALICE, master["id"], "2026-03-01", "2026-03-10")
    assert [r["type"] for r in rows] == ["occurrence"] * 4  # exceptions dropped, as Outlook does
    assert starts(rows)[0] == "2026-03-02T10:00"
    status, _, _ = await env.raw("GET", f"/users/{ALICE}/events/{rows[0]['id'][:-8]}AAAAAAA=")
    assert status in {400, 404}


async def test_all_day_series_and_calendar_view(env: Env) -> None:
    body = {
        "subject": "Holiday",
        "isAllDay": True,
        **timed("2026-03-02T00:00:00", "2026-03-03T00:00:00"),
        "recurrence": {
            "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["monday"]},
            "range": {"type": "numbered", "startDate": "2026-03-02", "numberOfOccurrences": 2},
        },
    }
    master = env.sim.person_create(ALICE, body)
    assert master["isAllDay"] is True
    status, view, _ = await env.raw(
        "GET",
        f"/users/{ALICE}/calendarView?startDateTime=2026-03-01&endDateTime=2026-03-31",
        headers={"Prefer": 'outlook.timezone="Tokyo Standard Time"'},
    )
    assert status == 200
    assert [r["start"] for r in view["value"]] == [
        {"dateTime": "2026-03-02T00:00:00.0000000", "timeZone": "Tokyo Standard Time"},
        {"dateTime": "2026-03-09T00:00:00.0000000", "timeZone": "Tokyo Standard Time"},
    ]
    status, body_, _ = await env.raw(
        "POST",
        f"/users/{ALICE}/events",
        json={
            "subject": "bad",
            "isAllDay": True,
            **timed("2026-03-02T10:00:00", "2026-03-03T00:00:00"),
        },
    )
    assert (status, body_["error"]["code"]) == (400, "ErrorPropertyValidationFailure")


async def test_exceptions_follow_attendee_changes_and_cancellation(env: Env) -> None:
    master = env.sim.person_create(
        ALICE,
        series(
            {"type": "daily", "interval": 1},
            {"type": "numbered", "startDate": "2026-03-02", "numberOfOccurrences": 2},
        ),
    )
    rows = await instances(env, ALICE, master["id"], "2026-03-01", "2026-03-10")
    env.sim.person_update(ALICE, rows[1]["id"], {"subject": "Changed"})
    env.sim.person_update(ALICE, master["id"], {"attendees": [{"emailAddress": {"address": BOB}}]})
    bob_master = env.sim.list_events(BOB)[0]
    bob_rows = await instances(env, BOB, bob_master["id"], "2026-03-01", "2026-03-10")
    assert [(r["type"], r["subject"]) for r in bob_rows] == [
        ("occurrence", "Series"),
        ("exception", "Changed"),
    ]
    env.sim.person_delete(ALICE, master["id"])
    bob_rows = await instances(env, BOB, bob_master["id"], "2026-03-01", "2026-03-10")
    assert [r["isCancelled"] for r in bob_rows] == [True, True]
    assert env.sim.get_event(ALICE, rows[1]["id"]) is None
