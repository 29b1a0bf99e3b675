"""Event writes: copies per calendar, patch semantics, If-Match, organiser-only fields."""

from __future__ import annotations

import pytest
from googleapiclient.errors import HttpError
from tests.sandbox.google_support import ADMIN, ALICE, BOB, CAROL, ROOM, CalendarFactory, run, timed

from hybridcal.sandbox.google import GoogleSimulator

MEETING = {
    "summary": "Planning",
    "location": "@meet",
    "attendees": [{"email": BOB}, {"email": ROOM}, {"email": "guest@elsewhere.org"}],
    **timed("2030-03-04T10:00:00", "2030-03-04T11:00:00"),
}


async def test_insert_gives_google_shaped_ids_and_copies(
    sim: GoogleSimulator, calendar: CalendarFactory
) -> None:
    event = await run(calendar(ALICE).events().insert(calendarId="primary", body=MEETING))
    assert len(event["id"]) >= 5
    assert set(event["id"]) <= set("0123456789abcdefghijklmnopqrstuv")
    assert event["etag"].startswith('"')
    assert event["etag"].endswith('"')
    assert event["organizer"] == {"email": ALICE, "displayName": "Alice Liddell", "self": True}
    bob_copy = sim.get(BOB, event["id"])
    room_copy = sim.get(ROOM, event["id"])
    assert bob_copy is not None
    assert room_copy is not None
    assert sim.get(CAROL, event["id"]) is None
    assert bob_copy["iCalUID"] == event["iCalUID"]
    assert "self" not in bob_copy["organizer"]
    me = [a for a in bob_copy["attendees"] if a.get("self")]
    assert me == [
        {"email": BOB, "displayName": "Bob Builder", "responseStatus": "needsAction", "self": True}
    ]
    room = next(a for a in event["attendees"] if a["email"] == ROOM)
    assert room["resource"] is True
    assert room["responseStatus"] == "accepted"
    # Bob's calendar shows it in Bob's zone, with the same instant
    assert bob_copy["start"]["dateTime"] == "2030-03-04T10:00:00+01:00"


async def test_shared_fields_propagate_and_private_properties_stay_per_copy(
    sim: GoogleSimulator, calendar: CalendarFactory
) -> None:
    alice, bob = calendar(ALICE), calendar(BOB)
    event = await run(alice.events().insert(calendarId="primary", body=MEETING))
    await run(
        alice.events().patch(
            calendarId="primary",
            eventId=event["id"],
            body={
                "description": "agenda",
                "extendedProperties": {
                    "private": {"ours": "1", "other": "x"},
                    "shared": {"s": "y"},
                },
            },
            conferenceDataVersion=1,
        )
    )
    bob_copy = sim.get(BOB, event["id"])
    assert bob_copy is not None
    assert bob_copy["description"] == "agenda"
    assert bob_copy["extendedProperties"] == {"shared": {"s": "y"}}
    # Bob may set his own private property; Alice's copy does not see it
    await run(
        bob.events().patch(
            calendarId="primary",
            eventId=event["id"],
            body={"extendedProperties": {"private": {"bobs": "2"}}},
            conferenceDataVersion=1,
        )
    )
    alice_copy = sim.get(ALICE, event["id"])
    assert alice_copy is not None
    assert alice_copy["extendedProperties"]["private"] == {"ours": "1", "other": "x"}
    # patch merges private keys; null deletes one; other keys survive
    patched = await run(
        alice.events().patch(
            calendarId="primary",
            eventId=event["id"],
            body={"extendedProperties": {"private": {"ours": None, "new": "3"}}},
            conferenceDataVersion=1,
        )
    )
    assert patched["extendedProperties"]["private"] == {"other": "x", "new": "3"}
    assert patched["extendedProperties"]["shared"] == {"s": "y"}
    assert patched["description"] == "agenda"


async def test_non_organizer_cannot_change_shared_fields(
    sim: GoogleSimulator, calendar: CalendarFactory
) -> None:
    event = await run(calendar(ALICE).events().insert(calendarId="primary", body=MEETING))
    bob = calendar(BOB)
    with pytest.raises(HttpError) as info:
        await run(
            bob.events().patch(
                calendarId="primary",
                eventId=event["id"],
                body={"description": "hijack"},
                conferenceDataVersion=1,
            )
        )
    assert info.value.status_code == 403
    assert info.value.error_details[0]["reason"] == "forbiddenForNonOrganizer"
    # the admin writing to the room's copy is no organiser either
    with pytest.raises(HttpError) as info:
        await run(
            calendar(ADMIN)
            .events()
            .patch(
                calendarId=ROOM, eventId=event["id"], body={"summary": "x"}, conferenceDataVersion=1
            )
        )
    assert info.value.error_details[0]["reason"] == "forbiddenForNonOrganizer"
    unchanged = sim.get(ALICE, event["id"])
    assert unchanged is not None
    assert "description" not in unchanged
    assert unchanged["summary"] == "Planning"


async def test_rooms_are_visible_to_admins_only(
    sim: GoogleSimulator, calendar: CalendarFactory
) -> None:
    event = sim.person_insert(ALICE, MEETING)
    page = await run(calendar(ADMIN).events().list(calendarId=ROOM))
    assert [i["id"] for i in page["items"]] == [event["id"]]
    assert page["accessRole"] == "writer"
    with pytest.raises(HttpError) as info:
        await run(calendar(BOB).events().list(calendarId=ROOM))
    assert info.value.status_code == 404


async def test_if_match_mismatch_is_412(sim: GoogleSimulator, calendar: CalendarFactory) -> None:
    alice = calendar(ALICE)
    event = await run(alice.events().insert(calendarId="primary", body=MEETING))
    sim.person_patch(ALICE, event["id"], {"summary": "edited by a person"})
    req = alice.events().patch(
        calendarId="primary",
        eventId=event["id"],
        body={"description": "d"},
        conferenceDataVersion=1,
    )
    req.headers["If-Match"] = event["etag"]
    with pytest.raises(HttpError) as info:
        await run(req)
    assert info.value.status_code == 412
    assert info.value.error_details[0]["reason"] == "conditionNotMet"
    fresh = await run(alice.events().get(calendarId="primary", eventId=event["id"]))
    req = alice.events().patch(
        calendarId="primary",
        eventId=event["id"],
        body={"description": "d"},
        conferenceDataVersion=1,
    )
    req.headers["If-Match"] = fresh["etag"]
    done = await run(req)
    assert done["etag"] != fresh["etag"]
    assert done["summary"] == "edited by a person"
    assert sim.request_log[-1].if_match == fresh["etag"]


async def test_attendee_changes_add_and_remove_copies(
    sim: GoogleSimulator, calendar: CalendarFactory
) -> None:
    alice = calendar(ALICE)
    event = await run(alice.events().insert(calendarId="primary", body=MEETING))
    await run(
        alice.events().patch(
            calendarId="primary",
            eventId=event["id"],
            body={"attendees": [{"email": CAROL}]},
            conferenceDataVersion=1,
        )
    )
    assert sim.get(CAROL, event["id"]) is not None
    assert sim.get(BOB, event["id"])["status"] == "cancelled"  # type: ignore[index]
    assert [e["id"] for e in sim.list_events(BOB)] == []


async def test_organizer_delete_cancels_every_copy(
    sim: GoogleSimulator, calendar: CalendarFactory
) -> None:
    alice = calendar(ALICE)
    event = await run(alice.events().insert(calendarId="primary", body=MEETING))
    await run(alice.events().delete(calendarId="primary", eventId=event["id"], sendUpdates="none"))
    for cal in (ALICE, BOB, ROOM):
        assert sim.list_events(cal) == []
    with pytest.raises(HttpError) as info:
        await run(alice.events().delete(calendarId="primary", eventId=event["id"]))
    assert info.value.status_code == 410


async def test_insert_validation(sim: GoogleSimulator, calendar: CalendarFactory) -> None:
    alice = calendar(ALICE)
    bad_bodies = [
        {"summary": "no times"},
        {**timed("2030-01-01T11:00:00", "2030-01-01T10:00:00")},
        {"start": {"dateTime": "2030-01-01T10:00:00"}, "end": {"dateTime": "2030-01-01T11:00:00"}},
        {"unknownField": 1, **timed("2030-01-01T10:00:00", "2030-01-01T11:00:00")},
        {"summary": 5, **timed("2030-01-01T10:00:00", "2030-01-01T11:00:00")},
        {
            "recurrence": ["RRULE:FREQ=SOMETIMES"],
            **timed("2030-01-01T10:00:00", "2030-01-01T11:00:00"),
        },
    ]
    for body in bad_bodies:
        with pytest.raises(HttpError) as info:
            await run(alice.events().insert(calendarId="primary", body=body))
        assert info.value.status_code == 400, body


async def test_update_replaces_the_resource(
    sim: GoogleSimulator, calendar: CalendarFactory
) -> None:
    alice = calendar(ALICE)
    event = await run(alice.events().insert(calendarId="primary", body=MEETING))
    body = {"summary": "replaced", **timed("2030-03-04T12:00:00", "2030-03-04T13:00:00")}
    updated = await run(alice.events().update(calendarId="primary", eventId=event["id"], body=body))
    assert updated["summary"] == "replaced"
    assert "location" not in updated
    assert "attendees" not in updated
    assert updated["sequence"] == event["sequence"] + 1
