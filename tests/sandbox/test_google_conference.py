"""Meet creation through conferenceData.createRequest, and the conferenceDataVersion trap."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from googleapiclient.errors import HttpError
from tests.sandbox.google_support import ALICE, BOB, CalendarFactory, run, timed

from hybridcal.sandbox.google import GoogleSimulator

BODY = {
    "summary": "Sync",
    "attendees": [{"email": BOB}],
    **timed("2030-05-06T09:00:00", "2030-05-06T09:30:00"),
}


def create_request(request_id: str) -> dict[str, object]:
    return {
        "conferenceData": {
            "createRequest": {
                "requestId": request_id,
                "conferenceSolutionKey": {"type": "hangoutsMeet"},
            }
        }
    }


async def test_pending_then_success_once_per_request_id(
    sim: GoogleSimulator, calendar: CalendarFactory
) -> None:
    alice = calendar(ALICE)
    event = await run(alice.events().insert(calendarId="primary", body=BODY))
    pending = await run(
        alice.events().patch(
            calendarId="primary",
            eventId=event["id"],
            body=create_request("req-1"),
            conferenceDataVersion=1,
        )
    )
    assert pending["conferenceData"]["createRequest"]["status"]["statusCode"] == "pending"
    assert "hangoutLink" not in pending
    await sim.drain()
    done = await run(alice.events().get(calendarId="primary", eventId=event["id"]))
    data = done["conferenceData"]
    assert data["createRequest"]["status"]["statusCode"] == "success"
    assert re.fullmatch(r"[a-z]{3}-[a-z]{4}-[a-z]{3}", data["conferenceId"])
    kinds = {p["entryPointType"]: p for p in data["entryPoints"]}
    assert kinds["video"]["uri"] == f"https://meet.google.com/{data['conferenceId']}"
    assert kinds["phone"]["uri"].startswith("tel:+1-")
    assert kinds["phone"]["pin"]
    assert kinds["more"]["uri"].startswith("https://tel.meet/")
    assert done["hangoutLink"] == kinds["video"]["uri"]
    assert done["etag"] != pending["etag"]
    # the attendee's copy has it too
    assert sim.get(BOB, event["id"])["hangoutLink"] == done["hangoutLink"]  # type: ignore[index]
    # the same requestId again is ignored: no second conference
    again = await run(
        alice.events().patch(
            calendarId="primary",
            eventId=event["id"],
            body=create_request("req-1"),
            conferenceDataVersion=1,
        )
    )
    await sim.drain()
    assert again["conferenceData"]["conferenceId"] == data["conferenceId"]
    assert sim.conferences_created() == 1


async def test_version_zero_ignores_requests_and_drops_existing_data(
    sim: GoogleSimulator, calendar: CalendarFactory
) -> None:
    alice = calendar(ALICE)
    event = await run(
        alice.events().insert(calendarId="primary", body={**BODY, **create_request("r0")})
    )
    await sim.drain()
    assert "conferenceData" not in event
    assert sim.conferences_created() == 0
    created = await run(
        alice.events().patch(
            calendarId="primary",
            eventId=event["id"],
            body=create_request("r1"),
            conferenceDataVersion=1,
        )
    )
    assert created["conferenceData"]["createRequest"]["status"]["statusCode"] == "pending"
    await sim.drain()
    assert sim.conferences_created() == 1
    # a write without conferenceDataVersion=1 loses the conference
    plain = await run(
        alice.events().patch(calendarId="primary", eventId=event["id"], body={"description": "x"})
    )
    assert "conferenceData" not in plain
    assert "hangoutLink" not in plain


async def test_null_removes_conference_with_version_one(
    sim: GoogleSimulator, calendar: CalendarFactory
) -> None:
    alice = calendar(ALICE)
    event = await run(
        alice.events().insert(
            calendarId="primary", body={**BODY, **create_request("r2")}, conferenceDataVersion=1
        )
    )
    await asyncio.sleep(0.1)
    await sim.drain()
    assert "hangoutLink" in sim.get(ALICE, event["id"])  # type: ignore[operator]
    gone = await run(
        alice.events().patch(
            calendarId="primary",
            eventId=event["id"],
            body={"conferenceData": None},
            conferenceDataVersion=1,
        )
    )
    assert "conferenceData" not in gone
    kept = await run(
        alice.events().patch(
            calendarId="primary",
            eventId=event["id"],
            body={"summary": "renamed"},
            conferenceDataVersion=1,
        )
    )
    assert "conferenceData" not in kept


async def test_person_edits_keep_the_conference(sim: GoogleSimulator) -> None:
    event = sim.person_insert(ALICE, {**BODY, **create_request("ui-1")})
    await sim.drain()
    edited = sim.person_patch(ALICE, event["id"], {"location": "Room 4"})
    assert edited["conferenceData"]["createRequest"]["status"]["statusCode"] == "success"
    assert sim.conferences_created() == 1


# -- Meet refused, failed, or made at once -------------------------------------------------------


async def patch_request(alice: Any, event_id: str, request_id: str) -> Any:
    return await run(
        alice.events().patch(
            calendarId="primary",
            eventId=event_id,
            body=create_request(request_id),
            conferenceDataVersion=1,
        )
    )


async def test_the_calendar_list_names_the_allowed_conference_solutions(
    sim: GoogleSimulator, calendar: CalendarFactory
) -> None:
    alice = calendar(ALICE)
    entry = await run(alice.calendarList().get(calendarId=ALICE))
    assert entry["conferenceProperties"] == {"allowedConferenceSolutionTypes": ["hangoutsMeet"]}
    sim.set_meet(ALICE, "refused")
    entry = await run(alice.calendarList().get(calendarId=ALICE))
    assert entry["conferenceProperties"] == {"allowedConferenceSolutionTypes": []}


async def test_meet_turned_off_refuses_the_request_and_changes_nothing(
    sim: GoogleSimulator, calendar: CalendarFactory
) -> None:
    alice = calendar(ALICE)
    event = await run(alice.events().insert(calendarId="primary", body=BODY))
    sim.set_meet(ALICE, "refused")
    with pytest.raises(HttpError) as info:
        await patch_request(alice, event["id"], "req-x")
    assert info.value.status_code == 400
    assert "Invalid conference type value." in str(info.value)
    unchanged = await run(alice.events().get(calendarId="primary", eventId=event["id"]))
    assert unchanged["etag"] == event["etag"]
    assert "conferenceData" not in unchanged


async def test_a_failed_request_has_no_entry_points(
    sim: GoogleSimulator, calendar: CalendarFactory
) -> None:
    alice = calendar(ALICE)
    event = await run(alice.events().insert(calendarId="primary", body=BODY))
    sim.set_meet(ALICE, "failure")
    failed = await patch_request(alice, event["id"], "req-f")
    data = failed["conferenceData"]
    assert data["createRequest"]["status"]["statusCode"] == "failure"
    assert data["createRequest"]["requestId"] == "req-f"
    assert "entryPoints" not in data
    assert "hangoutLink" not in failed
    await sim.drain()
    assert sim.conferences_created() == 0
    # a later request with a new id may succeed
    sim.set_meet(ALICE, "success")
    done = await patch_request(alice, event["id"], "req-g")
    assert done["conferenceData"]["createRequest"]["status"]["statusCode"] == "success"


async def test_pending_then_failure(sim: GoogleSimulator, calendar: CalendarFactory) -> None:
    alice = calendar(ALICE)
    event = await run(alice.events().insert(calendarId="primary", body=BODY))
    sim.set_meet(ALICE, "pending_failure")
    pending = await patch_request(alice, event["id"], "req-p")
    assert pending["conferenceData"]["createRequest"]["status"]["statusCode"] == "pending"
    await sim.drain()
    after = await run(alice.events().get(calendarId="primary", eventId=event["id"]))
    assert after["conferenceData"]["createRequest"]["status"]["statusCode"] == "failure"
    assert after["etag"] != pending["etag"]


async def test_success_at_once(sim: GoogleSimulator, calendar: CalendarFactory) -> None:
    alice = calendar(ALICE)
    event = await run(alice.events().insert(calendarId="primary", body=BODY))
    sim.set_meet(ALICE, "success")
    done = await patch_request(alice, event["id"], "req-s")
    assert done["conferenceData"]["createRequest"]["status"]["statusCode"] == "success"
    assert done["hangoutLink"].startswith("https://meet.google.com/")
    assert sim.conferences_created() == 1
    again = await patch_request(alice, event["id"], "req-s")  # a seen request id is ignored
    assert again["hangoutLink"] == done["hangoutLink"]
    assert sim.conferences_created() == 1
