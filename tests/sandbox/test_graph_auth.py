"""Entra ID token endpoint, Graph token checks, consent, access policy, users, mailbox settings."""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from msgraph.generated.models.automatic_replies_status import AutomaticRepliesStatus
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from tests.sandbox.graph_support import ALICE, BOB, GRAPH_SCOPE, ROOM, Env, graph_env, make_client

from hybridcal.sandbox.microsoft import SANDBOX_TENANT_ID


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    async with graph_env() as found:
        yield found


async def _grant(env: Env, form: dict[str, str], tenant: str | None = None) -> tuple[int, Any]:
    url = f"{env.sim.authority}/{tenant or env.sim.tenant_id}/oauth2/v2.0/token"
    async with env.session.post(url, data=form) as resp:
        return resp.status, await resp.json()


def _form(env: Env, **changes: str) -> dict[str, str]:
    form = {
        "grant_type": "client_credentials",
        "client_id": env.app.client_id,
        "client_secret": env.app.client_secret,
        "scope": GRAPH_SCOPE,
    }
    form.update(changes)
    return {k: v for k, v in form.items() if v}


async def test_client_credentials_grant_answers_like_entra(env: Env) -> None:
    status, body = await _grant(env, _form(env))
    assert status == 200
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3599
    assert body["ext_expires_in"] == 3599
    claims = json.loads(base64.urlsafe_b64decode(body["access_token"].split(".")[1] + "=="))
    assert claims["roles"] == ["Calendars.ReadWrite", "MailboxSettings.Read", "User.Read.All"]
    assert claims["tid"] == SANDBOX_TENANT_ID
    assert claims["appid"] == env.app.client_id
    status, _ = await _grant(env, _form(env), tenant=env.sim.domain)
    assert status == 200


@pytest.mark.parametrize(
    ("changes", "tenant", "status", "error", "code"),
    [
        ({"client_secret": "wrong"}, None, 401, "invalid_client", 7000215),
        ({"client_secret": ""}, None, 401, "invalid_client", 7000218),
        ({"client_id": str(uuid.UUID(int=1))}, None, 400, "unauthorized_client", 700016),
        ({}, "fabrikam.example", 400, "invalid_request", 90002),
        ({"scope": "Calendars.ReadWrite"}, None, 400, "invalid_scope", 1002012),
        ({"scope": "https://outlook.office.com/.default"}, None, 400, "invalid_resource", 500011),
        ({"grant_type": "password"}, None, 400, "unsupported_grant_type", 70003),
        ({"scope": ""}, None, 400, "invalid_request", 900144),
    ],
)
async def test_token_errors_carry_aadsts_codes(
    env: Env, changes: dict[str, str], tenant: str | None, status: int, error: str, code: int
) -> None:
    got, body = await _grant(env, _form(env, **changes), tenant)
    assert (got, body["error"], body["error_codes"]) == (status, error, [code])
    assert body["error_description"].startswith(f"AADSTS{code}: ")
    assert "Trace ID:" in body["error_description"]


def _certificate() -> tuple[rsa.RSAPrivateKey, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hybridcal")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return key, cert.public_bytes(serialization.Encoding.PEM)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _assertion(key: rsa.RSAPrivateKey, pem: bytes, claims: dict[str, Any]) -> str:
    der = x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)
    header = {"alg": "RS256", "typ": "JWT", "x5t": _b64(hashlib.sha1(der).digest())}
    signed = _b64(json.dumps(header).encode()) + "." + _b64(json.dumps(claims).encode())
    signature = key.sign(signed.encode(), padding.PKCS1v15(), hashes.SHA256())
    return signed + "." + _b64(signature)


async def test_certificate_credential_is_verified(env: Env) -> None:
    key, pem = _certificate()
    thumbprint = env.sim.add_certificate(env.app.client_id, pem)
    assert len(thumbprint) == 40
    now = int(time.time())
    claims = {
        "aud": env.sim.token_url,
        "iss": env.app.client_id,
        "sub": env.app.client_id,
        "jti": str(uuid.uuid4()),
        "nbf": now,
        "exp": now + 600,
    }
    form = _form(env, client_secret="")
    form["client_assertion_type"] = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    form["client_assertion"] = _assertion(key, pem, claims)
    status, body = await _grant(env, form)
    assert status == 200, body
    other_key, _ = _certificate()
    form["client_assertion"] = _assertion(other_key, pem, claims)
    status, body = await _grant(env, form)
    assert (status, body["error_codes"]) == (401, [700027])
    form["client_assertion"] = _assertion(key, pem, {**claims, "exp": now - 3600})
    status, body = await _grant(env, form)
    assert (status, body["error_codes"]) == (401, [700024])


async def test_graph_rejects_missing_forged_and_expired_tokens(env: Env) -> None:
    async with env.session.get(f"{env.sim.graph_root}/users/{ALICE}") as resp:
        body = await resp.json()
        assert resp.status == 401
        assert body["error"]["code"] == "InvalidAuthenticationToken"
        assert body["error"]["innerError"]["request-id"] == resp.headers["request-id"]
    status, body, _ = await env.raw("GET", f"/users/{ALICE}", token="not-a-jwt")
    assert (status, body["error"]["code"]) == (401, "InvalidAuthenticationToken")
    good = await env.token()
    forged = good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")
    status, _, _ = await env.raw("GET", f"/users/{ALICE}", token=forged)
    assert status == 401
    env.sim.invalidate_tokens()
    status, body, _ = await env.raw("GET", f"/users/{ALICE}", token=good)
    assert status == 401


async def test_expired_token_by_the_simulator_clock() -> None:
    clock = [datetime(2026, 12, 1, 9, 0, tzinfo=UTC)]
    async with graph_env(now=lambda: clock[0]) as env:
        token = await env.token()
        status, _, _ = await env.raw("GET", f"/users/{ALICE}", token=token)
        assert status == 200
        clock[0] += timedelta(hours=1)
        status, body, _ = await env.raw("GET", f"/users/{ALICE}", token=token)
        assert status == 401
        assert "expired" in body["error"]["message"]


async def test_users_by_upn_and_guid_through_the_sdk(env: Env) -> None:
    user = await env.client.users.by_user_id(ALICE.upper()).get()
    assert user is not None
    assert user.id == env.ids[ALICE]
    assert user.mail == ALICE
    assert user.display_name == "Alice Liddell"
    assert user.user_principal_name == ALICE
    by_id = await env.client.users.by_user_id(env.ids[ROOM]).get()
    assert by_id is not None
    assert by_id.display_name == "Room Matterhorn"
    with pytest.raises(ODataError) as caught:
        await env.client.users.by_user_id("nobody@contoso.example").get()
    assert caught.value.response_status_code == 404
    assert caught.value.error is not None
    assert caught.value.error.code == "Request_ResourceNotFound"
    record = next(r for r in env.sim.request_log if r.operation == "users.get")
    assert record.path == f"/v1.0/users/{ALICE.upper()}"
    assert record.status == 200


async def test_mailbox_settings_with_automatic_replies(env: Env) -> None:
    start = datetime(2026, 12, 20, 8, 0, tzinfo=UTC)
    env.sim.set_automatic_replies(
        BOB, status="scheduled", start=start, end=start + timedelta(days=5), message="Away"
    )
    settings = await env.client.users.by_user_id(BOB).mailbox_settings.get()
    assert settings is not None
    assert settings.time_zone == "Europe/Berlin"
    assert settings.language is not None
    assert settings.language.locale == "de-DE"
    replies = settings.automatic_replies_setting
    assert replies is not None
    assert replies.status is not None
    assert replies.status == AutomaticRepliesStatus.Scheduled
    assert replies.scheduled_start_date_time is not None
    assert replies.scheduled_start_date_time.date_time == "2026-12-20T08:00:00.0000000"
    assert replies.internal_reply_message == "Away"
    other = await env.client.users.by_user_id(ALICE).mailbox_settings.get()
    assert other is not None
    assert other.time_zone == "W. Europe Standard Time"


async def test_missing_consent_gives_a_token_without_roles_and_403() -> None:
    async with graph_env(consented=False) as env:
        status, body = await _grant(env, _form(env))
        assert status == 200
        claims = json.loads(base64.urlsafe_b64decode(body["access_token"].split(".")[1] + "=="))
        assert "roles" not in claims
        with pytest.raises(ODataError) as caught:
            await env.client.users.by_user_id(ALICE).events.get()
        assert caught.value.response_status_code == 403
        assert caught.value.error is not None
        assert caught.value.error.code == "ErrorAccessDenied"
        assert caught.value.error.message == "Access is denied. Check credentials and try again."
        status, body, _ = await env.raw("GET", f"/users/{ALICE}")
        assert (status, body["error"]["code"]) == (403, "Authorization_RequestDenied")
        env.sim.set_consent(env.app.client_id, consented=True)
        token = await env.token(env.app)
        status, _, _ = await env.raw("GET", f"/users/{ALICE}/events", token=token)
        assert status == 200


async def test_missing_permission_is_403() -> None:
    async with graph_env(permissions=["Calendars.Read", "User.Read.All"]) as env:
        status, body, _ = await env.raw("GET", f"/users/{ALICE}/mailboxSettings")
        assert (status, body["error"]["code"]) == (403, "ErrorAccessDenied")
        status, _, _ = await env.raw("GET", f"/users/{ALICE}/events")
        assert status == 200
        status, _, _ = await env.raw("PATCH", f"/users/{ALICE}/events/x", json={"subject": "x"})
        assert status == 403


async def test_application_access_policy_limits_mailboxes(env: Env) -> None:
    env.sim.restrict_app(env.app.client_id, [ALICE, ROOM])
    events = await env.client.users.by_user_id(ALICE).events.get()
    assert events is not None
    with pytest.raises(ODataError) as caught:
        await env.client.users.by_user_id(BOB).events.get()
    assert caught.value.response_status_code == 403
    assert caught.value.error is not None
    assert "ApplicationAccessPolicy" in (caught.value.error.message or "") or "AccessPolicy" in (
        caught.value.error.message or ""
    )
    user = await env.client.users.by_user_id(BOB).get()  # directory reads are not limited
    assert user is not None
    env.sim.restrict_app(env.app.client_id, None)
    assert await env.client.users.by_user_id(BOB).events.get() is not None


async def test_user_without_mailbox_and_me_and_unknown_segment(env: Env) -> None:
    env.sim.add_user("nomail@contoso.example", mailbox=False)
    status, body, _ = await env.raw("GET", "/users/nomail@contoso.example/events")
    assert (status, body["error"]["code"]) == (404, "MailboxNotEnabledForRESTAPI")
    status, body, _ = await env.raw("GET", "/users/ghost@contoso.example/events")
    assert (status, body["error"]["code"]) == (404, "ErrorInvalidUser")
    status, body, _ = await env.raw("GET", "/me/events")
    assert (status, body["error"]["code"]) == (400, "BadRequest")
    status, body, headers = await env.raw(
        "GET", f"/users/{ALICE}/bogus", headers={"client-request-id": "abc-123"}
    )
    assert status == 400
    assert body["error"]["message"] == "Resource not found for the segment 'bogus'."
    assert headers["client-request-id"] == "abc-123"
    assert body["error"]["innerError"]["client-request-id"] == "abc-123"


async def test_make_client_is_reusable_for_a_second_app(env: Env) -> None:
    other = env.sim.register_app(permissions=["User.Read.All"])
    client, http = make_client(env.sim, other)
    try:
        user = await client.users.by_user_id(ALICE).get()
        assert user is not None
        with pytest.raises(ODataError):
            await client.users.by_user_id(ALICE).events.get()
    finally:
        await http.aclose()
