"""Room systems book their own room: now, extend, end early; only their own bookings; the
meeting list shows every change at once (Google Workspace through the simulator)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from tests.e2e.harness import ALICE, ROOM, Harness, tomorrow_at, when

from hybridcal.core.model import CalendarKind, CalendarState, Provider, calendar_key
from hybridcal.daemon.admin import admin_session

BOOKINGS = "/api/v1/bookings"


async def call(
    h: Harness, method: str, path: str, token: str | None, body: Any = None
) -> tuple[int, dict[str, Any]]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, h.daemon.base_url + path, json=body, headers=headers) as resp,
    ):
        data = await resp.json() if resp.content_type == "application/json" else {}
        if resp.status == 201:
            assert resp.headers["Location"] == f"{BOOKINGS}/{data['booking']['id']}"
        return resp.status, data


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


async def listed(h: Harness, event_id: str, token: str | None = None) -> dict[str, Any] | None:
    return next((m for m in await h.meetings(token) if m["id"] == event_id), None)


async def add_device(h: Harness, provider: Provider, address: str, name: str) -> str:
    async with admin_session(h.settings, {}) as admin:
        _device, token = await admin.add_device(provider, address, name)
    return token


async def test_book_now_extend_and_end_early(h: Harness) -> None:
    status, made = await call(h, "POST", BOOKINGS, h.room_token, {"minutes": 30})
    assert status == 201, made
    booking = made["booking"]
    start, end = at(booking["start"]), at(booking["end"])
    assert end - start == timedelta(minutes=30)
    assert abs(start - datetime.now(UTC)) < timedelta(seconds=5)
    assert made["listed"] is True
    # the very next poll lists it, before any webhook could have been waited for
    meeting = await listed(h, booking["id"])
    assert meeting is not None
    assert (meeting["title"], meeting["end"]) == ("Booked on room codec", booking["end"])

    # on the room's calendar: the room books itself, accepted, with this device's mark
    event = h.event(ROOM, booking["id"])
    assert event["organizer"]["email"] == ROOM
    assert [(a["email"], a.get("resource"), a["responseStatus"]) for a in event["attendees"]] == [
        (ROOM, True, "accepted")
    ]
    freebusy = [r for r in h.requests() if r.method_id == "calendar.freebusy.query"]
    assert [r.subject for r in freebusy] == [h.settings.google.room_access_user]

    status, taken = await call(h, "POST", BOOKINGS, h.room_token, {"minutes": 15})
    assert status == 409
    assert taken["error"] == "room_busy"
    # the busy time within the span asked for (free/busy answers are clipped to it)
    assert taken["conflict"]["start"] == booking["start"]
    assert at(taken["conflict"]["end"]) <= end

    status, longer = await call(
        h, "PATCH", f"{BOOKINGS}/{booking['id']}", h.room_token, {"extend_minutes": 15}
    )
    assert status == 200, longer
    assert at(longer["booking"]["end"]) == end + timedelta(minutes=15)
    meeting = await listed(h, booking["id"])
    assert meeting is not None
    assert meeting["end"] == longer["booking"]["end"]

    # never more than max_booking_minutes (60) ahead of now
    status, refused = await call(
        h, "PATCH", f"{BOOKINGS}/{booking['id']}", h.room_token, {"extend_minutes": 30}
    )
    assert (status, refused["error"]) == (400, "bad_length")

    h.clock.advance(timedelta(minutes=5))  # the daemon's clock: the meeting has been going on
    status, ended = await call(h, "DELETE", f"{BOOKINGS}/{booking['id']}", h.room_token)
    assert status == 200, ended
    used = at(ended["booking"]["end"]) - start  # five minutes and the test's own seconds
    assert timedelta(minutes=5) <= used < timedelta(minutes=5, seconds=30)
    meeting = await listed(h, booking["id"])
    assert meeting is not None  # shortened, not deleted: the use stays on record
    assert meeting["end"] == ended["booking"]["end"]
    assert h.event(ROOM, booking["id"])["status"] == "confirmed"

    # the room is free again; ending twice changes nothing
    status, again = await call(h, "DELETE", f"{BOOKINGS}/{booking['id']}", h.room_token)
    assert (status, again["booking"]["end"]) == (200, ended["booking"]["end"])
    status, _ = await call(h, "POST", BOOKINGS, h.room_token, {"minutes": 5})
    assert status == 201


async def test_a_person_s_meeting_blocks_and_stays_out_of_reach(h: Harness) -> None:
    soon = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=10)
    meeting_id = h.sim.person_insert(
        ALICE,
        {"summary": "Board call", "attendees": [{"email": ROOM}], **when(soon, 60)},
    )["id"]
    later_id = h.sim.person_insert(
        ALICE, {"summary": "Review", "attendees": [{"email": ROOM}], **when(tomorrow_at(9))}
    )["id"]
    await h.settle()

    status, taken = await call(h, "POST", BOOKINGS, h.room_token, {"minutes": 30})
    assert status == 409
    assert taken["conflict"]["start"] == soon.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert soon < at(taken["conflict"]["end"]) <= soon + timedelta(minutes=60)
    assert "Board call" not in str(taken)
    status, _ = await call(h, "POST", BOOKINGS, h.room_token, {"minutes": 10})
    assert status == 201  # up to the meeting's start is free

    # a person's meeting is not the device's to change: 404, as for an unknown id
    for method, body in (("PATCH", {"extend_minutes": 5}), ("DELETE", None)):
        status, answer = await call(h, method, f"{BOOKINGS}/{later_id}", h.room_token, body)
        assert (status, answer["error"]) == (404, "not_found")
    status, _ = await call(h, "DELETE", f"{BOOKINGS}/no-such-event", h.room_token)
    assert status == 404
    assert h.event(ROOM, later_id)["end"] == h.event(ALICE, later_id)["end"]
    assert not [r for r in h.requests() if r.method_id == "calendar.events.patch"]
    assert meeting_id


async def test_another_device_cannot_change_a_booking(h: Harness) -> None:
    status, made = await call(h, "POST", BOOKINGS, h.room_token, {"minutes": 20})
    assert status == 201
    other = await add_device(h, Provider.GOOGLE, ROOM, "second panel")
    path = f"{BOOKINGS}/{made['booking']['id']}"
    status, _ = await call(h, "PATCH", path, other, {"extend_minutes": 5})
    assert status == 404
    status, _ = await call(h, "DELETE", path, other)
    assert status == 404
    meeting = await listed(h, made["booking"]["id"])
    assert meeting is not None
    assert meeting["end"] == made["booking"]["end"]


async def test_refusals(h: Harness) -> None:
    for body in ({"minutes": 4}, {"minutes": 61}, {"minutes": "30"}, {}, [30]):
        status, answer = await call(h, "POST", BOOKINGS, h.room_token, body)
        assert status == 400, body
        assert answer["error"] in {"bad_length", "bad_body"}
    status, answer = await call(h, "POST", BOOKINGS, None, {"minutes": 30})
    assert (status, answer["error"]) == (401, "unauthorized")
    status, _ = await call(h, "POST", BOOKINGS, "hcd_" + "x" * 43, {"minutes": 30})
    assert status == 401

    desk = await add_device(h, Provider.GOOGLE, ALICE, "desk display")
    status, answer = await call(h, "POST", BOOKINGS, desk, {"minutes": 30})
    assert (status, answer["error"]) == (403, "not_a_room")

    store = h.daemon.store
    assert store is not None
    await store.set_calendar_state(calendar_key(Provider.GOOGLE, ROOM), CalendarState.ERROR, "x")
    status, answer = await call(h, "POST", BOOKINGS, h.room_token, {"minutes": 30})
    assert (status, answer["error"]) == (403, "room_not_active")
    assert not [r for r in h.requests() if r.method_id == "calendar.events.insert"]
    assert CalendarKind.ROOM
