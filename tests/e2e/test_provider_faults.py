"""Provider errors and throttling while people work: nothing is lost, nothing is made twice."""

from __future__ import annotations

import asyncio

from tests.e2e.harness import (
    ALICE,
    ROOM,
    Harness,
    conference_status,
    marker_of,
    tomorrow_at,
    when,
)

KEYWORD_EVENTS = 5


async def test_errors_and_throttling_end_in_exactly_one_meeting_each(h: Harness) -> None:
    faults = h.sim.faults
    faults.reseed(11)
    faults.error_rate = 0.3  # 500 backendError
    faults.throttle_rate = 0.1  # 403 rateLimitExceeded / 429
    ids = [
        h.sim.person_insert(
            ALICE,
            {
                "summary": f"Review {n}",
                "location": "@meet",
                "description": f"Agenda item {n}",
                "attendees": [{"email": ROOM}],
                **when(tomorrow_at(9 + n)),
            },
        )["id"]
        for n in range(KEYWORD_EVENTS)
    ]
    await asyncio.sleep(2)  # the daemon works through the faults meanwhile
    refused = [r for r in h.sim.request_log if r.status >= 400]
    assert refused, "the faults never hit: the test proves nothing"

    faults.error_rate = faults.throttle_rate = 0.0
    for _ in range(20):  # reconcile until everything converged (backoff timers are cut short)
        await h.reconcile()
        if all(conference_status(h.event(ALICE, i)) == "success" for i in ids):
            break
    for n, event_id in enumerate(ids):
        event = h.event(ALICE, event_id)
        assert conference_status(event) == "success"
        assert marker_of(event)["hybridcal.system"] == "meet"
        assert event["description"] == f"Agenda item {n}"  # the person's text, untouched
    assert h.sim.conferences_created() == KEYWORD_EVENTS
    landed = [r for r in h.patches() if r.status == 200]
    assert len(landed) == KEYWORD_EVENTS  # one write per keyword event, whatever failed before
    rows = await h.meetings()
    assert sorted(m["title"] for m in rows if m["join"]) == sorted(
        f"Review {n}" for n in range(KEYWORD_EVENTS)
    )
