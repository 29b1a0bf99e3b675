"""WebexTokens: refresh before expiry, rotation kept across replicas, refusals an admin can act on.

Against the Webex simulator (whose refresh token stays the same, as Webex's reference shows)
and against a small rotating token endpoint written here, which hands out a new refresh token
on every refresh and forgets the old one at once: the harshest reading of "store the returned
refresh token" (webex.md §1), under which two replicas refreshing together would lose the
authorisation unless the rotated token is kept with a compare-and-swap."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from tests.webex_support import MemoryVault, Record, started

from hybridcal.connectors.errors import TransientError
from hybridcal.connectors.meetings.webex_auth import (
    EARLY_REFRESH,
    NotAuthorizedError,
    WebexTokens,
    explain_token_error,
)
from hybridcal.crypto import RecordCipher, init_keyring
from hybridcal.sandbox.webex import WebexSimulator
from hybridcal.store.sqlite import SQLiteStore


class Clock:
    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


class RotatingEndpoint:
    """A token endpoint that rotates the refresh token on every use (the old one dies)."""

    def __init__(self) -> None:
        self.valid = {"r0"}
        self.counter = itertools.count(1)
        self.refreshes = 0
        self.gate: asyncio.Event | None = None  # holds answers back until set
        self.both_asked = asyncio.Event()  # set at the second refresh
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/v1/access_token", self._token)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/v1/access_token"

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _token(self, request: web.Request) -> web.Response:
        form = await request.post()
        self.refreshes += 1
        if self.refreshes >= 2:
            self.both_asked.set()
        if self.gate is not None:
            await self.gate.wait()
        old = str(form.get("refresh_token"))
        if old not in self.valid:
            return web.json_response(
                {"message": "The refresh token is invalid.", "error": "invalid_grant"}, status=400
            )
        self.valid.discard(old)
        n = next(self.counter)
        self.valid.add(f"r{n}")
        return web.json_response(
            {
                "access_token": f"a{n}",
                "expires_in": 1209599,
                "refresh_token": f"r{n}",
                "refresh_token_expires_in": 7775999,
                "token_type": "Bearer",
            }
        )


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def sim(clock: Clock) -> AsyncIterator[WebexSimulator]:
    async with started(now=clock) as simulator:
        yield simulator


@pytest.fixture
async def rotating() -> AsyncIterator[RotatingEndpoint]:
    endpoint = RotatingEndpoint()
    await endpoint.start()
    try:
        yield endpoint
    finally:
        await endpoint.close()


def tokens(
    http: aiohttp.ClientSession,
    vault: object,
    url: str,
    clock: Clock,
    *,
    client_id: str = "client",
    secret: str = "secret",
) -> WebexTokens:
    return WebexTokens(
        session=http,
        vault=vault,  # type: ignore[arg-type]
        token_url=url,
        client_id=client_id,
        client_secret=secret,
        now=clock,
    )


def seeded(refresh: str = "r0", **data: str) -> MemoryVault:
    vault = MemoryVault()
    vault.rows["webex"] = Record("webex", 1, {"refresh_token": refresh, **data})
    return vault


# -- against the simulator ------------------------------------------------------------------------


async def test_the_first_call_refreshes_and_stores_the_tokens(
    sim: WebexSimulator, http: aiohttp.ClientSession, clock: Clock
) -> None:
    client_id, secret, _access, refresh = sim.issue_service_app_tokens()
    vault = seeded(refresh, client_id=client_id)
    source = tokens(http, vault, sim.token_url, clock, client_id=client_id, secret=secret)
    token = await source.token()
    assert token.expires_at > clock() + timedelta(days=13)
    assert await source.token() is token  # cached: no second refresh
    assert source.refreshes == 1
    stored = vault.rows["webex"]
    assert stored.version == 2
    assert stored.data["access_token"] == token.value
    assert stored.data["refresh_token"] == refresh
    assert token.value not in repr(token)


async def test_a_fresh_stored_token_is_used_without_a_refresh(
    sim: WebexSimulator, http: aiohttp.ClientSession, clock: Clock
) -> None:
    """What another replica (or the authorize command) stored is good for everyone."""
    client_id, secret, access, refresh = sim.issue_service_app_tokens()
    expires = (clock() + timedelta(days=14)).isoformat()
    vault = seeded(refresh, client_id=client_id, access_token=access, expires_at=expires)
    source = tokens(http, vault, sim.token_url, clock, client_id=client_id, secret=secret)
    assert (await source.token()).value == access
    assert source.refreshes == 0


async def test_the_token_is_refreshed_before_it_expires(
    sim: WebexSimulator, http: aiohttp.ClientSession, clock: Clock
) -> None:
    client_id, secret, _access, refresh = sim.issue_service_app_tokens()
    vault = seeded(refresh, client_id=client_id)
    source = tokens(http, vault, sim.token_url, clock, client_id=client_id, secret=secret)
    first = await source.token()
    clock.offset = first.expires_at - datetime.now(UTC) - EARLY_REFRESH + timedelta(seconds=1)
    second = await source.token()
    assert second.value != first.value
    assert source.refreshes == 2


async def test_a_revoked_authorisation_says_what_to_do(
    sim: WebexSimulator, http: aiohttp.ClientSession, clock: Clock
) -> None:
    client_id, secret, _access, refresh = sim.issue_service_app_tokens()
    sim.revoke()
    source = tokens(
        http, seeded(refresh, client_id=client_id), sim.token_url, clock,
        client_id=client_id, secret=secret,
    )  # fmt: skip
    with pytest.raises(NotAuthorizedError) as refused:
        await source.token()
    assert "Control Hub" in str(refused.value)
    assert "hybridcal webex authorize" in str(refused.value)


async def test_a_wrong_client_secret_names_the_secret(
    sim: WebexSimulator, http: aiohttp.ClientSession, clock: Clock
) -> None:
    client_id, _secret, _access, refresh = sim.issue_service_app_tokens()
    source = tokens(
        http, seeded(refresh, client_id=client_id), sim.token_url, clock,
        client_id=client_id, secret="wrong",
    )  # fmt: skip
    with pytest.raises(NotAuthorizedError, match="client id or secret"):
        await source.token()


async def test_nothing_stored_means_not_authorised(
    http: aiohttp.ClientSession, clock: Clock
) -> None:
    source = tokens(http, MemoryVault(), "http://127.0.0.1:9/unused", clock)
    with pytest.raises(NotAuthorizedError, match="not authorised"):
        await source.token()


async def test_a_record_of_another_client_id_is_not_used(
    http: aiohttp.ClientSession, clock: Clock
) -> None:
    vault = seeded(client_id="another")
    with pytest.raises(NotAuthorizedError, match="another client id"):
        await tokens(http, vault, "http://127.0.0.1:9/unused", clock).token()


async def test_authorize_checks_and_replaces_the_stored_token(
    sim: WebexSimulator, http: aiohttp.ClientSession, clock: Clock
) -> None:
    client_id, secret, _access, refresh = sim.issue_service_app_tokens()
    vault = seeded("old", client_id=client_id)
    source = tokens(http, vault, sim.token_url, clock, client_id=client_id, secret=secret)
    with pytest.raises(NotAuthorizedError):
        await source.authorize("not-a-token")
    assert vault.rows["webex"].data["refresh_token"] == "old"  # a bad token changes nothing
    token = await source.authorize(refresh)
    assert vault.rows["webex"].data["refresh_token"] == refresh
    assert vault.rows["webex"].data["access_token"] == token.value


async def test_an_unreachable_endpoint_is_transient(
    http: aiohttp.ClientSession, clock: Clock
) -> None:
    with pytest.raises(TransientError):
        await tokens(http, seeded(), "http://127.0.0.1:9/v1/access_token", clock).token()


def test_token_errors_are_explained_by_status() -> None:
    assert "client id or secret" in explain_token_error(401, {})
    assert "refresh token" in explain_token_error(400, {"error": "invalid_grant"})


# -- rotation and replicas ------------------------------------------------------------------------


async def test_a_rotated_refresh_token_replaces_the_stored_one(
    rotating: RotatingEndpoint, http: aiohttp.ClientSession, clock: Clock
) -> None:
    vault = seeded("r0")
    source = tokens(http, vault, rotating.url, clock)
    await source.token()
    assert vault.rows["webex"].data["refresh_token"] == "r1"
    clock.offset = timedelta(days=14)
    await source.token()
    assert vault.rows["webex"].data["refresh_token"] == "r2"
    assert rotating.valid == {"r2"}


async def test_two_replicas_refreshing_at_once_keep_a_valid_refresh_token(
    rotating: RotatingEndpoint, http: aiohttp.ClientSession, clock: Clock
) -> None:
    """Both send r0; one rotates it to r1 and stores r1; the other's refresh is refused (r0 is
    dead) or loses the swap, and it takes the stored record instead of giving up."""
    vault = seeded("r0")
    one, two = tokens(http, vault, rotating.url, clock), tokens(http, vault, rotating.url, clock)
    rotating.gate = asyncio.Event()
    first = asyncio.create_task(one.token())
    second = asyncio.create_task(two.token())
    await asyncio.wait_for(rotating.both_asked.wait(), 10)
    rotating.gate.set()
    a, b = await asyncio.gather(first, second)
    assert a.value == b.value
    stored = vault.rows["webex"].data["refresh_token"]
    assert stored in rotating.valid  # the authorisation survives
    clock.offset = timedelta(days=14)  # and the next refresh works for either replica
    assert (await two.token()).value != a.value


async def test_replicas_on_one_sqlite_store_share_the_rotation(
    rotating: RotatingEndpoint, http: aiohttp.ClientSession, clock: Clock, tmp_path: Path
) -> None:
    keyring = init_keyring(tmp_path / "keyring")
    async with await SQLiteStore.open(tmp_path / "store.db", RecordCipher(keyring)) as store:
        await store.put_app_token("webex", {"refresh_token": "r0"})
        one, two = (
            tokens(http, store, rotating.url, clock),
            tokens(http, store, rotating.url, clock),
        )
        a, b = await asyncio.gather(one.token(), two.token())
        assert a.value == b.value
        stored = await store.get_app_token("webex")
        assert stored is not None
        assert stored.data["refresh_token"] in rotating.valid
