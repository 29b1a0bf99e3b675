"""`@zoom` end to end: Google simulator, daemon, Zoom simulator, the room's meeting list."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.e2e.harness import ALICE, BOB, CAROL, ROOM, ZONE, Harness, marker_of, tomorrow_at, when

from hybridcal.connectors.meetings.zoom_passcode import PasscodePolicy, violations
from hybridcal.core.model import BindingState, ProblemKind
from hybridcal.sandbox.faults import DropResponse
from hybridcal.sandbox.zoom import ZoomRecord

PERSON_TEXT = "Agenda:\n1. numbers\n2. questions"


def _zoom_event(summary: str = "Quarterly review", **extra: Any) -> dict[str, Any]:
    return {
        "summary": summary,
        "location": "Board room @zoom",
        "description": PERSON_TEXT,
        "attendees": [{"email": BOB}, {"email": ROOM}],
        **when(tomorrow_at(10), 45),
        **extra,
    }


def _zoom_start(meeting: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(meeting["start_time"])


async def test_keyword_makes_one_meeting_with_a_complete_join_block(h: Harness) -> None:
    h.zoom.set_password_requirement(length=8, have_upper_and_lower_characters=True)
    event_id = h.sim.person_insert(ALICE, _zoom_event())["id"]
    await h.settle()

    [meeting] = h.zoom_meetings()
    assert meeting["host_email"] == ALICE
    organizer = h.event(ALICE, event_id)["organizer"]
    assert meeting["topic"] == f"Quarterly review ({organizer.get('displayName') or ALICE})"
    assert _zoom_start(meeting) == tomorrow_at(10)
    assert meeting["duration"] == 45
    assert violations(meeting["password"], PasscodePolicy(length=8)) == []
    assert any(c.isupper() for c in meeting["password"])
    assert any(c.islower() for c in meeting["password"])
    event = h.event(ALICE, event_id)
    text = event["description"]
    assert text.startswith(PERSON_TEXT)  # the person's text, untouched, first
    assert meeting["join_url"] in text
    assert meeting["password"] in text
    assert f"{meeting['id']}.{meeting['h323_password']}@zoomcrc.com" in text
    assert "One tap mobile" in text
    assert marker_of(event)["hybridcal.meeting"] == str(meeting["id"])
    # the hot path: one create, and no other Zoom read per keyword event
    assert h.zoom_calls("POST", "/v2/users/") == 1
    assert h.zoom_calls("GET", "/v2/meetings") == 0
    assert h.zoom_calls("GET", "/v2/users/") == 0  # the host is not looked up first
    assert len(h.patches(event_id)) == 1
    # invited rooms see a Join button
    [row] = [m for m in await h.meetings() if m["id"] == event_id]
    assert row["join"]["provider"] == "zoom"
    assert row["join"]["url"] == meeting["join_url"]

    await h.reconcile()  # the echo and a reconcile change nothing
    assert h.zoom_calls("POST", "/v2/users/") == 1
    assert len(h.patches(event_id)) == 1


async def test_the_join_block_speaks_the_organisers_language(h: Harness) -> None:
    dora = "dora@example.com"
    h.sim.add_user(dora, locale="de", timezone=ZONE)
    h.zoom.add_user(dora, timezone=ZONE)
    await h.enable(dora)
    await h.daemon.sweep()
    await h.settle()
    event_id = h.sim.person_insert(dora, _zoom_event(attendees=[{"email": ROOM}]))["id"]
    await h.settle()
    text = h.event(dora, event_id)["description"]
    assert "Zoom-Meeting beitreten" in text
    assert "Kenncode" in text
    assert "Passcode" not in text


async def test_moving_and_retitling_update_the_meeting_and_nothing_else(h: Harness) -> None:
    event_id = h.sim.person_insert(ALICE, _zoom_event())["id"]
    await h.settle()
    [meeting] = h.zoom_meetings()
    block = h.event(ALICE, event_id)["description"]

    h.sim.person_patch(ALICE, event_id, when(tomorrow_at(15), 90))
    await h.settle()
    moved = h.zoom.meeting(meeting["id"])
    assert moved is not None
    assert _zoom_start(moved) == tomorrow_at(15)
    assert moved["duration"] == 90

    h.sim.person_patch(ALICE, event_id, {"summary": "Quarterly review (final)"})
    await h.settle()
    renamed = h.zoom.meeting(meeting["id"])
    assert renamed is not None
    assert renamed["topic"].startswith("Quarterly review (final) (")
    assert renamed["join_url"] == meeting["join_url"]
    assert h.event(ALICE, event_id)["description"] == block  # no rewrite of the invitation
    assert len(h.patches(event_id)) == 1
    assert h.zoom_calls("POST", "/v2/users/") == 1
    assert h.zoom_calls("PATCH") == 2


async def test_cancelling_the_event_deletes_the_meeting(h: Harness) -> None:
    event_id = h.sim.person_insert(ALICE, _zoom_event())["id"]
    await h.settle()
    [meeting] = h.zoom_meetings()
    h.sim.person_delete(ALICE, event_id)
    await h.settle()
    assert h.zoom.meeting(meeting["id"]) is None
    assert h.zoom_meetings() == []
    assert await h.binding(ALICE, event_id) is None
    assert [m for m in await h.meetings() if m["id"] == event_id] == []


async def test_removing_the_keyword_deletes_the_meeting_and_only_our_block(h: Harness) -> None:
    event_id = h.sim.person_insert(ALICE, _zoom_event())["id"]
    await h.settle()
    h.sim.person_patch(
        ALICE,
        event_id,
        {
            "location": "Board room",
            "description": h.event(ALICE, event_id)["description"] + "\n\nPS: bring coffee",
        },
    )
    await h.settle()
    assert h.zoom_meetings() == []
    event = h.event(ALICE, event_id)
    assert event["description"] == PERSON_TEXT + "\n\nPS: bring coffee"
    assert marker_of(event) == {}
    assert await h.binding(ALICE, event_id) is None


def _occurrence_id(master_id: str, start: datetime) -> str:
    return f"{master_id}_{start.astimezone(UTC).strftime('%Y%m%dT%H%M%SZ')}"


async def test_a_series_is_one_recurring_meeting_and_follows_single_occurrences(
    h: Harness,
) -> None:
    first = tomorrow_at(8)
    body = _zoom_event("Standup", recurrence=["RRULE:FREQ=DAILY;COUNT=5"], **when(first, 15))
    master = h.sim.person_insert(ALICE, body)["id"]
    await h.settle()

    [meeting] = h.zoom_meetings()
    assert meeting["type"] == 8
    assert len(meeting["occurrences"]) == 5
    assert meeting["recurrence"]["end_times"] == 5
    rows = [m for m in await h.meetings() if m["id"].startswith(master)]
    assert len(rows) == 5
    assert {m["join"]["url"] for m in rows} == {meeting["join_url"]}

    # one occurrence moves by two hours, another one is cancelled
    moved_start = first + timedelta(days=1)
    h.sim.person_patch(
        ALICE, _occurrence_id(master, moved_start), when(moved_start + timedelta(hours=2), 15)
    )
    h.sim.person_delete(ALICE, _occurrence_id(master, first + timedelta(days=3)))
    await h.settle()
    current = h.zoom.meeting(meeting["id"])
    assert current is not None
    by_id = {o["occurrence_id"]: o for o in current["occurrences"]}
    moved = by_id[str(int(moved_start.timestamp() * 1000))]
    assert moved["start_time"] == (moved_start + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    cancelled_id = str(int((first + timedelta(days=3)).timestamp() * 1000))
    assert cancelled_id not in by_id or by_id[cancelled_id]["status"] == "deleted"
    assert h.zoom_calls("POST", "/v2/users/") == 1  # still one meeting for the whole series

    await h.reconcile()
    assert h.zoom_calls("PATCH") == 1
    assert h.zoom_calls("DELETE") == 1


async def test_an_unbounded_series_gets_one_link_for_every_occurrence(h: Harness) -> None:
    body = _zoom_event("Weekly 1:1", recurrence=["RRULE:FREQ=WEEKLY"], **when(tomorrow_at(9)))
    master = h.sim.person_insert(ALICE, body)["id"]
    await h.settle()
    [meeting] = h.zoom_meetings()
    assert meeting["type"] == 3  # Zoom cannot express an endless fixed-time series
    rows = [m for m in await h.meetings() if m["id"].startswith(master)]
    assert len(rows) >= 3
    assert {m["join"]["url"] for m in rows} == {meeting["join_url"]}


async def test_an_organiser_without_zoom_gets_a_note_then_the_meeting(h: Harness) -> None:
    await h.enable(CAROL)
    await h.daemon.sweep()
    await h.settle()
    event_id = h.sim.person_insert(CAROL, _zoom_event())["id"]
    await h.settle()

    assert h.zoom_meetings() == []
    text = h.event(CAROL, event_id)["description"]
    assert text.startswith(PERSON_TEXT)
    assert "could not be created" in text
    binding = await h.binding(CAROL, event_id)
    assert binding is not None
    assert binding.problem is not None
    assert binding.problem.kind is ProblemKind.HOST_NOT_FOUND
    assert CAROL in binding.problem.detail

    # the admin adds Carol to Zoom; at the retry time the meeting replaces the note
    h.zoom.add_user(CAROL, timezone=ZONE)
    assert binding.retry_at is not None
    h.clock.advance(binding.retry_at - h.clock() + timedelta(seconds=1))
    assert await h.daemon.retry_deferred() == 1
    await h.settle()
    [meeting] = h.zoom_meetings()
    assert meeting["host_email"] == CAROL
    text = h.event(CAROL, event_id)["description"]
    assert "could not be created" not in text
    assert meeting["join_url"] in text
    settled = await h.binding(CAROL, event_id)
    assert settled is not None
    assert settled.state is BindingState.PATCHED
    assert settled.problem is None


async def test_the_daily_limit_becomes_a_note_and_a_retry_after_midnight(h: Harness) -> None:
    h.zoom.charge_daily(ALICE, 100)  # Alice used up her day's creations in Zoom elsewhere
    event_id = h.sim.person_insert(ALICE, _zoom_event())["id"]
    await h.settle()
    assert h.zoom_meetings() == []
    assert "does not allow more meetings" in h.event(ALICE, event_id)["description"]
    binding = await h.binding(ALICE, event_id)
    assert binding is not None
    assert binding.problem is not None
    assert binding.problem.kind is ProblemKind.DAILY_LIMIT
    assert binding.retry_at is not None
    assert (binding.retry_at.hour, binding.retry_at.minute) == (0, 1)
    assert await h.daemon.retry_deferred() == 0  # not before midnight

    h.clock.advance(binding.retry_at - h.clock() + timedelta(seconds=1))
    assert await h.daemon.retry_deferred() == 1
    await h.settle()
    [meeting] = h.zoom_meetings()
    assert meeting["join_url"] in h.event(ALICE, event_id)["description"]
    assert "does not allow" not in h.event(ALICE, event_id)["description"]


async def test_a_lost_create_answer_is_found_again_not_made_twice(h: Harness) -> None:
    lost: list[str] = []

    async def lose_first_answer(record: ZoomRecord) -> None:
        if record.method == "POST" and record.path.endswith("/meetings") and not lost:
            lost.append(record.path)
            raise DropResponse  # Zoom made the meeting; the daemon sees a broken connection

    h.zoom.after_request.append(lose_first_answer)
    event_id = h.sim.person_insert(ALICE, _zoom_event())["id"]
    await h.converge(lambda: "hybridcal:begin" in h.event(ALICE, event_id)["description"])
    assert lost
    [meeting] = h.zoom.meetings(include_deleted=True)
    assert meeting["join_url"] in h.event(ALICE, event_id)["description"]
    assert h.zoom_calls("GET", "/v2/users/") == 1  # the one lookup: the host's meeting list


async def test_zoom_errors_and_throttling_still_give_one_meeting_per_event(h: Harness) -> None:
    h.zoom.faults.reseed(11)
    h.zoom.faults.error_rate = 0.5
    h.zoom.faults.throttle_rate = 0.25
    h.zoom.faults.throttle_retry_after_s = 1
    ids = [
        h.sim.person_insert(ALICE, _zoom_event(f"Review {n}", **when(tomorrow_at(8 + n))))["id"]
        for n in range(4)
    ]
    await asyncio.sleep(2)  # the daemon works through the faults meanwhile
    refused = [r for r in h.zoom.request_log if r.status >= 400]
    assert refused, "the faults never hit: the test proves nothing"
    h.zoom.faults.error_rate = h.zoom.faults.throttle_rate = 0.0
    await h.converge(
        lambda: all("hybridcal:begin" in h.event(ALICE, i)["description"] for i in ids)
    )
    meetings = h.zoom.meetings(include_deleted=True)
    assert sorted(m["topic"].split(" (")[0] for m in meetings) == [f"Review {n}" for n in range(4)]
    for event_id in ids:
        description = h.event(ALICE, event_id)["description"]
        assert description.count("hybridcal:begin") == 1
        assert len(h.patches(event_id)) == 1


# -- issue 9: documented operations, deletes against the daily limit, tightened passcodes -------


def _nulls(value: Any, where: str = "") -> list[str]:
    if value is None:
        return [where or "(body)"]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _nulls(v, f"{where}.{k}".lstrip("."))]
    if isinstance(value, list):
        return [p for n, v in enumerate(value) for p in _nulls(v, f"{where}[{n}]")]
    return []


def _zoom_writes(h: Harness) -> list[ZoomRecord]:
    return [
        r
        for r in h.zoom.request_log
        if r.path.startswith("/v2/") and r.method in {"POST", "PATCH", "DELETE"}
    ]


async def test_a_series_that_becomes_one_event_keeps_its_one_meeting(h: Harness) -> None:
    first = tomorrow_at(8)
    body = _zoom_event("Standup", recurrence=["RRULE:FREQ=DAILY;COUNT=5"], **when(first, 15))
    master = h.sim.person_insert(ALICE, body)["id"]
    await h.settle()
    [series] = h.zoom_meetings()
    assert series["type"] == 8
    block = h.event(ALICE, master)["description"]

    lost: list[int] = []

    async def lose_the_patch_answer(record: ZoomRecord) -> None:
        if record.method == "PATCH" and record.status == 204 and not lost:
            lost.append(record.status)
            raise DropResponse  # Zoom changed the meeting; the daemon sees a broken connection

    h.zoom.after_request.append(lose_the_patch_answer)
    h.sim.person_patch(ALICE, master, {"recurrence": [], **when(first + timedelta(hours=1), 30)})
    await h.settle()
    assert lost
    [single] = h.zoom.meetings(include_deleted=True)  # the same meeting, changed in place
    assert single["id"] == series["id"]
    assert single["type"] == 2
    assert "occurrences" not in single
    assert _zoom_start(single) == first + timedelta(hours=1)
    assert single["duration"] == 30
    assert single["join_url"] == series["join_url"]
    assert h.event(ALICE, master)["description"] == block  # the invitation's link still works
    assert h.zoom_calls("POST", "/v2/users/") == 1
    writes = _zoom_writes(h)
    assert [(r.method, r.path, _nulls(r.body)) for r in writes if r.body is not None] == [
        (r.method, r.path, []) for r in writes if r.body is not None
    ]
    assert all(r.status < 400 for r in writes)
    patch = next(r for r in writes if r.method == "PATCH")
    assert patch.body["type"] == 2
    assert "recurrence" not in patch.body
    binding = await h.binding(ALICE, master)
    assert binding is not None
    assert binding.meeting_id == str(series["id"])
    rows = [m for m in await h.meetings() if m["id"].startswith(master)]
    assert len(rows) == 1


def _occurrence_ms(start: datetime) -> str:
    return str(int(start.timestamp() * 1000))


async def test_occurrences_refused_by_the_daily_limit_are_mirrored_after_the_reset(
    h: Harness,
) -> None:
    """Zoom counts deleting (and moving) an occurrence against the host's 100 create, update
    or delete requests a day. At the limit: the refusal is recorded with its retry (00:01 UTC),
    nothing is asked again before then — not by echoes, reconciles or a restart — and at the
    retry both occurrences are mirrored."""
    first = tomorrow_at(8)
    body = _zoom_event("Standup", recurrence=["RRULE:FREQ=DAILY;COUNT=5"], **when(first, 15))
    master = h.sim.person_insert(ALICE, body)["id"]
    await h.settle()
    [meeting] = h.zoom_meetings()
    h.zoom.charge_daily(ALICE, h.zoom.daily_limit - h.zoom.daily_count(ALICE))  # Alice's day

    moved_start, cancelled_start = first + timedelta(days=1), first + timedelta(days=3)
    moved_id = _occurrence_id(master, moved_start)
    cancelled_id = _occurrence_id(master, cancelled_start)
    h.sim.person_patch(ALICE, moved_id, when(moved_start + timedelta(hours=2), 15))
    h.sim.person_delete(ALICE, cancelled_id)
    await h.settle()

    current = h.zoom.meeting(meeting["id"])
    assert current is not None
    by_id = {o["occurrence_id"]: o for o in current["occurrences"]}
    assert by_id[_occurrence_ms(cancelled_start)]["status"] == "available"  # not yet
    assert _zoom_start(by_id[_occurrence_ms(moved_start)]) == moved_start
    retry_at = None
    for event_id in (moved_id, cancelled_id):
        binding = await h.binding(ALICE, event_id)
        assert binding is not None, event_id
        assert binding.problem is not None
        assert binding.problem.kind is ProblemKind.DAILY_LIMIT
        assert binding.retry_at is not None
        assert (binding.retry_at.hour, binding.retry_at.minute) == (0, 1)
        assert binding.retry_at > h.clock()
        retry_at = binding.retry_at
    refused = [r for r in _zoom_writes(h) if r.status == 429]
    assert len(refused) == 1  # Zoom said it once; the other occurrence was not even asked
    assert "occurrence_id" in refused[0].query
    assert "Standup" in h.event(ALICE, master)["summary"]
    assert meeting["join_url"] in h.event(ALICE, master)["description"]  # the link stays

    writes = len(_zoom_writes(h))
    await h.reconcile()
    assert await h.daemon.retry_deferred() == 0  # not before the reset
    await h.restart()  # the refusal outlives the daemon
    await h.settle()
    assert len(_zoom_writes(h)) == writes  # no storm: nothing asked again meanwhile

    assert retry_at is not None
    h.clock.advance(retry_at - h.clock() + timedelta(seconds=1))
    assert await h.daemon.retry_deferred() == 1
    await h.settle()
    current = h.zoom.meeting(meeting["id"])
    assert current is not None
    by_id = {o["occurrence_id"]: o for o in current["occurrences"]}
    assert by_id[_occurrence_ms(cancelled_start)]["status"] == "deleted"
    moved = by_id[_occurrence_ms(moved_start)]
    assert _zoom_start(moved) == moved_start + timedelta(hours=2)
    assert h.zoom.daily_count(ALICE) == 2  # one delete and one update on the new day
    for event_id in (moved_id, cancelled_id):
        binding = await h.binding(ALICE, event_id)
        assert binding is not None
        assert (binding.problem, binding.retry_at) == (None, None)
    await h.reconcile()
    assert h.zoom.daily_count(ALICE) == 2
    assert h.zoom_calls("POST", "/v2/users/") == 1  # still the one meeting of the series


async def test_a_tightened_passcode_policy_costs_one_retry_not_six_hours(h: Harness) -> None:
    first = h.sim.person_insert(ALICE, _zoom_event("First"))["id"]
    await h.settle()  # the account's passcode rules are read and cached
    assert "hybridcal:begin" in h.event(ALICE, first)["description"]
    h.zoom.set_password_requirement(only_allow_numeric=True, length=10)  # the admin tightens

    second = h.sim.person_insert(ALICE, _zoom_event("Second", **when(tomorrow_at(14))))["id"]
    await h.settle()
    [meeting] = [m for m in h.zoom_meetings() if m["topic"].startswith("Second")]
    assert meeting["password"].isdigit()
    assert len(meeting["password"]) == 10
    text = h.event(ALICE, second)["description"]
    assert meeting["join_url"] in text
    assert meeting["password"] in text
    assert "could not be created" not in text
    binding = await h.binding(ALICE, second)
    assert binding is not None
    assert binding.problem is None
    creates = [r.status for r in h.zoom.calls("POST", "/v2/users/")]
    assert creates == [201, 400, 201]
    assert h.zoom_calls("GET", "/v2/accounts/me/settings") == 2  # read again, at once
    assert len(h.zoom_meetings()) == 2
