"""The SQL of the PostgreSQL coordinator, and the rendezvous hash that decides who owns what.

Every instant is the database's ``now()``: replicas' clocks may disagree, the database's is the
one they share. A calendar's ownership row counts only while its owner's ``replicas`` row is
unexpired, so a renewal is one UPDATE however many calendars the replica holds. Tables:
``store.postgres_schema.CLUSTER_V3``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

import psycopg

AsyncConn = psycopg.AsyncConnection[tuple[Any, ...]]

SYNC_CHANNEL = "hybridcal_sync"  # payload: {"calendar": key, "full": bool}
CONTROL_CHANNEL = "hybridcal_control"  # payload: {"replica": id, "event": joined|released|left}
MAX_PAYLOAD = 7999  # PostgreSQL refuses a NOTIFY payload of 8000 bytes or more


@dataclass(frozen=True, slots=True)
class LeaseTiming:
    """How long leases last and how often they are renewed (injectable so tests run fast)."""

    lease_seconds: float = 15.0
    renew_interval: float | None = None  # default: lease / 5
    margin: float | None = None  # default: 2 s or 10 %, whichever is more, at most lease / 2
    forget_after: float = 600.0  # the leader deletes replica rows lapsed this long ago

    @property
    def interval(self) -> float:
        return self.renew_interval or self.lease_seconds / 5

    @property
    def local_validity(self) -> float:
        margin = self.margin
        if margin is None:
            margin = min(max(2.0, self.lease_seconds / 10), self.lease_seconds / 2)
        return self.lease_seconds - margin


_LIVE = "SELECT 1 FROM replicas r WHERE r.id = {owner} AND r.lease_until > now()"

_JOIN = (
    "INSERT INTO replicas (id, lease_until) VALUES (%(me)s, now() + make_interval(secs => %(s)s))"
    " ON CONFLICT (id) DO UPDATE SET started_at = now(), lease_until = EXCLUDED.lease_until"
)
# Only an unexpired row is renewed: once it lapsed, others may have taken over, so the replica
# must rejoin and claim again (new epochs) rather than silently resume.
_RENEW = (
    "UPDATE replicas SET lease_until = now() + make_interval(secs => %(s)s)"
    " WHERE id = %(me)s AND lease_until > now()"
)
# Claims in key order (no deadlock between two replicas claiming overlapping sets). The SELECT
# skips, without locking, calendars a live replica holds; ON CONFLICT re-checks under the row
# lock, so of two replicas claiming one calendar exactly one wins.
_CLAIM = f"""
INSERT INTO ownership (calendar_key, owner, epoch)
SELECT c.key, %(me)s, 1 FROM calendars c
WHERE c.key = ANY(%(keys)s)
  AND EXISTS ({_LIVE.format(owner="%(me)s")})
  AND NOT EXISTS (
    SELECT 1 FROM ownership o JOIN replicas r ON r.id = o.owner
    WHERE o.calendar_key = c.key AND o.owner <> %(me)s AND r.lease_until > now())
ORDER BY c.key
ON CONFLICT (calendar_key) DO UPDATE SET owner = EXCLUDED.owner, epoch = ownership.epoch + 1
WHERE ownership.owner IS NULL OR ownership.owner = EXCLUDED.owner
   OR NOT EXISTS ({_LIVE.format(owner="ownership.owner")})
RETURNING calendar_key, epoch
"""  # noqa: S608 - fixed text, values are parameters
_RELEASE = (
    "UPDATE ownership SET owner = NULL, epoch = epoch + 1"
    " WHERE owner = %(me)s AND calendar_key = ANY(%(keys)s)"
)
_CLAIM_LEADER = f"""
UPDATE cluster_leader SET owner = %(me)s, epoch = epoch + 1
WHERE id = 1 AND owner IS DISTINCT FROM %(me)s
  AND EXISTS ({_LIVE.format(owner="%(me)s")})
  AND (owner IS NULL OR NOT EXISTS ({_LIVE.format(owner="cluster_leader.owner")}))
"""  # noqa: S608 - fixed text, values are parameters


def weight(calendar_key: str, replica_id: str) -> int:
    """A stable pseudo-random weight (the same on every replica and Python process)."""
    data = f"{calendar_key}\x00{replica_id}".encode()
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big")


def assign(keys: Iterable[str], replicas: Collection[str], me: str) -> set[str]:
    """The calendars whose rendezvous (highest random weight) winner is ``me``: adding or
    removing a replica moves only the calendars it wins or held."""
    ordered = sorted(replicas)
    return {key for key in keys if max(ordered, key=lambda r: (weight(key, r), r)) == me}


def control_payload(replica_id: str, event: str) -> str:
    return json.dumps({"replica": replica_id, "event": event})


def sync_payload(calendar_key: str, *, full: bool) -> str:
    payload = json.dumps({"calendar": calendar_key, "full": full})
    if len(payload.encode()) > MAX_PAYLOAD:
        raise ValueError(f"calendar key too long for a notification: {calendar_key[:80]}...")
    return payload


async def join(conn: AsyncConn, me: str, lease: float) -> None:
    await conn.execute(_JOIN, {"me": me, "s": lease})


async def lease_left(conn: AsyncConn, me: str) -> float | None:
    """Seconds until the row named ``me`` lapses on the database clock; None when there is no
    unexpired row of that name."""
    cursor = await conn.execute(
        "SELECT extract(epoch FROM lease_until - now()) FROM replicas"
        " WHERE id = %(me)s AND lease_until > now()",
        {"me": me},
    )
    row = await cursor.fetchone()
    return None if row is None else float(row[0])


async def renew(conn: AsyncConn, me: str, lease: float) -> bool:
    """False when the replica's row is gone or lapsed: it owns nothing any more."""
    cursor = await conn.execute(_RENEW, {"me": me, "s": lease})
    return cursor.rowcount == 1


async def live_replicas(conn: AsyncConn) -> set[str]:
    cursor = await conn.execute("SELECT id FROM replicas WHERE lease_until > now()")
    return {str(row[0]) for row in await cursor.fetchall()}


async def calendar_keys(conn: AsyncConn) -> list[str]:
    cursor = await conn.execute("SELECT key FROM calendars")
    return [str(row[0]) for row in await cursor.fetchall()]


async def held(conn: AsyncConn, me: str) -> dict[str, int]:
    """What the database says this replica owns, with the epochs."""
    cursor = await conn.execute("SELECT calendar_key, epoch FROM ownership WHERE owner = %s", [me])
    return {str(key): int(epoch) for key, epoch in await cursor.fetchall()}


async def claim(conn: AsyncConn, me: str, keys: Collection[str]) -> dict[str, int]:
    """Take the given calendars where nobody live holds them; returns what was won."""
    cursor = await conn.execute(_CLAIM, {"me": me, "keys": sorted(keys)})
    return {str(key): int(epoch) for key, epoch in await cursor.fetchall()}


async def release(conn: AsyncConn, me: str, keys: Collection[str]) -> None:
    """Hand calendars over and tell the others to claim them now."""
    async with conn.transaction():
        await conn.execute(_RELEASE, {"me": me, "keys": sorted(keys)})
        await send(conn, CONTROL_CHANNEL, control_payload(me, "released"))


async def claim_leader(conn: AsyncConn, me: str) -> bool:
    """Take the cluster lease if nobody live holds it; whether this replica holds it."""
    await conn.execute(_CLAIM_LEADER, {"me": me})
    cursor = await conn.execute("SELECT owner FROM cluster_leader WHERE id = 1")
    row = await cursor.fetchone()
    return row is not None and row[0] == me


async def forget_dead(conn: AsyncConn, older_than: float) -> int:
    """Delete replica rows that lapsed long ago (a crashed replica never deletes its own)."""
    cursor = await conn.execute(
        "DELETE FROM replicas WHERE lease_until < now() - make_interval(secs => %s)",
        [older_than],
    )
    return cursor.rowcount


async def leave(conn: AsyncConn, me: str) -> None:
    """Release everything and delete the replica row, in one transaction, then tell the
    others (the NOTIFY is delivered at commit)."""
    async with conn.transaction():
        await conn.execute(
            "UPDATE ownership SET owner = NULL, epoch = epoch + 1 WHERE owner = %s", [me]
        )
        await conn.execute(
            "UPDATE cluster_leader SET owner = NULL, epoch = epoch + 1 WHERE owner = %s", [me]
        )
        await conn.execute("DELETE FROM replicas WHERE id = %s", [me])
        await send(conn, CONTROL_CHANNEL, control_payload(me, "left"))


async def send(conn: AsyncConn, channel: str, payload: str) -> None:
    # pg_notify takes both as parameters: no quoting of identifiers or payloads by hand.
    await conn.execute("SELECT pg_notify(%s, %s)", [channel, payload])
