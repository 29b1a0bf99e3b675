"""Which Store the daemon and the admin commands open: a small registry keyed by
``store.backend``, so that another store is one module and one line here."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Protocol

from hybridcal.config.settings import Settings
from hybridcal.crypto import RecordCipher
from hybridcal.crypto.secret_files import SecretFileError, read_private
from hybridcal.store.base import Store, StoreError


class Opener(Protocol):
    def __call__(
        self,
        settings: Settings,
        cipher: RecordCipher,
        *,
        now: Callable[[], datetime],
        on_integrity_error: Callable[[str, str], None] | None,
        environ: Mapping[str, str],
    ) -> Awaitable[Store]: ...


async def _open_sqlite(
    settings: Settings,
    cipher: RecordCipher,
    *,
    now: Callable[[], datetime],
    on_integrity_error: Callable[[str, str], None] | None,
    environ: Mapping[str, str],  # noqa: ARG001 - SQLite needs no secret
) -> Store:
    from hybridcal.store.sqlite import SQLiteStore  # noqa: PLC0415 - load only the chosen store

    path = Path(settings.store.path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return await SQLiteStore.open(path, cipher, now=now, on_integrity_error=on_integrity_error)


def postgres_password(settings: Settings, environ: Mapping[str, str]) -> str | None:
    """The PostgreSQL password from ``store.password_file`` or ``store.password_credential``
    (the coordinator's connections use it too); None when the server needs none."""
    store = settings.store
    if store.password_file is not None:
        path = Path(store.password_file)
    elif store.password_credential is not None:
        directory = environ.get("CREDENTIALS_DIRECTORY")
        if not directory:
            raise StoreError(
                f"store.password_credential {store.password_credential!r} is set but"
                " CREDENTIALS_DIRECTORY is not (add LoadCredential= to the unit)"
            )
        path = Path(directory) / store.password_credential
    else:
        return None  # trust, peer or a client certificate
    try:
        # a file must be private to its owner; a credential is private to the service
        data = path.read_bytes() if store.password_file is None else read_private(path)
        return data.decode("utf-8").rstrip("\r\n")
    except OSError as exc:
        raise StoreError(
            f"cannot read the PostgreSQL password from {path}: {exc.strerror}"
        ) from None
    except (SecretFileError, UnicodeDecodeError) as exc:
        raise StoreError(f"the PostgreSQL password file: {exc}") from None


async def _open_postgresql(
    settings: Settings,
    cipher: RecordCipher,
    *,
    now: Callable[[], datetime],
    on_integrity_error: Callable[[str, str], None] | None,
    environ: Mapping[str, str],
) -> Store:
    from hybridcal.store.postgres import PostgreSQLStore  # noqa: PLC0415 - load only the chosen store

    dsn = settings.store.dsn
    if dsn is None:  # settings validation already refuses this
        raise StoreError('store.backend = "postgresql" needs store.dsn')
    return await PostgreSQLStore.connect(
        dsn,
        cipher,
        password=postgres_password(settings, environ),
        now=now,
        on_integrity_error=on_integrity_error,
    )


BACKENDS: dict[str, Opener] = {
    "sqlite": _open_sqlite,
    "postgresql": _open_postgresql,
}


async def open_store(
    settings: Settings,
    cipher: RecordCipher,
    *,
    now: Callable[[], datetime],
    on_integrity_error: Callable[[str, str], None] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Store:
    """Open (creating or migrating as needed) the store ``settings.store.backend`` names;
    ``environ`` (default: the process's) locates systemd credentials."""
    backend = settings.store.backend
    opener = BACKENDS.get(backend)
    if opener is None:
        raise StoreError(
            f"store.backend = {backend!r} is not available in this version of hybridcal"
            f" (available: {', '.join(sorted(BACKENDS))})"
        )
    return await opener(
        settings,
        cipher,
        now=now,
        on_integrity_error=on_integrity_error,
        environ=os.environ if environ is None else environ,
    )
