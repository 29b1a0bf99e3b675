"""Two daemons on one PostgreSQL store behind one balancer: each calendar is acted on by the
replica holding its lease, a notification that reaches the other replica reaches the owner,
and a clean stop hands the calendars over at once. One keyword event, one meeting, always.

Replica names are fixed so that the rendezvous split of the three calendars is known: "east"
wins Alice's calendar and the room, "west" wins Bob's.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest
from bench._balancer import Balancer
from tests.e2e.harness import (
    ALICE,
    BOB,
    ROOM,
    Harness,
    free_port,
    marker_of,
    start_harness,
    tomorrow_at,
    when,
)

from hybridcal.config import settings_from_mapping
from hybridcal.daemon.service import Daemon

if TYPE_CHECKING:
    from tests.postgres import PostgresServer

EAST_OWNS = {f"google:{ALICE}", f"google:{ROOM}"}
WEST_OWNS = {f"google:{BOB}"}


@dataclasses.dataclass
class Cluster:
    h: Harness  # h.daemon is "east"
    west: Daemon
    balancer: Balancer

    async def settle(self) -> None:
        for _ in range(3):  # a change can bounce between replicas through a notification
            await self.h.settle()
            await asyncio.wait_for(self.west.queue.wait_idle(), 10)
            await asyncio.sleep(0.05)


async def _until(done: Callable[[], bool], limit_s: float = 15.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit_s
    while not done():
        assert loop.time() < deadline, "not reached in time"
        await asyncio.sleep(0.05)


def _owned(daemon: Daemon, keys: set[str]) -> set[str]:
    return {key for key in keys if daemon.parts.coordinator.owns(key)}


@pytest.fixture
async def cluster(
    tmp_path: Path, sa_info: dict[str, str], postgres_server: PostgresServer
) -> AsyncIterator[Cluster]:
    dsn = postgres_server.create_database()
    balancer = Balancer(check_interval=0.1)
    await balancer.start()
    east_port, west_port = free_port(), free_port()
    balancer.add("east", f"http://127.0.0.1:{east_port}")
    balancer.add("west", f"http://127.0.0.1:{west_port}")
    shared: dict[str, Any] = {
        "store": {"backend": "postgresql", "dsn": dsn},
        "daemon": {"public_url": balancer.url, "listen_port": east_port},
        "cluster": {"replica_id": "east", "lease_seconds": 5},
    }
    h = await start_harness(tmp_path, sa_info, settings=shared)
    data = h.settings.model_dump(mode="json")
    data["daemon"]["listen_port"] = west_port
    data["cluster"]["replica_id"] = "west"
    west = Daemon(settings_from_mapping(data), now=h.clock)
    try:
        await west.start()
        await west.wait_initial_sweep()
        calendars = EAST_OWNS | WEST_OWNS
        await _until(
            lambda: (
                _owned(h.daemon, calendars) == EAST_OWNS and _owned(west, calendars) == WEST_OWNS
            )
        )
        await balancer.check_all()
        yield Cluster(h, west, balancer)
    finally:
        await west.stop()
        await h.close()
        await balancer.close()
        postgres_server.drop_database(dsn)


def _keyword_event(summary: str) -> dict[str, Any]:
    return {
        "summary": summary,
        "location": "@zoom",
        "attendees": [{"email": ROOM}],
        **when(tomorrow_at(9), 30),
    }


async def test_postgres_replicas_split_calendars_and_forward_notifications(
    cluster: Cluster,
) -> None:
    h = cluster.h
    # every notification reaches "east"; Bob's calendar belongs to "west"
    cluster.balancer.drain("west")
    event_id = h.sim.person_insert(BOB, _keyword_event("Planning"))["id"]
    await cluster.settle()

    [meeting] = h.zoom_meetings()
    assert marker_of(h.event(BOB, event_id))["hybridcal.meeting"] == str(meeting["id"])
    assert cluster.balancer.backends[1].forwarded == 0  # west heard it only from east
    # both replicas serve the room's list from the shared store
    for daemon in (h.daemon, cluster.west):
        async with (
            aiohttp.ClientSession() as http,
            http.get(
                f"{daemon.base_url}/api/v1/meetings",
                headers={"Authorization": f"Bearer {h.room_token}"},
            ) as response,
        ):
            assert response.status == 200
            body = await response.json()
        joins = [m["join"]["url"] for m in body["meetings"] if m.get("join")]
        assert joins == [meeting["join_url"]], daemon.parts.coordinator.replica_id


async def test_postgres_a_clean_stop_hands_calendars_over_at_once(cluster: Cluster) -> None:
    h, west = cluster.h, cluster.west
    first = h.sim.person_insert(ALICE, _keyword_event("Before the stop"))["id"]
    await cluster.settle()
    assert len(h.zoom_meetings()) == 1

    loop = asyncio.get_running_loop()
    stopped_at = loop.time()
    await h.daemon.stop()
    calendars = EAST_OWNS | WEST_OWNS
    await _until(lambda: _owned(west, calendars) == calendars, limit_s=5)
    handover = loop.time() - stopped_at
    assert handover < 5  # not a lapsed lease: handed over
    h.daemon = west  # the harness settles, reconciles and stops the survivor from now on
    await cluster.balancer.check_all()

    second = h.sim.person_insert(ALICE, _keyword_event("After the stop"))["id"]
    h.sim.person_patch(ALICE, first, {"summary": "Before the stop, renamed"})
    await cluster.settle()
    await h.reconcile()

    meetings = h.zoom_meetings()
    assert len(meetings) == 2  # one per keyword event, none made twice
    by_id = {str(m["id"]): m for m in meetings}
    assert marker_of(h.event(ALICE, second))["hybridcal.meeting"] in by_id
    renamed = by_id[marker_of(h.event(ALICE, first))["hybridcal.meeting"]]
    assert renamed["topic"].startswith("Before the stop, renamed")
