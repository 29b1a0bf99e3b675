"""calendar: getSchedule as Graph documents it: free/busy per address, the availability view,
errors per address, the body's rules and the permissions that may call it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from tests.sandbox.graph_support import ALICE, BOB, ROOM, Env, graph_env, timed

DAY = "2026-12-02"
PATH = f"/users/{ROOM}/calendar/getSchedule"


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    async with graph_env() as found:
        yield found


def invite(start: str, end: str, *, subject: str = "Planning", **extra: Any) -> dict[str, Any]:
    return {
        "subject": subject,
        "location": {"displayName": "Room Matterhorn"},
        "attendees": [
            {"type": "resource", "emailAddress": {"address": ROOM, "name": "Room Matterhorn"}},
            {"type": "required", "emailAddress": {"address": BOB, "name": "Bob"}},
        ],
        **timed(f"{DAY}T{start}:00", f"{DAY}T{end}:00"),
        **extra,
    }


def request(*schedules: str, start: str = "08:00", end: str = "10:00", **extra: Any) -> Any:
    return {
        "schedules": list(schedules),
        "startTime": {"dateTime": f"{DAY}T{start}:00", "timeZone": "UTC"},
        "endTime": {"dateTime": f"{DAY}T{end}:00", "timeZone": "UTC"},
        "availabilityViewInterval": 30,
        **extra,
    }


async def test_items_and_availability_view(env: Env) -> None:
    env.sim.person_create(ALICE, invite("09:30", "10:00"))  # Berlin: 08:30-09:00 UTC
    env.sim.person_create(ALICE, invite("10:00", "10:30", subject="Maybe", showAs="tentative"))
    env.sim.person_create(ALICE, invite("10:30", "11:00", subject="Free", showAs="free"))
    # showAs is each mailbox's own: the organiser's, asked for by the room's path
    status, body, _ = await env.raw("POST", PATH, json=request(ALICE))
    assert status == 200, body
    [info] = body["value"]
    assert info["scheduleId"] == ALICE
    assert info["availabilityView"] == "0210"
    assert [(i["status"], i["start"], i["end"]) for i in info["scheduleItems"]] == [
        (
            "busy",
            {"dateTime": f"{DAY}T08:30:00.0000000", "timeZone": "UTC"},
            {"dateTime": f"{DAY}T09:00:00.0000000", "timeZone": "UTC"},
        ),
        (
            "tentative",
            {"dateTime": f"{DAY}T09:00:00.0000000", "timeZone": "UTC"},
            {"dateTime": f"{DAY}T09:30:00.0000000", "timeZone": "UTC"},
        ),
    ]
    status, body, _ = await env.raw("POST", PATH, json=request(ROOM))
    assert body["value"][0]["availabilityView"] == "0222"  # the room's copies are busy
    assert body["@odata.context"].endswith(
        "$metadata#Collection(microsoft.graph.scheduleInformation)"
    )


async def test_the_answer_zone_follows_prefer_and_unknown_addresses_err_in_place(
    env: Env,
) -> None:
    env.sim.person_create(ALICE, invite("09:30", "10:00"))
    status, body, _ = await env.raw(
        "POST",
        PATH,
        json=request("nobody@contoso.example", ROOM),
        headers={"Prefer": 'outlook.timezone="W. Europe Standard Time"'},
    )
    assert status == 200, body
    missing, room = body["value"]
    assert missing["scheduleId"] == "nobody@contoso.example"
    assert missing["error"]["responseCode"] == "ErrorMailRecipientNotFound"
    assert room["scheduleItems"][0]["start"] == {
        "dateTime": f"{DAY}T09:30:00.0000000",
        "timeZone": "W. Europe Standard Time",
    }


@pytest.mark.parametrize(
    "body",
    [
        request(),  # no schedules
        {k: v for k, v in request(ROOM).items() if k != "endTime"},
        request(ROOM, start="10:00", end="08:00"),
        request(ROOM, availabilityViewInterval=4),
        request(*[f"u{i}@contoso.example" for i in range(21)]),
        {**request(ROOM), "endTime": {"dateTime": "2027-03-01T00:00:00", "timeZone": "UTC"}},
        {**request(ROOM), "attendees": []},
    ],
)
async def test_refusals(env: Env, body: Any) -> None:
    status, answer, _ = await env.raw("POST", PATH, json=body)
    assert status == 400, answer


async def test_only_post_and_only_with_calendar_permissions(env: Env) -> None:
    status, _, _ = await env.raw("GET", PATH)
    assert status == 405
    narrow = env.sim.register_app(permissions=["User.Read.All"])
    token = await env.token(narrow)
    status, answer, _ = await env.raw("POST", PATH, json=request(ROOM), token=token)
    assert status == 403, answer
