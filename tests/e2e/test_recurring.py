"""Recurring series: a keyword on the series, and a keyword on one occurrence only."""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Any

from tests.e2e.harness import (
    ALICE,
    ROOM,
    Harness,
    conference_status,
    tomorrow_at,
    video_link,
    when,
)

COUNT = 4


def _series(summary: str, location: str) -> dict[str, Any]:
    return {
        "summary": summary,
        "location": location,
        "attendees": [{"email": ROOM}],
        "recurrence": [f"RRULE:FREQ=DAILY;COUNT={COUNT}"],
        **when(tomorrow_at(7)),
    }


def _instance_id(master_id: str, day: int) -> str:
    start = tomorrow_at(7) + timedelta(days=day)
    return f"{master_id}_{start.astimezone(UTC).strftime('%Y%m%dT%H%M%SZ')}"


async def test_keyword_on_the_series_makes_one_conference(h: Harness) -> None:
    master = h.sim.person_insert(ALICE, _series("Daily standup", "@meet"))["id"]
    await h.settle()

    assert h.sim.conferences_created() == 1
    [patch] = h.patches()
    assert patch.path.endswith(f"/events/{master}")
    link = video_link(h.event(ALICE, master))
    assert link is not None

    meetings = await h.meetings()
    assert [m["id"] for m in meetings] == [_instance_id(master, d) for d in range(COUNT)]
    assert all(m["title"] == "Daily standup" for m in meetings)
    assert [m["join"]["url"] for m in meetings] == [link] * COUNT

    await h.reconcile()
    assert len(h.patches()) == 1
    assert h.sim.conferences_created() == 1


async def test_keyword_on_one_occurrence_makes_a_conference_for_it_only(h: Harness) -> None:
    master = h.sim.person_insert(ALICE, _series("Weekly sync", "Room 3"))["id"]
    await h.settle()
    assert [m["join"] for m in await h.meetings()] == [None] * COUNT
    assert h.patches() == []

    one = _instance_id(master, 2)
    h.sim.person_patch(ALICE, one, {"location": "Room 3 @meet"})
    await h.settle()

    assert h.sim.conferences_created() == 1
    [patch] = h.patches()
    assert patch.path.endswith(f"/events/{one}")
    occurrence = h.event(ALICE, one)
    assert conference_status(occurrence) == "success"
    assert "conferenceData" not in h.event(ALICE, master)
    for day in (0, 1, 3):
        assert "conferenceData" not in h.event(ALICE, _instance_id(master, day))

    joins = {m["id"]: m["join"] for m in await h.meetings()}
    assert set(joins) == {_instance_id(master, d) for d in range(COUNT)}
    assert joins.pop(one)["url"] == video_link(occurrence)
    assert list(joins.values()) == [None] * (COUNT - 1)


async def test_one_occurrence_cancelled_or_moved_changes_only_that_row(h: Harness) -> None:
    master = h.sim.person_insert(ALICE, _series("Daily standup", "@meet"))["id"]
    await h.settle()
    link = video_link(h.event(ALICE, master))

    gone, moved = _instance_id(master, 1), _instance_id(master, 2)
    h.sim.person_delete(ALICE, gone)
    new_start = tomorrow_at(7) + timedelta(days=2, hours=3)
    h.sim.person_patch(ALICE, moved, when(new_start))
    await h.settle()

    meetings = {m["id"]: m for m in await h.meetings()}
    assert set(meetings) == {_instance_id(master, d) for d in (0, 2, 3)}
    assert meetings[moved]["start"] == new_start.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert {m["join"]["url"] for m in meetings.values()} == {link}
    assert h.sim.conferences_created() == 1
    assert len(h.patches()) == 1
