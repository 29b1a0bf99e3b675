"""The coordination contract between the daemon and the replicas that share its store.

Every calendar is acted on by exactly one replica at a time, the one holding its lease.
``owns`` answers from what this replica knows locally: a lease counts as held only until
``lease_seconds`` (minus a safety margin) after the renewal that granted it was *sent*, so a
replica that cannot reach the database stops acting before any other replica can take the
calendar over (the database grants a takeover only after the lease it recorded has lapsed on
its own clock). The SQLite store has one replica by construction (``solo``); PostgreSQL has
``hybridcal.cluster.postgres``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from typing import Any, Protocol


class LeaseLostError(Exception):
    """This replica no longer holds the calendar's lease: stop acting on it (another replica
    does, or will once the lease lapses). Not a fault of the calendar or of its events."""

    def __init__(self, calendar_key: str) -> None:
        super().__init__(f"this replica no longer holds the lease of {calendar_key}")
        self.calendar_key = calendar_key


OnAcquired = Callable[[Collection[str]], Awaitable[None]]
"""Calendars this replica now owns: catch up on them (channel, stored cursor, deferred work)."""
OnReleasing = Callable[[Collection[str]], Awaitable[None]]
"""Calendars this replica is about to hand over: when the awaitable ends nothing acts on them."""
OnNotified = Callable[[str, bool], None]
"""A change notification for a calendar this replica owns: (calendar key, full resync)."""


@dataclass(frozen=True, slots=True)
class ClusterView:
    """What ``status`` and ``/readyz`` show about the cluster."""

    replica_id: str
    replicas: int  # live replicas, this one included
    owned: int | None  # calendars this replica holds the lease of; None: all (one replica)
    leader: bool
    # the lease is locally valid: the database answered a renewal within the lease; when it
    # is not, the replica acts on nothing and its store calls fail, so it is not ready
    connected: bool = True

    def as_dict(self) -> dict[str, Any]:
        return {
            "replica": self.replica_id,
            "replicas": self.replicas,
            "owned_calendars": self.owned,
            "leader": self.leader,
            "connected": self.connected,
        }


class Coordinator(Protocol):
    replica_id: str

    async def start(
        self, *, on_acquired: OnAcquired, on_releasing: OnReleasing, on_notified: OnNotified
    ) -> None:
        """Join the cluster and claim this replica's share of the calendars; returns once the
        first claim round is done (``on_acquired`` has been called for what was claimed)."""

    def owns(self, calendar_key: str) -> bool:
        """Whether this replica may act on the calendar now (lease held and locally valid)."""

    def fence(self, calendar_key: str) -> float:
        """Seconds the lease stays locally valid (``math.inf`` with one replica); raises
        LeaseLostError unless ``owns``. Called before every write to a provider: a meeting
        create runs under a timeout of that many seconds, so no call is *started* by a
        replica after its lease could have been taken over."""

    def held_for(self, calendar_key: str) -> float:
        """Seconds since this replica took the calendar over from another (``math.inf`` when
        nobody else can have acted on it: one replica, or held since the calendar was new).
        An intent stored by another replica is looked up only once this exceeds the longest
        call a meeting system makes, so a create the old owner had in flight has ended."""

    def leader(self) -> bool:
        """Whether this replica runs the cluster-wide jobs (pruning, clean-up) now."""

    async def notify(self, calendar_key: str, *, full: bool = False) -> None:
        """Hand a change notification to the calendar's owner, wherever it runs (this replica
        included: then ``on_notified`` is called at once)."""

    async def rebalance(self) -> None:
        """Claim and release now rather than at the next renewal (after calendars are added)."""

    def view(self) -> ClusterView: ...

    async def aclose(self) -> None:
        """Leave the cluster: stop acting, then release every lease so others take over at
        once (a clean stop or a rolling restart does not wait for leases to lapse)."""
