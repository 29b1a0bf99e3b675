"""Token endpoint and bearer checks, driven by google-auth and google-api-python-client."""

from __future__ import annotations

import asyncio

import aiohttp
import google.auth.transport.requests
import pytest
from google.auth.exceptions import RefreshError
from googleapiclient.errors import HttpError
from tests.sandbox.google_support import ALICE, ROOM, CalendarFactory, credentials, run, service

from hybridcal.sandbox.google import CALENDAR_SCOPE, GoogleSimulator
from hybridcal.sandbox.keys import generate_service_account


async def refresh(
    sim: GoogleSimulator, info: dict[str, str], subject: str, scopes: list[str] | None = None
) -> str:
    creds = credentials(sim, info, subject, scopes)
    await asyncio.to_thread(creds.refresh, google.auth.transport.requests.Request())
    return str(creds.token)


async def test_delegated_grant_returns_bearer_token(
    sim: GoogleSimulator, sa_info: dict[str, str]
) -> None:
    token = await refresh(sim, sa_info, ALICE)
    assert token.startswith("ya29.")
    grant = [r for r in sim.request_log if r.path == "/token"]
    assert [r.status for r in grant] == [200]


async def test_scope_not_delegated_is_unauthorized_client(
    sim: GoogleSimulator, sa_info: dict[str, str]
) -> None:
    with pytest.raises(RefreshError) as info:
        await refresh(sim, sa_info, ALICE, ["https://www.googleapis.com/auth/drive"])
    assert info.value.args[1]["error"] == "unauthorized_client"
    assert "not authorized" in info.value.args[1]["error_description"]


async def test_revoked_delegation_is_unauthorized_client(
    sim: GoogleSimulator, sa_info: dict[str, str]
) -> None:
    sim.revoke_delegation(sa_info["client_id"])
    with pytest.raises(RefreshError) as info:
        await refresh(sim, sa_info, ALICE)
    assert info.value.args[1]["error"] == "unauthorized_client"


@pytest.mark.parametrize("subject", ["nobody@example.com", ROOM])
async def test_unknown_user_or_room_is_invalid_grant(
    sim: GoogleSimulator, sa_info: dict[str, str], subject: str
) -> None:
    with pytest.raises(RefreshError) as info:
        await refresh(sim, sa_info, subject)
    assert info.value.args[1]["error"] == "invalid_grant"


async def test_signature_from_another_key_is_rejected(
    sim: GoogleSimulator, sa_info: dict[str, str]
) -> None:
    forged = generate_service_account()
    forged.update(
        client_email=sa_info["client_email"],
        client_id=sa_info["client_id"],
        private_key_id=sa_info["private_key_id"],
    )
    with pytest.raises(RefreshError) as info:
        await refresh(sim, forged, ALICE)
    assert info.value.args[1]["error"] == "invalid_grant"
    assert "Signature" in info.value.args[1]["error_description"]


async def test_api_needs_a_valid_bearer_token(sim: GoogleSimulator) -> None:
    url = f"{sim.calendar_root}calendars/primary/events"
    async with aiohttp.ClientSession() as http:
        async with http.get(url) as resp:
            assert resp.status == 401
            body = await resp.json()
            assert body["error"]["errors"][0]["reason"] == "required"
        async with http.get(url, headers={"Authorization": "Bearer forged"}) as resp:
            assert resp.status == 401
            body = await resp.json()
            assert body["error"]["errors"][0]["reason"] == "authError"
            assert body["error"]["code"] == 401


async def test_expired_access_token_is_refused(sa_info: dict[str, str]) -> None:
    clock = {"now": __import__("datetime").datetime(2030, 1, 1, tzinfo=__import__("datetime").UTC)}
    sim = GoogleSimulator(now=lambda: clock["now"])
    await sim.start()
    try:
        sim.register_service_account(sa_info)
        sim.grant_delegation(sa_info["client_id"], [CALENDAR_SCOPE])
        sim.add_user(ALICE)
        svc = service(sim, sa_info, ALICE)
        await run(svc.settings().get(setting="timezone"))
        clock["now"] = clock["now"].replace(hour=2)
        token = next(iter(sim._tokens._tokens))  # the one issued token
        async with aiohttp.ClientSession() as http:
            url = f"{sim.calendar_root}users/me/settings/timezone"
            async with http.get(url, headers={"Authorization": f"Bearer {token}"}) as resp:
                assert resp.status == 401
    finally:
        await sim.close()


async def test_token_without_calendar_scope_gets_insufficient_permissions(
    sim: GoogleSimulator, sa_info: dict[str, str]
) -> None:
    svc = service(
        sim, sa_info, ALICE, scopes=["https://www.googleapis.com/auth/gmail.settings.basic"]
    )
    with pytest.raises(HttpError) as info:
        await run(svc.events().list(calendarId="primary"))
    assert info.value.status_code == 403
    assert info.value.error_details[0]["reason"] == "insufficientPermissions"


async def test_settings_locale_and_timezone(
    sim: GoogleSimulator, calendar: CalendarFactory
) -> None:
    svc = calendar("bob@example.com")
    locale = await run(svc.settings().get(setting="locale"))
    zone = await run(svc.settings().get(setting="timezone"))
    assert (locale["value"], zone["value"]) == ("de", "Europe/Berlin")
    assert locale["kind"] == "calendar#setting"
    with pytest.raises(HttpError) as info:
        await run(svc.settings().get(setting="nonsense"))
    assert info.value.status_code == 404
