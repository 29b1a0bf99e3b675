"""The shared machinery of the SQLite store's tables: one connection, used from one thread.

``store.sqlite.SQLiteStore`` runs every method of the table classes (``sqlite_tables``,
``sqlite_cache``) on a single worker thread; this base opens and migrates the database, checks the
keyring against the canary, runs write transactions and seals or opens encrypted values.

Every encrypted value is bound to its row by associated data naming the table, the column and the
row's clear columns, so a ciphertext copied to another row, or a clear column edited under it,
fails authentication. A value that fails is reported here (logged without content, collected for
the caller to count) and then handled by what is safe for its kind; see the table modules.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from typing import TYPE_CHECKING, Any, Self

import structlog
from sqlite_utils import Database

from hybridcal.crypto import DecryptionError, WrongKeyringError, row_aad
from hybridcal.store.base import DeviceView, NotFoundError, StoreError
from hybridcal.store.schema import migrate

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence
    from datetime import datetime
    from pathlib import Path

    from hybridcal.crypto import RecordCipher

log = structlog.get_logger(__name__)

_CANARY = b"hybridcal store canary v1"
MEMO_LIMIT = 8192  # decrypted values the endpoint's reader keeps
_CANARY_AAD = row_aad("meta", "canary")


class RowStore:
    def __init__(self, db: Database, cipher: RecordCipher, now: Callable[[], datetime]) -> None:
        self._db = db
        self._conn = db.conn
        self._cipher = cipher
        self._now = now
        self._failures: list[tuple[str, str]] = []
        # Only the endpoint's read-only connection memoises: the same few rows are opened on
        # every poll. Keyed by ciphertext *and* associated data, so a value moved to another
        # row still fails authentication.
        self._memo: dict[tuple[bytes, bytes], Any] | None = None
        self._views: dict[str, tuple[tuple[Any, ...], DeviceView]] | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    @classmethod
    def open(cls, path: Path, cipher: RecordCipher, now: Callable[[], datetime]) -> Self:
        """Open (creating if needed) and migrate; WrongKeyringError if the keyring is not ours."""
        _create_private(path)
        try:
            conn = sqlite3.connect(path, isolation_level=None)  # transactions are explicit
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open database {path}: {exc}") from None
        try:
            for pragma in ("journal_mode = WAL", "synchronous = NORMAL", "foreign_keys = ON"):
                conn.execute(f"PRAGMA {pragma}")
            conn.execute("PRAGMA busy_timeout = 5000")
            store = cls(Database(conn, execute_plugins=False), cipher, now)
            with store._write():
                migrate(store._db)
                store._check_canary(path)
        except sqlite3.OperationalError as exc:
            conn.close()
            if "locked" in str(exc):
                raise StoreError(
                    f"{path} is locked by another process (another hybridcal run?); try again"
                    " when it has finished"
                ) from None
            raise StoreError(f"cannot open {path}: {exc}") from None
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise StoreError(f"cannot use {path} as a hybridcal database: {exc}") from None
        except BaseException:
            conn.close()
            raise
        return store

    @classmethod
    def reader(cls, path: Path, cipher: RecordCipher, now: Callable[[], datetime]) -> Self:
        """A read-only connection to a database that ``open`` already migrated and checked."""
        try:
            conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
            conn.execute("PRAGMA query_only = ON")
            conn.execute("PRAGMA busy_timeout = 5000")
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open database {path} for reading: {exc}") from None
        reader = cls(Database(conn, execute_plugins=False), cipher, now)
        reader._memo = {}
        reader._views = {}
        return reader

    def close(self) -> None:
        self._conn.close()

    def _query(self, sql: str, params: Sequence[Any] = ()) -> Iterator[dict[str, Any]]:
        """Rows as dicts from a plain cursor: sqlite-utils' ``query`` wraps every read in a
        savepoint, which doubled the cost of the endpoint's hot path."""
        cursor = self._conn.execute(sql, params)
        names = [column[0] for column in cursor.description]
        for row in cursor:
            yield dict(zip(names, row, strict=True))

    def take_failures(self) -> list[tuple[str, str]]:
        """(table, row id) of every value that failed to decrypt since the last call."""
        failures, self._failures = self._failures, []
        return failures

    def _check_canary(self, path: Path) -> None:
        """A fresh database gets a canary sealed with the active key; an old one must open."""
        row = self._conn.execute("SELECT value FROM meta WHERE key = 'canary'").fetchone()
        if row is None:
            blob = self._cipher.encrypt(_CANARY, _CANARY_AAD)
            self._conn.execute("INSERT INTO meta (key, value) VALUES ('canary', ?)", [blob])
            return
        try:
            ok = self._cipher.decrypt(row[0], _CANARY_AAD) == _CANARY
        except DecryptionError as exc:
            raise WrongKeyringError(
                f"this keyring cannot read {path} ({exc}); start hybridcal with the keyring"
                " this database was created with"
            ) from None
        if not ok:
            raise WrongKeyringError(f"{path} holds an unexpected canary record")

    @contextlib.contextmanager
    def _write(self) -> Iterator[None]:
        """One write transaction; IMMEDIATE takes the write lock up front (no upgrade deadlock)."""
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield
            self._conn.execute("COMMIT")
        except BaseException:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            raise

    # -- helpers for the tables ------------------------------------------------------------------

    def _seal(self, value: Any, aad: bytes) -> bytes:
        return self._cipher.encrypt_json(value, aad)

    def _report(self, table: str, row_id: str, exc: Exception) -> None:
        log.warning("store.unreadable_row", table=table, row=row_id, error=type(exc).__name__)
        self._failures.append((table, row_id))

    def _open_optional(self, blob: bytes | None, aad: bytes, table: str, row_id: str) -> Any:
        """Decrypt a nullable value; None (reported) when it cannot be read."""
        if blob is None:
            return None
        memo = self._memo
        if memo is not None and (blob, aad) in memo:
            return memo[blob, aad]
        try:
            value = self._cipher.decrypt_json(blob, aad)
        except DecryptionError as exc:
            self._report(table, row_id, exc)
            return None
        if memo is not None:
            if len(memo) >= MEMO_LIMIT:
                memo.clear()
            memo[blob, aad] = value
        return value

    def _require_calendar(self, key: str) -> None:
        if self._conn.execute("SELECT 1 FROM calendars WHERE key = ?", [key]).fetchone() is None:
            raise NotFoundError(f"unknown calendar {key}")

    def _insert(self, table: str, values: dict[str, Any], *, replace: bool = False) -> None:
        columns = ", ".join(values)
        placeholders = ", ".join(f":{column}" for column in values)
        verb = "INSERT OR REPLACE" if replace else "INSERT"
        self._conn.execute(f"{verb} INTO {table} ({columns}) VALUES ({placeholders})", values)

    def _bump(self, calendar_key: str) -> None:
        """Give the calendar a new cache version, unique across calendars and re-additions."""
        self._conn.execute("UPDATE meta SET value = value + 1 WHERE key = 'cache_counter'")
        self._conn.execute(
            "INSERT INTO cache_versions (calendar_key, version)"
            " VALUES (?, (SELECT value FROM meta WHERE key = 'cache_counter'))"
            " ON CONFLICT (calendar_key) DO UPDATE SET version = excluded.version",
            [calendar_key],
        )


def _create_private(path: Path) -> None:
    """Create a missing database file with mode 0600 (SQLite gives its -wal/-shm the same)."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
