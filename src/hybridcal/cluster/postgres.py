"""Replicas sharing one PostgreSQL store: leases, who owns which calendar, notifications
between replicas, the leader (``Coordinator`` of ``cluster.base``).

- **Leases.** Each replica has a ``replicas`` row whose ``lease_until`` (database clock) it
  renews every ``renew_interval`` (lease / 5); its calendars count as owned only while that row
  is unexpired. Locally a lease is trusted until the renewal that granted it was *sent* plus
  ``lease_seconds`` minus a margin, so a replica cut off from the database stops acting before
  the database lets another take over. A renewal that finds the row lapsed means everything may
  have moved: the replica stops acting on all of it and rejoins with fresh claims (new epochs).
- **Who owns what.** Rendezvous hashing of calendar keys over live replicas. Every round (each
  renewal interval, on a control notification, or ``rebalance()``) claims, in one statement, the
  calendars this replica should own that nobody live holds, and hands over the ones another
  live replica should now own (``on_releasing`` first, then the database, then a NOTIFY so the
  new owner claims at once). ``aclose`` hands everything over in one transaction.
- **Fencing.** ``fence_token`` gives the store (``PostgreSQLStore.set_fence``) the epoch under
  which this replica owns a calendar; binding and sync-round writes check it in their own
  transaction, so a stale owner's write is refused even if its local deadline was wrong.
- **Notifications** go to the owner over LISTEN/NOTIFY (``postgres_listen``).
- **Leader**: the ``cluster_leader`` row, held under the same replica lease.

Driver: psycopg 3's ``AsyncConnection``, the driver the store already uses (one DSN, the same
libpq options, passwords, TLS), with three dedicated connections instead of a pool: renewals
(must never queue behind a round or the store), rounds and outgoing notifications, and LISTEN
(a session-bound state a pool would hand around). asyncpg would add a second driver with a
different connection-string dialect for no gain here.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import math
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING

import psycopg
import structlog

from hybridcal.cluster import postgres_leases as sql
from hybridcal.cluster.base import ClusterView, LeaseLostError
from hybridcal.cluster.postgres_leases import LeaseTiming
from hybridcal.cluster.postgres_listen import Listener
from hybridcal.store.base import StoreError

if TYPE_CHECKING:
    from hybridcal.cluster.base import OnAcquired, OnNotified, OnReleasing
    from hybridcal.cluster.postgres_leases import AsyncConn

__all__ = ["LeaseTiming", "PostgresCoordinator"]

log = structlog.get_logger(__name__)

# Set while on_acquired/on_releasing run (under the round lock): rebalance() from there only
# asks for another round instead of waiting for the lock its caller holds.
_IN_CALLBACK: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "hybridcal_cluster_callback", default=False
)


@dataclass(slots=True)
class _Callbacks:
    acquired: OnAcquired
    releasing: OnReleasing
    notified: OnNotified


class PostgresCoordinator:
    def __init__(
        self,
        dsn: str,
        *,
        replica_id: str,
        password: str | None = None,
        timing: LeaseTiming | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.replica_id = replica_id
        self._dsn = dsn
        self._password = password
        self._timing = timing or LeaseTiming()
        self._clock = clock
        self._deadline = -math.inf  # local end of the lease (clock)
        self._owned: dict[str, int] = {}  # calendar key -> epoch
        self._taken_at: dict[str, float] = {}  # clock when claimed from a previous owner
        self._leader = False
        self._replicas = 1
        self._assignment: tuple[frozenset[str], tuple[str, ...], set[str]] | None = None
        self._callbacks: _Callbacks | None = None
        self._lease_conn: AsyncConn | None = None
        self._work_conn: AsyncConn | None = None
        self._listener = Listener(
            lambda: self._connect("listen"),
            on_sync=self._on_sync,
            on_control=self._on_control,
            on_reconnect=self._renotify,
        )
        self._round_lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._renewer: asyncio.Task[None] | None = None
        self._rounds: asyncio.Task[None] | None = None
        self._closing = False

    # -- the contract ------------------------------------------------------------------------

    async def start(
        self, *, on_acquired: OnAcquired, on_releasing: OnReleasing, on_notified: OnNotified
    ) -> None:
        self._callbacks = _Callbacks(on_acquired, on_releasing, on_notified)
        try:
            self._lease_conn = await self._connect("lease")
            self._work_conn = await self._connect("work")
            await self._wait_for_namesake()
            await self._join()
            await self._listener.start()  # before claiming: no notification slips between
            await self._round()
            await sql.send(self._work_conn, sql.CONTROL_CHANNEL, self._control("joined"))
        except BaseException:
            await self.aclose()
            raise
        self._renewer = asyncio.create_task(self._renew_loop(), name="hybridcal-cluster-renew")
        self._rounds = asyncio.create_task(self._round_loop(), name="hybridcal-cluster-rounds")

    def owns(self, calendar_key: str) -> bool:
        return calendar_key in self._owned and self._valid()

    def fence(self, calendar_key: str) -> float:
        remaining = self._deadline - self._clock()
        if calendar_key not in self._owned or remaining <= 0:
            raise LeaseLostError(calendar_key)
        return remaining

    def held_for(self, calendar_key: str) -> float:
        # Epoch 1 is the first owner a calendar ever had; any later claim may follow an owner
        # whose calls were still in flight, so it counts from the claim.
        taken = self._taken_at.get(calendar_key)
        return math.inf if taken is None else self._clock() - taken

    def fence_token(self, calendar_key: str) -> tuple[str, int] | None:
        """For ``PostgreSQLStore.set_fence``: (replica, epoch) while this replica owns it."""
        epoch = self._owned.get(calendar_key)
        return None if epoch is None or not self._valid() else (self.replica_id, epoch)

    def leader(self) -> bool:
        return self._leader and self._valid()

    async def notify(self, calendar_key: str, *, full: bool = False) -> None:
        if self._closing or self._callbacks is None:
            return  # not in the cluster: the owner's catch-up covers whatever this was
        if self.owns(calendar_key):
            self._callbacks.notified(calendar_key, full)
            return
        payload = sql.sync_payload(calendar_key, full=full)
        try:
            await sql.send(self._work(), sql.SYNC_CHANNEL, payload)
        except psycopg.OperationalError:  # a dropped connection: one fresh try
            await self._reconnect_work()
            await sql.send(self._work(), sql.SYNC_CHANNEL, payload)

    async def rebalance(self) -> None:
        if _IN_CALLBACK.get():  # called from on_acquired/on_releasing: a round is running
            self._wake.set()
            return
        await self._round()

    def view(self) -> ClusterView:
        valid = self._valid()
        owned = len(self._owned) if valid else 0
        return ClusterView(self.replica_id, self._replicas, owned, self.leader(), valid)

    async def aclose(self) -> None:
        if self._closing:
            return
        self._closing = True
        self._wake.set()  # the round loop ends after the round in flight, not inside it
        if self._rounds is not None:
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(self._rounds, self._timing.lease_seconds)
        await self._listener.aclose()
        async with self._round_lock:
            # Renewals go on while the daemon stops acting (that may take a while), so the
            # calendars are released, not left to lapse.
            owned = list(self._owned)
            if owned:
                await self._releasing(owned)
            if self._renewer is not None:
                self._renewer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._renewer
            self._owned.clear()
            self._leader = False
            self._deadline = -math.inf
            if self._work_conn is not None:
                try:
                    await sql.leave(self._work_conn, self.replica_id)
                except psycopg.Error as exc:  # the leases lapse on their own
                    log.warning("cluster leave failed", error=str(exc))
        for conn in (self._lease_conn, self._work_conn):
            if conn is not None:
                with contextlib.suppress(psycopg.Error, OSError):
                    await conn.close()
        self._lease_conn = self._work_conn = None

    # -- leases ------------------------------------------------------------------------------

    def _valid(self) -> bool:
        return self._clock() < self._deadline

    async def _wait_for_namesake(self) -> None:
        """An unexpired row with this replica's name is either this replica's previous life
        (killed and restarted at once under a fixed ``cluster.replica_id``): wait for it to
        lapse, or another live process with the same name: two replicas taking calendars
        from each other, refused."""
        left = await sql.lease_left(self._lease(), self.replica_id)
        if left is None:
            return
        log.info("cluster waiting for a lapsed namesake", replica=self.replica_id, seconds=left)
        await asyncio.sleep(left + 0.2)
        again = await sql.lease_left(self._lease(), self.replica_id)
        if again is not None:
            raise StoreError(
                f"another live replica is named {self.replica_id!r} (it renews its lease):"
                " give each replica its own cluster.replica_id, or leave it empty"
            )

    async def _join(self) -> None:
        sent = self._clock()
        await sql.join(self._lease(), self.replica_id, self._timing.lease_seconds)
        self._deadline = sent + self._timing.local_validity

    async def _renew_loop(self) -> None:
        interval = self._timing.interval
        while True:
            await asyncio.sleep(interval)
            sent = self._clock()
            try:
                async with asyncio.timeout(interval):  # a stuck connection: try a fresh one
                    if self._lease_conn is None:
                        self._lease_conn = await self._connect("lease")
                    renewed = await sql.renew(
                        self._lease_conn, self.replica_id, self._timing.lease_seconds
                    )
            except (psycopg.Error, OSError, TimeoutError) as exc:
                log.warning("cluster lease renewal failed", error=repr(exc))
                await self._drop_lease_conn()
                continue
            if renewed:
                lapsed = not self._valid()
                self._deadline = sent + self._timing.local_validity
                if lapsed:  # work refused while the lease looked lapsed is redone
                    self._renotify()
                continue
            try:
                await self._lost()
            except (psycopg.Error, OSError) as exc:  # the next renewal finds it lost again
                log.warning("cluster rejoin failed", error=str(exc))
                await self._drop_lease_conn()

    async def _lost(self) -> None:
        """The database let the lease lapse: others may hold our calendars now."""
        log.warning("cluster lease lost; rejoining", replica=self.replica_id)
        self._deadline = -math.inf
        async with self._round_lock:
            owned = list(self._owned)
            self._owned.clear()
            self._leader = False
            if owned:
                await self._releasing(owned)
            await self._join()
        self._wake.set()

    async def _drop_lease_conn(self) -> None:
        conn, self._lease_conn = self._lease_conn, None
        if conn is not None:
            with contextlib.suppress(psycopg.Error, OSError):
                await conn.close()

    # -- rounds ------------------------------------------------------------------------------

    async def _round_loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._timing.interval)
            self._wake.clear()
            if self._closing:
                return
            try:
                await self._round()
            except (psycopg.Error, OSError) as exc:
                log.warning("cluster round failed", error=str(exc))
                await self._reconnect_work()
            except Exception:
                log.exception("cluster round failed")

    async def _round(self) -> None:
        if self._callbacks is None:
            return
        async with self._round_lock:
            if not self._valid() or self._closing:
                return
            conn, me = self._work(), self.replica_id
            live = await sql.live_replicas(conn) | {me}
            mine = self._assign(await sql.calendar_keys(conn), live)
            released = await self._hand_over(conn, mine)
            want = [key for key in mine if key not in self._owned]
            won = await sql.claim(conn, me, want) if want else {}
            self._owned.update(won)
            self._note_takeovers(won)
            self._replicas = len(live)
            if released or won:
                log.info("cluster rebalanced", released=released, acquired=len(won))
            if won:  # under the lock: a later round cannot release them before this
                token = _IN_CALLBACK.set(True)
                try:
                    await self._callbacks.acquired(list(won))
                finally:
                    _IN_CALLBACK.reset(token)
            self._leader = await sql.claim_leader(conn, me)
            if self._leader:
                await sql.forget_dead(conn, self._timing.forget_after)

    async def _hand_over(self, conn: AsyncConn, mine: set[str]) -> int:
        """Stop acting on what is no longer ours; release what another replica should own."""
        stored = await sql.held(conn, self.replica_id)
        # Lost behind our back (calendar removed, or a database failover lost our claim).
        gone = [key for key, epoch in self._owned.items() if stored.get(key) != epoch]
        for key in gone:
            del self._owned[key]
        give = [key for key in self._owned if key not in mine]
        if gone or give:
            await self._releasing([*gone, *give])
        for key in give:  # acting stopped: only now does the database hand them over
            del self._owned[key]
        # Also rows still ours in the database that nothing here acts on (a release that
        # failed, or claims from before a lapsed lease): others wait for them otherwise.
        stray = [key for key in stored if key not in self._owned and key not in mine]
        if stray:
            await sql.release(conn, self.replica_id, stray)
        return len(stray)

    def _note_takeovers(self, won: dict[str, int]) -> None:
        claimed_at = self._clock()
        for key in self._taken_at.keys() - self._owned.keys():
            del self._taken_at[key]
        self._taken_at.update((key, claimed_at) for key, epoch in won.items() if epoch > 1)

    def _assign(self, keys: list[str], live: set[str]) -> set[str]:
        """Rendezvous over (calendars, live replicas), recomputed only when either changed."""
        replicas, ordered = frozenset(live), tuple(sorted(keys))
        cached = self._assignment
        if cached is None or cached[0] != replicas or cached[1] != ordered:
            cached = (replicas, ordered, sql.assign(ordered, replicas, self.replica_id))
            self._assignment = cached
        return cached[2]

    async def _releasing(self, keys: Collection[str]) -> None:
        if self._callbacks is not None:
            token = _IN_CALLBACK.set(True)
            try:
                await self._callbacks.releasing(keys)
            except Exception:
                log.exception("cluster on_releasing failed")
            finally:
                _IN_CALLBACK.reset(token)

    # -- notifications -----------------------------------------------------------------------

    def _on_sync(self, calendar_key: str, full: bool) -> None:
        # The owned set, not owns(): during a brief lapse the key is still ours to queue
        # (the daemon's fence stops the work if the lease is really gone).
        if calendar_key in self._owned and self._callbacks is not None:
            self._callbacks.notified(calendar_key, full)

    def _on_control(self, replica_id: str, event: str) -> None:
        if replica_id != self.replica_id:
            log.debug("cluster change", replica=replica_id, change=event)
            self._wake.set()

    def _renotify(self) -> None:
        """Notifications may have been lost: treat every owned calendar as notified."""
        if self._callbacks is not None:
            for key in list(self._owned):
                self._callbacks.notified(key, False)  # noqa: FBT003 - the callback's signature
        self._wake.set()

    def _control(self, event: str) -> str:
        return sql.control_payload(self.replica_id, event)

    # -- connections -------------------------------------------------------------------------

    async def _connect(self, purpose: str) -> AsyncConn:
        return await psycopg.AsyncConnection.connect(
            self._dsn,
            password=self._password,
            autocommit=True,
            application_name=f"hybridcal {purpose} {self.replica_id}"[:63],
        )

    async def _reconnect_work(self) -> None:
        conn, self._work_conn = self._work_conn, None
        if conn is not None:
            with contextlib.suppress(psycopg.Error, OSError):
                await conn.close()
        with contextlib.suppress(psycopg.Error, OSError):
            self._work_conn = await self._connect("work")

    def _lease(self) -> AsyncConn:
        if self._lease_conn is None:
            raise RuntimeError("the coordinator is not started")
        return self._lease_conn

    def _work(self) -> AsyncConn:
        if self._work_conn is None:
            raise psycopg.OperationalError("no connection to the database")
        return self._work_conn
