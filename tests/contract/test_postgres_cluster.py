"""The PostgreSQL coordinator: several replicas (coordinators in this process, one in a child
process for SIGKILL) on one throwaway database, with short leases so each test takes seconds.

Needs the PostgreSQL server binaries (see ``tests/postgres.py``), like the store's tests.
"""

from __future__ import annotations

import asyncio
import math
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import psycopg
import pytest
from tests.contract.store_contract import T0, calendar, entry, sync, window

from hybridcal.cluster.base import LeaseLostError
from hybridcal.cluster.postgres import LeaseTiming, PostgresCoordinator
from hybridcal.cluster.postgres_leases import assign
from hybridcal.cluster.registry import open_coordinator
from hybridcal.cluster.solo import SoloCoordinator
from hybridcal.config import settings_from_mapping
from hybridcal.core.model import Binding, BindingState, Provider, calendar_key
from hybridcal.crypto import Keyring, RecordCipher
from hybridcal.store.base import StoreError
from hybridcal.store.postgres import PostgreSQLStore

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Iterator

    from tests.postgres import PostgresServer

# Renewals every 0.3 s; a lease trusted locally for 2 s after its renewal was sent, and by the
# database for 3 s after it arrived.
TIMING = LeaseTiming(lease_seconds=3.0, renew_interval=0.3, margin=1.0)
KEYS = [calendar_key(Provider.GOOGLE, f"room-{i:03}@example.com") for i in range(300)]


@pytest.fixture
def dsn(postgres_server: PostgresServer) -> Iterator[str]:
    dsn = postgres_server.create_database()
    yield dsn
    postgres_server.drop_database(dsn)


@pytest.fixture
def keyring() -> Keyring:
    return Keyring.generate()


@pytest.fixture
async def store(dsn: str, keyring: Keyring) -> AsyncIterator[PostgreSQLStore]:
    """The schema and 300 calendars (an unfenced store, as the admin commands open it)."""
    store = await PostgreSQLStore.connect(dsn, RecordCipher(keyring))
    for key in KEYS:
        await store.add_calendar(calendar(key))
    yield store
    await store.close()


@dataclass
class Replica:
    """A coordinator and what its callbacks saw."""

    coordinator: PostgresCoordinator
    dsn: str
    releases: list[set[str]] = field(default_factory=list)
    acquisitions: list[set[str]] = field(default_factory=list)
    notified: Counter[tuple[str, bool]] = field(default_factory=Counter)
    on_acquired_check: Callable[[set[str]], None] | None = None

    @property
    def id(self) -> str:
        return self.coordinator.replica_id

    def owned(self) -> set[str]:
        return {key for key in KEYS if self.coordinator.owns(key)}

    async def on_acquired(self, keys: Collection[str]) -> None:
        if self.on_acquired_check is not None:
            self.on_acquired_check(set(keys))
        self.acquisitions.append(set(keys))
        await self.coordinator.rebalance()  # allowed from a callback: asks for another round

    async def on_releasing(self, keys: Collection[str]) -> None:
        self.releases.append(set(keys))
        await self.coordinator.rebalance()
        if not all(self.coordinator.owns(key) for key in keys):
            return  # a lost lease (the database may have moved them already), not a handover
        # A handover: the database must still show this replica as the owner.
        async with await psycopg.AsyncConnection.connect(self.dsn, autocommit=True) as conn:
            cursor = await conn.execute(
                "SELECT count(*) FROM ownership WHERE owner = %s AND calendar_key = ANY(%s)",
                [self.id, list(keys)],
            )
            row = await cursor.fetchone()
        assert row is not None
        assert row[0] == len(keys)

    def on_notified(self, key: str, full: bool) -> None:
        self.notified[key, full] += 1


@pytest.fixture
async def cluster(dsn: str, store: PostgreSQLStore) -> AsyncIterator[Callable[..., Any]]:
    """``await join(name)`` starts a replica; every replica still open is closed at the end."""
    assert store is not None
    replicas: list[Replica] = []

    async def join(name: str, timing: LeaseTiming = TIMING) -> Replica:
        replica = Replica(PostgresCoordinator(dsn, replica_id=name, timing=timing), dsn)
        await replica.coordinator.start(
            on_acquired=replica.on_acquired,
            on_releasing=replica.on_releasing,
            on_notified=replica.on_notified,
        )
        replicas.append(replica)
        return replica

    yield join
    for replica in replicas:
        await replica.coordinator.aclose()


async def eventually(check: Callable[[], bool], within: float = 5.0) -> float:
    """Wait until ``check()``; returns the seconds it took."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > within:
            pytest.fail(f"condition not reached within {within} s")
        await asyncio.sleep(0.02)
    return time.monotonic() - started


def settled(*replicas: Replica) -> bool:
    """Each replica owns exactly its rendezvous share among them (so nothing moves any more)."""
    ids = {replica.id for replica in replicas}
    return all(replica.owned() == assign(KEYS, ids, replica.id) for replica in replicas)


def split(*replicas: Replica) -> bool:
    """Every calendar owned by exactly one of the replicas."""
    owned = [replica.owned() for replica in replicas]
    return sum(map(len, owned)) == len(KEYS) and set().union(*owned) == set(KEYS)


async def owners(dsn: str) -> dict[str, str | None]:
    """What the database says (only owners whose lease is live count)."""
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        cursor = await conn.execute(
            "SELECT o.calendar_key, r.id FROM ownership o"
            " LEFT JOIN replicas r ON r.id = o.owner AND r.lease_until > now()"
        )
        return {str(key): owner for key, owner in await cursor.fetchall()}


async def test_postgres_replicas_split_calendars_disjointly_and_completely(
    cluster: Callable[..., Any], dsn: str
) -> None:
    a = await cluster("a")
    assert a.owned() == set(KEYS)  # alone: start() returns with everything claimed
    assert a.coordinator.held_for(KEYS[0]) == math.inf  # its first owner ever
    b = await cluster("b")
    await eventually(lambda: settled(a, b))
    c = await cluster("c")
    await eventually(lambda: settled(a, b, c))
    assert split(a, b, c)
    assert all(60 < len(r.owned()) < 140 for r in (a, b, c))
    stored = await owners(dsn)
    for replica in (a, b, c):
        assert {key for key, owner in stored.items() if owner == replica.id} == replica.owned()
        assert replica.coordinator.view().replicas == 3


async def test_postgres_join_takes_a_third_and_the_others_release_exactly_that(
    cluster: Callable[..., Any],
) -> None:
    a, b = await cluster("a"), await cluster("b")
    await eventually(lambda: settled(a, b))
    before_a, before_b = a.owned(), b.owned()
    a.releases.clear()
    b.releases.clear()
    c = await cluster("c")
    await eventually(lambda: settled(a, b, c))
    await asyncio.sleep(3 * TIMING.interval)  # no further movement after convergence
    taken = c.owned()
    assert 60 < len(taken) < 140
    released_a, released_b = set().union(*a.releases), set().union(*b.releases)
    assert released_a | released_b == taken
    assert before_a - a.owned() == released_a
    assert before_b - b.owned() == released_b
    assert a.owned() <= before_a
    assert b.owned() <= before_b


async def test_postgres_clean_close_hands_everything_over_at_once(
    cluster: Callable[..., Any], dsn: str
) -> None:
    a, b, c = await cluster("a"), await cluster("b"), await cluster("c")
    await eventually(lambda: settled(a, b, c))
    held_by_c = c.owned()
    await c.coordinator.aclose()
    assert set().union(*c.releases) >= held_by_c
    took = await eventually(lambda: settled(a, b))
    assert took < 1.0  # not after the lease (3 s) lapses
    stored = await owners(dsn)
    assert "c" not in stored.values()


async def test_postgres_stalled_replica_stops_acting_before_anyone_takes_over(
    cluster: Callable[..., Any], dsn: str
) -> None:
    a, b = await cluster("a"), await cluster("b")
    await eventually(lambda: settled(a, b))
    held_by_a = a.owned()
    violations: list[str] = []
    claimed_at: list[float] = []

    def check(keys: set[str]) -> None:
        if keys & held_by_a:
            claimed_at.append(time.monotonic())
            violations.extend(key for key in keys if a.coordinator.owns(key))

    b.on_acquired_check = check
    # Block a's renewals: its replica row stays locked, as a stuck network would leave it.
    async with await psycopg.AsyncConnection.connect(dsn) as blocker:
        await blocker.execute("SELECT 1 FROM replicas WHERE id = 'a' FOR UPDATE")
        stalled = time.monotonic()
        await eventually(lambda: not a.owned(), within=4)
        lost_locally = time.monotonic()
        assert not a.coordinator.view().connected  # /readyz answers 503: not ready
        await eventually(lambda: b.owned() >= held_by_a, within=6)
        await blocker.rollback()
    assert not violations
    assert lost_locally < min(claimed_at)
    assert lost_locally - stalled <= TIMING.local_validity + 0.2
    assert min(claimed_at) - stalled <= TIMING.lease_seconds + 2 * TIMING.interval + 0.5
    assert a.coordinator.view().owned == 0
    assert all(b.coordinator.held_for(key) < TIMING.lease_seconds for key in held_by_a)
    assert b.coordinator.view().connected
    await eventually(lambda: a.coordinator.view().connected)  # /readyz ready again


async def test_postgres_replica_whose_row_vanished_rejoins_under_new_epochs(
    cluster: Callable[..., Any], dsn: str
) -> None:
    a = await cluster("a")
    before = {key: a.coordinator.fence_token(key) for key in KEYS}
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as admin:
        await admin.execute("DELETE FROM replicas WHERE id = 'a'")
    await eventually(lambda: bool(a.releases) and a.owned() == set(KEYS))
    assert a.releases == [set(KEYS)]  # it stopped acting on everything first
    for key, token in before.items():
        assert token is not None
        assert a.coordinator.fence_token(key) == ("a", token[1] + 1)


async def test_postgres_killed_replica_is_taken_over_within_lease_and_a_renewal(
    cluster: Callable[..., Any], dsn: str
) -> None:
    b = await cluster("b")
    child = subprocess.Popen(  # noqa: ASYNC220 - the child must outlive one awaited call
        [sys.executable, "-c", _CHILD, dsn],
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    try:
        assert child.stdout is not None
        assert await asyncio.to_thread(child.stdout.readline) == b"ready\n"
        await eventually(lambda: 60 < len(b.owned()) < 240)
        child.send_signal(signal.SIGKILL)
        killed = time.monotonic()
    finally:
        child.kill()
        child.wait()
    await eventually(lambda: b.owned() == set(KEYS), within=8)
    assert time.monotonic() - killed <= TIMING.lease_seconds + TIMING.interval + 0.5


_CHILD = f"""
import asyncio, sys
from hybridcal.cluster.postgres import LeaseTiming, PostgresCoordinator
from hybridcal.cluster.postgres_leases import assign

async def main():
    timing = LeaseTiming(lease_seconds={TIMING.lease_seconds}, renew_interval={TIMING.interval},
                         margin={TIMING.lease_seconds - TIMING.local_validity})
    coordinator = PostgresCoordinator(sys.argv[1], replica_id="child", timing=timing)
    async def nothing(keys):
        pass
    await coordinator.start(on_acquired=nothing, on_releasing=nothing,
                            on_notified=lambda key, full: None)
    print("ready", flush=True)
    await asyncio.sleep(3600)

asyncio.run(main())
"""


async def test_postgres_notify_reaches_the_owner_exactly_once(
    cluster: Callable[..., Any],
) -> None:
    replicas = [await cluster("a"), await cluster("b"), await cluster("c")]
    await eventually(lambda: settled(*replicas))
    for replica in replicas:
        replica.notified.clear()
    sample = KEYS[::10]
    for sender in replicas:
        for key in sample:
            await sender.coordinator.notify(key, full=key == KEYS[0])
    expected = Counter({(key, key == KEYS[0]): len(replicas) for key in sample})

    def total() -> Counter[tuple[str, bool]]:
        return sum((r.notified for r in replicas), Counter[tuple[str, bool]]())

    await eventually(lambda: total() == expected)
    await asyncio.sleep(0.3)  # and nothing more arrives
    assert total() == expected
    for replica in replicas:
        assert {key for key, _ in replica.notified} <= replica.owned()


async def test_postgres_listen_connection_killed_reconnects_and_renotifies_everything(
    cluster: Callable[..., Any], dsn: str
) -> None:
    a, b = await cluster("a"), await cluster("b")
    await eventually(lambda: settled(a, b))
    a.notified.clear()
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as admin:
        cursor = await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE application_name = 'hybridcal listen a'"
        )
        assert await cursor.fetchall() == [(True,)]
    await eventually(lambda: {key for key, _ in a.notified} == a.owned())
    assert all(not full for _, full in a.notified)
    # And it listens again: a notification sent by b reaches a.
    key = min(a.owned())
    a.notified.clear()
    await b.coordinator.notify(key, full=True)
    await eventually(lambda: a.notified == Counter({(key, True): 1}))


async def test_postgres_fencing_refuses_a_stale_owners_writes(
    cluster: Callable[..., Any], dsn: str, keyring: Keyring
) -> None:
    a, b = await cluster("a"), await cluster("b")
    await eventually(lambda: settled(a, b))
    key = min(a.owned())
    stale = a.coordinator.fence_token(key)
    assert stale is not None
    assert 0 < a.coordinator.fence(key) <= TIMING.local_validity
    await a.coordinator.aclose()
    await eventually(lambda: b.coordinator.owns(key))
    with pytest.raises(LeaseLostError):
        a.coordinator.fence(key)
    binding = Binding(key, "e1", "zoom", "r1", "@zoom", BindingState.PATCHED)
    rows = sync([entry("x", 1, key=key)], key=key, cursor="stale-cursor")
    cipher = RecordCipher(keyring)
    async with (
        await PostgreSQLStore.connect(dsn, cipher) as store_a,
        await PostgreSQLStore.connect(dsn, cipher) as store_b,
    ):
        # The stale epoch (the database refuses it) and a's own provider (refuses locally).
        for fence in (lambda _key: stale, a.coordinator.fence_token):
            store_a.set_fence(fence)
            with pytest.raises(LeaseLostError):
                await store_a.put_binding(binding)
            with pytest.raises(LeaseLostError):
                await store_a.apply_sync(rows)
            with pytest.raises(LeaseLostError):
                await store_a.delete_binding(key, "e1")
        assert await store_b.get_binding(key, "e1") is None
        record = await store_b.get_calendar(key)
        assert record is not None
        assert record.cursor != "stale-cursor"
        assert await store_b.list_entries(key, *window(0, 24)) == []
        # The owner's writes go through.
        store_b.set_fence(b.coordinator.fence_token)
        await store_b.put_binding(binding)
        await store_b.apply_sync(rows)
        assert await store_b.get_binding(key, "e1") == binding
        assert len(await store_b.list_entries(key, *window(0, 24))) == 1


async def test_postgres_exactly_one_leader_and_a_successor_after_it_leaves(
    cluster: Callable[..., Any],
) -> None:
    replicas = [await cluster("a"), await cluster("b"), await cluster("c")]
    await eventually(lambda: settled(*replicas))
    leaders = [r for r in replicas if r.coordinator.leader()]
    assert len(leaders) == 1
    assert leaders[0].coordinator.view().leader
    await leaders[0].coordinator.aclose()
    rest = [r for r in replicas if r is not leaders[0]]
    await eventually(lambda: sum(r.coordinator.leader() for r in rest) == 1, within=1.0)


async def test_postgres_registry_opens_the_coordinator_the_store_needs(
    dsn: str, store: PostgreSQLStore
) -> None:
    def settings(backend: str, **cluster: object) -> Any:
        return settings_from_mapping(
            {
                "daemon": {"public_url": "https://h.example.org"},
                "store": {"backend": backend} | ({"dsn": dsn} if backend != "sqlite" else {}),
                "cluster": cluster,
            }
        )

    solo = open_coordinator(settings("sqlite"), store, now=lambda: T0, environ={})
    assert isinstance(solo, SoloCoordinator)
    named = open_coordinator(
        settings("postgresql", replica_id="r1", lease_seconds=5), store, now=lambda: T0, environ={}
    )
    assert isinstance(named, PostgresCoordinator)
    assert named.replica_id == "r1"
    coordinator = open_coordinator(settings("postgresql"), store, now=lambda: T0, environ={})
    assert coordinator.replica_id.count(":") == 2  # host:pid:nonce
    # The store is fenced by the coordinator: not started, it owns nothing.
    with pytest.raises(LeaseLostError):
        await store.put_binding(Binding(KEYS[0], "e1", "zoom", "r1", "@zoom", BindingState.INTENT))
    store.set_fence(None)


async def test_postgres_a_second_live_replica_with_the_same_name_is_refused(
    cluster: Callable[..., Any],
) -> None:
    """Two processes under one fixed cluster.replica_id would take calendars from each other
    (each claim bumps the epoch): the second waits for the name's lease to lapse (a restart
    after a kill) and is refused when it is renewed meanwhile (someone alive holds it)."""
    first = await cluster("east")
    await eventually(lambda: settled(first))
    with pytest.raises(StoreError, match="another live replica is named 'east'"):
        await cluster("east")
    assert first.owned() == set(KEYS)  # the live one keeps its calendars
