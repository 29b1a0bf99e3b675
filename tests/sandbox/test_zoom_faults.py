"""Fault injection, crash hooks (lost requests and lost answers) and the control panel."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from tests.sandbox.zoom_support import ALICE, ZoomClient, client_for, started

from hybridcal.sandbox.faults import Faults
from hybridcal.sandbox.zoom import DropRequest, DropResponse, RequestInfo, ZoomRecord, ZoomSimulator


@pytest.fixture
async def zoom() -> AsyncIterator[ZoomSimulator]:
    async with started(faults=Faults(seed=3)) as sim:
        yield sim


@pytest.fixture
async def client(zoom: ZoomSimulator) -> AsyncIterator[ZoomClient]:
    async with client_for(zoom) as made:
        yield made


async def test_error_rate_answers_server_errors_and_changes_nothing(
    zoom: ZoomSimulator, client: ZoomClient
) -> None:
    await client.token()
    zoom.faults.error_rate = 1.0
    answers = [await client.create() for _ in range(6)]
    assert {a.status for a in answers} <= {500, 503}
    assert all(a.code == a.status for a in answers)
    assert {"code": 500, "message": "Internal error"} in [a.body for a in answers]
    assert zoom.meetings() == []
    assert (await client.grant()).status == 200  # the token endpoint takes no API faults


async def test_throttle_rate_answers_429_with_the_configured_retry_after(
    zoom: ZoomSimulator, client: ZoomClient
) -> None:
    await client.token()
    zoom.faults.throttle_rate = 1.0
    zoom.faults.throttle_retry_after_s = 7
    answer = await client.call("GET", f"/users/{ALICE}")
    assert answer.status == 429
    assert answer.code == 429
    assert answer.headers["Retry-After"] == "7"


async def test_latency_delays_answers(zoom: ZoomSimulator, client: ZoomClient) -> None:
    await client.token()
    zoom.faults.latency_s = 0.05
    began = time.monotonic()
    await client.call("GET", f"/users/{ALICE}")
    assert time.monotonic() - began >= 0.05


async def test_token_error_rate(zoom: ZoomSimulator, client: ZoomClient) -> None:
    zoom.token_error_rate = 1.0
    answer = await client.grant()
    assert answer.status == 500
    assert answer.body["error"] == "server_error"
    assert zoom.tokens_issued == 0


async def test_dropped_request_creates_nothing(zoom: ZoomSimulator, client: ZoomClient) -> None:
    await client.token()
    seen: list[RequestInfo] = []

    async def lose_creates(info: RequestInfo) -> None:
        seen.append(info)
        if info.method == "POST" and info.path.endswith("/meetings"):
            raise DropRequest

    zoom.before_request.append(lose_creates)
    with pytest.raises(aiohttp.ClientError):
        await client.create(agenda="key-1")
    assert zoom.meetings() == []
    assert seen[-1].body["agenda"] == "key-1"
    record = zoom.calls("POST", "/v2/users")[-1]
    assert (record.status, record.dropped) == (0, "request")
    assert zoom.daily_count(ALICE) == 0
    assert (await client.call("GET", f"/users/{ALICE}")).status == 200


async def test_dropped_response_keeps_the_meeting(zoom: ZoomSimulator, client: ZoomClient) -> None:
    await client.token()
    answered: list[ZoomRecord] = []

    async def lose_answer(record: ZoomRecord) -> None:
        if record.method == "POST" and record.status == 201:
            answered.append(record)
            raise DropResponse

    zoom.after_request.append(lose_answer)
    with pytest.raises(aiohttp.ClientError):
        await client.create(agenda="hybridcal:key-2")
    zoom.after_request.clear()
    made = zoom.meetings(ALICE)
    assert [m["agenda"] for m in made] == ["hybridcal:key-2"]
    assert answered[0].response["id"] == made[0]["id"]
    record = zoom.calls("POST", "/v2/users")[-1]
    assert (record.status, record.dropped, record.user) == (201, "response", ALICE)
    listed = await client.call("GET", f"/users/{ALICE}/meetings")
    assert [m["agenda"] for m in listed.body["meetings"]] == ["hybridcal:key-2"]


async def test_control_panel(zoom: ZoomSimulator, client: ZoomClient) -> None:
    root = f"{zoom.base_url}/_control"
    session = client.session
    async with session.post(f"{root}/users", json={"email": "dave@example.com"}) as response:
        assert response.status == 201
    async with session.post(f"{root}/users", json={"email": "dave@example.com"}) as response:
        assert response.status == 400
    async with session.post(f"{root}/apps", json={"scopes": ["meeting:read:admin"]}) as response:
        app = await response.json()
    assert app["scopes"] == ["meeting:read:admin"]
    async with session.put(f"{root}/password_requirement", json={"length": 9}) as response:
        assert response.status == 200
    async with session.put(f"{root}/meeting_security", json={"waiting_room": True}) as response:
        assert response.status == 200
    async with session.put(f"{root}/dial_in_numbers", json=[]) as response:
        assert response.status == 200
    made = (await client.create()).body
    assert len(made["password"]) == 9
    assert made["settings"]["waiting_room"] is True
    async with session.get(f"{root}/meetings", params={"host": ALICE}) as response:
        assert [m["id"] for m in await response.json()] == [made["id"]]
    async with session.get(f"{root}/meetings/{made['id']}") as response:
        assert (await response.json())["id"] == made["id"]
    async with session.get(f"{root}/users") as response:
        assert "dave@example.com" in [u["email"] for u in await response.json()]
    async with session.get(f"{root}/stats") as response:
        stats = await response.json()
    assert stats["meetings"] == 1
    assert stats["tokens_issued"] == 1
    assert not zoom.calls(path_prefix="/_control")
