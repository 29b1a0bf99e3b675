"""Which Coordinator a daemon uses: keyed by ``store.backend`` like the store itself, since the
store decides whether other replicas can exist (an SQLite file has one daemon)."""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Protocol

from hybridcal.cluster.base import Coordinator
from hybridcal.cluster.solo import SoloCoordinator
from hybridcal.config.settings import Settings
from hybridcal.store.base import Store, StoreError


class Opener(Protocol):
    def __call__(
        self, settings: Settings, store: Store, *, environ: Mapping[str, str]
    ) -> Coordinator: ...


def default_replica_id() -> str:
    """Host, process and a nonce: a restarted process (same host, reused pid) is a new replica."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def _open_solo(
    settings: Settings,
    store: Store,  # noqa: ARG001 - one replica needs no fencing
    *,
    environ: Mapping[str, str],  # noqa: ARG001 - nothing to connect to
) -> Coordinator:
    return SoloCoordinator(settings.cluster.replica_id or "solo")


def _open_postgresql(
    settings: Settings, store: Store, *, environ: Mapping[str, str]
) -> Coordinator:
    # Loaded only when chosen, like the stores.
    from hybridcal.cluster.postgres import LeaseTiming, PostgresCoordinator  # noqa: PLC0415
    from hybridcal.store.postgres import PostgreSQLStore  # noqa: PLC0415
    from hybridcal.store.registry import postgres_password  # noqa: PLC0415

    dsn = settings.store.dsn
    if dsn is None:  # settings validation already refuses this
        raise StoreError('store.backend = "postgresql" needs store.dsn')
    coordinator = PostgresCoordinator(
        dsn,
        replica_id=settings.cluster.replica_id or default_replica_id(),
        password=postgres_password(settings, environ),
        timing=LeaseTiming(lease_seconds=settings.cluster.lease_seconds),
    )
    if isinstance(store, PostgreSQLStore):
        store.set_fence(coordinator.fence_token)
    return coordinator


BACKENDS: dict[str, Opener] = {
    "sqlite": _open_solo,
    "postgresql": _open_postgresql,
}


def open_coordinator(
    settings: Settings,
    store: Store,
    *,
    now: Callable[[], datetime],  # noqa: ARG001 - leases run on the database's clock
    environ: Mapping[str, str] | None = None,
) -> Coordinator:
    """The coordinator for ``settings.store.backend`` (not started: call ``start``). For
    PostgreSQL it also fences ``store``'s binding and sync-round writes by its leases, so open
    it for the daemon only, never for the admin commands."""
    backend = settings.store.backend
    opener = BACKENDS.get(backend)
    if opener is None:
        raise StoreError(f"store.backend = {backend!r} has no cluster coordinator")
    return opener(settings, store, environ=os.environ if environ is None else environ)
