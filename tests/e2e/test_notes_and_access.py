"""An unavailable keyword gets a visible note; calendars we cannot reach are reported clearly."""

from __future__ import annotations

from tests.e2e.harness import (
    ALICE,
    CAROL,
    DOMAIN,
    ROOM,
    Harness,
    conference_status,
    marker_of,
    tomorrow_at,
    when,
)

from hybridcal.config.settings import GOOGLE_SCOPES
from hybridcal.core.model import CalendarState
from hybridcal.core.render import END_MARK, START_MARK
from hybridcal.daemon.sweep import ERROR_RECHECK

PERSON_TEXT = "Quarterly numbers.\nPlease read the deck first."


async def test_unavailable_keyword_gets_a_note_that_goes_with_the_keyword(h: Harness) -> None:
    event_id = h.sim.person_insert(
        ALICE,
        {
            "summary": "Partner call",
            "location": "@webex",
            "description": PERSON_TEXT,
            "attendees": [{"email": ROOM}],
            **when(tomorrow_at(13)),
        },
    )["id"]
    await h.settle()

    event = h.event(ALICE, event_id)
    description = event["description"]
    assert description.startswith(PERSON_TEXT)
    assert START_MARK in description
    assert END_MARK in description
    note = description[description.index(START_MARK) : description.index(END_MARK)]
    assert 0 < len(note.splitlines()) <= 6  # short
    assert "webex" in note.lower()
    assert marker_of(event)["hybridcal.system"] == "note"
    assert len(h.patches()) == 1
    assert h.sim.conferences_created() == 0
    [meeting] = await h.meetings()
    assert meeting["join"] is None  # a note is no meeting

    await h.reconcile()
    assert len(h.patches()) == 1  # the note's echo is quiet

    h.sim.person_patch(ALICE, event_id, {"location": "Phone"})
    await h.settle()
    event = h.event(ALICE, event_id)
    assert event["description"] == PERSON_TEXT
    assert marker_of(event) == {}
    assert len(h.patches()) == 2


async def test_note_in_an_html_description_is_removed_without_a_trace(h: Harness) -> None:
    """Google Calendar's web UI saves descriptions as HTML."""
    html = "<b>Agenda</b><br>1. numbers<br>2. <i>questions</i>"
    event_id = h.sim.person_insert(
        ALICE,
        {
            "summary": "Partner call",
            "location": "@webex",
            "description": html,
            **when(tomorrow_at(13)),
        },
    )["id"]
    await h.settle()
    description = h.event(ALICE, event_id)["description"]
    assert description.startswith(html)
    assert START_MARK in description
    assert "\n" not in description  # the note follows the HTML form of the description

    h.sim.person_patch(ALICE, event_id, {"location": ""})
    await h.settle()
    assert h.event(ALICE, event_id)["description"] == html
    assert len(h.patches()) == 2


async def test_calendars_we_cannot_reach_are_marked_with_a_reason(h: Harness) -> None:
    unknown = await h.enable(f"nobody@{DOMAIN}")
    assert unknown.state is CalendarState.ERROR
    assert "no such user" in (unknown.reason or "")

    h.sim.revoke_delegation(h.sa_info["client_id"])
    carol = await h.enable(CAROL)
    assert carol.state is CalendarState.ERROR
    assert "domain-wide delegation" in (carol.reason or "")

    # the running daemon leaves both alone, and keeps serving the calendars it can reach
    mark = len(h.sim.request_log)
    await h.daemon.sweep()
    await h.settle()
    assert (await h.calendar(CAROL)).state is CalendarState.ERROR
    assert not [r for r in h.sim.request_log[mark:] if r.subject in {CAROL, f"nobody@{DOMAIN}"}]
    assert (await h.calendar(ALICE)).state is CalendarState.ACTIVE


async def test_revoked_delegation_marks_the_calendar_and_recovers_once_granted(
    h: Harness,
) -> None:
    h.sim.revoke_delegation(h.sa_info["client_id"])
    h.sim.invalidate_tokens(ALICE)  # Google lets issued tokens run out; the simulator ends them
    event_id = h.sim.person_insert(
        ALICE, {"summary": "Sync", "location": "@meet", **when(tomorrow_at(15))}
    )["id"]
    await h.settle()
    alice = await h.calendar(ALICE)
    assert alice.state is CalendarState.ERROR
    assert "domain-wide delegation" in (alice.reason or "")
    assert h.sim.conferences_created() == 0

    h.sim.grant_delegation(h.sa_info["client_id"], GOOGLE_SCOPES)
    await h.daemon.sweep()  # too early: rechecked only every ERROR_RECHECK
    assert (await h.calendar(ALICE)).state is CalendarState.ERROR
    h.clock.advance(ERROR_RECHECK)
    await h.daemon.sweep()
    await h.settle()
    assert (await h.calendar(ALICE)).state is CalendarState.ACTIVE
    assert conference_status(h.event(ALICE, event_id)) == "success"
    assert h.sim.conferences_created() == 1
