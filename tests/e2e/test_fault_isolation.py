"""One event can only hurt itself: a failing event, an unreadable stored row or a failing
calendar is caught where it happens, shown to the admin, and retried, while everything else
syncs on and the room's meeting list keeps being served."""

from __future__ import annotations

import inspect
import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from tests.e2e.harness import ALICE, ROOM, Harness, tomorrow_at, video_link, when

from hybridcal.connectors.errors import TransientError
from hybridcal.core.links import detect_links
from hybridcal.core.model import SYNC_FAULT, Event, Fault, JoinLink, Provider, calendar_key
from hybridcal.daemon.admin import Admin
from hybridcal.daemon.executor import EventExecutor

POISON = "poison-pill-for-the-test"
ALICE_KEY = calendar_key(Provider.GOOGLE, ALICE)
ROOM_KEY = calendar_key(Provider.GOOGLE, ROOM)


def _event(summary: str, hour: int, **extra: Any) -> dict[str, Any]:
    return {"summary": summary, "attendees": [{"email": ROOM}], **when(tomorrow_at(hour)), **extra}


async def _faults(h: Harness, key: str) -> list[Fault]:
    store = h.daemon.store
    assert store is not None
    return await store.list_faults(key)


async def _report(h: Harness, address: str) -> dict[str, Any]:
    store = h.daemon.store
    assert store is not None
    return await Admin(store, {}, h.clock).report(Provider.GOOGLE, address)


def _flip_last_byte(blob: bytes) -> bytes:
    return blob[:-1] + bytes([blob[-1] ^ 1])


def _corrupt(h: Harness, sql_select: str, sql_update: str, params: list[str]) -> None:
    """Flip a bit of a stored ciphertext behind the daemon's back (bit rot, a bad restore)."""
    with sqlite3.connect(Path(h.settings.store.path)) as conn:
        (blob,) = conn.execute(sql_select, params).fetchone()
        conn.execute(sql_update, [_flip_last_byte(blob), *params])


@pytest.fixture
def buggy_detection(monkeypatch: pytest.MonkeyPatch) -> None:
    """Join-link detection that fails on one invitation, as a bug in it would."""
    real = detect_links

    def detect(event: Event, *args: Any, **kwargs: Any) -> tuple[JoinLink, ...]:
        if POISON in event.description:
            raise ValueError("Invalid IPv6 URL")
        return real(event, *args, **kwargs)

    monkeypatch.setattr("hybridcal.core.entries.detect_links", detect)


@pytest.mark.usefixtures("buggy_detection")
async def test_a_failing_event_does_not_stop_its_calendar(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    poison = h.sim.person_insert(ALICE, _event("Vendor call", 9, description=f"x {POISON}"))["id"]
    await h.settle()
    after = h.sim.person_insert(ALICE, _event("Planning", 11, location="@meet"))["id"]
    await h.settle()

    # the later keyword event was served, and the room lists both meetings
    assert video_link(h.event(ALICE, after))
    meetings = {m["id"]: m for m in await h.meetings()}
    assert set(meetings) == {poison, after}
    assert meetings[after]["join"]["url"] == video_link(h.event(ALICE, after))
    assert meetings[poison]["join"] is None  # listed, without a Join button

    # the fault is recorded on both copies, with a retry time, and shown to the admin
    for key in (ALICE_KEY, ROOM_KEY):
        [fault] = await _faults(h, key)
        assert (fault.event_id, fault.error, fault.attempts) == (poison, "ValueError", 1)
        assert fault.retry_at is not None
        assert fault.retry_at > h.clock()
    report = await h.admin_json("rooms", "show", ROOM)  # what the admin types
    assert report["sync"] == {"status": "ok"}
    [problem] = report["event_problems"]
    assert problem["event"] == poison
    assert "Invalid IPv6 URL" in problem["message"]
    jobs = h.daemon.jobs
    assert jobs is not None
    await jobs.gauges()
    assert h.metric("hybridcal_event_faults") == 2

    # the cursor moved on: the next round is incremental and does not read the poison again
    h.sim.person_patch(ALICE, after, {"summary": "Planning (v2)"})
    await h.settle()
    last = h.lists(ALICE)[-1]
    assert "syncToken" in last.query
    assert [f.attempts for f in await _faults(h, ALICE_KEY)] == [1]

    # fixed (the bug goes away): at its retry time the event is read again and heals
    monkeypatch.undo()
    h.clock.advance(timedelta(minutes=2))
    await h.daemon.retry_deferred()
    await h.settle()
    assert await _faults(h, ALICE_KEY) == []
    assert await _faults(h, ROOM_KEY) == []
    assert (await _report(h, ROOM))["event_problems"] == []


@pytest.mark.usefixtures("buggy_detection")
async def test_a_fault_that_persists_is_retried_ever_more_rarely(h: Harness) -> None:
    poison = h.sim.person_insert(ALICE, _event("Vendor call", 9, description=POISON))["id"]
    await h.settle()
    retries = []
    for _ in range(4):
        [fault] = await _faults(h, ALICE_KEY)
        assert fault.retry_at is not None
        retries.append(fault.retry_at - fault.last_seen)
        h.clock.advance(fault.retry_at - h.clock() + timedelta(seconds=1))
        await h.daemon.retry_deferred()
        await h.settle()
    [fault] = await _faults(h, ALICE_KEY)
    assert (fault.event_id, fault.attempts) == (poison, 5)
    assert retries == [timedelta(minutes=m) for m in (1, 2, 4, 8)]


async def test_an_unreadable_binding_is_quarantined_and_readopted(h: Harness) -> None:
    event_id = h.sim.person_insert(ALICE, _event("Standup", 9, location="@meet"))["id"]
    await h.settle()
    link = video_link(h.event(ALICE, event_id))
    assert (h.sim.conferences_created(), len(h.patches())) == (1, 1)
    _corrupt(
        h,
        "SELECT data FROM bindings WHERE event_id = ?",
        "UPDATE bindings SET data = ? WHERE event_id = ?",
        [event_id],
    )

    h.sim.person_patch(ALICE, event_id, {"summary": "Standup (moved rooms)"})
    await h.settle()
    await h.settle()  # the repair round the unreadable row asked for

    binding = await h.binding(ALICE, event_id)
    assert binding is not None  # adopted again from the marker in the event
    assert binding.meeting_id is not None
    assert h.sim.conferences_created() == 1  # no second meeting
    assert video_link(h.event(ALICE, event_id)) == link
    assert await _faults(h, ALICE_KEY) == []
    store = h.daemon.store
    assert store is not None
    assert await store.count_quarantined() == 1
    [meeting] = await h.meetings()
    assert (meeting["title"], meeting["join"]["url"]) == ("Standup (moved rooms)", link)


async def test_an_unreadable_cache_row_is_rebuilt_from_the_provider(h: Harness) -> None:
    event_id = h.sim.person_insert(ALICE, _event("Review", 10, location="@meet"))["id"]
    await h.settle()
    [before] = await h.meetings()
    _corrupt(
        h,
        "SELECT data FROM meetings WHERE calendar_key = ? AND event_key = ?",
        "UPDATE meetings SET data = ? WHERE calendar_key = ? AND event_key = ?",
        [ROOM_KEY, event_id],
    )
    await h.restart()  # a fresh daemon has no answer cached: the poll reads the rows
    assert await h.meetings() == []  # the poll skips the row it cannot read, and reports it
    await h.settle()
    assert await h.meetings() == [before]  # rebuilt by the repair round
    store = h.daemon.store
    assert store is not None
    assert await store.count_quarantined() == 1


async def test_a_calendar_whose_sync_keeps_failing_is_shown(h: Harness) -> None:
    event_id = h.sim.person_insert(ALICE, _event("Review", 10, location="@meet"))["id"]
    await h.settle()
    [before] = await h.meetings()
    h.sim.faults.error_rate = 1.0  # every API request answers 500
    h.sim.person_patch(ALICE, event_id, {"summary": "Review (v2)"})
    await h.settle()

    report = await _report(h, ALICE)
    assert report["sync"]["status"] == "failing"
    assert report["sync"]["attempts"] >= 1
    assert report["sync"]["next_retry"] is not None
    assert SYNC_FAULT in {f.event_id for f in await _faults(h, ALICE_KEY)}
    faults = h.daemon.faults
    assert faults is not None
    assert faults.troubled_calendars() >= 1
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{h.daemon.base_url}/readyz") as resp,
    ):
        ready = await resp.json()
    assert resp.status == 200  # one calendar's trouble does not take the others away
    assert ready["calendars_in_trouble"] == faults.troubled_calendars()
    assert await h.meetings() == [before]  # the list is still served

    h.sim.faults.error_rate = 0.0
    await h.converge(lambda: faults.troubled_calendars() == 0)
    assert (await _report(h, ALICE))["sync"] == {"status": "ok"}
    [meeting] = await h.meetings()
    assert meeting["title"] == "Review (v2)"


async def test_a_transient_failure_holds_the_cursor_only_for_a_while(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 5xx on one event replays the round (most hiccups pass); one that lasts is isolated so
    that the calendar's cursor moves on."""
    stuck = h.sim.person_insert(ALICE, _event("Stuck", 9, location="@meet"))["id"]
    real = EventExecutor.process

    async def process(
        self: EventExecutor, calendar: Any, connector: Any, event: Event, *a: Any, **k: Any
    ) -> Event:
        if event.event_id == stuck:
            raise TransientError("events.patch: 503 backendError")
        return await real(self, calendar, connector, event, *a, **k)

    monkeypatch.setattr(EventExecutor, "process", process)
    await h.settle()
    held = (await h.calendar(ALICE)).cursor
    h.sim.person_insert(ALICE, _event("Other", 11, location="@meet"))
    await h.reconcile()
    assert (await h.calendar(ALICE)).cursor == held  # replayed, not moved on

    h.clock.advance(timedelta(minutes=11))  # the hiccup has lasted too long
    await h.reconcile()
    assert (await h.calendar(ALICE)).cursor != held
    [fault] = await _faults(h, ALICE_KEY)
    assert (fault.event_id, fault.error) == (stuck, "TransientError")
    assert len(h.patches()) == 1  # the other event was served all along


async def test_every_scheduled_job_runs_on_the_event_loop(h: Harness) -> None:
    """APScheduler runs a plain function in a worker thread, where the queue cannot be used
    (a retry job enqueued from there once wedged calendars): every job is a coroutine."""
    jobs = h.daemon.jobs
    assert jobs is not None
    scheduled = jobs._scheduler.get_jobs()
    assert {job.id for job in scheduled} >= {"retry", "sweep", "reconcile", "gauges"}
    assert all(inspect.iscoroutinefunction(job.func) for job in scheduled), [
        job.id for job in scheduled if not inspect.iscoroutinefunction(job.func)
    ]
