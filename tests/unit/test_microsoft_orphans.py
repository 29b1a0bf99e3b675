"""Subscriptions we no longer hold a channel for: signed clientStates and their deletion."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp import web
from tests.sandbox.graph_tls import ca_bundle, start_tls

from hybridcal.connectors.calendars.microsoft import (
    FRESH_SUBSCRIPTION_SECONDS,
    MicrosoftCalendarConnector,
)
from hybridcal.connectors.calendars.microsoft_auth import make_credential
from hybridcal.connectors.calendars.microsoft_state import (
    client_state_key,
    is_signed_state,
    sign_state,
)
from hybridcal.core.model import CalendarKind, CalendarRecord, Provider, calendar_key
from hybridcal.sandbox.microsoft import GraphSimulator

ALICE = "alice@contoso.example"
CAL = CalendarRecord(calendar_key(Provider.MICROSOFT, ALICE), Provider.MICROSOFT, ALICE,
                     CalendarKind.USER)  # fmt: skip
KEY = client_state_key(client_secret="the app's secret")


def test_signed_states_verify_and_forgeries_do_not() -> None:
    state = sign_state(KEY, "r" * 43)
    assert len(state) <= 128
    assert is_signed_state(KEY, state)
    other = client_state_key(client_secret="a rotated secret")
    assert not is_signed_state(other, state)
    secret, _, tag = state.rpartition(".")
    assert not is_signed_state(KEY, f"{secret}x.{tag}")
    assert not is_signed_state(KEY, f"{secret}.{tag[:-1]}")
    assert not is_signed_state(KEY, secret)
    assert not is_signed_state(KEY, "")
    with pytest.raises(ValueError, match="without"):
        sign_state(KEY, "a.b")


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def sim() -> AsyncIterator[GraphSimulator]:
    simulator = await start_tls(GraphSimulator())
    simulator.add_user(ALICE, name="Alice")
    yield simulator
    await simulator.close()


@pytest.fixture
async def receiver() -> AsyncIterator[str]:
    async def answer(request: web.Request) -> web.Response:
        token = request.query.get("validationToken")
        if token is not None:
            return web.Response(text=token, content_type="text/plain")
        return web.Response(status=202)

    app = web.Application()
    app.router.add_post("/{tail:.*}", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}/webhooks/microsoft"
    await runner.cleanup()


async def test_only_this_apps_older_orphans_are_deleted(sim: GraphSimulator, receiver: str) -> None:
    app = sim.register_app()
    credential = make_credential(
        tenant_id=app.tenant_id,
        client_id=app.client_id,
        client_secret=app.client_secret,
        authority=sim.authority,
        ca_bundle=ca_bundle(),
    )
    clock = Clock()
    connector = MicrosoftCalendarConnector(
        credential=credential,
        graph_root=sim.graph_root,
        now=clock,
        owns_credential=True,
        client_state_key=KEY,
        ca_bundle=ca_bundle(),
    )
    try:
        channel = await connector.watch(
            CAL, address=receiver, channel_id="x", secret="r" * 43, now=clock.now
        )
        [described] = sim.subscriptions()
        assert described["clientState"] == channel.secret  # signed, and what we store
        assert is_signed_state(KEY, channel.secret)
        assert connector.is_own_client_state(channel.secret)
        assert not connector.is_own_client_state("r" * 43)
        sub = channel.channel_id

        # a stranger's state, or ours for a subscription made moments ago: no call at all
        before = len(sim.request_log)
        assert not await connector.forget_subscription(sub, "r" * 43)
        assert not await connector.forget_subscription(sub, channel.secret)
        assert len(sim.request_log) == before
        assert len(sim.subscriptions()) == 1

        clock.now += timedelta(seconds=FRESH_SUBSCRIPTION_SECONDS + 1)
        assert await connector.forget_subscription(sub, channel.secret)
        assert sim.subscriptions() == []
        assert [r.operation for r in sim.request_log[before:]][-1] == "subscriptions.delete"
        assert await connector.forget_subscription(sub, channel.secret)  # gone already: fine
    finally:
        await connector.close()
