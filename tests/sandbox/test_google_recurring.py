"""Recurring series: instances, exceptions, cancelled instances in sync."""

from __future__ import annotations

import pytest
from googleapiclient.errors import HttpError
from tests.sandbox.google_support import ALICE, BOB, CalendarFactory, run

from hybridcal.sandbox.google import GoogleSimulator

WEEKLY = {
    "summary": "Weekly",
    "attendees": [{"email": BOB}],
    "start": {"dateTime": "2030-03-18T10:00:00", "timeZone": "Europe/Zurich"},
    "end": {"dateTime": "2030-03-18T10:30:00", "timeZone": "Europe/Zurich"},
    "recurrence": ["RRULE:FREQ=WEEKLY;COUNT=4"],
}


async def test_instances_follow_wall_time_across_dst(
    sim: GoogleSimulator, calendar: CalendarFactory
) -> None:
    alice = calendar(ALICE)
    master = await run(alice.events().insert(calendarId="primary", body=WEEKLY))
    page = await run(alice.events().instances(calendarId="primary", eventId=master["id"]))
    items = page["items"]
    assert [i["id"] for i in items] == [
        f"{master['id']}_20300318T090000Z",
        f"{master['id']}_20300325T090000Z",
        f"{master['id']}_20300401T080000Z",  # summer time: still 10:00 in Zurich
        f"{master['id']}_20300408T080000Z",
    ]
    assert all(i["recurringEventId"] == master["id"] for i in items)
    assert items[2]["start"]["dateTime"] == "2030-04-01T10:00:00+02:00"
    assert items[2]["originalStartTime"] == {
        "dateTime": "2030-04-01T10:00:00+02:00",
        "timeZone": "Europe/Zurich",
    }
    assert all(i["iCalUID"] == master["iCalUID"] for i in items)


async def test_patching_and_deleting_instances_make_exceptions(
    sim: GoogleSimulator, calendar: CalendarFactory
) -> None:
    alice = calendar(ALICE)
    master = await run(alice.events().insert(calendarId="primary", body=WEEKLY))
    page = await run(alice.events().list(calendarId="primary"))
    sync_token = page["nextSyncToken"]
    second = f"{master['id']}_20300325T090000Z"
    third = f"{master['id']}_20300401T080000Z"
    moved = await run(
        alice.events().patch(
            calendarId="primary",
            eventId=second,
            body={
                "start": {"dateTime": "2030-03-25T14:00:00+01:00"},
                "end": {"dateTime": "2030-03-25T14:30:00+01:00"},
            },
            conferenceDataVersion=1,
        )
    )
    assert moved["id"] == second
    assert moved["recurringEventId"] == master["id"]
    assert moved["originalStartTime"]["dateTime"] == "2030-03-25T10:00:00+01:00"
    await run(alice.events().delete(calendarId="primary", eventId=third))
    # the attendee sees the exception too
    assert sim.get(BOB, second)["start"]["dateTime"] == "2030-03-25T14:00:00+01:00"  # type: ignore[index]
    page = await run(alice.events().list(calendarId="primary", syncToken=sync_token))
    by_id = {i["id"]: i for i in page["items"]}
    assert set(by_id) == {second, third}
    cancelled = by_id[third]
    assert cancelled["status"] == "cancelled"
    assert set(cancelled) <= {
        "kind",
        "etag",
        "id",
        "status",
        "recurringEventId",
        "originalStartTime",
    }
    assert cancelled["recurringEventId"] == master["id"]
    # without singleEvents: master plus exceptions, cancelled exception included
    listing = await run(alice.events().list(calendarId="primary"))
    assert [i["id"] for i in listing["items"]] == [master["id"], second, third]
    # expanded: three instances, the moved one at its new time, the deleted one gone
    single = await run(
        alice.events().list(calendarId="primary", singleEvents=True, orderBy="startTime")
    )
    assert [i["id"] for i in single["items"]] == [
        f"{master['id']}_20300318T090000Z",
        second,
        f"{master['id']}_20300408T080000Z",
    ]
    instances = await run(alice.events().instances(calendarId="primary", eventId=master["id"]))
    assert [i["id"] for i in instances["items"]] == [i["id"] for i in single["items"]]
    with pytest.raises(HttpError) as info:
        await run(
            alice.events().get(calendarId="primary", eventId=f"{master['id']}_20300319T090000Z")
        )
    assert info.value.status_code == 404


async def test_recurring_timed_event_needs_time_zone(
    sim: GoogleSimulator, calendar: CalendarFactory
) -> None:
    body = dict(WEEKLY)
    body["start"] = {"dateTime": "2030-03-18T10:00:00+01:00"}
    body["end"] = {"dateTime": "2030-03-18T10:30:00+01:00"}
    with pytest.raises(HttpError) as info:
        await run(calendar(ALICE).events().insert(calendarId="primary", body=body))
    assert info.value.status_code == 400


async def test_all_day_series_and_person_exception(sim: GoogleSimulator) -> None:
    master = sim.person_insert(
        ALICE,
        {
            "summary": "Holiday",
            "start": {"date": "2030-06-01"},
            "end": {"date": "2030-06-02"},
            "recurrence": ["RRULE:FREQ=DAILY;COUNT=3", "EXDATE;VALUE=DATE:20300602"],
        },
    )
    exception = sim.person_patch(ALICE, f"{master['id']}_20300603", {"summary": "Last day"})
    assert exception["originalStartTime"] == {"date": "2030-06-03"}
    assert {e["id"] for e in sim.list_events(ALICE)} == {master["id"], exception["id"]}
