"""`@meet` where Google will not make the conference: Meet turned off for the organiser (the
calendar list does not allow it, or the patch is refused with 400) or a create request that
ends in ``failure``. The organiser sees a short note in their language, the admin the reason,
nothing is sent again on every edit, the retry comes later, and removing the keyword clears
it all."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.e2e.harness import (
    ALICE,
    BOB,
    DOMAIN,
    ROOM,
    ZONE,
    Harness,
    conference_status,
    marker_of,
    tomorrow_at,
    video_link,
    when,
)

from hybridcal.core.model import BindingState, ProblemKind
from hybridcal.core.render import START_MARK

DESCRIPTION = "Agenda: budget."
DORA = f"dora@{DOMAIN}"


def meet_body(**extra: Any) -> dict[str, Any]:
    return {
        "summary": "Budget",
        "location": "@meet",
        "description": DESCRIPTION,
        "attendees": [{"email": BOB}, {"email": ROOM}],
        **when(tomorrow_at(11)),
        **extra,
    }


def note_of(event: dict[str, Any]) -> str:
    text = str(event.get("description", ""))
    return text[text.index(START_MARK) :] if START_MARK in text else ""


def calendar_list_reads(h: Harness) -> int:
    return len(h.requests("calendar.calendarList.get"))


async def test_a_failed_conference_becomes_a_note_and_a_retry_an_hour_later(h: Harness) -> None:
    h.sim.set_meet(ALICE, "failure")
    event_id = h.sim.person_insert(ALICE, meet_body())["id"]
    await h.settle()

    event = h.event(ALICE, event_id)
    assert conference_status(event) == "failure"
    assert "Google Meet meeting could not be created" in note_of(event)
    assert event["description"].startswith(DESCRIPTION)
    assert marker_of(event)["hybridcal.system"] == "meet"
    binding = await h.binding(ALICE, event_id)
    assert binding is not None
    assert binding.problem is not None
    assert binding.problem.kind is ProblemKind.CONFERENCE_FAILED
    assert binding.retry_at is not None
    assert binding.retry_at - h.clock() > timedelta(minutes=59)
    # the admin sees it on the calendar
    report = await h.admin_json("users", "show", ALICE)
    [problem] = report["meeting_problems"]
    assert (problem["event"], problem["problem"]) == (event_id, "conference_failed")
    assert "failure" in problem["detail"]
    patches = len(h.patches(event_id))
    assert patches == 2  # the request, then the note

    # edits and full refreshes do not send the request again
    h.sim.person_patch(ALICE, event_id, {"summary": "Budget (v2)"})
    await h.settle()
    await h.reconcile()
    assert len(h.patches(event_id)) == patches
    assert await h.daemon.retry_deferred() == 0

    # an hour later (Meet turned on meanwhile) the retry makes it and the note goes
    h.sim.set_meet(ALICE, "success")
    h.clock.advance(binding.retry_at - h.clock() + timedelta(seconds=1))
    assert await h.daemon.retry_deferred() == 1
    await h.settle()
    event = h.event(ALICE, event_id)
    assert conference_status(event) == "success"
    assert video_link(event)
    assert event["description"] == DESCRIPTION
    assert (
        marker_of(event)["hybridcal.request"]
        == (event["conferenceData"]["createRequest"]["requestId"])
    )
    settled = await h.binding(ALICE, event_id)
    assert settled is not None
    assert settled.problem is None
    assert settled.state is BindingState.PATCHED
    assert (await h.admin_json("users", "show", ALICE))["meeting_problems"] == []
    [meeting] = await h.meetings()
    assert meeting["join"]["url"] == video_link(event)


async def test_a_failure_after_pending_is_noticed_too(h: Harness) -> None:
    h.sim.set_meet(ALICE, "pending_failure")
    event_id = h.sim.person_insert(ALICE, meet_body())["id"]
    await h.settle()
    assert conference_status(h.event(ALICE, event_id)) == "failure"
    assert "could not be created" in note_of(h.event(ALICE, event_id))
    binding = await h.binding(ALICE, event_id)
    assert binding is not None
    assert binding.problem is not None
    assert binding.problem.kind is ProblemKind.CONFERENCE_FAILED


async def test_meet_turned_off_is_not_asked_for_and_the_note_speaks_german(h: Harness) -> None:
    h.sim.add_user(DORA, locale="de", timezone=ZONE)
    h.sim.set_meet(DORA, "refused")  # the calendar list allows no Meet; a patch gets a 400
    await h.enable(DORA)
    await h.daemon.sweep()
    await h.settle()
    event_id = h.sim.person_insert(DORA, meet_body())["id"]
    await h.settle()

    event = h.event(DORA, event_id)
    assert "conferenceData" not in event
    note = note_of(event)
    assert "Google Meet-Meeting konnte nicht erstellt werden" in note
    assert "ausgeschaltet" in note
    # no request for a conference was ever sent: the calendar list said no
    [patch] = h.patches(event_id)
    assert "conferenceData" not in patch.body
    assert calendar_list_reads(h) == 1
    binding = await h.binding(DORA, event_id)
    assert binding is not None
    assert binding.problem is not None
    assert binding.problem.kind is ProblemKind.CONFERENCE_NOT_ALLOWED

    # removing the keyword removes the note and the problem
    h.sim.person_patch(DORA, event_id, {"location": "Room 4"})
    await h.settle()
    event = h.event(DORA, event_id)
    assert event["description"] == DESCRIPTION
    assert marker_of(event) == {}
    assert await h.binding(DORA, event_id) is None
    assert (await h.admin_json("users", "show", DORA))["meeting_problems"] == []
    assert len(h.patches(event_id)) == 2


async def test_a_400_refusal_is_not_sent_again_on_every_edit(h: Harness) -> None:
    # the calendar list still allows Meet, but the patch is refused (licence just removed)
    h.sim.set_meet(ALICE, "refused", allowed=True)
    event_id = h.sim.person_insert(ALICE, meet_body())["id"]
    await h.settle()
    refused = [p for p in h.patches(event_id) if p.status == 400]
    assert len(refused) == 1
    assert "Meet" in note_of(h.event(ALICE, event_id))
    binding = await h.binding(ALICE, event_id)
    assert binding is not None
    assert binding.problem is not None
    assert binding.problem.kind is ProblemKind.CONFERENCE_NOT_ALLOWED
    assert "Invalid conference type value" in binding.problem.detail
    assert h.daemon.queue is not None
    assert h.daemon.queue.failed == 0
    before = len(h.patches(event_id))

    for n in range(3):
        h.sim.person_patch(ALICE, event_id, {"summary": f"Budget {n}"})
        await h.settle()
    await h.reconcile()
    assert h.daemon.jobs is not None
    await h.daemon.jobs.refresh()  # a full listing hands the event to the planner again
    await h.settle()
    assert len(h.patches(event_id)) == before
    assert len([p for p in h.patches(event_id) if p.status == 400]) == 1
