"""One replica on an embedded store: it owns every calendar and is always the leader.

The SQLite store admits one daemon per file (``store.sqlite_lock``), so there is nobody to
share with; notifications go straight to the local queue."""

from __future__ import annotations

import math

from hybridcal.cluster.base import ClusterView, OnAcquired, OnNotified, OnReleasing


class SoloCoordinator:
    def __init__(self, replica_id: str = "solo") -> None:
        self.replica_id = replica_id
        self._notified: OnNotified | None = None

    async def start(
        self,
        *,
        on_acquired: OnAcquired,  # noqa: ARG002 - the start-up sweep covers every calendar
        on_releasing: OnReleasing,  # noqa: ARG002 - nothing is ever handed over
        on_notified: OnNotified,
    ) -> None:
        self._notified = on_notified

    def owns(self, calendar_key: str) -> bool:  # noqa: ARG002 - every calendar is ours
        return True

    def fence(self, calendar_key: str) -> float:  # noqa: ARG002 - every calendar is ours
        return math.inf

    def held_for(self, calendar_key: str) -> float:  # noqa: ARG002 - nobody else acts
        return math.inf

    def leader(self) -> bool:
        return True

    async def notify(self, calendar_key: str, *, full: bool = False) -> None:
        if self._notified is not None:
            self._notified(calendar_key, full)

    async def rebalance(self) -> None:
        pass

    def view(self) -> ClusterView:
        return ClusterView(self.replica_id, replicas=1, owned=None, leader=True)

    async def aclose(self) -> None:
        self._notified = None
