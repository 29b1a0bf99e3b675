"""Rate limits, create quota, injected faults and hooks of the Webex simulator."""

from __future__ import annotations

import aiohttp
import pytest
from tests.sandbox.test_webex_support import ALICE, BOB, WebexClient, started, wclient, webex
from tests.sandbox.zoom_support import Clock

from hybridcal.sandbox.faults import Faults
from hybridcal.sandbox.webex import (
    DropRequest,
    DropResponse,
    RequestInfo,
    WebexRecord,
    WebexSimulator,
)

__all__ = ["wclient", "webex"]  # fixtures

HOST = {"hostEmail": ALICE}


class Tick:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_per_minute_budget_answers_429_with_retry_after(
    webex: WebexSimulator, wclient: WebexClient
) -> None:
    tick = Tick()
    webex.rate_clock = tick
    webex.per_minute = 3
    for _ in range(3):
        assert (await wclient.call("GET", "/meetings", params=HOST)).status == 200
    tick.now += 20
    throttled = await wclient.call("GET", "/meetings", params=HOST)
    assert throttled.status == 429
    assert throttled.headers["Retry-After"] == "40"
    assert throttled.headers["Content-Type"].startswith("text/html")  # not JSON: read the header
    webex.throttle_html = False
    json_body = await wclient.call("GET", "/meetings", params=HOST)
    assert json_body.status == 429
    assert set(json_body.body) == {"message", "errors", "trackingId"}
    tick.now += 41
    assert (await wclient.call("GET", "/meetings", params=HOST)).status == 200
    unauthenticated = await wclient.call("GET", "/meetings", token="nope")
    assert unauthenticated.status == 401  # refused requests are not counted


async def test_creates_are_charged_even_when_they_fail(clock: Clock) -> None:
    async with started(now=clock, creates_per_host=2) as sim, aiohttp.ClientSession() as session:
        client = WebexClient(sim, session)
        assert (await client.create()).status == 200
        assert (await client.create(password="x")).status == 400  # still charged
        assert sim.creates_today(ALICE) == 2
        refused = await client.create()
        assert refused.status == 429
        assert int(refused.headers["Retry-After"]) == 24 * 3600
        assert (await client.create(host=BOB)).status == 200  # per host
        clock.advance(hours=24)
        assert (
            await client.create(start="2030-03-06T09:00:00Z", end="2030-03-06T10:00:00Z")
        ).status == 200


async def test_overall_create_quota(clock: Clock) -> None:
    async with started(now=clock, creates_overall=1) as sim, aiohttp.ClientSession() as session:
        client = WebexClient(sim, session)
        assert (await client.create()).status == 200
        assert (await client.create(host=BOB)).status == 429


@pytest.mark.parametrize("target", ["api", "token"])
async def test_injected_server_errors(clock: Clock, target: str) -> None:
    faults = Faults(error_rate=1.0, seed=3)
    async with started(now=clock, faults=faults) as sim, aiohttp.ClientSession() as session:
        client = WebexClient(sim, session)
        statuses = set()
        for _ in range(12):
            answer = (
                await client.call("GET", "/meetings", params=HOST)
                if target == "api"
                else await client.refresh()
            )
            statuses.add(answer.status)
            assert set(answer.body) >= {"message", "errors", "trackingId"}
            assert answer.headers["trackingid"] == answer.body["trackingId"]
        assert statuses == {502, 503, 504}


async def test_injected_throttling_carries_retry_after(clock: Clock) -> None:
    faults = Faults(throttle_rate=1.0, throttle_retry_after_s=7)
    async with started(now=clock, faults=faults) as sim, aiohttp.ClientSession() as session:
        client = WebexClient(sim, session)
        answer = await client.call("GET", "/meetings", params=HOST)
        assert answer.status == 429
        assert answer.headers["Retry-After"] == "7"
        assert sim.meetings() == []


async def test_a_lost_answer_keeps_the_meeting(webex: WebexSimulator, wclient: WebexClient) -> None:
    async def lose(record: WebexRecord) -> None:
        if record.operation == "meetings.create":
            raise DropResponse

    webex.after_request.append(lose)
    with pytest.raises(aiohttp.ClientError):
        await wclient.create(integrationTags=["hc-1"])
    assert len(webex.meetings()) == 1
    assert webex.request_log[-1].dropped == "response"
    webex.after_request.clear()
    found = await wclient.call(
        "GET",
        "/meetings",
        params={**HOST, "integrationTag": "hc-1"},
    )
    assert len(found.body["items"]) == 1


async def test_a_dropped_request_changes_nothing(
    webex: WebexSimulator, wclient: WebexClient
) -> None:
    async def drop(info: RequestInfo) -> None:
        if info.method == "POST":
            raise DropRequest

    webex.before_request.append(drop)
    with pytest.raises(aiohttp.ClientError):
        await wclient.create()
    assert webex.meetings() == []
    assert webex.request_log[-1].status == 0
    assert webex.request_log[-1].dropped == "request"


async def test_inspection(webex: WebexSimulator, wclient: WebexClient) -> None:
    made = (await wclient.create()).body
    await wclient.call("GET", f"/meetings/{made['id']}", params=HOST)
    await wclient.call("DELETE", f"/meetings/{made['id']}", params=HOST)
    await wclient.refresh()
    ops = webex.operations()
    assert ops["meetings.create"] == 1
    assert ops["meetings.get"] == 1
    assert ops["meetings.delete"] == 1
    assert ops["token.refresh"] == 1
    assert [r.status for r in webex.calls("DELETE", "/v1/meetings/")] == [204]
    assert all(r.tracking_id.startswith("SANDBOX_") for r in webex.request_log)
    await webex.drain()


async def test_control_panel(webex: WebexSimulator) -> None:
    async with aiohttp.ClientSession() as session:
        base = webex.base_url
        async with session.post(f"{base}/_control/users", json={"email": "new@example.com"}) as r:
            assert r.status == 201
        async with session.post(f"{base}/_control/tokens") as r:
            tokens = await r.json()
            assert set(tokens) == {"client_id", "client_secret", "access_token", "refresh_token"}
        async with session.get(f"{base}/_control/stats") as r:
            assert (await r.json())["tokens_issued"] == 1
        async with session.post(f"{base}/_control/revoke") as r:
            assert r.status == 200
        headers = {"Authorization": f"Bearer {tokens['access_token']}"}
        async with session.get(f"{webex.api_root}/meetings", headers=headers) as r:
            assert r.status == 401
        async with session.get(f"{base}/_control/meetings") as r:
            assert await r.json() == []
    assert webex.request_log[-1].status == 401  # control calls are not logged
