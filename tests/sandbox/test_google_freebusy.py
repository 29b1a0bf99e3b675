"""freebusy.query as Calendar v3 documents it: the body schema, required bounds, per-calendar
errors instead of HTTP errors, busy periods clipped, merged and in the answer's zone."""

from __future__ import annotations

from typing import Any

import pytest
from googleapiclient.errors import HttpError
from tests.sandbox.google_support import ADMIN, ALICE, BOB, ROOM, CalendarFactory, run, timed

from hybridcal.sandbox.google import GoogleSimulator

DAY = "2030-03-04"


def query(
    *ids: str, low: str = f"{DAY}T08:00:00Z", high: str = f"{DAY}T18:00:00Z"
) -> dict[str, Any]:
    return {"timeMin": low, "timeMax": high, "items": [{"id": i} for i in ids]}


async def meeting(alice: Any, start: str, end: str, **extra: Any) -> dict[str, Any]:
    body = {"summary": "x", "attendees": [{"email": ROOM}], **timed(start, end), **extra}
    found: dict[str, Any] = await run(alice.events().insert(calendarId="primary", body=body))
    return found


async def test_busy_periods_of_a_room_clipped_merged_and_without_details(
    sim: GoogleSimulator, calendar: CalendarFactory
) -> None:
    alice = calendar(ALICE)
    await meeting(alice, f"{DAY}T07:30:00", f"{DAY}T09:30:00")  # Zurich: 06:30-08:30 UTC
    await meeting(alice, f"{DAY}T10:00:00", f"{DAY}T11:00:00")
    await meeting(alice, f"{DAY}T11:00:00", f"{DAY}T11:30:00")  # touches: merged
    await meeting(alice, f"{DAY}T13:00:00", f"{DAY}T14:00:00", transparency="transparent")
    cancelled = await meeting(alice, f"{DAY}T15:00:00", f"{DAY}T16:00:00")
    await run(alice.events().delete(calendarId="primary", eventId=cancelled["id"]))

    answer = await run(calendar(ADMIN).freebusy().query(body=query(ROOM)))
    assert answer == {
        "kind": "calendar#freeBusy",
        "timeMin": f"{DAY}T08:00:00Z",
        "timeMax": f"{DAY}T18:00:00Z",
        "calendars": {
            ROOM: {
                "busy": [
                    {"start": f"{DAY}T08:00:00Z", "end": f"{DAY}T08:30:00Z"},
                    {"start": f"{DAY}T09:00:00Z", "end": f"{DAY}T10:30:00Z"},
                ]
            }
        },
    }


async def test_answer_zone_recurring_series_and_a_declined_invitation(
    sim: GoogleSimulator, calendar: CalendarFactory
) -> None:
    alice = calendar(ALICE)
    await run(
        alice.events().insert(
            calendarId="primary",
            body={
                "summary": "daily",
                "attendees": [{"email": BOB}],
                "recurrence": ["RRULE:FREQ=DAILY;COUNT=3"],
                **timed(f"{DAY}T09:00:00", f"{DAY}T09:15:00"),
            },
        )
    )
    declined = await run(
        alice.events().insert(
            calendarId="primary",
            body={
                "summary": "no",
                "attendees": [{"email": BOB}],
                **timed(f"{DAY}T12:00:00", f"{DAY}T13:00:00"),
            },
        )
    )
    sim.person_patch(
        BOB, declined["id"], {"attendees": [{"email": BOB, "responseStatus": "declined"}]}
    )
    body = query(BOB, high="2030-03-06T18:00:00Z")
    body["timeZone"] = "Europe/Zurich"
    answer = await run(calendar(BOB).freebusy().query(body=body))
    assert answer["timeMin"] == f"{DAY}T09:00:00+01:00"
    assert answer["calendars"][BOB]["busy"] == [
        {"start": f"2030-03-0{d}T09:00:00+01:00", "end": f"2030-03-0{d}T09:15:00+01:00"}
        for d in (4, 5, 6)
    ]


async def test_unknown_calendars_and_the_calendar_cap_are_errors_inside_the_answer(
    calendar: CalendarFactory,
) -> None:
    body = query(ROOM, "nobody@example.com", ALICE)
    body["calendarExpansionMax"] = 2
    answer = await run(calendar(ALICE).freebusy().query(body=body))
    assert answer["calendars"] == {
        ROOM: {"busy": []},
        "nobody@example.com": {"errors": [{"domain": "global", "reason": "notFound"}], "busy": []},
        ALICE: {
            "errors": [{"domain": "usageLimits", "reason": "tooManyCalendarsRequested"}],
            "busy": [],
        },
    }


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        ({"items": [{"id": ROOM}], "timeMax": f"{DAY}T18:00:00Z"}, 400, "required"),
        ({**query(ROOM), "timeMin": f"{DAY}T08:00:00"}, 400, "invalid"),  # no offset
        (query(ROOM, low=f"{DAY}T18:00:00Z", high=f"{DAY}T08:00:00Z"), 400, "timeRangeEmpty"),
        ({**query(ROOM), "calendarExpansionMax": 51}, 400, "invalid"),
        ({**query(ROOM), "timeZone": "Mars/Olympus"}, 400, "invalid"),
    ],
)
async def test_refusals(
    calendar: CalendarFactory, body: dict[str, Any], status: int, reason: str
) -> None:
    with pytest.raises(HttpError) as caught:
        await run(calendar(ALICE).freebusy().query(body=body))
    assert caught.value.status_code == status
    assert caught.value.error_details[0]["reason"] == reason


async def test_unknown_body_fields_are_refused_by_the_schema(
    sim: GoogleSimulator, calendar: CalendarFactory
) -> None:
    req = calendar(ALICE).freebusy().query(body=query(ROOM))
    req.body = req.body.replace('"items"', '"calendars"')
    with pytest.raises(HttpError) as caught:
        await run(req)
    assert caught.value.status_code == 400
