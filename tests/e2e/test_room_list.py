"""The room's meeting list follows the provider: invitations, moves, cancellations, pasted links."""

from __future__ import annotations

from datetime import timedelta

from tests.e2e.harness import (
    ALICE,
    BOB,
    CAROL,
    ROOM,
    Harness,
    conference_status,
    tomorrow_at,
    video_link,
    when,
)

PASTED = """Agenda first.

Join Zoom Meeting
https://us06web.zoom.us/j/81234567890?pwd=QWxwaGFCcmF2b0NoYXJsaWU.1

Meeting ID: 812 3456 7890
Passcode: 424242
"""


async def test_room_invited_moved_uninvited(h: Harness) -> None:
    event_id = h.sim.person_insert(
        ALICE,
        {
            "summary": "Offsite prep",
            "location": "@meet",
            "attendees": [{"email": ROOM}],
            **when(tomorrow_at(9)),
        },
    )["id"]
    await h.settle()
    [meeting] = await h.meetings()
    link = video_link(h.event(ALICE, event_id))
    assert (meeting["id"], meeting["join"]["url"]) == (event_id, link)

    moved = tomorrow_at(15) + timedelta(days=2)
    h.sim.person_patch(ALICE, event_id, {"summary": "Offsite prep (moved)", **when(moved, 60)})
    await h.settle()
    [meeting] = await h.meetings()
    assert meeting["title"] == "Offsite prep (moved)"
    assert meeting["start"] == moved.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert meeting["join"]["url"] == link  # the Meet stays with the event

    h.sim.person_patch(ALICE, event_id, {"attendees": []})
    await h.settle()
    assert await h.meetings() == []

    h.sim.person_patch(ALICE, event_id, {"attendees": [{"email": ROOM}]})
    await h.settle()
    [meeting] = await h.meetings()
    assert meeting["join"]["url"] == link
    assert h.sim.conferences_created() == 1
    assert len(h.patches()) == 1


async def test_event_moved_out_of_the_cached_window_and_back(h: Harness) -> None:
    event_id = h.sim.person_insert(
        ALICE, {"summary": "Review", "attendees": [{"email": ROOM}], **when(tomorrow_at(9))}
    )["id"]
    await h.settle()
    assert [m["id"] for m in await h.meetings()] == [event_id]

    far = tomorrow_at(9) + timedelta(days=60)
    h.sim.person_patch(ALICE, event_id, when(far))
    await h.settle()
    assert await h.meetings() == []

    h.sim.person_patch(ALICE, event_id, when(tomorrow_at(11)))
    await h.settle()
    assert [m["id"] for m in await h.meetings()] == [event_id]


async def test_room_list_shows_links_from_every_organiser(h: Harness) -> None:
    """A pasted Zoom invitation is detected; a keyword typed by someone we do not serve
    (carol is not enabled) is not acted on, because only the organiser's copy is."""
    pasted = h.sim.person_insert(
        ALICE,
        {
            "summary": "Vendor call",
            "description": PASTED,
            "attendees": [{"email": ROOM}],
            **when(tomorrow_at(9)),
        },
    )["id"]
    foreign = h.sim.person_insert(
        CAROL,
        {
            "summary": "Carol's sync",
            "location": "@meet",
            "attendees": [{"email": ROOM}],
            **when(tomorrow_at(10)),
        },
    )["id"]
    await h.settle()

    meetings = {m["id"]: m for m in await h.meetings()}
    assert set(meetings) == {pasted, foreign}
    assert meetings[pasted]["join"]["provider"] == "zoom"
    assert meetings[pasted]["join"]["url"].startswith("https://us06web.zoom.us/j/81234567890")
    assert meetings[foreign]["join"] is None
    assert conference_status(h.event(CAROL, foreign)) is None
    assert h.patches() == []
    assert h.sim.conferences_created() == 0


async def test_cancellation_learned_from_a_full_listing_empties_the_room(h: Harness) -> None:
    event_id = h.sim.person_insert(
        ALICE, {"summary": "Only meeting", "attendees": [{"email": ROOM}], **when(tomorrow_at(9))}
    )["id"]
    await h.settle()
    assert [m["id"] for m in await h.meetings()] == [event_id]

    h.sim.faults.drop_notification_rate = 1.0
    h.sim.person_delete(ALICE, event_id)
    await h.settle()
    h.sim.faults.drop_notification_rate = 0.0
    h.sim.expire_sync_tokens(ROOM)  # the room's cursor is gone: a full listing is the only way
    await h.reconcile()

    room_lists = h.lists(ROOM)
    assert [r.status for r in room_lists[-2:]] == [410, 200]
    assert h.sim.list_events(ROOM) == []
    assert await h.meetings() == []


async def test_zoom_meeting_lists_its_keypad_passcode_and_sip_dial(h: Harness) -> None:
    """A room system can join the `@zoom` meeting without a browser: it dials the room
    connector with the numeric passcode, and can type that passcode on its keypad."""
    h.zoom.set_password_requirement(length=8, have_upper_and_lower_characters=True)
    event_id = h.sim.person_insert(
        ALICE,
        {
            "summary": "Codec check",
            "location": "@zoom",
            "attendees": [{"email": BOB}, {"email": ROOM}],
            **when(tomorrow_at(11)),
        },
    )["id"]
    await h.settle()

    [zoom] = h.zoom_meetings()
    numeric = zoom["h323_password"]
    assert numeric.isdigit()
    assert not zoom["password"].isdigit()  # what people type is not what a keypad can
    [meeting] = [m for m in await h.meetings() if m["id"] == event_id]
    assert meeting["join"]["provider"] == "zoom"
    assert meeting["join"]["numeric_passcode"] == numeric
    assert meeting["join"]["dial"] == f"{zoom['id']}.{numeric}@zoomcrc.com"
    assert meeting["links"][0]["dial"] == meeting["join"]["dial"]
    assert meeting["attendee_count"] == 2  # alice and bob; the room is no attendee
    assert meeting["attendee_names"] is None  # names are off unless the admin allows them
