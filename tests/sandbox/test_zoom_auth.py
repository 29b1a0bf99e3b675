"""Server-to-Server OAuth grants, bearer checks, scopes and routing of the Zoom simulator."""

from __future__ import annotations

import pytest
from tests.sandbox.zoom_support import ALICE, Clock, ZoomClient, basic, client_for

from hybridcal.sandbox.zoom import ZoomSimulator


async def test_grant_answers_a_bearer_token_without_refresh(
    zoom: ZoomSimulator, client: ZoomClient
) -> None:
    answer = await client.grant()
    assert answer.status == 200
    body = answer.body
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    assert body["scope"] == "meeting:read:admin meeting:write:admin user:read:admin"
    assert body["api_url"] == zoom.base_url
    assert "refresh_token" not in body
    assert zoom.tokens_issued == 1
    assert zoom.oauth_root == zoom.base_url
    assert zoom.api_root == zoom.base_url + "/v2"
    record = zoom.calls("POST", "/oauth/token")[0]
    assert record.status == 200
    assert record.client_id == client.app.client_id
    assert "access_token" not in record.response


async def test_several_tokens_are_valid_at_once(zoom: ZoomSimulator, client: ZoomClient) -> None:
    first = await client.token()
    second = await client.token()
    assert first != second
    for token in (first, second):
        assert (await client.call("GET", f"/users/{ALICE}", token=token)).status == 200
    assert zoom.tokens_issued == 2


async def test_grant_parameters_may_come_as_form_body(client: ZoomClient) -> None:
    form = {"grant_type": "account_credentials", "account_id": client.app.account_id}
    answer = await client.grant(params={}, form=form)
    assert answer.status == 200


@pytest.mark.parametrize("secret", ["wrong", ""])
async def test_bad_secret_is_invalid_client(client: ZoomClient, secret: str) -> None:
    answer = await client.grant(authorization=basic(client.app, secret))
    assert answer.status == 400
    assert answer.body == {
        "reason": "Invalid client_id or client_secret",
        "error": "invalid_client",
    }


@pytest.mark.parametrize("authorization", ["Bearer abc", "Basic !!!", "Basic " + "eA=="])
async def test_malformed_basic_is_invalid_client(client: ZoomClient, authorization: str) -> None:
    answer = await client.grant(authorization=authorization)
    assert answer.body["error"] == "invalid_client"


async def test_wrong_account_is_invalid_request(client: ZoomClient) -> None:
    answer = await client.grant(
        params={"grant_type": "account_credentials", "account_id": "someoneelse"}
    )
    assert answer.status == 400
    assert answer.body == {"reason": "Invalid account_id", "error": "invalid_request"}


@pytest.mark.parametrize("grant_type", ["client_credentials", "refresh_token", ""])
async def test_other_grant_types_are_refused(client: ZoomClient, grant_type: str) -> None:
    answer = await client.grant(
        params={"grant_type": grant_type, "account_id": client.app.account_id}
    )
    assert answer.status == 400
    assert answer.body["error"] == "unsupported_grant_type"


async def test_revoked_app_loses_tokens_and_grants(zoom: ZoomSimulator, client: ZoomClient) -> None:
    token = await client.token()
    zoom.revoke_app(client.app.client_id)
    answer = await client.call("GET", f"/users/{ALICE}", token=token)
    assert (answer.status, answer.body) == (401, {"code": 124, "message": "Invalid access token."})
    assert (await client.grant()).body["error"] == "invalid_client"


@pytest.mark.parametrize("token", ["", "not-a-token"])
async def test_missing_or_unknown_token_is_401_code_124(client: ZoomClient, token: str) -> None:
    answer = await client.call("GET", f"/users/{ALICE}", token=token)
    assert answer.status == 401
    assert answer.body == {"code": 124, "message": "Invalid access token."}


async def test_token_expires_after_an_hour_by_the_clock(client: ZoomClient, clock: Clock) -> None:
    token = await client.token()
    clock.advance(minutes=59)
    assert (await client.call("GET", f"/users/{ALICE}", token=token)).status == 200
    clock.advance(minutes=1)
    answer = await client.call("GET", f"/users/{ALICE}", token=token)
    assert answer.status == 401
    assert answer.code == 124


async def test_missing_scope_is_4711_naming_the_scope(zoom: ZoomSimulator) -> None:
    async with client_for(zoom, ["user:read:admin"]) as limited:
        assert (await limited.call("GET", f"/users/{ALICE}")).status == 200
        answer = await limited.create()
    assert answer.status == 400
    assert answer.code == 4711
    assert answer.body["message"].startswith(
        "Invalid access token, does not contain scopes:[meeting:write:admin"
    )
    assert zoom.meetings() == []


async def test_default_scopes_exclude_account_settings(
    zoom: ZoomSimulator, client: ZoomClient
) -> None:
    answer = await client.call(
        "GET", "/accounts/me/settings", params={"option": "meeting_security"}
    )
    assert answer.status == 400
    assert answer.code == 4711
    assert "account:read:admin" in answer.body["message"]
    async with client_for(zoom, ["account:read:admin"]) as admin:
        ok = await admin.call("GET", "/accounts/me/settings", params={"option": "meeting_security"})
    assert ok.status == 200


async def test_granular_scopes_each_open_only_their_endpoint(zoom: ZoomSimulator) -> None:
    scopes = ["meeting:write:meeting:admin", "meeting:read:meeting:admin", "user:read:user:admin"]
    async with client_for(zoom, scopes) as granular:
        created = await granular.create()
        assert created.status == 201
        meeting_id = created.body["id"]
        assert (await granular.call("GET", f"/meetings/{meeting_id}")).status == 200
        assert (await granular.call("GET", f"/users/{ALICE}")).status == 200
        listed = await granular.call("GET", f"/users/{ALICE}/meetings")
        patched = await granular.call("PATCH", f"/meetings/{meeting_id}", json={"topic": "x"})
        deleted = await granular.call("DELETE", f"/meetings/{meeting_id}")
        settings = await granular.call("GET", f"/users/{ALICE}/settings")
    assert [a.code for a in (listed, patched, deleted, settings)] == [4711] * 4
    assert "meeting:read:list_meetings:admin" in listed.body["message"]


async def test_unknown_route_and_wrong_method_answer_json(client: ZoomClient) -> None:
    missing = await client.call("GET", "/webinars/1")
    assert missing.status == 404
    assert missing.code == 404
    wrong = await client.call("PUT", "/meetings/123", json={})
    assert wrong.status == 405
    assert wrong.code == 405
    async with client.session.get(f"{client.sim.base_url}/nothing") as outside:
        assert outside.status == 404
        assert (await outside.json())["code"] == 404
