"""Recorded-shaped events (tests/fixtures/google_events) replayed verbatim through the whole
daemon: invitations from outside the domain, imported copies, a series with a moved
occurrence seen by a room, and an organiser's own event. Keywords on copies someone else
organises never act; rooms list what they are booked for, with the join link."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import aiohttp
from tests.e2e.harness import ALICE, ROOM, Harness, conference_status, marker_of
from tests.fixtures.google_events.recorded import load

from hybridcal.core.model import Provider
from hybridcal.daemon.admin import admin_session


def tomorrow() -> date:
    return (datetime.now(UTC) + timedelta(days=1)).date()


async def replay(h: Harness, calendar: str, name: str) -> dict[str, Any]:
    """POST the recording to the simulator's control API, as a test driver from outside
    would; returns the event as the calendar now sees it."""
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{h.sim.base_url}/sandbox/calendars/{calendar}/replay", json=load(name, tomorrow())
        ) as resp,
    ):
        body: dict[str, Any] = await resp.json()
        assert resp.status == 200, body
        return body


async def device_list(h: Harness, address: str) -> list[dict[str, Any]]:
    async with admin_session(h.settings, {}) as admin:
        _device, token = await admin.add_device(Provider.GOOGLE, address, f"{address} desk")
    return await h.meetings(token)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


async def test_an_outside_invitation_with_a_keyword_is_listed_never_acted_on(
    h: Harness,
) -> None:
    mine = await replay(h, ALICE, "external_invitation_alice")
    await replay(h, ROOM, "external_invitation_room")
    await h.settle()

    assert mine["organizer"]["email"] == "dana@fabrikam.example"
    assert "@meet" in mine["location"]
    assert h.patches() == []  # not Alice's to change, keyword or not
    assert h.sim.conferences_created() == 0
    assert await h.binding(ALICE, mine["id"]) is None
    [meeting] = await h.meetings()
    assert meeting["id"] == mine["id"]
    assert meeting["title"] == "Fabrikam quarterly review"
    assert meeting["join"]["provider"] == "zoom"
    assert meeting["join"]["url"].startswith("https://fabrikam.zoom.us/j/85512345678")
    report = await h.admin_json("users", "show", ALICE)
    assert report["event_problems"] == []
    assert report["meeting_problems"] == []


async def test_an_imported_private_copy_is_listed_and_its_keyword_ignored(h: Harness) -> None:
    imported = await replay(h, ALICE, "imported_private_copy")
    await h.settle()

    assert imported["id"].startswith("_")
    assert imported["privateCopy"] is True
    assert imported["creator"]["self"] is True
    assert "self" not in imported["organizer"]
    assert h.patches() == []
    assert h.zoom_meetings() == []  # "@zoom" on a copy Alice does not organise
    [meeting] = await device_list(h, ALICE)
    assert meeting["id"] == imported["id"]
    assert meeting["join"]["provider"] == "meet"
    assert meeting["join"]["url"] == "https://meet.google.com/xqv-bnzm-tpe"


async def test_a_series_with_a_moved_occurrence_fills_the_rooms_list(h: Harness) -> None:
    master = await replay(h, ROOM, "series_master_room")
    moved = await replay(h, ROOM, "series_exception_room")
    await h.settle()

    assert moved["recurringEventId"] == master["id"]
    assert moved["attendeesOmitted"] is True
    meetings = sorted(await h.meetings(), key=lambda m: m["start"])
    assert len(meetings) == 5
    day = tomorrow()
    expected = [
        datetime(day.year, day.month, day.day, 8, tzinfo=UTC) + timedelta(days=n) for n in range(5)
    ]
    expected[1] = expected[1] + timedelta(hours=2)  # the moved one: 11:00 instead of 09:00
    assert [utc(m["start"]) for m in meetings] == expected
    assert meetings[1]["id"] == moved["id"]
    assert meetings[1]["title"] == "Ops stand-up (moved: audit)"
    assert {m["title"] for m in meetings[::2]} == {"Ops stand-up"}
    assert {m["join"]["url"] for m in meetings} == {"https://meet.google.com/ops-stnd-upx"}
    assert h.patches() == []


async def test_an_organisers_recorded_event_with_meet_gets_one_conference(h: Harness) -> None:
    own = await replay(h, ALICE, "own_meet_keyword")
    await h.settle()

    [patch] = h.patches(own["id"])
    assert patch.status == 200
    event = h.event(ALICE, own["id"])
    assert conference_status(event) == "success"
    assert marker_of(event)["hybridcal.system"] == "meet"
    # another application's property and the recorded read-only fields are kept
    assert event["extendedProperties"]["private"]["com.example.crm.ticket"] == "HR-2041"
    assert event["iCalUID"] == own["iCalUID"]
    assert event["created"] == own["created"]
    assert event["description"] == own["description"]
    [meeting] = await h.meetings()  # the room was on the recording's guest list
    assert meeting["id"] == own["id"]
    assert meeting["join"]["provider"] == "meet"

    await h.reconcile()  # nothing more to do, however often it is seen
    assert len(h.patches(own["id"])) == 1
    assert h.sim.conferences_created() == 1


async def test_a_room_invited_to_one_occurrence_lists_it(h: Harness) -> None:
    """The room is on one occurrence only: it cannot read the series (404), and the occurrence
    still reaches its meeting list."""
    moved = await replay(h, ROOM, "series_exception_room")
    await h.settle()
    [meeting] = await h.meetings()
    assert meeting["id"] == moved["id"]
    assert meeting["title"] == "Ops stand-up (moved: audit)"
    assert h.patches() == []
