"""`@zoom:pmr` end to end on Google: the organiser's Personal Meeting ID goes into the invitation,
no Zoom meeting is made, and nothing is deleted when the keyword goes; the organisation's
setting makes a plain `@zoom` the personal room, and `:onetime` still makes a meeting."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.e2e.harness import ALICE, BOB, ROOM, Harness, marker_of, start_harness, tomorrow_at, when

PERSON_TEXT = "Agenda:\n1. numbers\n2. questions"


def _event(location: str) -> dict[str, Any]:
    return {
        "summary": "One to one",
        "location": location,
        "description": PERSON_TEXT,
        "attendees": [{"email": BOB}, {"email": ROOM}],
        **when(tomorrow_at(11), 30),
    }


async def test_pmr_puts_the_pmi_in_the_invitation_and_makes_no_meeting(h: Harness) -> None:
    room = h.zoom.personal_room(ALICE)
    event_id = h.sim.person_insert(ALICE, _event("Desk @zoom:pmr"))["id"]
    await h.settle()

    event = h.event(ALICE, event_id)
    text = event["description"]
    assert text.startswith(PERSON_TEXT)
    assert f"{room['link']}?pwd=" in text  # Zoom's own PMI link, passcode embedded
    assert room["pmi_password"] in text
    assert f"{room['pmi']}.{room['pmi_password']}@zoomcrc.com" in text
    assert marker_of(event)["hybridcal.system"] == "zoom:pmr"
    assert "hybridcal.meeting" not in marker_of(event)
    assert h.zoom_meetings() == []
    assert h.zoom_calls("POST") == 0
    assert len(h.patches(event_id)) == 1
    [row] = [m for m in await h.meetings() if m["id"] == event_id]
    assert row["join"]["provider"] == "zoom"
    assert row["join"]["url"].startswith(room["link"])

    reads = h.zoom_calls()
    await h.reconcile()  # the echo and a reconcile read nothing and write nothing
    assert h.zoom_calls() == reads
    assert len(h.patches(event_id)) == 1

    h.sim.person_patch(ALICE, event_id, {"location": "Desk"})  # the keyword goes
    await h.settle()
    assert h.event(ALICE, event_id)["description"] == PERSON_TEXT
    assert h.zoom_calls() == reads  # no Zoom call at all: nothing was made
    assert await h.binding(ALICE, event_id) is None


async def test_switching_between_the_room_and_a_meeting(h: Harness) -> None:
    event_id = h.sim.person_insert(ALICE, _event("@zoom:pmi"))["id"]
    await h.settle()
    pmi = str(h.zoom.personal_room(ALICE)["pmi"])

    h.sim.person_patch(ALICE, event_id, {"location": "@zoom"})
    await h.settle()
    [meeting] = h.zoom_meetings()
    text = h.event(ALICE, event_id)["description"]
    assert meeting["join_url"] in text
    assert pmi not in text
    assert text.count("hybridcal:begin") == 1

    h.sim.person_patch(ALICE, event_id, {"location": "@zoom:myroom"})
    await h.settle()
    assert h.zoom_meetings() == []  # the scheduled meeting was deleted
    text = h.event(ALICE, event_id)["description"]
    assert pmi in text
    assert meeting["join_url"] not in text


async def test_the_organisation_can_make_plain_zoom_the_personal_room(
    tmp_path: Path, sa_info: dict[str, str]
) -> None:
    h = await start_harness(
        tmp_path, sa_info, settings={"meetings": {"zoom_default": "personal_room"}}
    )
    try:
        plain = h.sim.person_insert(ALICE, _event("@zoom"))["id"]
        onetime = h.sim.person_insert(ALICE, _event("@zoom:onetime"))["id"]
        await h.settle()
        pmi = str(h.zoom.personal_room(ALICE)["pmi"])
        assert pmi in h.event(ALICE, plain)["description"]
        [meeting] = h.zoom_meetings()
        assert meeting["join_url"] in h.event(ALICE, onetime)["description"]
    finally:
        await h.close()
