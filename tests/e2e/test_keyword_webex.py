"""`@webex` end to end on Google Calendar: Google simulator, daemon, Webex simulator, the room's
meeting list."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from tests.e2e.harness import (
    ALICE,
    BOB,
    CAROL,
    ROOM,
    ZONE,
    Harness,
    marker_of,
    start_harness,
    tomorrow_at,
    when,
)

from hybridcal.connectors.meetings.webex_wire import split_ref
from hybridcal.core.model import ProblemKind
from hybridcal.sandbox.webex import DropResponse, WebexRecord

PERSON_TEXT = "Agenda:\n1. numbers\n2. questions"


@pytest.fixture
async def w(tmp_path: Path, sa_info: dict[str, str]) -> AsyncIterator[Harness]:
    harness = await start_harness(tmp_path, sa_info, webex=True)
    try:
        yield harness
    finally:
        await harness.close()


def _webex_event(summary: str = "Quarterly review", **extra: Any) -> dict[str, Any]:
    return {
        "summary": summary,
        "location": "Board room @webex",
        "description": PERSON_TEXT,
        "attendees": [{"email": BOB}, {"email": ROOM}],
        **when(tomorrow_at(10), 45),
        **extra,
    }


def _start(meeting: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(meeting["start"])


async def test_keyword_makes_one_webex_meeting_with_a_complete_join_block(w: Harness) -> None:
    event_id = w.sim.person_insert(ALICE, _webex_event())["id"]
    await w.settle()

    [meeting] = w.webex_meetings()
    assert meeting["hostEmail"] == ALICE
    assert meeting["title"] == "Quarterly review"
    assert _start(meeting) == tomorrow_at(10)
    assert _start({"start": meeting["end"]}) == tomorrow_at(10) + timedelta(minutes=45)
    event = w.event(ALICE, event_id)
    text = event["description"]
    assert text.startswith(PERSON_TEXT)  # the person's text, untouched, first
    assert "Join Webex meeting" in text
    assert meeting["webLink"] in text
    number = meeting["meetingNumber"]
    assert f"{number[:4]} {number[4:7]} {number[7:]}" in text
    assert meeting["password"] in text
    assert meeting["sipAddress"] in text
    assert f"Video system passcode: {meeting['phoneAndVideoSystemPassword']}" in text
    assert meeting["hostKey"] not in text
    assert split_ref(marker_of(event)["hybridcal.meeting"]) == (meeting["id"], ALICE)
    # the hot path: one create, no read, and Webex sends no mail of its own
    assert w.webex_calls("POST") == 1
    assert w.webex_calls("GET") == 0
    assert w.webex is not None
    [create] = [r for r in w.webex.request_log if r.operation == "meetings.create"]
    assert create.body["sendEmail"] is False
    assert len(w.patches(event_id)) == 1
    # invited rooms see a Join button
    [row] = [m for m in await w.meetings() if m["id"] == event_id]
    assert row["join"]["provider"] == "webex"
    assert row["join"]["url"] == meeting["webLink"]

    await w.reconcile()  # the echo and a reconcile change nothing
    assert w.webex_calls("POST") == 1
    assert len(w.patches(event_id)) == 1


async def test_moving_and_retitling_update_the_meeting_and_nothing_else(w: Harness) -> None:
    event_id = w.sim.person_insert(ALICE, _webex_event())["id"]
    await w.settle()
    [meeting] = w.webex_meetings()
    block = w.event(ALICE, event_id)["description"]

    w.sim.person_patch(ALICE, event_id, when(tomorrow_at(15), 90))
    await w.settle()
    [moved] = w.webex_meetings()
    assert moved["id"] == meeting["id"]
    assert _start(moved) == tomorrow_at(15)
    assert _start({"start": moved["end"]}) == tomorrow_at(15) + timedelta(minutes=90)

    w.sim.person_patch(ALICE, event_id, {"summary": "Quarterly review (final)"})
    await w.settle()
    [renamed] = w.webex_meetings()
    assert renamed["title"] == "Quarterly review (final)"
    assert renamed["webLink"] == meeting["webLink"]
    assert w.event(ALICE, event_id)["description"] == block  # no rewrite of the invitation
    assert len(w.patches(event_id)) == 1
    assert w.webex_calls("POST") == 1
    assert w.webex_calls("PATCH") == 2


async def test_cancelling_the_event_deletes_the_meeting(w: Harness) -> None:
    event_id = w.sim.person_insert(ALICE, _webex_event())["id"]
    await w.settle()
    assert len(w.webex_meetings()) == 1
    w.sim.person_delete(ALICE, event_id)
    await w.settle()
    assert w.webex_meetings() == []
    assert await w.binding(ALICE, event_id) is None
    assert w.webex is not None
    [delete] = [r for r in w.webex.request_log if r.operation == "meetings.delete"]
    assert delete.query["sendEmail"] == "false"


async def test_removing_the_keyword_deletes_the_meeting_and_only_our_block(w: Harness) -> None:
    event_id = w.sim.person_insert(ALICE, _webex_event())["id"]
    await w.settle()
    w.sim.person_patch(
        ALICE,
        event_id,
        {
            "location": "Board room",
            "description": w.event(ALICE, event_id)["description"] + "\n\nPS: bring coffee",
        },
    )
    await w.settle()
    assert w.webex_meetings() == []
    event = w.event(ALICE, event_id)
    assert event["description"] == PERSON_TEXT + "\n\nPS: bring coffee"
    assert marker_of(event) == {}


async def test_a_lost_create_answer_is_found_again_not_made_twice(w: Harness) -> None:
    assert w.webex is not None
    lost: list[str] = []

    async def lose_first_answer(record: WebexRecord) -> None:
        if record.operation == "meetings.create" and not lost:
            lost.append(record.path)
            raise DropResponse  # Webex made the meeting; the daemon sees a broken connection

    w.webex.after_request.append(lose_first_answer)
    event_id = w.sim.person_insert(ALICE, _webex_event())["id"]
    await w.converge(lambda: "hybridcal:begin" in w.event(ALICE, event_id)["description"])
    assert lost
    [meeting] = w.webex_meetings(include_deleted=True)
    assert meeting["webLink"] in w.event(ALICE, event_id)["description"]
    assert w.webex_calls("POST") == 1
    listed = [r for r in w.webex.request_log if r.operation == "meetings.list"]
    assert listed  # found by its tag, not made again
    assert listed[0].query["integrationTag"].startswith("hybridcal-")


async def test_a_host_without_a_webex_licence_gets_a_note_and_the_admin_a_reason(
    w: Harness,
) -> None:
    assert w.webex is not None
    w.webex.add_user(CAROL, licensed=False, timezone=ZONE)
    await w.enable(CAROL)
    await w.daemon.sweep()
    await w.settle()
    event_id = w.sim.person_insert(CAROL, _webex_event())["id"]
    await w.settle()
    assert w.webex_meetings() == []
    text = w.event(CAROL, event_id)["description"]
    assert "could not be created" in text
    assert "no active account there" in text
    binding = await w.binding(CAROL, event_id)
    assert binding is not None
    assert binding.problem is not None
    assert binding.problem.kind is ProblemKind.HOST_NOT_FOUND
    assert CAROL in binding.problem.detail
    assert "Control Hub" in binding.problem.detail
    assert binding.retry_at is not None

    # the admin assigns the licence; at the retry time the meeting is made and the note goes
    w.webex.set_licensed(CAROL, licensed=True)
    w.clock.advance(timedelta(hours=1, minutes=1))
    await w.converge(lambda: len(w.webex_meetings()) == 1)
    text = w.event(CAROL, event_id)["description"]
    assert "could not be created" not in text
    assert w.webex_meetings()[0]["webLink"] in text


async def test_a_series_gets_one_recurring_meeting_and_mirrors_a_moved_occurrence(
    w: Harness,
) -> None:
    event_id = w.sim.person_insert(
        ALICE, _webex_event("Daily stand-up", recurrence=["RRULE:FREQ=DAILY;COUNT=5"])
    )["id"]
    await w.settle()
    [meeting] = w.webex_meetings()
    assert meeting["recurrence"].startswith("FREQ=DAILY")
    assert len(meeting["occurrences"]) == 5
    third = tomorrow_at(10) + timedelta(days=2)
    fourth = tomorrow_at(10) + timedelta(days=3)
    moved_to = third + timedelta(hours=3)
    w.sim.person_patch(ALICE, _instance_id(event_id, third), when(moved_to, 45))
    w.sim.person_delete(ALICE, _instance_id(event_id, fourth))
    await w.settle()
    [series] = w.webex_meetings()
    starts = sorted(_start(o) for o in series["occurrences"])
    assert moved_to in starts
    assert third not in starts
    assert fourth not in starts
    assert len(starts) == 4
    assert w.webex_calls("POST") == 1


def _instance_id(master_id: str, start: datetime) -> str:
    return f"{master_id}_{start.astimezone(UTC).strftime('%Y%m%dT%H%M%SZ')}"
