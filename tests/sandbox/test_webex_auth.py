"""Service App tokens of the Webex simulator: refresh grant, expiry, revocation, scopes."""

from __future__ import annotations

import base64

import aiohttp
from tests.sandbox.test_webex_support import ALICE, WebexClient, started, wclient, webex
from tests.sandbox.zoom_support import Clock

from hybridcal.sandbox.webex import SCHEDULE_READ, SCHEDULE_WRITE, WebexSimulator

__all__ = ["wclient", "webex"]  # fixtures


async def test_refresh_answers_a_new_access_token(
    webex: WebexSimulator, wclient: WebexClient
) -> None:
    answer = await wclient.refresh()
    assert answer.status == 200, answer.body
    body = answer.body
    assert set(body) == {
        "access_token",
        "expires_in",
        "refresh_token",
        "refresh_token_expires_in",
        "token_type",
    }
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 14 * 86400
    assert body["refresh_token_expires_in"] == 90 * 86400
    assert body["refresh_token"] == wclient.refresh_token
    assert body["access_token"] != wclient.access_token
    for token in (wclient.access_token, body["access_token"]):
        listed = await wclient.call("GET", "/meetings", params={"hostEmail": ALICE}, token=token)
        assert listed.status == 200
    record = webex.calls("POST", "/v1/access_token")[0]
    assert record.operation == "token.refresh"
    assert "client_secret" not in record.body
    assert "access_token" not in record.response
    assert webex.tokens_issued == 2


async def test_client_credentials_may_come_as_basic(
    webex: WebexSimulator, wclient: WebexClient
) -> None:
    pair = base64.b64encode(f"{wclient.client_id}:{wclient.client_secret}".encode()).decode()
    data = {"grant_type": "refresh_token", "refresh_token": wclient.refresh_token}
    async with wclient.session.post(
        webex.token_url, data=data, headers={"Authorization": f"Basic {pair}"}
    ) as response:
        assert response.status == 200


async def test_refresh_refusals(webex: WebexSimulator, wclient: WebexClient) -> None:
    wrong_secret = await wclient.refresh(client_secret="nope")
    assert wrong_secret.status == 401
    assert wrong_secret.body["error"] == "invalid_client"
    assert set(wrong_secret.body) >= {"message", "errors", "trackingId"}
    wrong_grant = await wclient.refresh(grant_type="client_credentials")
    assert wrong_grant.status == 400
    assert wrong_grant.body["error"] == "unsupported_grant_type"
    unknown = await wclient.refresh(refresh_token="made-up")
    assert unknown.status == 400
    assert unknown.body["error"] == "invalid_grant"
    async with wclient.session.post(
        webex.token_url, json={"grant_type": "refresh_token"}
    ) as response:
        assert response.status == 400  # form-encoded only
    async with wclient.session.get(webex.token_url) as response:
        assert response.status == 405


async def test_access_tokens_expire_by_the_clock(
    webex: WebexSimulator, wclient: WebexClient, clock: Clock
) -> None:
    params = {"hostEmail": ALICE}
    assert (await wclient.call("GET", "/meetings", params=params)).status == 200
    clock.advance(days=14)
    expired = await wclient.call("GET", "/meetings", params=params)
    assert expired.status == 401
    assert expired.body["message"].startswith("The request requires a valid access token")
    assert expired.descriptions() == ["The access token has expired."]
    fresh = await wclient.refresh()
    assert fresh.status == 200
    ok = await wclient.call("GET", "/meetings", params=params, token=fresh.body["access_token"])
    assert ok.status == 200


async def test_refresh_token_lifetime_restarts_on_use(wclient: WebexClient, clock: Clock) -> None:
    clock.advance(days=80)
    assert (await wclient.refresh()).status == 200
    clock.advance(days=80)
    assert (await wclient.refresh()).status == 200
    clock.advance(days=91)
    expired = await wclient.refresh()
    assert expired.status == 400
    assert expired.body["error"] == "invalid_grant"


async def test_revoked_authorisation_stops_every_token(
    webex: WebexSimulator, wclient: WebexClient
) -> None:
    webex.revoke()
    answer = await wclient.call("GET", "/meetings", params={"hostEmail": ALICE})
    assert answer.status == 401
    refused = await wclient.refresh()
    assert refused.status == 400
    assert refused.body["error"] == "invalid_grant"
    _, _, access, _ = webex.issue_service_app_tokens()  # the admin authorises it again
    again = await wclient.call("GET", "/meetings", params={"hostEmail": ALICE}, token=access)
    assert again.status == 200


async def test_missing_or_malformed_bearer_is_401(wclient: WebexClient) -> None:
    for token in ("", "nonsense"):
        answer = await wclient.call("GET", "/meetings", token=token)
        assert answer.status == 401
    answer = await wclient.call(
        "GET", "/meetings", token="", headers={"Authorization": f"Basic {wclient.access_token}"}
    )
    assert answer.status == 401


async def test_each_route_needs_its_admin_scope(clock: Clock) -> None:
    async with (
        started(now=clock, scopes=[SCHEDULE_READ]) as sim,
        aiohttp.ClientSession() as session,
    ):
        client = WebexClient(sim, session)
        assert (await client.call("GET", "/meetings", params={"hostEmail": ALICE})).status == 200
        refused = await client.create()
        assert refused.status == 403
        assert SCHEDULE_WRITE in refused.descriptions()[0]
        room = await client.call(
            "GET", "/meetingPreferences/personalMeetingRoom", params={"userEmail": ALICE}
        )
        assert room.status == 403
