"""Listing a user's meetings: filters, paging tokens and the agenda the daemon relies on."""

from __future__ import annotations

from typing import Any

import pytest
from tests.sandbox.zoom_support import ALICE, BOB, Clock, ZoomClient

ITEM_KEYS = {
    "uuid",
    "id",
    "host_id",
    "topic",
    "type",
    "start_time",
    "duration",
    "timezone",
    "agenda",
    "created_at",
    "join_url",
}


async def make(client: ZoomClient, count: int, user: str = ALICE) -> list[dict[str, Any]]:
    made = []
    for n in range(count):
        answer = await client.create(
            user, agenda=f"hybridcal:key-{user}-{n}", start_time=f"2030-03-{10 + n:02d}T09:00:00Z"
        )
        made.append(answer.body)
    return made


async def list_all(client: ZoomClient, user: str = ALICE, **query: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    token = ""
    while True:
        params = dict(query, next_page_token=token) if token else dict(query)
        answer = await client.call("GET", f"/users/{user}/meetings", params=params)
        assert answer.status == 200, answer.body
        items += answer.body["meetings"]
        token = answer.body["next_page_token"]
        if not token:
            return items


async def test_pages_carry_every_meeting_with_its_agenda(client: ZoomClient) -> None:
    made = await make(client, 7)
    await make(client, 2, BOB)
    first = await client.call("GET", f"/users/{ALICE}/meetings", params={"page_size": "3"})
    body = first.body
    assert (body["page_size"], body["total_records"], len(body["meetings"])) == (3, 7, 3)
    assert body["next_page_token"]
    assert set(body["meetings"][0]) == ITEM_KEYS
    items = await list_all(client, page_size="3")
    assert [i["id"] for i in items] == [m["id"] for m in made]
    assert [i["agenda"] for i in items] == [m["agenda"] for m in made]
    assert items[0]["join_url"] == made[0]["join_url"]


async def test_default_page_size_is_30(client: ZoomClient) -> None:
    await make(client, 1)
    answer = await client.call("GET", f"/users/{ALICE}/meetings")
    assert answer.body["page_size"] == 30
    assert answer.body["next_page_token"] == ""


async def test_meetings_made_meanwhile_do_not_repeat_items(client: ZoomClient) -> None:
    await make(client, 4)
    first = await client.call("GET", f"/users/{ALICE}/meetings", params={"page_size": "2"})
    await client.create(start_time="2030-03-01T09:00:00Z")  # sorts before the first page
    token = first.body["next_page_token"]
    rest = await client.call(
        "GET", f"/users/{ALICE}/meetings", params={"page_size": "2", "next_page_token": token}
    )
    seen = [m["id"] for m in first.body["meetings"] + rest.body["meetings"]]
    assert len(seen) == len(set(seen)) == 4


@pytest.mark.parametrize("size", ["0", "301", "abc", "-1"])
async def test_bad_page_size_is_300(client: ZoomClient, size: str) -> None:
    answer = await client.call("GET", f"/users/{ALICE}/meetings", params={"page_size": size})
    assert answer.status == 400
    assert answer.fields() == ["page_size"]


async def test_bad_type_is_300(client: ZoomClient) -> None:
    answer = await client.call("GET", f"/users/{ALICE}/meetings", params={"type": "all"})
    assert answer.fields() == ["type"]


async def test_bad_foreign_or_expired_page_tokens(client: ZoomClient, clock: Clock) -> None:
    await make(client, 3)
    await make(client, 3, BOB)
    page = await client.call("GET", f"/users/{ALICE}/meetings", params={"page_size": "1"})
    token = page.body["next_page_token"]
    expected = {"code": 300, "message": "The next page token is invalid or expired."}
    for user, value in ((ALICE, "garbage"), (ALICE, token[:-1] + "x"), (BOB, token)):
        answer = await client.call(
            "GET", f"/users/{user}/meetings", params={"page_size": "1", "next_page_token": value}
        )
        assert (answer.status, answer.body) == (400, expected)
    other_type = await client.call(
        "GET", f"/users/{ALICE}/meetings", params={"type": "upcoming", "next_page_token": token}
    )
    assert other_type.body == expected
    clock.advance(minutes=15)
    await client.token()
    expired = await client.call(
        "GET", f"/users/{ALICE}/meetings", params={"page_size": "1", "next_page_token": token}
    )
    assert expired.body == expected


async def test_types_filter_what_is_listed(client: ZoomClient, clock: Clock) -> None:
    past = (await client.create(start_time="2030-03-01T09:00:00Z")).body
    future = (await client.create(start_time="2030-03-20T09:00:00Z")).body
    floating = (await client.call("POST", f"/users/{ALICE}/meetings", json={"type": 3})).body
    await client.call("POST", f"/users/{ALICE}/meetings", json={"type": 1})  # instant: never listed
    gone = (await client.create()).body
    await client.call("DELETE", f"/meetings/{gone['id']}")
    scheduled = await list_all(client)
    assert {m["id"] for m in scheduled} == {past["id"], future["id"], floating["id"]}
    assert "start_time" not in next(m for m in scheduled if m["id"] == floating["id"])
    upcoming = await list_all(client, type="upcoming")
    assert {m["id"] for m in upcoming} == {future["id"], floating["id"]}
    previous = await list_all(client, type="previous_meetings")
    assert [m["id"] for m in previous] == [past["id"]]
    assert await list_all(client, type="live") == []


async def test_listing_an_unknown_user_is_1001(client: ZoomClient) -> None:
    answer = await client.call("GET", "/users/nobody@example.com/meetings")
    assert (answer.status, answer.code) == (404, 1001)
