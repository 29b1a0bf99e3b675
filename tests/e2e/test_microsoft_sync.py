"""Outlook events changing after the meeting was made: moves, cancellations, the keyword taken
away, recurring series and their single occurrences, bodies that must survive every sync, Graph
refusing requests, and out-of-office as presence."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from tests.e2e.harness import (
    ADELE,
    MEGAN,
    Harness,
    outlook_event,
    outlook_when,
    start_harness,
    tomorrow_at,
)

from hybridcal.core.model import Provider
from hybridcal.core.render import END_MARK, START_MARK
from hybridcal.daemon.admin import admin_session
from hybridcal.sandbox.microsoft import GraphRecord
from hybridcal.sandbox.microsoft.model import occurrence_id

PERSON_HTML = "<p>Agenda:</p><ol><li>numbers</li><li>questions</li></ol>"


@pytest.fixture
async def m(tmp_path: Path, sa_info: dict[str, str]) -> AsyncIterator[Harness]:
    harness = await start_harness(tmp_path, sa_info, microsoft=True)
    try:
        yield harness
    finally:
        await harness.close()


async def _zoom_event(h: Harness, subject: str = "Vendor call", **extra: Any) -> dict[str, Any]:
    assert h.graph is not None
    body = outlook_event(subject, "Board room @zoom", PERSON_HTML, tomorrow_at(10), 45)
    created = h.graph.person_create(ADELE, {**body, **extra})
    await h.settle()
    return created


def _start(meeting: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(meeting["start_time"])


async def test_moving_the_event_moves_the_zoom_meeting_and_nothing_else(m: Harness) -> None:
    assert m.graph is not None
    event_id = (await _zoom_event(m))["id"]
    [meeting] = m.zoom_meetings()
    body = m.m365_body(ADELE, event_id)

    m.graph.person_update(ADELE, event_id, outlook_when(tomorrow_at(15), 90))
    await m.settle()
    moved = m.zoom.meeting(meeting["id"])
    assert moved is not None
    assert _start(moved) == tomorrow_at(15)
    assert moved["duration"] == 90
    assert moved["join_url"] == meeting["join_url"]
    assert m.m365_body(ADELE, event_id) == body  # the join details did not change
    assert len(m.graph_patches(event_id)) == 1
    assert m.zoom_calls("POST", "/v2/users/") == 1
    [row] = [r for r in await m.meetings(m.m365_room_token) if r["title"] == "Vendor call"]
    assert row["start"] == tomorrow_at(15).strftime("%Y-%m-%dT%H:%M:%SZ")


async def test_cancelling_the_event_deletes_the_zoom_meeting(m: Harness) -> None:
    assert m.graph is not None
    event_id = (await _zoom_event(m))["id"]
    [meeting] = m.zoom_meetings()
    assert [r["title"] for r in await m.meetings(m.m365_room_token)] == ["Vendor call"]

    m.graph.person_delete(ADELE, event_id)  # "Cancel meeting" in Outlook
    await m.settle()
    assert m.zoom.meeting(meeting["id"]) is None
    assert m.zoom_meetings() == []
    assert await m.m365_binding(ADELE, event_id) is None
    assert await m.meetings(m.m365_room_token) == []


async def test_removing_the_keyword_removes_our_block_and_leaves_the_rest_byte_identical(
    m: Harness,
) -> None:
    assert m.graph is not None
    created = await _zoom_event(m)
    event_id, stored = created["id"], created["body"]["content"]
    assert START_MARK in m.m365_body(ADELE, event_id)

    m.graph.person_update(ADELE, event_id, {"location": {"displayName": "Board room"}})
    await m.settle()
    assert m.zoom_meetings() == []
    assert m.m365_body(ADELE, event_id) == stored
    assert await m.graph_marker(ADELE, event_id) in (None, "{}")  # ours is gone (or a tombstone)
    assert await m.m365_binding(ADELE, event_id) is None
    assert len(m.graph_patches(event_id)) == 2
    await m.reconcile()
    assert len(m.graph_patches(event_id)) == 2


async def test_removing_the_keyword_while_editing_the_body_keeps_the_edit(m: Harness) -> None:
    assert m.graph is not None
    event_id = (await _zoom_event(m))["id"]
    with_block = m.m365_body(ADELE, event_id)
    # the person adds a line above our block in Outlook and takes the keyword away
    edited = with_block.replace("</ol>", "</ol><p>PS: bring coffee</p>", 1)
    m.graph.person_update(
        ADELE,
        event_id,
        {
            "location": {"displayName": "Board room"},
            "body": {"contentType": "html", "content": edited},
        },
    )
    await m.settle()
    body = m.m365_body(ADELE, event_id)
    assert "<p>PS: bring coffee</p>" in body
    assert START_MARK not in body
    assert END_MARK not in body
    assert "zoom.us" not in body
    assert m.zoom_meetings() == []


# -- recurring series ------------------------------------------------------------------------------

COUNT = 5


def _daily(start: datetime, count: int) -> dict[str, Any]:
    return {
        "pattern": {"type": "daily", "interval": 1},
        "range": {
            "type": "numbered",
            "startDate": start.astimezone(UTC).date().isoformat(),
            "numberOfOccurrences": count,
            "recurrenceTimeZone": "UTC",
        },
    }


def _zoom_occurrence(start: datetime) -> str:
    return str(int(start.timestamp() * 1000))  # Zoom's occurrence id: the start in epoch ms


async def test_a_series_is_one_recurring_zoom_meeting_that_follows_single_occurrences(
    m: Harness,
) -> None:
    assert m.graph is not None
    first = tomorrow_at(8)
    body = outlook_event("Standup", "@zoom", PERSON_HTML, first, 15)
    master = m.graph.person_create(ADELE, {**body, "recurrence": _daily(first, COUNT)})["id"]
    await m.settle()

    [meeting] = m.zoom_meetings()
    assert meeting["type"] == 8
    assert len(meeting["occurrences"]) == COUNT
    assert START_MARK in m.m365_body(ADELE, master)
    assert len(m.graph_patches()) == 1
    assert m.graph_patches(master)  # the series' master, not an occurrence
    rows = [r for r in await m.meetings(m.m365_room_token) if r["title"] == "Standup"]
    assert len(rows) == COUNT
    assert {r["join"]["url"] for r in rows} == {meeting["join_url"]}

    # one occurrence moves by two hours, another one is cancelled
    moved_start = first + timedelta(days=1)
    cancelled_start = first + timedelta(days=3)
    m.graph.person_update(
        ADELE,
        occurrence_id(master, moved_start),
        outlook_when(moved_start + timedelta(hours=2), 15),
    )
    m.graph.person_cancel_occurrence(ADELE, occurrence_id(master, cancelled_start))
    await m.settle()

    current = m.zoom.meeting(meeting["id"])
    assert current is not None
    by_id = {o["occurrence_id"]: o for o in current["occurrences"]}
    moved = by_id[_zoom_occurrence(moved_start)]
    assert moved["start_time"] == (moved_start + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    cancelled = by_id.get(_zoom_occurrence(cancelled_start))
    assert cancelled is None or cancelled["status"] == "deleted"
    for day in (0, 2, 4):
        untouched = by_id[_zoom_occurrence(first + timedelta(days=day))]
        assert untouched["start_time"] == (first + timedelta(days=day)).strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        )
        assert untouched.get("status") != "deleted"
    assert m.zoom_calls("POST", "/v2/users/") == 1  # still one meeting for the whole series
    assert m.zoom_calls("PATCH") == 1
    assert m.zoom_calls("DELETE") == 1

    rows = [r for r in await m.meetings(m.m365_room_token) if r["title"] == "Standup"]
    assert len(rows) == COUNT - 1
    starts = sorted(r["start"] for r in rows)
    assert (moved_start + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ") in starts
    assert cancelled_start.strftime("%Y-%m-%dT%H:%M:%SZ") not in starts

    await m.reconcile()  # seen again, mirrored already: nothing more
    assert m.zoom_calls("PATCH") == 1
    assert m.zoom_calls("DELETE") == 1
    assert len(m.graph_patches()) == 1


# -- bodies that must survive ----------------------------------------------------------------------


async def test_outlooks_teams_block_and_our_zoom_block_survive_every_sync(m: Harness) -> None:
    """An organisation that adds a Teams meeting to every Outlook meeting; the person typed
    @zoom anyway. Outlook's block must stay (removing it disables the Teams meeting), ours
    goes in once, and neither moves by a byte however often the event is read again."""
    assert m.graph is not None
    body = outlook_event(
        "Customer call",
        "@zoom",
        PERSON_HTML,
        tomorrow_at(13),
        isOnlineMeeting=True,
        onlineMeetingProvider="teamsForBusiness",
    )
    created = m.graph.person_create(MEGAN, body)
    event_id = created["id"]
    teams_url = created["onlineMeeting"]["joinUrl"]
    await m.settle()

    [meeting] = m.zoom_meetings()
    event = m.m365_event(MEGAN, event_id)
    content = event["body"]["content"]
    assert event["isOnlineMeeting"] is True
    assert event["onlineMeeting"]["joinUrl"] == teams_url
    assert teams_url in content  # Outlook's Teams block is intact
    assert content.count("sandbox-teams-block -->") == 2  # its start and end comments, once
    assert content.count(START_MARK) == 1
    assert meeting["join_url"].replace("&", "&amp;") in content or meeting["join_url"] in content
    # ours between the person's text and Outlook's block
    assert content.index(PERSON_HTML) < content.index(START_MARK)
    assert content.index(END_MARK) < content.index(teams_url)
    assert len(m.graph_patches(event_id)) == 1
    assert m.graph.teams_meetings_created == 1  # Outlook's only

    for _ in range(3):
        await m.reconcile()
    m.graph.expire_delta_tokens(MEGAN)  # the next round is a full one (410, then afresh)
    await m.reconcile()
    jobs = m.daemon.jobs
    assert jobs is not None
    await jobs.refresh()  # the daily full listing
    await m.settle()
    await m.reconcile()

    full_rounds = [
        r
        for r in m.graph_requests("calendarView.delta")
        if r.mailbox == MEGAN and "startDateTime" in r.query
    ]
    assert len(full_rounds) >= 3  # start-up, after the 410, the refresh
    after = m.m365_event(MEGAN, event_id)
    assert after["body"]["content"] == content
    assert after["onlineMeeting"]["joinUrl"] == teams_url
    assert len(m.graph_patches(event_id)) == 1
    assert m.zoom_calls("POST", "/v2/users/") == 1
    assert m.graph.teams_meetings_created == 1


async def test_changes_while_the_daemon_is_down_are_caught_up_on_the_same_subscriptions(
    m: Harness,
) -> None:
    assert m.graph is not None
    graph = m.graph
    subscriptions = sorted(s["id"] for s in graph.subscriptions())
    ids: list[str] = []

    async def while_down() -> None:
        ids.append(
            graph.person_create(
                ADELE, outlook_event("While down", "@zoom", PERSON_HTML, tomorrow_at(9))
            )["id"]
        )
        await graph.drain()  # Graph gives up on the notification (and on "missed")

    mark = len(graph.request_log)
    await m.restart(while_down)
    await m.settle()
    assert graph.notifications_failed >= 1
    [event_id] = ids
    [meeting] = m.zoom_meetings()
    assert meeting["join_url"].replace("&", "&amp;") in m.m365_body(ADELE, event_id)
    assert len(m.graph_patches(event_id)) == 1
    assert m.graph_requests("subscriptions.create", since=mark) == []  # the same ones serve on
    assert sorted(s["id"] for s in graph.subscriptions()) == subscriptions
    await m.reconcile()
    assert len(m.graph_patches(event_id)) == 1


# -- Graph refusing requests -----------------------------------------------------------------------


def _refused(
    records: list[GraphRecord], *, server_error: bool = False, throttled: bool = False
) -> bool:
    wanted = {500, 503} if server_error else {429} if throttled else {429, 500, 503}
    return any(r.status in wanted for r in records)


def _tried(h: Harness, event_ids: tuple[str, ...]) -> bool:
    """Each event had a write attempt."""
    return all(h.graph_patches(i) for i in event_ids)


def _hit(h: Harness) -> bool:
    """A write was refused, and Graph answered both 429 and 5xx at some point."""
    every = h.graph_requests()
    return (
        _refused(h.graph_patches())
        and _refused(every, server_error=True)
        and _refused(every, throttled=True)
    )


async def _until(done: Callable[[], bool], limit_s: float) -> None:
    for _ in range(int(limit_s / 0.05)):
        if done():
            return
        await asyncio.sleep(0.05)


async def test_throttling_and_server_errors_still_give_one_meeting_and_one_write(
    m: Harness,
) -> None:
    assert m.graph is not None
    faults = m.graph.faults
    faults.reseed(5)
    faults.throttle_rate = 0.3
    faults.throttle_retry_after_s = 1  # Graph's 429 and 503 carry Retry-After
    faults.error_rate = 0.2
    ids: dict[str, str] = {}
    # keyword events in pairs, until writes were refused too (a refused read proves less)
    for n in range(4):
        at = tomorrow_at(7 + n)
        ids[f"Teams {n}"] = m.graph.person_create(
            MEGAN, outlook_event(f"Teams {n}", "@teams", PERSON_HTML, at)
        )["id"]
        ids[f"Zoom {n}"] = m.graph.person_create(
            ADELE, outlook_event(f"Zoom {n}", "@zoom", PERSON_HTML, at + timedelta(hours=4))
        )["id"]
        await _until(partial(_tried, m, (ids[f"Teams {n}"], ids[f"Zoom {n}"])), limit_s=6)
        if _hit(m):
            break
    faults.throttle_rate = faults.error_rate = 0.0
    assert _hit(m), "no write, 429 or 5xx was refused: the test proves nothing"

    def owner(subject: str) -> str:
        return MEGAN if subject.startswith("Teams") else ADELE

    def done() -> bool:
        for subject, event_id in ids.items():
            event = m.m365_event(owner(subject), event_id)
            if subject.startswith("Teams"):
                if not (event.get("onlineMeeting") or {}).get("joinUrl"):
                    return False
            elif START_MARK not in event["body"]["content"]:
                return False
        return True

    await m.converge(done)
    await m.reconcile()
    teams = [s for s in ids if s.startswith("Teams")]
    assert m.graph.teams_meetings_created == len(teams)
    zooms = m.zoom.meetings(include_deleted=True)
    assert sorted(z["topic"].split(" (")[0] for z in zooms) == sorted(set(ids) - set(teams))
    for subject, event_id in ids.items():
        written = [p for p in m.graph_patches(event_id) if p.status == 200]
        assert len(written) == 1, f"{subject}: {len(written)} writes"
        body = m.m365_body(owner(subject), event_id)
        assert body.count(START_MARK) == (0 if subject.startswith("Teams") else 1)
    rows = {r["title"]: r for r in await m.meetings(m.m365_room_token)}
    assert set(rows) == set(ids)
    assert all(r["join"] is not None for r in rows.values())


async def test_a_409_conflict_is_re_read_and_re_planned_like_a_412(m: Harness) -> None:
    """Another save of the item won (409 ErrorIrresolvableConflict): our patch did not land, so
    the daemon reads the event again and patches the fresh copy; one meeting, one block."""
    assert m.graph is not None
    body = outlook_event("Contended", "Board room @zoom", PERSON_HTML, tomorrow_at(10), 45)
    event_id = m.graph.person_create(ADELE, body)["id"]
    m.graph.conflicts.arm(ADELE, event_id, count=2)  # before the daemon hears of it
    await m.settle()
    statuses = [p.status for p in m.graph_patches(event_id)]
    assert statuses == [409, 409, 200]
    assert len(m.zoom_meetings()) == 1
    assert m.m365_body(ADELE, event_id).count(START_MARK) == 1
    assert PERSON_HTML in m.m365_body(ADELE, event_id)
    assert await m.m365_binding(ADELE, event_id) is not None
    assert m.metric("hybridcal_event_patches_total", outcome="conflict") == 2
    await m.reconcile()
    assert [p.status for p in m.graph_patches(event_id)] == [409, 409, 200]  # settled for good


async def test_a_keyword_event_months_ahead_is_not_planned_until_it_enters_the_window(
    m: Harness,
) -> None:
    """Graph reports an event created outside the calendarView window as ``@removed``: it is
    not read into planning (no meeting months ahead, no write), and it gets its meeting in the
    full round of the day its window reaches it."""
    assert m.graph is not None
    far = tomorrow_at(10) + timedelta(days=90)
    body = outlook_event("Next quarter", "Board room @zoom", PERSON_HTML, far)
    mark = len(m.graph.request_log)
    event_id = m.graph.person_create(ADELE, body)["id"]
    await m.settle()
    assert [d for d in m.graph_requests("calendarView.delta", since=mark) if d.mailbox == ADELE]
    assert m.zoom_meetings() == []
    assert m.graph_patches(event_id) == []
    assert await m.m365_binding(ADELE, event_id) is None
    await m.reconcile()
    assert m.zoom_meetings() == []

    m.clock.advance(timedelta(days=80))  # the window slides: a fresh round lists it
    await m.converge(lambda: bool(m.zoom_meetings()))
    [meeting] = m.zoom_meetings()
    assert _start(meeting) == far
    assert [p.status for p in m.graph_patches(event_id)] == [200]


async def test_a_meeting_moved_months_ahead_keeps_its_meeting_and_leaves_the_lists(
    m: Harness,
) -> None:
    assert m.graph is not None
    event_id = (await _zoom_event(m, "Slipping"))["id"]
    [meeting] = m.zoom_meetings()
    plain = m.graph.person_create(
        ADELE, outlook_event("Plain", "Board room", PERSON_HTML, tomorrow_at(12))
    )["id"]
    await m.settle()
    titles = {r["title"] for r in await m.meetings(m.m365_room_token)}
    assert titles == {"Slipping", "Plain"}

    later = tomorrow_at(10) + timedelta(days=90)
    m.graph.person_update(ADELE, event_id, outlook_when(later, 45))
    m.graph.person_update(ADELE, plain, outlook_when(later, 30))
    await m.settle()
    assert await m.meetings(m.m365_room_token) == []  # neither is in the window any more
    moved = m.zoom.meeting(meeting["id"])
    assert moved is not None  # ours: not deleted, and it follows the event
    assert _start(moved) == later
    assert await m.m365_binding(ADELE, event_id) is not None
    assert len(m.graph_patches(event_id)) == 1
    assert m.graph_patches(plain) == []


# -- out of office ---------------------------------------------------------------------------------


async def _presence(h: Harness, token: str) -> dict[str, Any] | None:
    async with (
        aiohttp.ClientSession() as http,
        http.get(
            f"{h.daemon.base_url}/api/v1/meetings", headers={"Authorization": f"Bearer {token}"}
        ) as resp,
    ):
        assert resp.status == 200, await resp.text()
        body: dict[str, Any] = await resp.json()
    assert "Private note" not in str(body)  # the reply text is for mail senders, not displays
    presence: dict[str, Any] | None = body["presence"]
    return presence


async def _away(h: Harness, token: str) -> bool:
    presence = await _presence(h, token)
    assert presence is not None
    return bool(presence["out_of_office"])


async def test_automatic_replies_become_presence_on_the_users_device(m: Harness) -> None:
    assert m.graph is not None
    async with admin_session(m.settings, {}) as admin:
        _device, token = await admin.add_device(Provider.MICROSOFT, MEGAN, "Megan's desk")
    jobs = m.daemon.jobs
    assert jobs is not None
    await jobs.presence()
    assert await _away(m, token) is False

    now = m.clock().replace(microsecond=0)
    m.graph.set_automatic_replies(
        MEGAN,
        status="scheduled",
        start=now - timedelta(hours=1),
        end=now + timedelta(days=2),
        message="<p>Private note: back on Thursday.</p>",
    )
    await jobs.presence()
    presence = await _presence(m, token)
    assert presence is not None
    assert presence["out_of_office"] is True
    assert presence["ends_at"] == (now + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    # the room's device shows no presence of a person
    room = await _presence(m, m.m365_room_token)
    assert not (room or {}).get("out_of_office")

    m.graph.set_automatic_replies(
        MEGAN, status="scheduled", start=now + timedelta(days=1), end=now + timedelta(days=3)
    )
    await jobs.presence()
    assert await _away(m, token) is False  # not yet

    m.graph.set_automatic_replies(MEGAN, status="alwaysEnabled", message="Private note")
    await jobs.presence()
    assert await _away(m, token) is True

    m.graph.set_automatic_replies(MEGAN, status="disabled")
    await jobs.presence()
    assert await _away(m, token) is False
