"""The curl-friendly control API, the service-account key helper and the request log."""

from __future__ import annotations

import aiohttp
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from tests.sandbox.google_support import ALICE, BOB, CalendarFactory, run, timed

from hybridcal.sandbox.google import GoogleSimulator
from hybridcal.sandbox.keys import generate_service_account


async def test_control_api_drives_person_edits(sim: GoogleSimulator) -> None:
    body = {
        "summary": "From curl",
        "attendees": [{"email": BOB}],
        **timed("2030-02-02T09:00:00", "2030-02-02T10:00:00"),
    }
    async with aiohttp.ClientSession(base_url=sim.base_url) as http:
        async with http.post(f"/sandbox/users/{ALICE}/events", json=body) as resp:
            assert resp.status == 200
            created = await resp.json()
        async with http.get(f"/sandbox/calendars/{BOB}/events") as resp:
            assert [e["id"] for e in await resp.json()] == [created["id"]]
        async with http.patch(
            f"/sandbox/calendars/{ALICE}/events/{created['id']}", json={"location": "@meet"}
        ) as resp:
            assert (await resp.json())["location"] == "@meet"
        async with http.patch(
            f"/sandbox/calendars/{BOB}/events/{created['id']}", json={"summary": "x"}
        ) as resp:
            assert resp.status == 400  # an attendee cannot retitle the organiser's meeting
        async with http.post(
            f"/sandbox/users/{ALICE}/events", json={"summary": "no times"}
        ) as resp:
            assert resp.status == 400
        async with http.delete(f"/sandbox/calendars/{ALICE}/events/{created['id']}") as resp:
            assert resp.status == 204
        async with http.get(f"/sandbox/calendars/{ALICE}/events/{created['id']}") as resp:
            assert (await resp.json())["status"] == "cancelled"
        async with http.get("/sandbox/stats") as resp:
            assert (await resp.json())["conferences_created"] == 0
    assert sim.list_events(ALICE) == []


def test_generated_service_account_looks_like_googles() -> None:
    info = generate_service_account(project_id="demo")
    assert info["type"] == "service_account"
    assert info["client_email"].endswith("@demo.iam.gserviceaccount.com")
    assert info["client_id"].isdigit()
    assert len(info["client_id"]) == 21
    assert len(info["private_key_id"]) == 40
    key = serialization.load_pem_private_key(info["private_key"].encode(), password=None)
    assert isinstance(key, RSAPrivateKey)
    assert generate_service_account()["private_key"] != info["private_key"]


async def test_request_log_records_decoded_path_query_and_subject(
    sim: GoogleSimulator, calendar: CalendarFactory
) -> None:
    await run(calendar(ALICE).events().list(calendarId=ALICE, maxResults=5))
    record = sim.request_log[-1]
    assert record.method == "GET"
    assert record.path == f"/calendar/v3/calendars/{ALICE}/events"
    assert record.query == {"maxResults": "5", "alt": "json"}
    assert record.subject == ALICE
    assert record.status == 200
    assert record.method_id == "calendar.events.list"
