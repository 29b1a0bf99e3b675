"""The PostgreSQL store: the same tables, encryption and behaviour as the SQLite store.

The table code (``sqlite_tables``, ``sqlite_cache``, ``sqlite_faults``: the associated data of
every sealed value, the codec, what happens to a row that fails authentication, the cache
version's bump rules, the device seal, the quarantine) is shared, not copied: it talks to a
DB-API-like connection, and :class:`_Connection` gives it a psycopg 3 connection that accepts
its SQL (``?`` and ``:name`` placeholders; ``INSERT OR REPLACE`` becomes ``ON CONFLICT ... DO
UPDATE``). Like ``SQLiteStore``, every call runs on one worker thread that owns the connection,
so the event loop never waits for the network or for encryption and calls keep their order.

The password is never in the DSN: it comes from a private file or a systemd credential.

When replicas share the database (``hybridcal.cluster.postgres``), :meth:`PostgreSQLStore.set_fence`
makes the writes that could otherwise duplicate a meeting (bindings, and a sync round's cache
rows with its cursor) check, inside their own transaction, that this replica still owns the
calendar under the epoch it was granted; the check locks the ownership row (``FOR SHARE``), so
a takeover commits either before the write (which is then refused) or after it.

Why the store keeps psycopg's synchronous connection on one worker thread, not psycopg_pool or
asyncpg: the table code (sealing, associated data, quarantine, cache versions) is shared with
SQLite and is synchronous DB-API code; one connection on one thread keeps every call in the
order it was made, which the daemon relies on (a binding is durable before the next step). A
pool would buy parallel reads the daemon does not need (the endpoint's hot path is one query)
at the price of that ordering; the cluster's own traffic (renewals, LISTEN) has its own
asynchronous connections in ``hybridcal.cluster.postgres`` so it never queues behind the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Self, cast

import psycopg

from hybridcal.cluster.base import LeaseLostError
from hybridcal.crypto import DecryptionError, WrongKeyringError, row_aad
from hybridcal.store.base import DeviceView, StoreError
from hybridcal.store.postgres_schema import migrate
from hybridcal.store.sqlite import P, SQLiteStore, T, _Tables, _utcnow

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence
    from datetime import datetime

    from hybridcal.core.model import Binding
    from hybridcal.crypto import RecordCipher
    from hybridcal.store.base import SyncResult

FenceProvider = Callable[[str], tuple[str, int] | None]
"""A calendar key -> (this replica's id, the epoch it owns the calendar under), or None when
this replica does not hold the calendar's lease (the write is then refused at once)."""

_CANARY = b"hybridcal store canary v1"
_CANARY_AAD = row_aad("meta", "canary")
_PRIMARY_KEYS = {
    "channels": ("channel_id",),
    "bindings": ("calendar_key", "event_id"),
    "meetings": ("calendar_key", "event_key"),
    "presence": ("calendar_key",),
    "faults": ("calendar_key", "event_id"),
}
_FENCE = (
    "SELECT 1 FROM ownership o JOIN replicas r ON r.id = o.owner"
    " WHERE o.calendar_key = %s AND o.owner = %s AND o.epoch = %s AND r.lease_until > now()"
    " FOR SHARE OF o"
)
_NAMED = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


def _translate(sql: str, params: Sequence[Any] | Mapping[str, Any]) -> str:
    sql = sql.replace("%", "%%")
    if isinstance(params, dict):
        return _NAMED.sub(r"%(\1)s", sql)
    return sql.replace("?", "%s")


class _Connection:
    """The slice of ``sqlite3.Connection`` the shared table code uses, over psycopg."""

    def __init__(
        self,
        conn: psycopg.Connection[tuple[Any, ...]],
        reconnect: Callable[[], psycopg.Connection[tuple[Any, ...]]] | None = None,
    ) -> None:
        self.pg = conn
        self._reconnect = reconnect

    def reconnect_if_broken(self) -> None:
        """A new connection when the last one broke (a database restart or failover, a network
        cut): called between calls only, never inside a transaction, so no statement of a
        transaction ever runs on a connection other than the one that began it."""
        if (self.pg.broken or self.pg.closed) and self._reconnect is not None:
            with contextlib.suppress(psycopg.Error):
                self.pg.close()
            try:
                self.pg = self._reconnect()
            except psycopg.Error as exc:
                raise StoreError(f"cannot reconnect to PostgreSQL: {exc}".strip()) from None

    def execute(
        self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()
    ) -> psycopg.Cursor[tuple[Any, ...]]:
        return self.pg.execute(_translate(sql, params).encode(), params or None)

    def executemany(self, sql: str, params: Sequence[Sequence[Any]]) -> None:
        with self.pg.cursor() as cursor:
            cursor.executemany(_translate(sql, ()).encode(), params)

    def close(self) -> None:
        self.pg.close()


class _PostgresTables(_Tables):
    """Every table of the store on one psycopg connection (autocommit outside ``_write``)."""

    _pg: _Connection

    def __init__(
        self, conn: _Connection, cipher: RecordCipher, now: Callable[[], datetime]
    ) -> None:
        # Not RowStore.__init__, which wraps an sqlite3 connection: the shared table code gets
        # the sqlite3-shaped subset that _Connection provides.
        self._pg = conn
        self._conn = cast("Any", conn)
        self._cipher = cipher
        self._now = now
        self._failures = []
        self._memo = None
        self._views = None
        self._depth = 0  # nesting of _write: only the outermost opens a transaction
        self.fence: FenceProvider | None = None

    @classmethod
    def connect(
        cls,
        dsn: str,
        password: str | None,
        cipher: RecordCipher,
        now: Callable[[], datetime],
    ) -> Self:
        def open_connection() -> psycopg.Connection[tuple[Any, ...]]:
            return psycopg.connect(dsn, autocommit=True, password=password)

        try:
            conn = open_connection()
        except psycopg.Error as exc:
            raise StoreError(f"cannot connect to PostgreSQL: {exc}".strip()) from None
        tables = cls(_Connection(conn, open_connection), cipher, now)
        try:
            tables.prepare()
        except psycopg.Error as exc:
            conn.close()
            raise StoreError(
                f"cannot use the PostgreSQL database as a hybridcal store: {exc}"
            ) from None
        except BaseException:
            conn.close()
            raise
        return tables

    def prepare(self) -> None:
        """Migrate and check the keyring against the canary, in one transaction."""
        with self._write():
            migrate(self._pg.pg)
            self._check_canary()

    def close(self) -> None:
        self._pg.close()

    def reconnect_if_broken(self) -> None:
        self._pg.reconnect_if_broken()

    def _query(self, sql: str, params: Sequence[Any] = ()) -> Iterator[dict[str, Any]]:
        cursor = self._pg.execute(sql, params)
        names = [column.name for column in cursor.description or ()]
        for row in cursor:
            yield dict(zip(names, row, strict=True))

    @contextlib.contextmanager
    def _write(self) -> Iterator[None]:
        if self._depth:  # inside a fenced write: one transaction, no savepoint round trips
            yield
            return
        self._depth += 1
        try:
            with self._pg.pg.transaction():
                yield
        finally:
            self._depth -= 1

    @contextlib.contextmanager
    def _fenced(self, calendar_key: str) -> Iterator[None]:
        """A write transaction that first checks (and locks) this replica's ownership."""
        fence = self.fence
        if fence is None:
            yield
            return
        with self._write():
            token = fence(calendar_key)
            if (
                token is None
                or self._pg.pg.execute(_FENCE, [calendar_key, *token]).fetchone() is None
            ):
                raise LeaseLostError(calendar_key)
            yield

    # The shared table code's writes that matter for duplicates, wrapped in the fence.

    def put_binding(self, binding: Binding) -> None:
        with self._fenced(binding.calendar_key):
            super().put_binding(binding)

    def delete_binding(self, calendar_key: str, event_id: str) -> None:
        with self._fenced(calendar_key):
            super().delete_binding(calendar_key, event_id)

    def apply_sync(self, result: SyncResult) -> None:
        with self._fenced(result.calendar_key):
            super().apply_sync(result)

    def _insert(self, table: str, values: dict[str, Any], *, replace: bool = False) -> None:
        columns = ", ".join(values)
        placeholders = ", ".join(f":{column}" for column in values)
        sql = f"INSERT INTO {table} ({columns}) VALUES ({placeholders})"  # noqa: S608 - fixed names
        if replace:
            keys = _PRIMARY_KEYS[table]
            updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in values if c not in keys)
            sql += f" ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}"
        self._pg.execute(sql, values)

    def _check_canary(self, path: object = None) -> None:  # noqa: ARG002 - SQLite names its file
        row = self._pg.execute("SELECT blob FROM meta WHERE key = 'canary'").fetchone()
        if row is None:
            blob = self._cipher.encrypt(_CANARY, _CANARY_AAD)
            self._pg.execute("INSERT INTO meta (key, blob) VALUES ('canary', ?)", [blob])
            return
        try:
            ok = self._cipher.decrypt(bytes(row[0]), _CANARY_AAD) == _CANARY
        except DecryptionError as exc:
            raise WrongKeyringError(
                f"this keyring cannot read the PostgreSQL store ({exc}); start hybridcal with"
                " the keyring this database was created with"
            ) from None
        if not ok:
            raise WrongKeyringError("the PostgreSQL store holds an unexpected canary record")


class PostgreSQLStore(SQLiteStore):
    """Implements ``hybridcal.store.base.Store`` on PostgreSQL. Create with :meth:`connect`."""

    @classmethod
    async def connect(
        cls,
        dsn: str,
        cipher: RecordCipher,
        *,
        password: str | None = None,
        now: Callable[[], datetime] = _utcnow,
        on_integrity_error: Callable[[str, str], None] | None = None,
    ) -> PostgreSQLStore:
        """Connect, migrate (refusing a newer schema) and check the keyring against the
        canary; ``on_integrity_error(table, row_id)`` as for ``SQLiteStore.open``."""
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hybridcal-postgres")
        loop = asyncio.get_running_loop()
        try:
            tables = await loop.run_in_executor(
                executor, _PostgresTables.connect, dsn, password, cipher, now
            )
            await loop.run_in_executor(executor, tables.seal_devices)
        except BaseException:
            executor.shutdown(wait=False)
            raise
        return cls(tables, tables, executor, on_integrity_error)

    async def _run(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """As SQLite's, over a connection that is replaced when it broke: the call that meets
        a lost connection fails (its transaction may or may not have committed, so it is not
        replayed here; the caller's retry reads the store again), the next one reconnects."""
        tables = cast("_PostgresTables", self._tables)

        def guarded(*inner: P.args, **named: P.kwargs) -> T:
            tables.reconnect_if_broken()
            try:
                return fn(*inner, **named)
            except psycopg.OperationalError as exc:
                raise StoreError(
                    f"lost the connection to PostgreSQL ({str(exc).strip()}); the next call"
                    " reconnects"
                ) from None

        return await super()._run(guarded, *args, **kwargs)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            await asyncio.get_running_loop().run_in_executor(self._executor, self._tables.close)
        finally:
            self._executor.shutdown(wait=False)

    def set_fence(self, fence: FenceProvider | None) -> None:
        """Refuse (``LeaseLostError``, nothing written) binding and sync-round writes to a
        calendar this replica does not own under the epoch ``fence`` names; None: no check
        (one daemon, or the admin commands)."""
        cast("_PostgresTables", self._tables).fence = fence

    async def device_view(self, token_hash: str) -> DeviceView | None:
        """One query (device, calendar, cache version and presence joined) on the worker."""
        return await self._run(self._tables.device_view, token_hash)
