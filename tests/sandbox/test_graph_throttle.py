"""Mailbox concurrency (429 + Retry-After, honoured by kiota) and injected faults."""

from __future__ import annotations

import asyncio
import time

from tests.sandbox.graph_support import ALICE, BOB, graph_env

from hybridcal.sandbox.faults import Faults


async def test_fifth_concurrent_request_to_a_mailbox_is_throttled() -> None:
    async with graph_env(faults=Faults(latency_s=0.3)) as env:
        await env.token()
        results = await asyncio.gather(
            *[env.raw("GET", f"/users/{ALICE}/events") for _ in range(6)],
            env.raw("GET", f"/users/{BOB}/events"),
        )
        statuses = sorted(status for status, _, _ in results)
        assert statuses == [200] * 5 + [429] * 2
        throttled = [(body, headers) for status, body, headers in results if status == 429]
        for body, headers in throttled:
            assert body["error"]["code"] == "ApplicationThrottled"
            assert body["error"]["message"] == "Application is over its MailboxConcurrency limit."
            assert headers["Retry-After"] == "1"


async def test_kiota_retries_after_retry_after() -> None:
    async with graph_env(faults=Faults(latency_s=0.3)) as env:
        users = env.client.users.by_user_id(ALICE)
        await users.events.get()  # warm up: token, imports
        started = time.monotonic()
        pages = await asyncio.gather(*[users.events.get() for _ in range(5)])
        elapsed = time.monotonic() - started
        assert all(p is not None for p in pages)
        assert 1.0 <= elapsed < 3.0
        statuses = [r.status for r in env.sim.request_log if r.operation == "events.list"]
        assert statuses.count(429) == 1
        assert statuses.count(200) == 6


async def test_injected_throttling_and_errors() -> None:
    async with graph_env(faults=Faults(throttle_rate=1.0)) as env:
        status, body, headers = await env.raw("GET", f"/users/{ALICE}/events")
        assert (status, body["error"]["code"], headers["Retry-After"]) == (
            429,
            "TooManyRequests",
            "1",
        )
        env.sim.faults.throttle_retry_after_s = 2.4
        _, _, headers = await env.raw("GET", f"/users/{ALICE}/events")
        assert headers["Retry-After"] == "2"
        env.sim.faults.throttle_retry_after_s = 0
        _, _, headers = await env.raw("GET", f"/users/{ALICE}/events")
        assert headers["Retry-After"] == "1"  # never 0: kiota would wait ~3 s
        env.sim.faults.throttle_rate = 0.0
        env.sim.faults.error_rate = 1.0
        seen = set()
        for _ in range(8):
            status, body, _ = await env.raw("GET", f"/users/{ALICE}/events")
            seen.add((status, body["error"]["code"]))
        assert seen <= {(500, "generalException"), (503, "ServiceUnavailable")}
        assert len(seen) == 2
        env.sim.faults.error_rate = 0.0
        status, _, _ = await env.raw("GET", f"/users/{ALICE}/events")
        assert status == 200


async def test_faults_are_reproducible_with_a_seed() -> None:
    outcomes = []
    for _ in range(2):
        async with graph_env(faults=Faults(error_rate=0.3, throttle_rate=0.3, seed=7)) as env:
            await env.token()
            run = [(await env.raw("GET", f"/users/{ALICE}/events"))[0] for _ in range(12)]
            outcomes.append(run)
    assert outcomes[0] == outcomes[1]
    assert len(set(outcomes[0])) > 1
