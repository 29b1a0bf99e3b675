"""Keywords typed in Outlook, end to end: Graph simulator, daemon, Zoom simulator, the Microsoft
room's meeting list; and one daemon serving the Google and the Microsoft tenant at once."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from tests.e2e.harness import (
    ADELE,
    ALICE,
    BOB,
    M365_ROOM,
    M365_ZONE,
    MEGAN,
    ROOM,
    TENANT,
    Harness,
    marker_of,
    outlook_event,
    start_harness,
    tomorrow_at,
    when,
)

from hybridcal.core.planner import NOTE
from hybridcal.core.render import END_MARK, START_MARK

NESTOR = f"nestor@{TENANT}"
PERSON_HTML = "<p>Pipeline review.</p><p>Bring the <b>Q3</b> numbers &amp; the deck.</p>"


@pytest.fixture
async def m(tmp_path: Path, sa_info: dict[str, str]) -> AsyncIterator[Harness]:
    harness = await start_harness(tmp_path, sa_info, microsoft=True)
    try:
        yield harness
    finally:
        await harness.close()


async def _room_row(h: Harness, subject: str) -> dict[str, Any]:
    rows = [r for r in await h.meetings(h.m365_room_token) if r["title"] == subject]
    assert len(rows) == 1, f"{subject!r} on the Microsoft room's list: {rows}"
    return rows[0]


async def test_teams_keyword_makes_one_teams_meeting_with_one_write(m: Harness) -> None:
    assert m.graph is not None
    start = tomorrow_at(9)
    event_id = m.graph.person_create(
        MEGAN, outlook_event("Sales sync", "@teams", PERSON_HTML, start)
    )["id"]
    await m.settle()

    event = m.m365_event(MEGAN, event_id)
    assert event["isOnlineMeeting"] is True
    assert event["onlineMeetingProvider"] == "teamsForBusiness"
    join_url = (event["onlineMeeting"] or {}).get("joinUrl")
    assert join_url
    assert join_url.startswith("https://teams.microsoft.com/l/meetup-join/")
    assert m.graph.teams_meetings_created == 1
    body = event["body"]["content"]
    assert PERSON_HTML in body  # the person's text, untouched
    assert body.index(PERSON_HTML) < body.index("Microsoft Teams")  # Outlook's block after it
    assert join_url in body  # Outlook's own Teams block carries the link
    assert START_MARK not in body  # no second join block for a native meeting
    marker = await m.graph_marker(MEGAN, event_id)
    assert marker is not None
    assert json.loads(marker)["hybridcal.system"] == "teams"
    [patch] = m.graph_patches(event_id)
    assert patch.body["isOnlineMeeting"] is True
    assert patch.body["onlineMeetingProvider"] == "teamsForBusiness"
    assert m.zoom_meetings() == []

    row = await _room_row(m, "Sales sync")
    assert row["join"]["provider"] == "teams"
    assert row["join"]["url"] == join_url

    # our own patch came back as a notification; the echo and a reconcile write nothing
    await m.reconcile()
    await m.reconcile()
    assert len(m.graph_patches()) == 1
    assert m.graph.teams_meetings_created == 1
    assert m.m365_event(MEGAN, event_id)["body"]["content"] == body


async def test_zoom_keyword_makes_one_zoom_meeting_and_keeps_the_persons_text(m: Harness) -> None:
    assert m.graph is not None
    created = m.graph.person_create(
        ADELE, outlook_event("Vendor call", "Board room; @zoom", PERSON_HTML, tomorrow_at(11), 45)
    )
    event_id, stored = created["id"], created["body"]["content"]
    await m.settle()

    [meeting] = m.zoom_meetings()
    assert meeting["host_email"] == ADELE
    assert datetime.fromisoformat(meeting["start_time"]) == tomorrow_at(11)
    assert meeting["duration"] == 45
    event = m.m365_event(ADELE, event_id)
    assert event["isOnlineMeeting"] is False  # no Teams meeting on the side
    body = event["body"]["content"]
    # everything but our block is the body Exchange stored, byte for byte; the block goes
    # inside the document, before </body>
    head, tail = stored[: stored.rindex("</body>")], stored[stored.rindex("</body>") :]
    assert PERSON_HTML in head
    assert body.startswith(head)
    assert body.endswith(tail)
    block = body[body.index(START_MARK) : body.index(END_MARK)]
    assert body.index(START_MARK) >= len(head)
    assert meeting["join_url"].replace("&", "&amp;") in block or meeting["join_url"] in block
    assert meeting["password"] in block
    assert "<br" in block or "<p" in block or "<div" in block  # an HTML block in an HTML body
    marker = await m.graph_marker(ADELE, event_id)
    assert marker is not None
    assert json.loads(marker)["hybridcal.meeting"] == str(meeting["id"])
    assert json.loads(marker)["hybridcal.system"] == "zoom"
    assert len(m.graph_patches(event_id)) == 1
    assert m.zoom_calls("POST", "/v2/users/") == 1
    assert m.graph.teams_meetings_created == 0

    row = await _room_row(m, "Vendor call")
    assert row["join"]["provider"] == "zoom"
    assert row["join"]["url"] == meeting["join_url"]

    await m.reconcile()
    await m.reconcile()
    assert len(m.graph_patches()) == 1
    assert m.zoom_calls("POST", "/v2/users/") == 1
    assert m.m365_body(ADELE, event_id) == body


async def test_meet_keyword_on_a_microsoft_calendar_gets_a_short_note(m: Harness) -> None:
    assert m.graph is not None
    event_id = m.graph.person_create(
        MEGAN, outlook_event("Design crit", "@meet", PERSON_HTML, tomorrow_at(14))
    )["id"]
    await m.settle()

    event = m.m365_event(MEGAN, event_id)
    body = event["body"]["content"]
    assert PERSON_HTML in body
    note = body[body.index(START_MARK) : body.index(END_MARK)]
    assert "not available" in note
    assert len(note) < 600  # short
    assert event["isOnlineMeeting"] is False
    assert m.graph.teams_meetings_created == 0
    assert m.zoom_meetings() == []
    assert m.sim.conferences_created() == 0
    binding = await m.m365_binding(MEGAN, event_id)
    assert binding is not None
    assert binding.system == NOTE
    assert binding.keyword == "@meet"
    assert (await _room_row(m, "Design crit"))["join"] is None
    await m.reconcile()
    assert len(m.graph_patches(event_id)) == 1

    # what the admin sees: `hybridcal users show megan@... --provider microsoft`
    shown = await _users_show(m, MEGAN)
    assert shown["provider"] == "microsoft"
    assert [u["event"] for u in shown["unavailable_keywords"]] == [event_id]
    assert shown["unavailable_keywords"][0]["keyword"] == "@meet"


async def _users_show(h: Harness, address: str) -> dict[str, Any]:
    shown: dict[str, Any] = await h.admin_json("users", "show", address, "--provider", "microsoft")
    return shown


# -- invitations that already carry a link -------------------------------------------------------

TEAMS_URL = (
    "https://teams.microsoft.com/l/meetup-join/19%3ameeting_NzQ2ZDA4YjMtMmQ5Ni00ZTk0LWI1ZWMt"
    "NWI3ZTJmNjBlYjk3%40thread.v2/0?context=%7b%22Tid%22%3a%2272f988bf-86f1-41af-91ab-2d7cd"
    "011db47%22%2c%22Oid%22%3a%2200000000-1111-2222-3333-444444444444%22%7d"
)
TEAMS_INVITE = (
    "<div>Agenda: the Q4 roadmap.</div>"
    '<div style="width:100%">________________________________________________</div>'
    '<div><span style="font-size:24px">Microsoft Teams</span> <span>Need help?</span></div>'
    f'<div><a href="{TEAMS_URL}">Join the meeting now</a></div>'
    "<div><span>Meeting ID: </span><span>312 345 678 901</span></div>"
    "<div><span>Passcode: </span><span>Xy7kP2</span></div>"
    '<div><a href="https://dialin.teams.microsoft.com/11111111-2222-3333-4444-555555555555?id=12">'
    "Find a local number</a></div>"
    '<div><a href="https://teams.microsoft.com/meetingOptions/?organizerId=x">Meeting options</a>'
    "</div>"
)
ZOOM_INVITE = (
    "<p>Hi all, Jamie Vendor is inviting you to a scheduled Zoom meeting.</p>"
    '<p><a href="https://us06web.zoom.us/j/81234567890?pwd=QWxwaGFCcmF2b0NoYXJsaWU.1">'
    "https://us06web.zoom.us/j/81234567890?pwd=QWxwaGFCcmF2b0NoYXJsaWU.1</a></p>"
    "<p>Meeting ID: 812 3456 7890<br>Passcode: 424242</p>"
    "<p>One tap mobile<br>+16465588656,,81234567890#,,,,*424242# US (New York)</p>"
)
WEBEX_INVITE = (
    "<table><tr><td><b>Partner QBR</b></td></tr>"
    '<tr><td><a href="https://acme.webex.com/acme/j.php?MTID=m3f1c0ffee0123456789abcdef012345">'
    "Join meeting</a></td></tr>"
    "<tr><td>Meeting number (access code): 2634 123 4567</td></tr>"
    "<tr><td>Meeting password: QbR2024!</td></tr>"
    "<tr><td>Join by video system: 26341234567@acme.webex.com</td></tr></table>"
)


@pytest.mark.parametrize(
    ("body", "provider", "url"),
    [
        (
            TEAMS_INVITE,
            "teams",
            TEAMS_URL,
        ),
        (
            ZOOM_INVITE,
            "zoom",
            "https://us06web.zoom.us/j/81234567890?pwd=QWxwaGFCcmF2b0NoYXJsaWU.1",
        ),
        (
            WEBEX_INVITE,
            "webex",
            "https://acme.webex.com/acme/j.php?MTID=m3f1c0ffee0123456789abcdef012345",
        ),
    ],
    ids=["teams", "zoom", "webex"],
)
async def test_an_invitation_with_a_link_gives_the_room_a_join_button(
    m: Harness, body: str, provider: str, url: str
) -> None:
    assert m.graph is not None
    # a colleague hybridcal does not serve forwards a partner's invitation to the room
    m.graph.add_user(NESTOR, timezone=M365_ZONE)
    m.graph.person_create(
        NESTOR,
        outlook_event(
            "External call", "Board room", body, tomorrow_at(15), attendees=(MEGAN, M365_ROOM)
        ),
    )
    await m.settle()
    row = await _room_row(m, "External call")
    assert row["join"] is not None
    assert row["join"]["provider"] == provider
    assert row["join"]["url"] == url
    assert m.graph_patches() == []  # a pasted link is no keyword: nothing is written
    assert (await _room_row(m, "External call"))["organizer"]["email"] == NESTOR
    assert m.zoom_meetings() == []
    assert m.graph.teams_meetings_created == 0


async def test_a_teams_meeting_made_in_outlook_gives_the_room_a_join_button(m: Harness) -> None:
    assert m.graph is not None
    event = m.graph.person_create(
        MEGAN,
        outlook_event(
            "Weekly team",
            "",
            "<p>Notes in the wiki.</p>",
            tomorrow_at(8),
            isOnlineMeeting=True,
            onlineMeetingProvider="teamsForBusiness",
        ),
    )
    await m.settle()
    join_url = m.m365_event(MEGAN, event["id"])["onlineMeeting"]["joinUrl"]
    row = await _room_row(m, "Weekly team")
    assert row["join"]["provider"] == "teams"
    assert row["join"]["url"] == join_url
    assert m.graph_patches() == []
    assert m.graph.teams_meetings_created == 1  # Outlook's, not ours


# -- both tenants, one daemon ----------------------------------------------------------------------


async def test_one_daemon_serves_the_google_and_the_microsoft_tenant(m: Harness) -> None:
    assert m.graph is not None
    google_id = m.sim.person_insert(
        ALICE,
        {
            "summary": "Google side",
            "location": "@zoom",
            "description": "From Google Calendar.",
            "attendees": [{"email": BOB}, {"email": ROOM}],
            **when(tomorrow_at(10)),
        },
    )["id"]
    outlook_zoom = m.graph.person_create(
        ADELE, outlook_event("Outlook side", "@zoom", "<p>From Outlook.</p>", tomorrow_at(10))
    )["id"]
    outlook_teams = m.graph.person_create(
        MEGAN, outlook_event("Outlook Teams", "@teams", "<p>Also Outlook.</p>", tomorrow_at(12))
    )["id"]
    google_meet = m.sim.person_insert(
        ALICE,
        {
            "summary": "Google Meet",
            "location": "@meet",
            "attendees": [{"email": ROOM}],
            **when(tomorrow_at(12)),
        },
    )["id"]
    await m.settle()

    by_host = {z["host_email"]: z for z in m.zoom_meetings()}
    assert set(by_host) == {ALICE, ADELE}
    assert by_host[ALICE]["join_url"] in m.event(ALICE, google_id)["description"]
    assert marker_of(m.event(ALICE, google_id))["hybridcal.meeting"] == str(by_host[ALICE]["id"])
    outlook_body = m.m365_body(ADELE, outlook_zoom)
    assert by_host[ADELE]["join_url"].replace("&", "&amp;") in outlook_body
    teams_url = m.m365_event(MEGAN, outlook_teams)["onlineMeeting"]["joinUrl"]
    assert m.graph.teams_meetings_created == 1
    assert m.sim.conferences_created() == 1

    # each room sees its own tenant's meetings, with the right link, and nothing of the other
    google_rows = {r["title"]: r for r in await m.meetings()}
    microsoft_rows = {r["title"]: r for r in await m.meetings(m.m365_room_token)}
    assert set(google_rows) == {"Google side", "Google Meet"}
    assert set(microsoft_rows) == {"Outlook side", "Outlook Teams"}
    assert google_rows["Google side"]["join"]["url"] == by_host[ALICE]["join_url"]
    assert google_rows["Google Meet"]["join"]["provider"] == "meet"
    assert microsoft_rows["Outlook side"]["join"]["url"] == by_host[ADELE]["join_url"]
    assert microsoft_rows["Outlook Teams"]["join"]["url"] == teams_url

    assert len(m.patches(google_id)) == 1
    assert len(m.patches(google_meet)) == 1
    assert len(m.graph_patches()) == 2
    await m.reconcile()
    assert len(m.patches()) == 2
    assert len(m.graph_patches()) == 2
    assert m.zoom_calls("POST", "/v2/users/") == 2
