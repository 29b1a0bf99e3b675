"""Which Store the daemon and the admin commands open: a small registry keyed by
``store.backend``, so that another store is one module and one line here."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Protocol

from hybridcal.config.settings import Settings
from hybridcal.crypto import RecordCipher
from hybridcal.store.base import Store, StoreError


class Opener(Protocol):
    def __call__(
        self,
        settings: Settings,
        cipher: RecordCipher,
        *,
        now: Callable[[], datetime],
        on_integrity_error: Callable[[str, str], None] | None,
    ) -> Awaitable[Store]: ...


async def _open_sqlite(
    settings: Settings,
    cipher: RecordCipher,
    *,
    now: Callable[[], datetime],
    on_integrity_error: Callable[[str, str], None] | None,
) -> Store:
    from hybridcal.store.sqlite import SQLiteStore  # noqa: PLC0415 - load only the chosen store

    path = Path(settings.store.path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return await SQLiteStore.open(path, cipher, now=now, on_integrity_error=on_integrity_error)


BACKENDS: dict[str, Opener] = {
    "sqlite": _open_sqlite,
}


async def open_store(
    settings: Settings,
    cipher: RecordCipher,
    *,
    now: Callable[[], datetime],
    on_integrity_error: Callable[[str, str], None] | None = None,
) -> Store:
    """Open (creating or migrating as needed) the store ``settings.store.backend`` names."""
    backend = settings.store.backend
    opener = BACKENDS.get(backend)
    if opener is None:
        raise StoreError(
            f"store.backend = {backend!r} is not available in this version of hybridcal"
            f" (available: {', '.join(sorted(BACKENDS))})"
        )
    return await opener(settings, cipher, now=now, on_integrity_error=on_integrity_error)
