"""Recorded events replayed verbatim through the control API, while the Calendar API stays as
strict as Google's."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import aiohttp
import pytest
from googleapiclient.errors import HttpError
from tests.fixtures.google_events.recorded import load, names
from tests.sandbox.google_support import ADMIN, ALICE, CalendarFactory, run, timed

from hybridcal.sandbox.google import GoogleSimulator

FIXTURE_ROOM = "c_1880e2e-room@resource.calendar.google.com"
# what Google recomputes for every answer: not part of the recording
RECOMPUTED = {"etag", "updated"}


def calendar_of(name: str) -> str:
    return FIXTURE_ROOM if name.endswith("_room") else ALICE


def instant(value: dict[str, str]) -> datetime | str:
    return datetime.fromisoformat(value["dateTime"]) if "dateTime" in value else value["date"]


def comparable(item: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in item.items() if k not in RECOMPUTED}
    for key in ("start", "end", "originalStartTime"):
        if key in out:
            out[key] = (instant(out[key]), out[key].get("timeZone"))
    return out


@pytest.fixture
async def replaying(sim: GoogleSimulator) -> GoogleSimulator:
    sim.add_room(FIXTURE_ROOM, name="E2E Room")
    return sim


async def post_replay(sim: GoogleSimulator, calendar: str, item: dict[str, Any]) -> Any:
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{sim.base_url}/sandbox/calendars/{calendar}/replay", json=item) as resp,
    ):
        return resp.status, await resp.json()


@pytest.mark.parametrize("name", names())
async def test_events_get_returns_the_recording(
    replaying: GoogleSimulator, calendar: CalendarFactory, name: str
) -> None:
    recorded = load(name)
    owner = calendar_of(name)
    status, body = await post_replay(replaying, owner, recorded)
    assert status == 200, body
    reader = calendar(ALICE if owner == ALICE else ADMIN)
    got = await run(reader.events().get(calendarId=owner, eventId=recorded["id"]))
    assert comparable(got) == comparable(recorded)


async def test_replayed_events_are_listed_and_synced(
    replaying: GoogleSimulator, calendar: CalendarFactory
) -> None:
    alice = calendar(ALICE)
    first = await run(alice.events().list(calendarId="primary"))
    for name in ("external_invitation_alice", "imported_private_copy"):
        await post_replay(replaying, ALICE, load(name))
    changed = await run(alice.events().list(calendarId="primary", syncToken=first["nextSyncToken"]))
    ids = {item["id"] for item in changed["items"]}
    assert ids == {load("external_invitation_alice")["id"], load("imported_private_copy")["id"]}
    # and the organiser outside the domain has no calendar here to copy it to
    assert replaying.get("dana@fabrikam.example", load("external_invitation_alice")["id"]) is None


async def test_the_calendar_api_stays_strict(
    replaying: GoogleSimulator, calendar: CalendarFactory
) -> None:
    alice = calendar(ALICE)
    body = {
        "id": "_imported0001",
        "summary": "x",
        **timed("2030-05-06T09:00:00", "2030-05-06T10:00:00"),
    }
    with pytest.raises(HttpError) as info:
        await run(alice.events().insert(calendarId="primary", body=body))
    assert info.value.status_code == 400
    assert "Invalid resource id value." in str(info.value)
    # an attendee's copy of a foreign organiser's event: shared fields are the organiser's
    invitation = load("external_invitation_alice")
    await post_replay(replaying, ALICE, invitation)
    with pytest.raises(HttpError) as info:
        await run(
            alice.events().patch(
                calendarId="primary", eventId=invitation["id"], body={"summary": "mine now"}
            )
        )
    assert info.value.status_code == 403
    own = {"extendedProperties": {"private": {"note": "kept for me"}}}
    await run(alice.events().patch(calendarId="primary", eventId=invitation["id"], body=own))


async def test_malformed_replays_are_refused(replaying: GoogleSimulator) -> None:
    for bad in (
        {"id": "has space", "start": {"date": "2030-01-07"}, "end": {"date": "2030-01-08"}},
        {"id": "abc12345", "start": {"dateTime": "nope"}, "end": {"date": "2030-01-08"}},
        {
            "id": "abc12345",
            "start": {"date": "2030-01-07"},
            "end": {"date": "2030-01-08"},
            "attendees": [{"displayName": "no address"}],
        },
    ):
        status, _body = await post_replay(replaying, ALICE, bad)
        assert status == 400
    status, _body = await post_replay(replaying, "nobody@example.com", load("own_meet_keyword"))
    assert status == 400
