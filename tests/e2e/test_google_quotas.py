"""Google's quotas: the short rate limits (403 userRateLimitExceeded, 403/429 rateLimitExceeded)
are backed off with jitter and pass; the long one (403 quotaExceeded, "Calendar usage limits
exceeded", hours per user) pauses that user's writes only, shows the admin until when, keeps
reads and meeting lists working and resumes by itself. None becomes a retry storm: the
requests are counted in the simulator's log."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tests.e2e.harness import (
    ALICE,
    BOB,
    ROOM,
    Harness,
    conference_status,
    tomorrow_at,
    when,
)

from hybridcal.sandbox.google.http import RequestRecord
from hybridcal.sandbox.google.limits import ShortLimit


def meet_body(hour: int, title: str = "Standup") -> dict[str, Any]:
    return {
        "summary": title,
        "location": "@meet",
        "attendees": [{"email": ROOM}],
        **when(tomorrow_at(hour)),
    }


def of(h: Harness, subject: str, since: int = 0) -> list[RequestRecord]:
    return [r for r in h.sim.request_log[since:] if r.subject == subject and r.path != "/token"]


def refused(records: list[RequestRecord]) -> list[RequestRecord]:
    return [r for r in records if r.status in (403, 429)]


@pytest.mark.parametrize(
    "reason", ["userRateLimitExceeded", "rateLimitExceeded", "rateLimitExceeded429"]
)
async def test_short_rate_limits_are_backed_off_and_pass(h: Harness, reason: ShortLimit) -> None:
    since = len(h.sim.request_log)
    h.sim.rate_limit(ALICE, reason, times=3)
    event_id = h.sim.person_insert(ALICE, meet_body(9))["id"]
    await h.converge(lambda: conference_status(h.event(ALICE, event_id)) == "success")

    mine = of(h, ALICE, since)
    assert len(refused(mine)) == 3  # each refusal was answered by a later try, not a burst
    assert len(mine) <= 12
    assert [p.status for p in h.patches(event_id)] == [200]
    assert h.sim.conferences_created() == 1


async def test_a_lasting_rate_limit_is_no_retry_storm_and_hurts_no_one_else(h: Harness) -> None:
    since = len(h.sim.request_log)
    h.sim.rate_limit(ALICE, "userRateLimitExceeded", times=1_000_000)
    h.sim.person_insert(ALICE, meet_body(9))
    bob_event = h.sim.person_insert(BOB, meet_body(10, "Bob's"))["id"]
    await asyncio.sleep(4.0)  # the daemon keeps trying on its own meanwhile

    assert len(of(h, ALICE, since)) <= 10  # a storm would be hundreds
    await h.settle()
    assert conference_status(h.event(BOB, bob_event)) == "success"
    report = await h.admin_json("users", "show", ALICE)
    assert report["sync"]["status"] == "failing"
    assert "userRateLimitExceeded" in report["sync"]["message"]


async def test_usage_limits_pause_one_users_writes_and_resume_by_themselves(
    h: Harness,
) -> None:
    since = len(h.sim.request_log)
    h.sim.limit_writes(ALICE, datetime.now(UTC) + timedelta(hours=3))
    first = h.sim.person_insert(ALICE, meet_body(9))["id"]
    await h.settle()
    second = h.sim.person_insert(ALICE, meet_body(10, "Review"))["id"]
    bobs = h.sim.person_insert(BOB, meet_body(11, "Bob's"))["id"]
    await h.settle()
    for n in range(3):  # edits do not knock on the closed door again
        h.sim.person_patch(ALICE, first, {"summary": f"Standup {n}"})
        await h.settle()
    await h.reconcile()

    alice_writes = [r for r in of(h, ALICE, since) if r.method == "PATCH"]
    assert [r.status for r in alice_writes] == [403]  # one refusal, then no write was sent
    assert conference_status(h.event(BOB, bobs)) == "success"  # Bob's writes go on
    # reads go on: the room's meeting list shows Alice's events, edits included
    titles = {m["title"] for m in await h.meetings()}
    assert {"Standup 2", "Review", "Bob's"} <= titles
    # the admin sees why, and until when
    report = await h.admin_json("users", "show", ALICE)
    problems = {p["event"]: p for p in report["event_problems"]}
    assert set(problems) == {first, second}
    assert problems[first]["error"] == "WritesPausedError"
    assert "Calendar usage limits exceeded" in problems[first]["message"]
    retry = datetime.fromisoformat(problems[first]["next_retry"])
    assert timedelta(hours=2, minutes=59) < retry - h.clock() <= timedelta(hours=3)
    assert await h.daemon.retry_deferred() == 0

    # hours later Google lifts it; the daemon tries again on its own
    h.sim.limit_writes(ALICE, datetime.now(UTC))
    h.clock.advance(timedelta(hours=3, minutes=1))
    assert await h.daemon.retry_deferred() == 1
    await h.settle()
    assert conference_status(h.event(ALICE, first)) == "success"
    assert conference_status(h.event(ALICE, second)) == "success"
    assert (await h.admin_json("users", "show", ALICE))["event_problems"] == []
    assert len(refused(of(h, ALICE, since))) == 1
