"""Room systems book their own room on Microsoft 365: Graph on the room mailbox, getSchedule
first; the same rules and answers as on Google (test_room_booking.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tests.e2e.harness import M365_ROOM, MEGAN, Harness, outlook_event, start_harness
from tests.e2e.test_room_booking import BOOKINGS, add_device, at, call, listed

from hybridcal.connectors.calendars.microsoft_booking import BOOKING_PROPERTY_ID
from hybridcal.core.model import Provider


@pytest.fixture
async def m(tmp_path: Path, sa_info: dict[str, str]) -> AsyncIterator[Harness]:
    harness = await start_harness(tmp_path, sa_info, microsoft=True)
    try:
        yield harness
    finally:
        await harness.close()


async def test_book_extend_end_on_the_room_mailbox(m: Harness) -> None:
    token = m.m365_room_token
    status, made = await call(m, "POST", BOOKINGS, token, {"minutes": 30})
    assert status == 201, made
    booking = made["booking"]
    start = at(booking["start"])
    assert at(booking["end"]) - start == timedelta(minutes=30)
    assert made["listed"] is True
    meeting = await listed(m, booking["id"], token)
    assert meeting is not None
    assert (meeting["title"], meeting["end"]) == ("Booked on Contoso room codec", booking["end"])

    event = m.m365_event(M365_ROOM, booking["id"])
    assert event["showAs"] == "busy"
    assert event["organizer"]["emailAddress"]["address"] == M365_ROOM
    creates = m.graph_requests("events.create")
    assert [r.method for r in creates] == ["POST"]
    assert creates[0].path.lower().endswith(f"/users/{M365_ROOM}/calendar/events".lower())
    props = creates[0].body["singleValueExtendedProperties"]
    assert [p["id"] for p in props] == [BOOKING_PROPERTY_ID]
    assert m.graph_requests("calendar.getSchedule")

    status, taken = await call(m, "POST", BOOKINGS, token, {"minutes": 15})
    assert (status, taken["error"]) == (409, "room_busy")
    assert taken["conflict"]["start"] == booking["start"]

    status, longer = await call(
        m, "PATCH", f"{BOOKINGS}/{booking['id']}", token, {"extend_minutes": 20}
    )
    assert status == 200, longer
    assert at(longer["booking"]["end"]) - start == timedelta(minutes=50)
    meeting = await listed(m, booking["id"], token)
    assert meeting is not None
    assert meeting["end"] == longer["booking"]["end"]

    m.clock.advance(timedelta(minutes=3))
    status, ended = await call(m, "DELETE", f"{BOOKINGS}/{booking['id']}", token)
    assert status == 200, ended
    used = at(ended["booking"]["end"]) - start
    assert timedelta(minutes=3) <= used < timedelta(minutes=3, seconds=30)
    meeting = await listed(m, booking["id"], token)
    assert meeting is not None
    assert meeting["end"] == ended["booking"]["end"]
    assert m.m365_event(M365_ROOM, booking["id"]).get("isCancelled") is not True


async def test_a_person_s_meeting_and_another_device_s_booking(m: Harness) -> None:
    token = m.m365_room_token
    soon = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=20)
    created = m._graph().person_create(
        MEGAN, outlook_event("Budget", "", "<p>numbers</p>", soon, 30)
    )
    await m.settle()
    room_copy = next(
        (x for x in await m.meetings(token) if x["title"] == "Budget"),
        None,
    )
    assert room_copy is not None, created

    status, taken = await call(m, "POST", BOOKINGS, token, {"minutes": 30})
    assert (status, taken["error"]) == (409, "room_busy")
    assert taken["conflict"]["start"] == soon.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert "Budget" not in str(taken)

    for method, body in (("PATCH", {"extend_minutes": 5}), ("DELETE", None)):
        status, answer = await call(m, method, f"{BOOKINGS}/{room_copy['id']}", token, body)
        assert (status, answer["error"]) == (404, "not_found")
    assert not m.graph_requests("events.update")

    status, made = await call(m, "POST", BOOKINGS, token, {"minutes": 15})
    assert status == 201, made
    other = await add_device(m, Provider.MICROSOFT, M365_ROOM, "second panel")
    path = f"{BOOKINGS}/{made['booking']['id']}"
    assert (await call(m, "DELETE", path, other))[0] == 404
    assert (await call(m, "PATCH", path, other, {"extend_minutes": 1}))[0] == 404
