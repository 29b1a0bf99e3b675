"""`@meet` end to end: one conference and one patch, echoes cost nothing, a person's edit racing
our patch is kept, and removing the keyword removes exactly what we added."""

from __future__ import annotations

from typing import Any

import pytest
from tests.e2e.harness import (
    ALICE,
    BOB,
    ROOM,
    Harness,
    conference_status,
    marker_of,
    tomorrow_at,
    video_link,
    when,
)

from hybridcal.connectors.calendars.base import ChangeBatch
from hybridcal.core.model import CalendarRecord, Provider

DESCRIPTION = "Walk through the lobby signage.\nBring printouts."


async def meet_event(h: Harness, **extra: Any) -> dict[str, Any]:
    body = {
        "summary": "Design review",
        "location": "Board room, @meet",
        "description": DESCRIPTION,
        "attendees": [{"email": BOB}, {"email": ROOM}],
        **when(tomorrow_at(10)),
        **extra,
    }
    event = h.sim.person_insert(ALICE, body)
    await h.settle()
    return event


async def test_keyword_makes_one_conference_and_one_patch(h: Harness) -> None:
    bob_lists_before = len(h.lists(BOB))
    event_id = (await meet_event(h))["id"]

    assert h.sim.conferences_created() == 1
    [patch] = h.patches()
    assert patch.status == 200
    assert patch.subject == ALICE  # the organiser's copy, never an attendee's
    assert patch.path.endswith(f"/events/{event_id}")
    assert patch.if_match is not None
    assert patch.query.get("conferenceDataVersion") == "1"

    mine = h.event(ALICE, event_id)
    assert conference_status(mine) == "success"
    marker = marker_of(mine)
    assert marker["hybridcal.system"] == "meet"
    assert marker["hybridcal.request"] == mine["conferenceData"]["createRequest"]["requestId"]
    assert mine["description"] == DESCRIPTION

    # bob's copy was read (his calendar was synced) and caused nothing
    assert len(h.lists(BOB)) > bob_lists_before
    bobs = h.event(BOB, event_id)
    assert marker_of(bobs) == {}
    assert video_link(bobs) == video_link(mine)

    [meeting] = await h.meetings()
    assert meeting["id"] == event_id
    assert meeting["title"] == "Design review"
    assert meeting["join"]["provider"] == "meet"
    assert meeting["join"]["url"] == video_link(mine)
    assert h.daemon.queue is not None
    assert h.daemon.queue.failed == 0


async def test_our_own_patch_echo_causes_no_write(h: Harness) -> None:
    event_id = (await meet_event(h))["id"]
    assert len(h.patches()) == 1
    echoes = h.metric("hybridcal_echo_writes_avoided_total")
    assert echoes >= 1  # the notification of our own patch was seen and needed nothing

    lists_before = len(h.lists(ALICE))
    await h.reconcile()
    jobs = h.daemon.jobs
    assert jobs is not None
    await jobs.refresh()  # a full listing hands the event to the planner once more
    await h.settle()
    # a person's unrelated edit reaches every copy; none of it is ours to write
    h.sim.person_patch(ALICE, event_id, {"summary": "Design review (moved online)"})
    await h.settle()

    assert len(h.lists(ALICE)) >= lists_before + 2
    assert len(h.patches()) == 1
    assert h.sim.conferences_created() == 1
    assert h.metric("hybridcal_echo_writes_avoided_total") > echoes
    assert h.metric("hybridcal_event_patches_total", outcome="ok") == 1


async def test_person_edit_racing_our_patch_is_kept(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The person saves a new description after the daemon read the event but before its patch
    lands: Google answers 412, the daemon re-reads, re-plans and patches the fresh copy."""
    connector = h.daemon.connectors[Provider.GOOGLE]
    real_list = connector.list_changes
    edited = "Edited by Alice while the daemon was working."
    raced: list[str] = []

    async def list_then_person_edits(calendar: CalendarRecord) -> ChangeBatch:
        batch = await real_list(calendar)
        for event in batch.events:
            if not raced and event.is_organizer_copy and "@meet" in event.location:
                raced.append(event.etag or "")
                h.sim.person_patch(ALICE, event.event_id, {"description": edited})
        return batch

    monkeypatch.setattr(connector, "list_changes", list_then_person_edits)
    event_id = (await meet_event(h))["id"]

    assert raced, "the race never happened"
    first, second = h.patches(event_id)
    assert (first.status, first.if_match) == (412, raced[0])
    assert second.status == 200
    assert second.if_match not in {None, raced[0]}
    assert len(h.patches()) == 2
    assert h.sim.conferences_created() == 1
    event = h.event(ALICE, event_id)
    assert event["description"] == edited
    assert conference_status(event) == "success"
    assert (
        marker_of(event)["hybridcal.request"]
        == event["conferenceData"]["createRequest"]["requestId"]
    )
    assert h.metric("hybridcal_event_patches_total", outcome="conflict") == 1


async def test_keyword_removed_undoes_ours_and_keeps_the_persons(h: Harness) -> None:
    event_id = (await meet_event(h))["id"]
    assert h.sim.conferences_created() == 1

    h.sim.person_patch(ALICE, event_id, {"location": "Board room"})
    await h.settle()

    event = h.event(ALICE, event_id)
    assert marker_of(event) == {}
    assert "conferenceData" not in event
    assert "hangoutLink" not in event
    assert event["description"] == DESCRIPTION
    assert event["location"] == "Board room"
    assert len(h.patches()) == 2
    assert h.sim.conferences_created() == 1
    assert await h.binding(ALICE, event_id) is None
    [meeting] = await h.meetings()
    assert meeting["id"] == event_id
    assert meeting["join"] is None

    # no flip-flop: later syncs leave the event alone
    await h.reconcile()
    assert len(h.patches()) == 2

    h.sim.person_delete(ALICE, event_id)
    await h.settle()
    assert await h.meetings() == []
    assert len(h.patches()) == 2
