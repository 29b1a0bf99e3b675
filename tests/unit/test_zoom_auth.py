"""ZoomTokens against the Zoom simulator's Server-to-Server OAuth token endpoint."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import aiohttp
import pytest
from tests.sandbox.zoom_support import Clock, started

from hybridcal.connectors.errors import AuthError, TransientError
from hybridcal.connectors.meetings.zoom_auth import EARLY_REFRESH, ZoomTokens
from hybridcal.sandbox.zoom import ZoomApp, ZoomSimulator

SCOPES = ("meeting:read:admin", "meeting:write:admin", "user:read:admin")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def sim(clock: Clock) -> AsyncIterator[ZoomSimulator]:
    async with started(now=clock) as simulator:
        yield simulator


@pytest.fixture
def app(sim: ZoomSimulator) -> ZoomApp:
    return sim.create_app(SCOPES)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def tokens_for(
    sim: ZoomSimulator,
    http: aiohttp.ClientSession,
    app: ZoomApp,
    clock: Clock,
    *,
    account_id: str | None = None,
    client_secret: str | None = None,
) -> ZoomTokens:
    return ZoomTokens(
        session=http,
        oauth_root=sim.oauth_root + "/",
        account_id=app.account_id if account_id is None else account_id,
        client_id=app.client_id,
        client_secret=app.client_secret if client_secret is None else client_secret,
        now=clock,
    )


def grants(sim: ZoomSimulator) -> list[int]:
    return [r.status for r in sim.calls("POST", "/oauth/token")]


async def test_a_grant_brings_the_apps_scopes_and_expiry(
    sim: ZoomSimulator, http: aiohttp.ClientSession, app: ZoomApp, clock: Clock
) -> None:
    tokens = tokens_for(sim, http, app, clock)
    token = await tokens.token()
    assert token.scopes == frozenset(SCOPES)
    assert token.expires_at == clock() + timedelta(hours=1)
    assert token.value
    assert tokens.grants == 1
    assert grants(sim) == [200]
    [record] = sim.calls("POST", "/oauth/token")
    assert record.query == {"grant_type": "account_credentials", "account_id": app.account_id}
    async with http.get(
        f"{sim.api_root}/users/alice@example.com",
        headers={"Authorization": f"Bearer {token.value}"},
    ) as resp:
        assert resp.status == 200  # the token works for the API


async def test_the_token_is_reused_until_five_minutes_before_expiry(
    sim: ZoomSimulator, http: aiohttp.ClientSession, app: ZoomApp, clock: Clock
) -> None:
    tokens = tokens_for(sim, http, app, clock)
    first = await tokens.token()
    clock.advance(minutes=54, seconds=59)
    assert await tokens.token() is first
    assert tokens.grants == 1
    clock.advance(seconds=1)  # now exactly expires_at - 5 min
    assert first.expires_at - clock() == EARLY_REFRESH
    second = await tokens.token()
    assert second is not first
    assert second.value != first.value
    assert tokens.grants == 2
    assert second.expires_at == clock() + timedelta(hours=1)
    assert await tokens.token() is second


async def test_concurrent_callers_share_one_grant(
    sim: ZoomSimulator, http: aiohttp.ClientSession, app: ZoomApp, clock: Clock
) -> None:
    tokens = tokens_for(sim, http, app, clock)
    got = await asyncio.gather(*(tokens.token() for _ in range(10)))
    assert tokens.grants == 1
    assert sim.tokens_issued == 1
    assert len({t.value for t in got}) == 1


async def test_forget_forces_a_new_grant_only_for_the_current_token(
    sim: ZoomSimulator, http: aiohttp.ClientSession, app: ZoomApp, clock: Clock
) -> None:
    tokens = tokens_for(sim, http, app, clock)
    first = await tokens.token()
    tokens.forget(first)
    second = await tokens.token()
    assert second.value != first.value
    assert tokens.grants == 2
    tokens.forget(first)  # an older token: the current one stays
    assert await tokens.token() is second
    assert tokens.grants == 2


async def test_a_wrong_secret_says_to_copy_the_credentials_again(
    sim: ZoomSimulator, http: aiohttp.ClientSession, app: ZoomApp, clock: Clock
) -> None:
    wrong = "W" * 32
    tokens = tokens_for(sim, http, app, clock, client_secret=wrong)
    with pytest.raises(AuthError) as refused:
        await tokens.token()
    message = str(refused.value)
    assert "client ID or client secret" in message
    assert "App Credentials" in message
    assert wrong not in message
    assert app.client_secret not in message
    assert grants(sim) == [400]


async def test_a_wrong_account_id_says_to_copy_zoom_account_id(
    sim: ZoomSimulator, http: aiohttp.ClientSession, app: ZoomApp, clock: Clock
) -> None:
    tokens = tokens_for(sim, http, app, clock, account_id="otheraccount")
    with pytest.raises(AuthError) as refused:
        await tokens.token()
    message = str(refused.value)
    assert "account ID" in message
    assert "zoom.account_id" in message
    assert "client secret" not in message
    assert app.client_secret not in message


async def test_a_revoked_app_says_to_check_the_app(
    sim: ZoomSimulator, http: aiohttp.ClientSession, app: ZoomApp, clock: Clock
) -> None:
    tokens = tokens_for(sim, http, app, clock)
    await tokens.token()
    sim.revoke_app(app.client_id)
    tokens.forget(await tokens.token())
    with pytest.raises(AuthError) as refused:
        await tokens.token()
    message = str(refused.value)
    assert "activated" in message
    assert app.client_secret not in message


async def test_a_server_error_of_the_token_endpoint_is_transient(
    sim: ZoomSimulator, http: aiohttp.ClientSession, app: ZoomApp, clock: Clock
) -> None:
    tokens = tokens_for(sim, http, app, clock)
    sim.token_error_rate = 1.0
    with pytest.raises(TransientError, match="HTTP 500"):
        await tokens.token()
    sim.token_error_rate = 0.0
    assert (await tokens.token()).value  # nothing was cached from the failure
    assert grants(sim) == [500, 200]


async def test_an_unreachable_token_endpoint_is_transient(
    http: aiohttp.ClientSession, clock: Clock
) -> None:
    simulator = ZoomSimulator(now=clock)
    await simulator.start()
    app = simulator.create_app()
    await simulator.close()  # nothing listens there any more
    tokens = tokens_for(simulator, http, app, clock)
    with pytest.raises(TransientError):
        await tokens.token()


async def test_repr_of_a_token_never_shows_it(
    sim: ZoomSimulator, http: aiohttp.ClientSession, app: ZoomApp, clock: Clock
) -> None:
    token = await tokens_for(sim, http, app, clock).token()
    for shown in (repr(token), str(token), f"{token!r}", repr([token])):
        assert token.value not in shown
        assert "expires_at=" in shown
