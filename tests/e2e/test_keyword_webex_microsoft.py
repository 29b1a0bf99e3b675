"""`@webex` typed in Outlook, end to end: Graph simulator, daemon, Webex simulator, the Microsoft
room's meeting list."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

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

from hybridcal.connectors.meetings.webex_wire import split_ref
from hybridcal.core.model import ProblemKind
from hybridcal.core.render import END_MARK, START_MARK

PERSON_HTML = "<p>Pipeline review.</p><p>Bring the <b>Q3</b> numbers &amp; the deck.</p>"


@pytest.fixture
async def mw(tmp_path: Path, sa_info: dict[str, str]) -> AsyncIterator[Harness]:
    harness = await start_harness(tmp_path, sa_info, microsoft=True, webex=True)
    try:
        yield harness
    finally:
        await harness.close()


def _start(text: str) -> datetime:
    return datetime.fromisoformat(text)


async def _room_row(h: Harness, subject: str) -> dict[str, Any]:
    rows = [r for r in await h.meetings(h.m365_room_token) if r["title"] == subject]
    assert len(rows) == 1, f"{subject!r} on the Microsoft room's list: {rows}"
    return rows[0]


async def test_webex_keyword_in_outlook_follows_the_event(mw: Harness) -> None:
    assert mw.graph is not None
    created = mw.graph.person_create(
        ADELE, outlook_event("Vendor call", "Board room; @webex", PERSON_HTML, tomorrow_at(11), 45)
    )
    event_id = created["id"]
    await mw.settle()

    [meeting] = mw.webex_meetings()
    assert meeting["hostEmail"] == ADELE
    assert _start(meeting["start"]) == tomorrow_at(11)
    event = mw.m365_event(ADELE, event_id)
    assert event["isOnlineMeeting"] is False  # no Teams meeting on the side
    body = event["body"]["content"]
    assert PERSON_HTML in body
    block = body[body.index(START_MARK) : body.index(END_MARK)]
    assert meeting["webLink"].replace("&", "&amp;") in block or meeting["webLink"] in block
    assert meeting["sipAddress"] in block
    assert meeting["phoneAndVideoSystemPassword"] in block
    marker = await mw.graph_marker(ADELE, event_id)
    assert marker is not None
    assert json.loads(marker)["hybridcal.system"] == "webex"
    assert split_ref(json.loads(marker)["hybridcal.meeting"]) == (meeting["id"], ADELE)
    assert len(mw.graph_patches(event_id)) == 1
    row = await _room_row(mw, "Vendor call")
    assert row["join"]["provider"] == "webex"
    assert row["join"]["url"] == meeting["webLink"]

    # moved and retitled in Outlook: the meeting follows, the body is not rewritten
    mw.graph.person_update(
        ADELE, event_id, {"subject": "Vendor call (moved)", **outlook_when(tomorrow_at(14), 60)}
    )
    await mw.settle()
    [moved] = mw.webex_meetings()
    assert moved["id"] == meeting["id"]
    assert moved["title"] == "Vendor call (moved)"
    assert _start(moved["start"]) == tomorrow_at(14)
    assert _start(moved["end"]) == tomorrow_at(14) + timedelta(minutes=60)
    assert len(mw.graph_patches(event_id)) == 1

    # the keyword goes: the meeting and our block go, the person's text stays
    current = mw.m365_body(ADELE, event_id)
    mw.graph.person_update(ADELE, event_id, {"location": {"displayName": "Board room"}})
    await mw.settle()
    assert mw.webex_meetings() == []
    body = mw.m365_body(ADELE, event_id)
    assert START_MARK not in body
    assert PERSON_HTML in body
    assert current != body


async def test_cancelling_in_outlook_deletes_the_webex_meeting(mw: Harness) -> None:
    assert mw.graph is not None
    event_id = mw.graph.person_create(
        MEGAN, outlook_event("Design crit", "@webex", PERSON_HTML, tomorrow_at(9))
    )["id"]
    await mw.settle()
    assert len(mw.webex_meetings()) == 1
    mw.graph.person_delete(MEGAN, event_id)
    await mw.settle()
    assert mw.webex_meetings() == []
    assert await mw.m365_binding(MEGAN, event_id) is None


async def test_an_unlicensed_outlook_organiser_gets_a_note(mw: Harness) -> None:
    assert mw.graph is not None
    assert mw.webex is not None
    mw.webex.set_licensed(MEGAN, licensed=False)
    event_id = mw.graph.person_create(
        MEGAN, outlook_event("Town hall", "@webex", PERSON_HTML, tomorrow_at(16))
    )["id"]
    await mw.settle()
    assert mw.webex_meetings() == []
    body = mw.m365_body(MEGAN, event_id)
    note = body[body.index(START_MARK) : body.index(END_MARK)]
    assert "could not be created" in note
    binding = await mw.m365_binding(MEGAN, event_id)
    assert binding is not None
    assert binding.problem is not None
    assert binding.problem.kind is ProblemKind.HOST_NOT_FOUND
    assert "Control Hub" in binding.problem.detail
