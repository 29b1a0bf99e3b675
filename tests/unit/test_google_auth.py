"""DelegatedTokens against the Google simulator's token endpoint."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from hybridcal.connectors.calendars.google import SCOPES
from hybridcal.connectors.calendars.google_auth import DelegatedTokens
from hybridcal.connectors.errors import AuthError, TransientError
from hybridcal.sandbox.google import CALENDAR_SCOPE, GMAIL_SETTINGS_SCOPE, GoogleSimulator
from hybridcal.sandbox.keys import generate_service_account

ALICE = "alice@example.com"
BOB = "bob@example.com"


class Clock:
    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


@pytest.fixture(scope="module")
def sa_info() -> dict[str, str]:
    return generate_service_account()


@pytest.fixture
async def sim(sa_info: dict[str, str]) -> AsyncIterator[GoogleSimulator]:
    simulator = GoogleSimulator(domain="example.com")
    await simulator.start()
    simulator.register_service_account(sa_info)
    simulator.grant_delegation(sa_info["client_id"], [CALENDAR_SCOPE, GMAIL_SETTINGS_SCOPE])
    simulator.add_user(ALICE)
    simulator.add_user(BOB)
    yield simulator
    await simulator.close()


def grants(sim: GoogleSimulator) -> list[int]:
    return [r.status for r in sim.request_log if r.path == "/token"]


def tokens_for(
    sim: GoogleSimulator, info: dict[str, str], clock: Clock | None = None
) -> DelegatedTokens:
    if clock is None:
        return DelegatedTokens(info, SCOPES, token_uri=sim.token_uri)
    return DelegatedTokens(info, SCOPES, token_uri=sim.token_uri, now=clock)


async def test_token_is_reused_until_shortly_before_expiry(
    sim: GoogleSimulator, sa_info: dict[str, str]
) -> None:
    clock = Clock()
    tokens = tokens_for(sim, sa_info, clock)
    first = await tokens.token(ALICE)
    assert first.startswith("ya29.")
    clock.offset = timedelta(minutes=54)  # six minutes left of the hour
    assert await tokens.token(ALICE) == first
    assert grants(sim) == [200]
    clock.offset = timedelta(minutes=56)  # four minutes left: refresh early
    second = await tokens.token(ALICE)
    assert second != first
    assert grants(sim) == [200, 200]
    assert tokens.refreshes == 2


async def test_concurrent_callers_share_one_refresh(
    sim: GoogleSimulator, sa_info: dict[str, str]
) -> None:
    tokens = tokens_for(sim, sa_info)
    got = await asyncio.gather(*(tokens.token(ALICE) for _ in range(20)))
    assert len(set(got)) == 1
    assert grants(sim) == [200]
    assert tokens.refreshes == 1


async def test_each_subject_has_its_own_token(
    sim: GoogleSimulator, sa_info: dict[str, str]
) -> None:
    tokens = tokens_for(sim, sa_info)
    alice, bob = await asyncio.gather(tokens.token(ALICE), tokens.token(BOB))
    assert alice != bob
    assert await tokens.token(ALICE) == alice
    assert grants(sim) == [200, 200]


async def test_forget_forces_a_fresh_token(sim: GoogleSimulator, sa_info: dict[str, str]) -> None:
    tokens = tokens_for(sim, sa_info)
    first = await tokens.token(ALICE)
    tokens.forget(ALICE)
    tokens.forget("nobody@example.com")  # harmless
    assert await tokens.token(ALICE) != first
    assert grants(sim) == [200, 200]


async def test_missing_delegation_explains_what_to_grant(
    sim: GoogleSimulator, sa_info: dict[str, str]
) -> None:
    sim.revoke_delegation(sa_info["client_id"])
    tokens = tokens_for(sim, sa_info)
    with pytest.raises(AuthError) as info:
        await tokens.token(ALICE)
    message = str(info.value)
    assert "domain-wide delegation not granted" in message
    assert sa_info["client_id"] in message
    assert CALENDAR_SCOPE in message
    assert GMAIL_SETTINGS_SCOPE in message
    assert "Admin console" in message
    assert grants(sim) == [401]


async def test_scope_missing_from_delegation_is_unauthorized_client(
    sim: GoogleSimulator, sa_info: dict[str, str]
) -> None:
    sim.revoke_delegation(sa_info["client_id"])
    sim.grant_delegation(sa_info["client_id"], [CALENDAR_SCOPE])  # Gmail settings not granted
    with pytest.raises(AuthError, match="delegation not granted"):
        await tokens_for(sim, sa_info).token(ALICE)


async def test_unknown_user_is_named(sim: GoogleSimulator, sa_info: dict[str, str]) -> None:
    tokens = tokens_for(sim, sa_info)
    with pytest.raises(AuthError) as info:
        await tokens.token("ghost@example.com")
    message = str(info.value)
    assert "no such user 'ghost@example.com'" in message
    assert "suspended" in message
    assert "room_access_user" in message


async def test_failed_refresh_is_retried_on_the_next_call(
    sim: GoogleSimulator, sa_info: dict[str, str]
) -> None:
    sim.revoke_delegation(sa_info["client_id"])
    tokens = tokens_for(sim, sa_info)
    with pytest.raises(AuthError):
        await tokens.token(ALICE)
    sim.grant_delegation(sa_info["client_id"], [CALENDAR_SCOPE, GMAIL_SETTINGS_SCOPE])
    assert (await tokens.token(ALICE)).startswith("ya29.")


async def test_unknown_key_is_refused_without_leaking_it(sim: GoogleSimulator) -> None:
    stranger = generate_service_account(key_size=1024)
    with pytest.raises(AuthError) as info:
        await tokens_for(sim, stranger).token(ALICE)
    assert "PRIVATE KEY" not in str(info.value)
    assert stranger["private_key_id"] not in str(info.value)


async def test_unknown_key_is_not_blamed_on_the_user(sim: GoogleSimulator) -> None:
    stranger = generate_service_account(key_size=1024)
    with pytest.raises(AuthError) as info:
        await tokens_for(sim, stranger).token(ALICE)
    message = str(info.value)
    assert "no such user" not in message
    assert "key" in message or "account not found" in message


async def test_unreachable_token_endpoint_is_transient() -> None:
    info = generate_service_account(key_size=1024)
    tokens = DelegatedTokens(info, SCOPES, token_uri="http://127.0.0.1:9/token")
    with pytest.raises(TransientError, match="token endpoint unreachable"):
        await tokens.token(ALICE)


def test_unusable_key_file_is_an_auth_error() -> None:
    broken = dict(generate_service_account(key_size=1024), private_key="not a key")
    with pytest.raises(AuthError, match="service-account key is not usable"):
        DelegatedTokens(broken, SCOPES)
    incomplete = {
        k: v for k, v in generate_service_account(key_size=1024).items() if k != "client_email"
    }
    with pytest.raises(AuthError, match="not usable"):
        DelegatedTokens(incomplete, SCOPES)


def test_service_account_email(sa_info: dict[str, str]) -> None:
    assert DelegatedTokens(sa_info, SCOPES).service_account_email == sa_info["client_email"]
