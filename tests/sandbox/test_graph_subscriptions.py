"""Subscriptions: validation handshake, limits, notifications with clientState, renew, lifecycle."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.subscription import Subscription
from tests.sandbox.graph_support import (
    ALICE,
    BOB,
    CAROL,
    Env,
    Receiver,
    future,
    graph_env,
    receiver,
    timed,
)

from hybridcal.sandbox.faults import Faults
from hybridcal.sandbox.microsoft import LifecycleSchedule


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    async with graph_env() as found:
        yield found


@pytest.fixture
async def hook() -> AsyncIterator[Receiver]:
    async with receiver() as found:
        yield found


def sub_body(hook: Receiver, user: str = ALICE, **extra: Any) -> dict[str, Any]:
    return {
        "changeType": "created,updated,deleted",
        "notificationUrl": hook.url(),
        "lifecycleNotificationUrl": hook.url("/lifecycle"),
        "resource": f"users/{user}/events",
        "expirationDateTime": future(2),
        "clientState": "s3cret-state",
        **extra,
    }


def event(subject: str = "Sync") -> dict[str, Any]:
    return {"subject": subject, **timed("2026-12-02T10:00:00", "2026-12-02T11:00:00")}


async def test_create_through_the_sdk_with_the_handshake(env: Env, hook: Receiver) -> None:
    expires = datetime.now(UTC) + timedelta(days=3)
    created = await env.client.subscriptions.post(
        Subscription(
            change_type="created,updated,deleted",
            notification_url=hook.url(),
            lifecycle_notification_url=hook.url("/lifecycle"),
            resource=f"users/{env.ids[ALICE]}/events",
            expiration_date_time=expires,
            client_state="s3cret-state",
        )
    )
    assert created is not None
    assert created.id is not None
    assert created.application_id == env.app.client_id
    assert created.client_state == "s3cret-state"
    assert created.expiration_date_time is not None
    assert abs((created.expiration_date_time - expires).total_seconds()) < 1
    assert len(hook.validations) == 2  # notification URL and lifecycle URL
    assert all(" " in token for token in hook.validations)  # decoded text, as Graph sends
    listed = await env.client.subscriptions.get()
    assert listed is not None
    assert listed.value is not None
    assert [s.id for s in listed.value] == [created.id]
    other = env.sim.register_app()
    status, body, _ = await env.raw("GET", "/subscriptions", token=await env.token(other))
    assert (status, body["value"]) == (200, [])


@pytest.mark.parametrize("mode", ["fail", "raw", "json"])
async def test_failed_handshake_creates_nothing(env: Env, hook: Receiver, mode: str) -> None:
    hook.mode = mode
    status, body, _ = await env.raw("POST", "/subscriptions", json=sub_body(hook))
    assert status == 400
    assert body["error"]["code"] == "ValidationError"
    assert body["error"]["message"].startswith("Subscription validation request failed.")
    assert env.sim.subscriptions() == []


async def test_handshake_to_a_closed_port_fails(env: Env, hook: Receiver) -> None:
    body = sub_body(hook, notificationUrl="http://127.0.0.1:9/hook")
    body.pop("lifecycleNotificationUrl")
    status, answer, _ = await env.raw("POST", "/subscriptions", json=body)
    assert (status, answer["error"]["code"]) == (400, "ValidationError")


@pytest.mark.parametrize(
    ("changes", "status", "code"),
    [
        ({"expirationDateTime": 10_071}, 400, "ExtensionError"),  # minutes from now
        ({"expirationDateTime": -5}, 400, "ExtensionError"),
        ({"clientState": "x" * 129}, 400, "InvalidRequest"),
        ({"changeType": "created,moved"}, 400, "InvalidRequest"),
        ({"changeType": ""}, 400, "InvalidRequest"),
        ({"notificationUrl": "http://example.com/hook"}, 400, "InvalidRequest"),
        ({"resource": "me/events"}, 400, "InvalidRequest"),
        ({"resource": "users/ghost@contoso.example/events"}, 404, "ExtensionError"),
        ({"resource": "users/x/messages"}, 400, "ExtensionError"),
        ({"applicationId": "x"}, 400, "ErrorInvalidPropertyUpdateSentToServer"),
        ({"color": "red"}, 400, "RequestBodyRead"),
    ],
)
async def test_create_refuses_what_graph_refuses(
    env: Env, hook: Receiver, changes: dict[str, Any], status: int, code: str
) -> None:
    if isinstance(changes.get("expirationDateTime"), int):  # taken now, not at collection
        changes = {**changes, "expirationDateTime": future(minutes=changes["expirationDateTime"])}
    got, body, _ = await env.raw("POST", "/subscriptions", json=sub_body(hook, **changes))
    assert (got, body["error"]["code"]) == (status, code)
    assert hook.validations == []


async def test_short_lifetime_is_raised_and_resources_vary(env: Env, hook: Receiver) -> None:
    status, body, _ = await env.raw(
        "POST", "/subscriptions", json=sub_body(hook, expirationDateTime=future(minutes=5))
    )
    assert status == 201
    granted = datetime.fromisoformat(body["expirationDateTime"].replace("0Z", "+00:00"))
    assert granted >= datetime.now(UTC) + timedelta(minutes=44)
    for resource in (f"/users/{env.ids[BOB]}/events", f"users/{CAROL}/calendar/events"):
        status, body, _ = await env.raw(
            "POST", "/subscriptions", json=sub_body(hook, resource=resource)
        )
        assert status == 201, body
        assert body["resource"] == resource


async def test_policy_and_permissions_apply_to_subscriptions(env: Env, hook: Receiver) -> None:
    env.sim.restrict_app(env.app.client_id, [BOB])
    status, body, _ = await env.raw("POST", "/subscriptions", json=sub_body(hook))
    assert (status, body["error"]["code"]) == (403, "ExtensionError")
    assert "AccessPolicy" in body["error"]["message"]
    reader = env.sim.register_app(permissions=["User.Read.All"])
    status, body, _ = await env.raw(
        "POST", "/subscriptions", json=sub_body(hook, user=BOB), token=await env.token(reader)
    )
    assert status == 403


async def test_notifications_carry_client_state_and_resource(env: Env, hook: Receiver) -> None:
    status, sub, _ = await env.raw("POST", "/subscriptions", json=sub_body(hook))
    assert status == 201
    created = env.sim.person_create(ALICE, event())
    await hook.wait_for(1)
    note = hook.notifications[0]
    assert note["subscriptionId"] == sub["id"]
    assert note["clientState"] == "s3cret-state"
    assert note["changeType"] == "created"
    assert note["tenantId"] == env.sim.tenant_id
    assert note["resource"] == f"Users/{env.ids[ALICE]}/Events/{created['id']}"
    assert note["resourceData"] == {
        "@odata.type": "#Microsoft.Graph.Event",
        "@odata.id": note["resource"],
        "@odata.etag": created["@odata.etag"],
        "id": created["id"],
    }
    status, patched, _ = await env.raw(  # the daemon's own write comes back as an echo
        "PATCH", f"/users/{ALICE}/events/{created['id']}", json={"categories": ["x"]}
    )
    assert status == 200
    await hook.wait_for(2)
    assert hook.notifications[1]["changeType"] == "updated"
    assert hook.notifications[1]["resourceData"]["@odata.etag"] == patched["@odata.etag"]
    env.sim.person_delete(ALICE, created["id"])
    await hook.wait_for(3)
    assert hook.notifications[2]["changeType"] == "deleted"
    assert "@odata.etag" not in hook.notifications[2]["resourceData"]
    await env.sim.drain()
    assert env.sim.notifications_sent == 3
    assert len(env.sim.notification_latencies_s) == 3


async def test_close_changes_are_batched_and_failures_retried(env: Env, hook: Receiver) -> None:
    await env.raw("POST", "/subscriptions", json=sub_body(hook))
    await env.raw("POST", "/subscriptions", json=sub_body(hook, user=BOB))
    hook.fail_next = 2
    env.sim.person_create(ALICE, {**event(), "attendees": [{"emailAddress": {"address": BOB}}]})
    await hook.wait_for(2)
    assert len(hook.batches) == 1
    assert {n["resource"].split("/")[1] for n in hook.notifications} == {
        env.ids[ALICE],
        env.ids[BOB],
    }
    await env.sim.drain()
    assert env.sim.notifications_sent == 2


async def test_change_type_filter(env: Env, hook: Receiver) -> None:
    await env.raw("POST", "/subscriptions", json=sub_body(hook, changeType="deleted"))
    created = env.sim.person_create(ALICE, event())
    env.sim.person_update(ALICE, created["id"], {"subject": "x"})
    env.sim.person_delete(ALICE, created["id"])
    await hook.wait_for(1)
    await env.sim.drain()
    assert [n["changeType"] for n in hook.notifications] == ["deleted"]


async def test_renew_get_and_delete(env: Env, hook: Receiver) -> None:
    status, sub, _ = await env.raw("POST", "/subscriptions", json=sub_body(hook))
    path = f"/subscriptions/{sub['id']}"
    renewed = future(6)
    status, body, _ = await env.raw("PATCH", path, json={"expirationDateTime": renewed})
    assert status == 200
    assert body["expirationDateTime"] != sub["expirationDateTime"]
    status, body, _ = await env.raw("PATCH", path, json={"expirationDateTime": future(8)})
    assert (status, body["error"]["code"]) == (400, "ExtensionError")
    status, body, _ = await env.raw("PATCH", path, json={"lifecycleNotificationUrl": hook.url()})
    assert status == 400
    status, body, _ = await env.raw("GET", path)
    assert (status, body["id"]) == (200, sub["id"])
    await env.client.subscriptions.by_subscription_id(sub["id"]).delete()
    with pytest.raises(ODataError) as caught:
        await env.client.subscriptions.by_subscription_id(sub["id"]).get()
    assert caught.value.response_status_code == 404
    env.sim.person_create(ALICE, event())
    await env.sim.drain()
    assert hook.notifications == []


async def test_expired_subscriptions_stop_and_vanish() -> None:
    clock = [datetime.now(UTC)]
    async with graph_env(now=lambda: clock[0]) as env, receiver() as hook:
        status, sub, _ = await env.raw(
            "POST", "/subscriptions", json=sub_body(hook, expirationDateTime=future(minutes=50))
        )
        assert status == 201
        clock[0] += timedelta(minutes=51)
        env.sim.person_create(ALICE, event())
        await env.sim.drain()
        assert hook.notifications == []
        token = await env.token(env.app)  # the old token expired on the moved clock too
        status, _, _ = await env.raw("GET", f"/subscriptions/{sub['id']}", token=token)
        assert status == 404


async def test_lifecycle_notifications(env: Env, hook: Receiver) -> None:
    _, sub, _ = await env.raw("POST", "/subscriptions", json=sub_body(hook))
    env.sim.send_lifecycle(sub["id"], "reauthorizationRequired")
    await hook.wait_for(1, lifecycle=True)
    note = hook.lifecycle[0]
    assert note["lifecycleEvent"] == "reauthorizationRequired"
    assert note["clientState"] == "s3cret-state"
    assert note["subscriptionId"] == sub["id"]
    env.sim.send_lifecycle(sub["id"], "subscriptionRemoved")
    await hook.wait_for(2, lifecycle=True)
    assert env.sim.subscriptions() == []
    _, other, _ = await env.raw("POST", "/subscriptions", json=sub_body(hook))
    with pytest.raises(ValueError, match="lifecycle event"):
        env.sim.send_lifecycle(other["id"], "bogus")


async def test_missed_after_retries_run_out_and_dropped_notifications() -> None:
    async with graph_env(faults=Faults(drop_notification_rate=0.0)) as env, receiver() as hook:
        status, _, _ = await env.raw("POST", "/subscriptions", json=sub_body(hook))
        assert status == 201
        hook.fail_next = 4  # the first try and three retries
        env.sim.person_create(ALICE, event())
        await env.sim.drain()
        assert env.sim.notifications_failed == 1
        await hook.wait_for(1, lifecycle=True)
        assert hook.lifecycle[0]["lifecycleEvent"] == "missed"
        env.sim.faults.drop_notification_rate = 1.0
        env.sim.person_create(ALICE, event("dropped"))
        await env.sim.drain()
        assert env.sim.notifications_dropped == 1
        assert hook.notifications == []


async def test_silent_expiry_fault() -> None:
    async with graph_env(faults=Faults(channel_silent_expiry_s=0.05)) as env, receiver() as hook:
        status, _, _ = await env.raw("POST", "/subscriptions", json=sub_body(hook))
        assert status == 201
        await asyncio.sleep(0.1)
        env.sim.person_create(ALICE, event())
        await env.sim.drain()
        assert hook.notifications == []
        assert len(env.sim.subscriptions()) == 1  # still advertised as live


async def test_reauthorization_pauses_the_flow_until_a_patch(env: Env, hook: Receiver) -> None:
    _, sub, _ = await env.raw("POST", "/subscriptions", json=sub_body(hook))
    env.sim.send_lifecycle(sub["id"], "reauthorizationRequired")
    await hook.wait_for(1, lifecycle=True)
    env.sim.person_create(ALICE, event("during the challenge"))
    await env.sim.drain()
    assert hook.notifications == []  # held back, and no `missed` follows
    assert env.sim.notifications_held_back == 1
    assert [n["lifecycleEvent"] for n in hook.lifecycle] == ["reauthorizationRequired"]
    status, _, _ = await env.raw(
        "PATCH", f"/subscriptions/{sub['id']}", json={"expirationDateTime": future(3)}
    )
    assert status == 200
    env.sim.person_create(ALICE, event("after"))
    await hook.wait_for(1)
    assert len(hook.notifications) == 1


async def test_graph_sends_lifecycle_notifications_on_its_own_schedule(
    env: Env, hook: Receiver
) -> None:
    ids = []
    for user in (ALICE, BOB, CAROL):
        _, sub, _ = await env.raw("POST", "/subscriptions", json=sub_body(hook, user))
        ids.append(sub["id"])
    env.sim.schedule_lifecycle(
        LifecycleSchedule(remove_every_s=0.5, miss_every_s=0.2, tick_s=0.02, seed=3)
    )
    for n in range(20):  # changes keep coming, so that `missed` has something to lose
        env.sim.person_create(ALICE, event(f"e{n}"))
        env.sim.person_create(BOB, event(f"e{n}"))
        await asyncio.sleep(0.05)
    env.sim.schedule_lifecycle(LifecycleSchedule(reauthorize_every_s=0.05, tick_s=0.02))
    await asyncio.sleep(0.5)
    env.sim.schedule_lifecycle(None)
    await env.sim.drain()
    sent = env.sim.scheduled_lifecycle_sent
    assert sent["subscriptionRemoved"] >= 1
    kinds = [n["lifecycleEvent"] for n in hook.lifecycle]
    assert kinds.count("missed") >= 1
    removed = {
        n["subscriptionId"] for n in hook.lifecycle if n["lifecycleEvent"] == "subscriptionRemoved"
    }
    assert removed <= set(ids)
    live = {s["id"] for s in env.sim.subscriptions()}
    assert live == set(ids) - removed
    assert env.sim.notifications_dropped >= kinds.count("missed")  # each `missed` lost some
    # every live subscription was challenged, once: nobody reauthorized it
    challenged = [
        n["subscriptionId"]
        for n in hook.lifecycle
        if n["lifecycleEvent"] == "reauthorizationRequired"
    ]
    assert sorted(challenged) == sorted(live)
