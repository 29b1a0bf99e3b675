"""events.list: paging, sync tokens, 410, and the parameter rules Google enforces."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import google.auth.transport.requests
import pytest
from googleapiclient.errors import HttpError
from tests.sandbox.google_support import ALICE, CalendarFactory, credentials, run, timed

from hybridcal.sandbox.google import GoogleSimulator


def seed_events(sim: GoogleSimulator, count: int) -> list[str]:
    ids = []
    for n in range(count):
        body = {
            "summary": f"meeting {n}",
            **timed(f"2030-01-{n + 1:02d}T10:00:00", f"2030-01-{n + 1:02d}T11:00:00"),
        }
        ids.append(sim.person_insert(ALICE, body)["id"])
    return ids


async def full_sync(svc: Any, **params: Any) -> tuple[list[dict[str, Any]], int, str]:
    items: list[dict[str, Any]] = []
    pages, token = 0, None
    while True:
        page = await run(svc.events().list(calendarId=ALICE, pageToken=token, **params))
        pages += 1
        items += page["items"]
        token = page.get("nextPageToken")
        if token:
            assert "nextSyncToken" not in page
            continue
        return items, pages, str(page["nextSyncToken"])


async def test_paging_and_incremental_sync(sim: GoogleSimulator, calendar: CalendarFactory) -> None:
    ids = seed_events(sim, 7)
    svc = calendar(ALICE)
    items, pages, sync_token = await full_sync(svc, maxResults=3)
    assert [i["id"] for i in items] == ids
    assert pages == 3
    # nothing changed: empty incremental answer with a fresh token
    page = await run(svc.events().list(calendarId=ALICE, syncToken=sync_token, maxResults=3))
    assert page["items"] == []
    # a change and a deletion show up, the deletion as a bare cancelled item
    sim.person_patch(ALICE, ids[2], {"summary": "renamed"})
    sim.person_delete(ALICE, ids[4])
    page = await run(svc.events().list(calendarId=ALICE, syncToken=page["nextSyncToken"]))
    by_id = {i["id"]: i for i in page["items"]}
    assert set(by_id) == {ids[2], ids[4]}
    assert by_id[ids[2]]["summary"] == "renamed"
    assert by_id[ids[4]]["status"] == "cancelled"
    assert "summary" not in by_id[ids[4]]
    # a full listing hides the cancelled event, showDeleted brings it back
    items, _, _ = await full_sync(svc)
    assert ids[4] not in {i["id"] for i in items}
    items, _, _ = await full_sync(svc, showDeleted=True)
    assert ids[4] in {i["id"] for i in items}


async def test_expired_sync_token_is_410(sim: GoogleSimulator, calendar: CalendarFactory) -> None:
    seed_events(sim, 2)
    svc = calendar(ALICE)
    _, _, sync_token = await full_sync(svc)
    sim.expire_sync_tokens(ALICE)
    with pytest.raises(HttpError) as info:
        await run(svc.events().list(calendarId=ALICE, syncToken=sync_token))
    assert info.value.status_code == 410
    assert info.value.error_details[0]["reason"] == "fullSyncRequired"
    with pytest.raises(HttpError) as info:
        await run(svc.events().list(calendarId=ALICE, syncToken="garbage"))
    assert info.value.status_code == 410


@pytest.mark.parametrize(
    "extra",
    [
        {"timeMin": "2030-01-01T00:00:00Z"},
        {"timeMax": "2030-01-01T00:00:00Z"},
        {"updatedMin": "2030-01-01T00:00:00Z"},
        {"q": "meeting"},
        {"iCalUID": "x@google.com"},
        {"orderBy": "updated"},
        {"privateExtendedProperty": "a=b"},
        {"sharedExtendedProperty": "a=b"},
        {"showDeleted": False},
    ],
)
async def test_parameters_forbidden_with_sync_token(
    sim: GoogleSimulator, calendar: CalendarFactory, extra: dict[str, Any]
) -> None:
    svc = calendar(ALICE)
    _, _, sync_token = await full_sync(svc)
    with pytest.raises(HttpError) as info:
        await run(svc.events().list(calendarId=ALICE, syncToken=sync_token, **extra))
    assert info.value.status_code == 400


async def test_sync_token_bound_to_initial_filters(
    sim: GoogleSimulator, calendar: CalendarFactory
) -> None:
    svc = calendar(ALICE)
    _, _, sync_token = await full_sync(svc, singleEvents=True)
    with pytest.raises(HttpError) as info:
        await run(svc.events().list(calendarId=ALICE, syncToken=sync_token))
    assert info.value.status_code == 400
    ok = await run(svc.events().list(calendarId=ALICE, syncToken=sync_token, singleEvents=True))
    assert ok["items"] == []


async def test_order_by_start_time_needs_single_events(
    sim: GoogleSimulator, calendar: CalendarFactory
) -> None:
    svc = calendar(ALICE)
    with pytest.raises(HttpError) as info:
        await run(svc.events().list(calendarId=ALICE, orderBy="startTime"))
    assert info.value.status_code == 400
    await run(svc.events().list(calendarId=ALICE, orderBy="startTime", singleEvents=True))


async def test_time_window_filters_full_listing(
    sim: GoogleSimulator, calendar: CalendarFactory
) -> None:
    ids = seed_events(sim, 5)
    svc = calendar(ALICE)
    page = await run(
        svc.events().list(
            calendarId=ALICE, timeMin="2030-01-02T00:00:00Z", timeMax="2030-01-04T00:00:00Z"
        )
    )
    assert [i["id"] for i in page["items"]] == ids[1:3]


async def test_unknown_and_malformed_parameters_are_400(
    sim: GoogleSimulator, sa_info: dict[str, str]
) -> None:
    creds = credentials(sim, sa_info, ALICE)
    await asyncio.to_thread(creds.refresh, google.auth.transport.requests.Request())
    headers = {"Authorization": f"Bearer {creds.token}"}
    url = f"{sim.calendar_root}calendars/{ALICE.replace('@', '%40')}/events"
    async with aiohttp.ClientSession() as http:
        for query in (
            "alt=json&bogus=1",
            "maxResults=0",
            "maxResults=ten",
            "singleEvents=yes",
            "timeMin=2030-01-01",
            "orderBy=bogus",
        ):
            async with http.get(f"{url}?{query}", headers=headers) as resp:
                body = await resp.json()
                assert resp.status == 400, query
                assert set(body["error"]) == {"errors", "code", "message"}
                assert {"domain", "reason", "message"} <= set(body["error"]["errors"][0])
        async with http.get(f"{url}?alt=json&maxResults=9999", headers=headers) as resp:
            assert resp.status == 200  # Google caps at 2500 silently
    assert any(r.query.get("bogus") == "1" and r.status == 400 for r in sim.request_log)


async def test_other_users_calendars_are_not_found(
    sim: GoogleSimulator, calendar: CalendarFactory
) -> None:
    svc = calendar(ALICE)
    with pytest.raises(HttpError) as info:
        await run(svc.events().list(calendarId="bob@example.com"))
    assert info.value.status_code == 404
    assert info.value.error_details[0]["reason"] == "notFound"
