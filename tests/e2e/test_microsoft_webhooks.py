"""Graph's side of push: forged notifications cost nothing, the validation handshake, and the
lifecycle notifications (missed, subscriptionRemoved, reauthorizationRequired)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from tests.e2e.harness import (
    ADELE,
    M365_ROOM,
    MEGAN,
    Harness,
    outlook_event,
    start_harness,
    tomorrow_at,
)

from hybridcal.core.model import Channel, Provider, calendar_key
from hybridcal.sandbox.microsoft import GraphRecord, LifecycleSchedule


@pytest.fixture
async def m(tmp_path: Path, sa_info: dict[str, str]) -> AsyncIterator[Harness]:
    harness = await start_harness(tmp_path, sa_info, microsoft=True)
    try:
        yield harness
    finally:
        await harness.close()


async def _channel(h: Harness, address: str) -> Channel:
    assert h.daemon.store is not None
    [channel] = await h.daemon.store.list_channels(calendar_key(Provider.MICROSOFT, address))
    return channel


def _subscriptions(h: Harness, address: str) -> list[dict[str, Any]]:
    assert h.graph is not None
    return [s for s in h.graph.subscriptions() if s["resource"] == f"users/{address}/events"]


def _subscription(h: Harness, address: str) -> dict[str, Any]:
    [sub] = _subscriptions(h, address)
    return sub


def _envelope(h: Harness, subscription_id: str, client_state: str | None, **item: Any) -> bytes:
    """A change notification the way Graph sends one."""
    assert h.graph is not None
    user = h.graph.user_id(MEGAN)
    resource = f"Users/{user}/Events/AAMkAGI2TAAA="
    value: dict[str, Any] = {
        "id": "1b7e6a2c-0000-4000-8000-000000000001",
        "subscriptionId": subscription_id,
        "subscriptionExpirationDateTime": "2030-01-01T00:00:00.0000000Z",
        "changeType": "updated",
        "resource": resource,
        "resourceData": {
            "@odata.type": "#Microsoft.Graph.Event",
            "@odata.id": resource,
            "@odata.etag": 'W/"DwAAABYAAAA"',
            "id": "AAMkAGI2TAAA=",
        },
        "tenantId": h.graph.tenant_id,
        **item,
    }
    if client_state is not None:
        value["clientState"] = client_state
    return json.dumps({"value": [value]}).encode()


def _deltas(h: Harness, address: str, since: int = 0) -> list[GraphRecord]:
    return [r for r in h.graph_requests("calendarView.delta", since=since) if r.mailbox == address]


def _full_rounds(h: Harness, address: str, since: int) -> list[GraphRecord]:
    """Delta rounds that start afresh (a window, no token) rather than from a deltaLink."""
    return [r for r in _deltas(h, address, since) if "startDateTime" in r.query]


async def _until(done: Callable[[], Awaitable[bool]], limit_s: float = 10.0) -> None:
    """Lifecycle work runs in the daemon's background tasks, which settle() does not see."""
    for _ in range(int(limit_s / 0.05)):
        if await done():
            return
        await asyncio.sleep(0.05)
    assert await done()


async def test_forged_notifications_are_refused_unknown_ones_dropped_and_neither_syncs(
    m: Harness,
) -> None:
    channel = await _channel(m, MEGAN)
    assert channel.channel_id == _subscription(m, MEGAN)["id"]
    assert m.graph is not None
    mark = len(m.graph.request_log)

    forged = _envelope(m, channel.channel_id, "not-the-client-state")
    assert (await m.post_graph(forged))[0] == 403
    # an unknown subscription is acknowledged (a refusal makes Graph retry it for hours) and
    # dropped; its clientState is not one this app made, so nothing is deleted either
    unknown = _envelope(m, "0f7b1e4a-5c2d-4e8f-9a6b-3c1d2e4f5a6b", "another-apps-state")
    assert (await m.post_graph(unknown))[0] == 202
    assert (await m.post_graph(_envelope(m, channel.channel_id, None)))[0] == 403
    # the lifecycle URL checks the same way: a forged "subscriptionRemoved" changes nothing
    removed = _envelope(m, channel.channel_id, "guess", lifecycleEvent="subscriptionRemoved")
    assert (await m.post_graph(removed, lifecycle=True))[0] == 403
    missed = _envelope(
        m, "0f7b1e4a-5c2d-4e8f-9a6b-3c1d2e4f5a6b", "another-apps-state", lifecycleEvent="missed"
    )
    assert (await m.post_graph(missed, lifecycle=True))[0] == 202
    await m.settle()
    await asyncio.sleep(0.2)  # lifecycle work would run in the background
    await m.settle()
    # (the presence job may read mailbox settings meanwhile: that is no sync)
    calls = [r for r in m.graph_requests(since=mark) if r.operation != "mailboxSettings.get"]
    assert calls == [], "a forged notification made the daemon call Graph"
    assert _subscription(m, MEGAN)["id"] == channel.channel_id
    forbidden = m.metric(
        "hybridcal_webhook_notifications_total", provider="microsoft", outcome="forbidden"
    )
    unknown_count = m.metric(
        "hybridcal_webhook_notifications_total", provider="microsoft", outcome="unknown_channel"
    )
    assert (forbidden, unknown_count) == (3, 2)

    # malformed bodies are answered 400, and cause no sync either
    assert (await m.post_graph(b"{not json"))[0] == 400
    assert (await m.post_graph(b'{"value": "x"}'))[0] == 400
    await m.settle()
    assert _deltas(m, MEGAN, mark) == []

    # the genuine notification does cause exactly one sync (the checks above can fail)
    genuine = _envelope(m, channel.channel_id, channel.secret)
    assert (await m.post_graph(genuine))[0] == 202
    await m.settle()
    assert len(_deltas(m, MEGAN, mark)) == 1
    assert _deltas(m, ADELE, mark) == []


async def test_an_orphaned_subscription_of_ours_is_acknowledged_and_deleted(m: Harness) -> None:
    """A subscription of this app whose channel the daemon lost (a restored store, a crash
    between Graph's answer and the store write) keeps notifying: its notifications are
    acknowledged, so Graph does not retry them for hours, and it is deleted."""
    assert m.graph is not None
    assert m.daemon.store is not None
    known = await _channel(m, MEGAN)
    calendar = await m.daemon.store.get_calendar(calendar_key(Provider.MICROSOFT, MEGAN))
    assert calendar is not None
    connector = m.daemon.connectors[Provider.MICROSOFT]
    orphan = await connector.watch(
        calendar,
        address=f"{m.daemon.base_url}/webhooks/microsoft",
        channel_id="unused",
        secret="o" * 43,
        now=m.clock(),
    )
    assert {s["id"] for s in _subscriptions(m, MEGAN)} == {known.channel_id, orphan.channel_id}
    m.clock.advance(timedelta(minutes=5))  # no longer one that is being stored
    failed, mark = m.graph.notifications_failed, len(m.graph.request_log)

    event_id = m.graph.person_create(
        MEGAN, outlook_event("Orphan", "@teams", "<p>Hi.</p>", tomorrow_at(14))
    )["id"]
    await m.settle()
    await _until(lambda: _async(len(_subscriptions(m, MEGAN)) == 1))
    assert _subscription(m, MEGAN)["id"] == known.channel_id  # ours, the known one, stays
    assert m.graph.notifications_failed == failed  # every POST was acknowledged
    delivered = {n["subscriptionId"] for n in m.graph.delivered_notifications}
    assert orphan.channel_id in delivered
    deletions = m.graph_requests("subscriptions.delete", since=mark)
    assert [r.path.rsplit("/", 1)[-1] for r in deletions] == [orphan.channel_id]
    assert len(m.graph_patches(event_id)) == 1  # the known subscription's notification counted
    unknown = m.metric(
        "hybridcal_webhook_notifications_total", provider="microsoft", outcome="unknown_channel"
    )
    assert unknown >= 1


async def test_the_daemon_gets_its_tokens_from_azure_identity_over_tls(m: Harness) -> None:
    """The daemon under test runs production's credential: azure-identity's own
    ClientSecretCredential against an https authority it trusts through microsoft.ca_bundle."""
    from azure.identity.aio import ClientSecretCredential  # noqa: PLC0415

    assert m.graph is not None
    assert m.graph.authority.startswith("https://127.0.0.1:")
    assert m.graph.graph_root.startswith("https://")
    assert m.daemon.settings.microsoft.ca_bundle == m.graph.ca_file
    connector = m.daemon.connectors[Provider.MICROSOFT]
    inner = connector._credential._inner  # type: ignore[attr-defined]
    assert isinstance(inner, ClientSecretCredential)
    grants = [r for r in m.graph.request_log if r.operation == "token" and r.status == 200]
    assert grants
    assert all(r.body["grant_type"] == "client_credentials" for r in grants)


async def test_the_validation_handshake_echoes_the_token_as_plain_text(m: Harness) -> None:
    # Graph's tokens are text with spaces and punctuation, URL-encoded in the query
    token = (
        "Validation: Testing client application reachability for subscription Request-Id: "
        "7b2c5a1e-3f4d-4b8a-9c6e-1d2f3a4b5c6d & more=yes"
    )
    for lifecycle in (False, True):
        status, kind, text = await m.post_graph(
            lifecycle=lifecycle, query={"validationToken": token}, content_type="text/plain"
        )
        assert status == 200
        assert kind.startswith("text/plain")
        assert text == token
    # and the daemon's subscriptions passed Graph's own handshake on both URLs
    for address in (MEGAN, ADELE, M365_ROOM):
        sub = _subscription(m, address)
        assert sub["notificationUrl"] == f"{m.daemon.base_url}/webhooks/microsoft"
        assert (
            sub["lifecycleNotificationUrl"] == f"{m.daemon.base_url}/webhooks/microsoft/lifecycle"
        )


async def test_missed_notifications_lead_to_a_resync(m: Harness) -> None:
    assert m.graph is not None
    m.graph.faults.drop_notification_rate = 1.0  # Graph loses the notifications
    event_id = m.graph.person_create(
        MEGAN, outlook_event("Lost in transit", "@teams", "<p>Hello.</p>", tomorrow_at(9))
    )["id"]
    await m.settle()
    assert m.graph.notifications_dropped >= 1
    assert m.graph_patches(event_id) == []  # nothing told the daemon
    m.graph.faults.drop_notification_rate = 0.0

    mark = len(m.graph.request_log)
    m.graph.send_lifecycle(_subscription(m, MEGAN)["id"], "missed")
    await m.settle()
    await _until(lambda: _async(bool(m.graph_patches(event_id))))
    await m.settle()
    assert len(_full_rounds(m, MEGAN, mark)) == 1  # a resync of the window, not a delta round
    assert _deltas(m, ADELE, mark) == []  # only the mailbox that missed something
    assert len(m.graph_patches(event_id)) == 1
    assert (m.m365_event(MEGAN, event_id)["onlineMeeting"] or {}).get("joinUrl")


async def test_a_removed_subscription_is_made_anew(m: Harness) -> None:
    assert m.graph is not None
    old = await _channel(m, MEGAN)
    mark = len(m.graph.request_log)
    m.graph.send_lifecycle(old.channel_id, "subscriptionRemoved")  # Graph drops it, then says so

    async def replaced() -> bool:
        subs = _subscriptions(m, MEGAN)
        return len(subs) == 1 and subs[0]["id"] != old.channel_id

    await _until(replaced)
    await m.settle()
    new = await _channel(m, MEGAN)
    assert new.channel_id == _subscription(m, MEGAN)["id"] != old.channel_id
    assert len(m.graph_requests("subscriptions.create")) == 4  # three at start, one now
    await _until(lambda: _async(bool(_full_rounds(m, MEGAN, mark))))  # and a resync

    # notifications flow through the new subscription: a keyword is answered without reconcile
    event_id = m.graph.person_create(
        MEGAN, outlook_event("After removal", "@teams", "<p>Hi.</p>", tomorrow_at(11))
    )["id"]
    await m.settle()
    assert len(m.graph_patches(event_id)) == 1
    delivered = [n["subscriptionId"] for n in m.graph.delivered_notifications]
    assert new.channel_id in delivered


async def test_reauthorization_required_extends_the_subscription(m: Harness) -> None:
    assert m.graph is not None
    before = _subscription(m, MEGAN)
    expires = datetime.fromisoformat(before["expirationDateTime"].replace("0000000Z", "+00:00"))
    stored = (await _channel(m, MEGAN)).expires_at
    m.clock.advance(timedelta(minutes=10))  # the daemon's and Graph's clock
    m.graph.send_lifecycle(before["id"], "reauthorizationRequired")

    def current() -> datetime:
        value = _subscription(m, MEGAN)["expirationDateTime"]
        return datetime.fromisoformat(value.replace("0000000Z", "+00:00"))

    await _until(lambda: _async(current() > expires))
    await m.settle()
    assert current() >= expires + timedelta(minutes=9)
    assert _subscription(m, MEGAN)["id"] == before["id"]  # extended in place
    [renewal] = m.graph_requests("subscriptions.update")
    assert renewal.path.endswith(before["id"])
    channel = await _channel(m, MEGAN)
    assert channel.channel_id == before["id"]
    assert channel.expires_at > stored
    assert len(m.graph_requests("subscriptions.create")) == 3  # no new one was needed


async def test_changes_held_back_during_a_reauthorization_are_read_after_it(
    m: Harness,
) -> None:
    assert m.graph is not None
    sub = _subscription(m, MEGAN)["id"]
    m.graph.send_lifecycle(sub, "reauthorizationRequired")
    # Graph holds the subscription's notifications back until the app reauthorizes it
    event_id = m.graph.person_create(
        MEGAN, outlook_event("Challenged", "@teams", "<p>Hi.</p>", tomorrow_at(13))
    )["id"]
    assert m.graph.notifications_held_back == 1
    await _until(lambda: _async(bool(m.graph_patches(event_id))))
    await m.settle()
    assert len(m.graph_patches(event_id)) == 1
    assert len(m.graph_requests("subscriptions.update")) == 1


async def test_subscriptions_are_extended_in_place_before_they_expire(
    tmp_path: Path, sa_info: dict[str, str]
) -> None:
    short = {"microsoft": {"subscription_minutes": 45}}  # Graph's shortest: due at half-life
    h = await start_harness(tmp_path, sa_info, microsoft=True, settings=short)
    try:
        assert h.graph is not None
        before = {s["id"]: s["expirationDateTime"] for s in h.graph.subscriptions()}
        jobs = h.daemon.jobs
        assert jobs is not None
        assert await jobs.renew() == 0  # nothing is due yet
        h.clock.advance(timedelta(minutes=25))
        assert await jobs.renew() == 3  # Megan, Adele and the room
        after = {s["id"]: s["expirationDateTime"] for s in h.graph.subscriptions()}
        assert set(after) == set(before)  # the same subscriptions, extended
        assert all(after[k] > before[k] for k in before)
        assert len(h.graph_requests("subscriptions.update")) == 3
        assert h.graph_requests("subscriptions.create")[3:] == []
        ok = "hybridcal_channel_renewals_total"
        assert h.metric(ok, provider="microsoft", outcome="ok") == 3
        assert h.metric(ok, provider="google", outcome="ok") == 0
        assert await jobs.renew() == 0
    finally:
        await h.close()


async def test_keywords_are_answered_while_graph_sends_lifecycle_events_on_its_own(
    m: Harness,
) -> None:
    """Graph challenges subscriptions (reauthorizationRequired, which holds notifications back
    until the renewal), removes them and loses notifications (missed) on its own schedule, while
    people keep typing keywords. With no reconciliation at all, every keyword gets exactly one
    meeting and one write, and every mailbox ends with one live subscription, the stored one."""
    assert m.graph is not None
    m.graph.schedule_lifecycle(
        LifecycleSchedule(
            reauthorize_every_s=0.4, remove_every_s=2.0, miss_every_s=1.5, tick_s=0.05, seed=11
        )
    )
    ids: dict[str, tuple[str, str]] = {}
    try:
        for n in range(12):
            owner = (MEGAN, ADELE)[n % 2]
            subject = f"Busy {n}"
            body = outlook_event(
                subject, "@teams", "<p>Agenda.</p>", tomorrow_at(8) + timedelta(minutes=20 * n)
            )
            ids[subject] = (owner, m.graph.person_create(owner, body)["id"])
            await asyncio.sleep(0.25)
    finally:
        m.graph.schedule_lifecycle(None)
    sent = m.graph.scheduled_lifecycle_sent
    assert sent["reauthorizationRequired"] >= 3, sent
    # and the other two happened as well (seeded; each lost its own notifications)
    assert sent["subscriptionRemoved"] + m.graph.notifications_dropped >= 1, sent

    def joined() -> bool:
        return all(
            (m.m365_event(owner, event_id).get("onlineMeeting") or {}).get("joinUrl")
            for owner, event_id in ids.values()
        )

    await _until(lambda: _async(joined()), limit_s=30)
    await m.settle()
    assert m.graph.teams_meetings_created == len(ids)
    for subject, (_, event_id) in ids.items():
        written = [p for p in m.graph_patches(event_id) if p.status == 200]
        assert len(written) == 1, f"{subject}: {len(written)} writes"

    async def one_each() -> bool:
        for address in (MEGAN, ADELE, M365_ROOM):
            subs = _subscriptions(m, address)
            assert m.daemon.store is not None
            stored = await m.daemon.store.list_channels(calendar_key(Provider.MICROSOFT, address))
            if len(subs) != 1 or [c.channel_id for c in stored] != [subs[0]["id"]]:
                return False
        return True

    await _until(one_each, limit_s=10)
    # and the flow works: a new keyword is answered by notification alone
    late = m.graph.person_create(
        MEGAN, outlook_event("Afterwards", "@teams", "<p>Hi.</p>", tomorrow_at(16))
    )["id"]
    await _until(lambda: _async(bool(m.graph_patches(late))))
    assert len(m.graph_patches(late)) == 1


async def _async(value: bool) -> bool:
    return value
