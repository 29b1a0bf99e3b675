"""Teams meetings: isOnlineMeeting creates one, Outlook's block in the body, removal rules."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from msgraph.generated.models.body_type import BodyType
from msgraph.generated.models.event import Event
from msgraph.generated.models.online_meeting_provider_type import OnlineMeetingProviderType
from tests.sandbox.graph_support import ALICE, BOB, Env, graph_env, timed

JOIN = re.compile(
    r"^https://teams\.microsoft\.com/l/meetup-join/19%3ameeting_[A-Za-z0-9]+%40thread\.v2/0"
    r"\?context=%7b%22Tid%22%3a%22[0-9a-f-]+%22%2c%22Oid%22%3a%22[0-9a-f-]+%22%7d$"
)


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    async with graph_env() as found:
        yield found


def meeting(content_type: str = "html", content: str = "<p>Agenda</p>") -> dict[str, Any]:
    return {
        "subject": "Sync @teams",
        "body": {"contentType": content_type, "content": content},
        "attendees": [{"emailAddress": {"address": BOB}}],
        **timed("2026-12-02T10:00:00", "2026-12-02T11:00:00"),
    }


async def enable(env: Env, event_id: str) -> Event:
    found = (
        await env.client.users.by_user_id(ALICE)
        .events.by_event_id(event_id)
        .patch(
            Event(
                is_online_meeting=True,
                online_meeting_provider=OnlineMeetingProviderType.TeamsForBusiness,
            )
        )
    )
    assert found is not None
    return found


async def test_enabling_creates_a_meeting_and_outlooks_block(env: Env) -> None:
    created = env.sim.person_create(ALICE, meeting())
    event = await enable(env, created["id"])
    assert event.is_online_meeting is True
    assert event.online_meeting is not None
    url = str(event.online_meeting.join_url)
    assert JOIN.match(url), url
    assert env.ids[ALICE] in url
    assert event.body is not None
    content = str(event.body.content)
    assert "Agenda" in content
    assert "Microsoft Teams" in content
    assert "Join the meeting now" in content
    assert f'href="{url}"' in content
    assert re.search(r"Meeting ID: <span>\d{3} \d{3} \d{3} \d{3}</span>", content)
    assert "Passcode:" in content
    assert content.index("Agenda") < content.index("Microsoft Teams") < content.index("</body>")
    assert env.sim.teams_meetings_created == 1
    bob = env.sim.list_events(BOB)[0]
    assert bob["onlineMeeting"] == {"joinUrl": url}
    assert url in bob["body"]["content"]
    again = await enable(env, created["id"])  # idempotent: the same meeting, one block
    assert again.online_meeting is not None
    assert again.online_meeting.join_url == url
    assert str(again.body.content if again.body else "").count("Join the meeting now") == 1
    assert env.sim.teams_meetings_created == 1


async def test_body_replace_keeping_the_block_keeps_the_meeting(env: Env) -> None:
    created = env.sim.person_create(ALICE, meeting())
    event = await enable(env, created["id"])
    content = str(event.body.content if event.body else "")
    ours = content.replace("<p>Agenda</p>", "<p>Agenda</p><div>hybridcal block</div>")
    status, body, _ = await env.raw(
        "PATCH",
        f"/users/{ALICE}/events/{created['id']}",
        json={"body": {"contentType": "html", "content": ours}},
    )
    assert status == 200
    assert body["isOnlineMeeting"] is True
    assert body["onlineMeeting"] is not None
    assert "hybridcal block" in body["body"]["content"]


async def test_body_without_the_block_disables_the_meeting(env: Env) -> None:
    created = env.sim.person_create(ALICE, meeting())
    await enable(env, created["id"])
    status, body, _ = await env.raw(
        "PATCH",
        f"/users/{ALICE}/events/{created['id']}",
        json={"body": {"contentType": "html", "content": "<p>Only our text</p>"}},
    )
    assert status == 200
    assert body["isOnlineMeeting"] is False
    assert body["onlineMeeting"] is None
    assert body["onlineMeetingProvider"] == "unknown"
    assert env.sim.list_events(BOB)[0]["onlineMeeting"] is None


async def test_turning_it_off_removes_the_block(env: Env) -> None:
    created = env.sim.person_create(ALICE, meeting())
    await enable(env, created["id"])
    status, body, _ = await env.raw(
        "PATCH", f"/users/{ALICE}/events/{created['id']}", json={"isOnlineMeeting": False}
    )
    assert status == 200
    assert body["onlineMeeting"] is None
    assert "Microsoft Teams" not in body["body"]["content"]
    assert "Agenda" in body["body"]["content"]


async def test_text_bodies_get_a_text_block(env: Env) -> None:
    created = env.sim.person_create(ALICE, meeting("text", "Agenda"))
    event = await enable(env, created["id"])
    content = str(event.body.content if event.body else "")
    assert event.body is not None
    assert event.body.content_type is not None
    assert event.body.content_type == BodyType.Text
    assert content.startswith("Agenda")
    assert "Join the meeting now <https://teams.microsoft.com/l/meetup-join/" in content


async def test_person_creates_a_teams_meeting_and_other_providers_are_ignored() -> None:
    async with graph_env(teams_join_host="teams.sandbox.example") as env:
        created = env.sim.person_create(
            ALICE,
            {**meeting(), "isOnlineMeeting": True, "onlineMeetingProvider": "teamsForBusiness"},
        )
        assert created["onlineMeeting"]["joinUrl"].startswith("https://teams.sandbox.example/")
        other = env.sim.person_create(
            ALICE,
            {**meeting(), "isOnlineMeeting": True, "onlineMeetingProvider": "skypeForBusiness"},
        )
        assert other["isOnlineMeeting"] is False
        assert other["onlineMeeting"] is None
        assert env.sim.teams_meetings_created == 1
