"""The PostgreSQL store against the store contract, plus its tampering, seal and schema tests.

Needs the PostgreSQL server binaries (see ``tests/postgres.py``); every test gets a fresh
database on the session's server.
"""

from __future__ import annotations

import contextlib
import threading
from typing import TYPE_CHECKING, Any

import psycopg
import pytest
from tests.contract.store_contract import (
    ALICE,
    ROOM,
    T0,
    StoreContract,
    calendar,
    entry,
    full_join,
    sync,
    window,
)
from tests.contract.test_sqlite_store import Reports, flip_last_byte

from hybridcal.config import settings_from_mapping
from hybridcal.core.model import Binding, BindingState, Channel, Device, Presence
from hybridcal.crypto import IntegrityError, Keyring, RecordCipher, WrongKeyringError
from hybridcal.store import postgres_schema
from hybridcal.store.base import SchemaError, StoreError
from hybridcal.store.postgres import PostgreSQLStore
from hybridcal.store.registry import open_store

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator
    from pathlib import Path

    from tests.postgres import PostgresServer


@pytest.fixture
def keyring() -> Keyring:
    return Keyring.generate()


@pytest.fixture
def dsn(postgres_server: PostgresServer) -> Iterator[str]:
    dsn = postgres_server.create_database()
    yield dsn
    postgres_server.drop_database(dsn)


class TestPostgresStoreContract(StoreContract):
    @pytest.fixture
    async def store(self, dsn: str, keyring: Keyring) -> AsyncIterator[PostgreSQLStore]:
        store = await PostgreSQLStore.connect(dsn, RecordCipher(keyring))
        yield store
        await store.close()


@contextlib.contextmanager
def raw(dsn: str) -> Iterator[psycopg.Connection[tuple[Any, ...]]]:
    """Edit the database behind the store's back, as someone with database access could."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        yield conn


async def seeded(dsn: str, keyring: Keyring) -> None:
    async with await PostgreSQLStore.connect(dsn, RecordCipher(keyring)) as store:
        await store.add_calendar(calendar(display_name="Boardroom", cursor="tok-1"))
        await store.add_calendar(calendar(ALICE))
        await store.apply_sync(sync([entry("a", 1), entry("b", 2), entry("c", 3)]))
        await store.put_channel(Channel("ch-1", ROOM, "channel-secret", "res", T0, T0))
        await store.put_binding(
            Binding(ALICE, "e1", "zoom", "r1", "@zoom", BindingState.PATCHED, join=full_join())
        )
        await store.add_device(Device("dev-1", "Lobby", ROOM, "f" * 64, T0))
        await store.put_presence(Presence(ALICE, out_of_office=True, message="away"))


async def reopen(dsn: str, keyring: Keyring, reports: Reports) -> PostgreSQLStore:
    return await PostgreSQLStore.connect(dsn, RecordCipher(keyring), on_integrity_error=reports)


async def test_reopening_keeps_everything(dsn: str, keyring: Keyring) -> None:
    await seeded(dsn, keyring)
    async with await PostgreSQLStore.connect(dsn, RecordCipher(keyring)) as store:
        room = await store.get_calendar(ROOM)
        assert room is not None
        assert room.display_name == "Boardroom"
        assert len(await store.list_entries(ROOM, *window(0, 24))) == 3
        assert (await store.get_channel("ch-1")) is not None
        assert (await store.get_binding(ALICE, "e1")) is not None
        assert (await store.get_device_by_token_hash("f" * 64)) is not None
        assert (await store.device_view("f" * 64)) is not None


async def test_wrong_keyring_is_refused_at_open(dsn: str, keyring: Keyring) -> None:
    await seeded(dsn, keyring)
    with pytest.raises(WrongKeyringError):
        await PostgreSQLStore.connect(dsn, RecordCipher(Keyring.generate()))


@pytest.mark.parametrize(
    ("edit", "broken"),
    [
        ("UPDATE meetings SET data = %(tampered)s WHERE event_key = 'b'", "b"),
        ("UPDATE meetings SET data = %(b_data)s WHERE event_key = 'c'", "c"),
        ("UPDATE meetings SET start_at = '2024-06-03T09:30:00.000000Z' WHERE event_key = 'a'", "a"),
    ],
)
async def test_altered_cache_rows_are_skipped_counted_and_reported(
    dsn: str, keyring: Keyring, edit: str, broken: str
) -> None:
    await seeded(dsn, keyring)
    with raw(dsn) as conn:
        row = conn.execute("SELECT data FROM meetings WHERE event_key = 'b'").fetchone()
        assert row is not None
        b_data = bytes(row[0])
        conn.execute(edit.encode(), {"tampered": flip_last_byte(b_data), "b_data": b_data})
    reports = Reports()
    async with await reopen(dsn, keyring, reports) as store:
        listed = await store.list_entries(ROOM, *window(0, 24))
        assert [e.event_key for e in listed] == [k for k in "abc" if k != broken]
        assert await store.integrity_errors() == 1
        assert reports.calls == [("meetings", f"{ROOM}/{broken}")]
        assert reports.threads == {threading.get_ident()}  # called on the event loop's thread
        version = await store.cache_version(ROOM)
        await store.apply_sync(sync([entry(broken, "abc".index(broken) + 1)]))
        assert await store.cache_version(ROOM) != version
        assert len(await store.list_entries(ROOM, *window(0, 24))) == 3


async def test_altered_records_of_other_tables_fail_safe(dsn: str, keyring: Keyring) -> None:
    await seeded(dsn, keyring)
    with raw(dsn) as conn:
        row = conn.execute(
            "SELECT (SELECT secret FROM channels), (SELECT name FROM devices),"
            " (SELECT cursor FROM calendars WHERE key = %s), (SELECT data FROM bindings)",
            [ROOM],
        ).fetchone()
        assert row is not None
        secret, name, cursor, data = (bytes(value) for value in row)
        conn.execute("UPDATE channels SET secret = %s", [flip_last_byte(secret)])
        conn.execute("UPDATE devices SET name = %s", [flip_last_byte(name)])
        conn.execute("UPDATE calendars SET cursor = %s WHERE key = %s", [cursor, ALICE])
        conn.execute("UPDATE bindings SET data = %s", [flip_last_byte(data)])
        conn.execute("UPDATE presence SET data = %s", [flip_last_byte(data)])
    reports = Reports()
    async with await reopen(dsn, keyring, reports) as store:
        assert await store.get_channel("ch-1") is None
        assert await store.list_channels() == []
        device = await store.get_device_by_token_hash("f" * 64)
        assert device is not None
        assert device.name == "(name unreadable)"
        room = await store.get_calendar(ROOM)
        assert room is not None
        assert room.display_name == "Boardroom"
        alice = await store.get_calendar(ALICE)
        assert alice is not None
        assert alice.cursor is None
        with pytest.raises(IntegrityError):
            await store.get_binding(ALICE, "e1")
        assert await store.list_bindings(ALICE) == []
        assert await store.get_presence(ALICE) is None
        assert {table for table, _ in reports.calls} == {
            "channels",
            "devices",
            "calendars",
            "bindings",
            "presence",
        }
        assert await store.integrity_errors() == len(reports.calls)


async def test_unreadable_rows_are_quarantined_and_the_rest_stays(
    dsn: str, keyring: Keyring
) -> None:
    await seeded(dsn, keyring)
    async with await PostgreSQLStore.connect(dsn, RecordCipher(keyring)) as store:
        await store.put_binding(Binding(ALICE, "e2", "zoom", "r2", "@zoom", BindingState.PATCHED))
    with raw(dsn) as conn:
        for sql in (
            "UPDATE bindings SET data = %s WHERE event_id = 'e1'",
            "UPDATE meetings SET data = %s WHERE event_key = 'b'",
            "UPDATE presence SET data = %s",
        ):
            select = sql.replace("UPDATE", "SELECT data FROM").replace(" SET data = %s", "")
            row = conn.execute(select.encode()).fetchone()
            assert row is not None
            conn.execute(sql.encode(), [flip_last_byte(bytes(row[0]))])
    reports = Reports()
    async with await reopen(dsn, keyring, reports) as store:
        version = await store.cache_version(ROOM)
        assert await store.quarantine_unreadable(ALICE) == 2
        assert await store.quarantine_unreadable(ROOM) == 1
        assert await store.count_quarantined() == 3
        assert await store.get_binding(ALICE, "e1") is None
        assert await store.get_binding(ALICE, "e2") is not None
        assert [e.event_key for e in await store.list_entries(ROOM, *window(0, 24))] == ["a", "c"]
        assert await store.cache_version(ROOM) != version
        assert reports.calls == []
    with raw(dsn) as conn:
        kept = conn.execute("SELECT table_name, row_id, row_json FROM quarantine").fetchall()
    assert sorted((t, r) for t, r, _ in kept) == [
        ("bindings", "e1"),
        ("meetings", "b"),
        ("presence", ALICE),
    ]
    assert all('"b64"' in row_json for _, _, row_json in kept)


async def test_devices_without_a_seal_are_sealed_at_open_and_edits_fail(
    dsn: str, keyring: Keyring
) -> None:
    await seeded(dsn, keyring)
    with raw(dsn) as conn:
        conn.execute("UPDATE devices SET seal = NULL")
    async with await PostgreSQLStore.connect(dsn, RecordCipher(keyring)) as store:
        assert await store.get_device_by_token_hash("f" * 64) is not None
    with raw(dsn) as conn:
        row = conn.execute("SELECT COUNT(*) FROM devices WHERE seal IS NULL").fetchone()
        assert row == (0,)
        conn.execute("UPDATE devices SET token_hash = %s", ["0" * 64])
    async with await PostgreSQLStore.connect(dsn, RecordCipher(keyring)) as store:
        assert await store.get_device_by_token_hash("0" * 64) is None
        assert await store.device_view("0" * 64) is None
        assert await store.integrity_errors() == 2


async def test_clearing_the_revoked_flag_does_not_bring_a_device_back(
    dsn: str, keyring: Keyring
) -> None:
    await seeded(dsn, keyring)
    async with await PostgreSQLStore.connect(dsn, RecordCipher(keyring)) as store:
        await store.revoke_device("dev-1")
    with raw(dsn) as conn:
        conn.execute("UPDATE devices SET revoked = 0")
    async with await PostgreSQLStore.connect(dsn, RecordCipher(keyring)) as store:
        assert await store.get_device_by_token_hash("f" * 64) is None
        assert await store.integrity_errors() == 1


async def test_migrations_are_versioned_and_a_newer_schema_is_refused(
    dsn: str, keyring: Keyring
) -> None:
    await seeded(dsn, keyring)
    with raw(dsn) as conn:
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        assert row == (postgres_schema.SCHEMA_VERSION,)
        conn.execute("UPDATE meta SET value = value + 1 WHERE key = 'schema_version'")
    with pytest.raises(SchemaError, match="newer"):
        await PostgreSQLStore.connect(dsn, RecordCipher(keyring))


async def test_a_failed_migration_leaves_the_database_as_it_was(dsn: str) -> None:
    broken = (*postgres_schema.MIGRATIONS, "CREATE TABLE notes (x TEXT); SELECT nonsense")
    with raw(dsn) as conn:
        with pytest.raises(psycopg.Error), conn.transaction():
            postgres_schema.migrate(conn, broken)
        assert postgres_schema.schema_version(conn) == 0
        with conn.transaction():
            assert postgres_schema.migrate(conn) == postgres_schema.SCHEMA_VERSION


async def test_a_foreign_database_is_refused(dsn: str, keyring: Keyring) -> None:
    with raw(dsn) as conn:
        conn.execute("CREATE TABLE other (x TEXT)")
    with pytest.raises(SchemaError, match="not a hybridcal database"):
        await PostgreSQLStore.connect(dsn, RecordCipher(keyring))


async def test_no_plaintext_reaches_the_database(dsn: str, keyring: Keyring) -> None:
    await seeded(dsn, keyring)
    with raw(dsn) as conn:
        dump = repr(
            [
                conn.execute(f"SELECT * FROM {table}".encode()).fetchall()
                for table in (
                    "calendars",
                    "channels",
                    "bindings",
                    "meetings",
                    "devices",
                    "presence",
                )
            ]
        )
    for secret in ("Boardroom", "tok-1", "channel-secret", "Lobby", "away"):
        assert secret not in dump


async def test_the_registry_opens_it_with_the_password_from_a_credential(
    dsn: str, keyring: Keyring, tmp_path: Path
) -> None:
    (tmp_path / "pgpassword").write_text("not-needed-with-trust\n")
    settings = settings_from_mapping(
        {
            "daemon": {"public_url": "https://h.example.org"},
            "store": {"backend": "postgresql", "dsn": dsn, "password_credential": "pgpassword"},
        }
    )
    environ = {"CREDENTIALS_DIRECTORY": str(tmp_path)}
    store = await open_store(settings, RecordCipher(keyring), now=lambda: T0, environ=environ)
    try:
        assert isinstance(store, PostgreSQLStore)
        await store.add_calendar(calendar())
        assert [c.key for c in await store.list_calendars()] == [ROOM]
    finally:
        await store.close()
    with pytest.raises(StoreError, match="CREDENTIALS_DIRECTORY"):
        await open_store(settings, RecordCipher(keyring), now=lambda: T0, environ={})


async def test_a_lost_connection_fails_one_call_and_the_next_reconnects(
    dsn: str, keyring: Keyring
) -> None:
    """A database restart or failover: the store does not need a daemon restart. The call that
    meets the dead connection fails with a StoreError (it is not replayed: a write may have
    committed), and the next call works on a fresh connection."""
    store = await PostgreSQLStore.connect(dsn, RecordCipher(keyring))
    try:
        await store.add_calendar(calendar(ALICE))
        with raw(dsn) as conn:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        with pytest.raises(StoreError, match="lost the connection to PostgreSQL"):
            await store.list_calendars()
        assert [c.key for c in await store.list_calendars()] == [ALICE]
    finally:
        await store.close()
