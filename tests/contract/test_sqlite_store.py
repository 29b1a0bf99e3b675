"""The Store contract against SQLiteStore, plus what only the SQLite file can show."""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
import stat
import threading
from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlite_utils import Database
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

from hybridcal.core.model import (
    Binding,
    BindingState,
    CalendarRecord,
    Channel,
    Device,
    JoinInfo,
    JoinLink,
    MeetingEntry,
    Presence,
)
from hybridcal.crypto import IntegrityError, Keyring, RecordCipher, WrongKeyringError
from hybridcal.store import codec, schema
from hybridcal.store.base import SchemaError, StoreError
from hybridcal.store.sqlite import SQLiteStore

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator
    from pathlib import Path


@pytest.fixture
def keyring() -> Keyring:
    return Keyring.generate()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "store.db"


class TestSQLiteStoreContract(StoreContract):
    @pytest.fixture
    async def store(self, db_path: Path, keyring: Keyring) -> AsyncIterator[SQLiteStore]:
        store = await SQLiteStore.open(db_path, RecordCipher(keyring))
        yield store
        await store.close()


# -- helpers ---------------------------------------------------------------------------------------


@contextlib.contextmanager
def raw(path: Path) -> Iterator[sqlite3.Connection]:
    """Edit the file behind the store's back, as an attacker with file access could."""
    conn = sqlite3.connect(path)
    try:
        yield conn
        conn.commit()
    finally:
        conn.close()


def flip_last_byte(blob: bytes) -> bytes:
    return blob[:-1] + bytes([blob[-1] ^ 0x01])


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def read_store_files(db_path: Path) -> tuple[list[Path], bytes]:
    """The database and whatever -wal/-shm files SQLite left beside it."""
    files = sorted(db_path.parent.glob(db_path.name + "*"))
    return files, b"".join(path.read_bytes() for path in files)


class Reports:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.threads: set[int] = set()

    def __call__(self, table: str, row_id: str) -> None:
        self.calls.append((table, row_id))
        self.threads.add(threading.get_ident())


async def seeded(path: Path, keyring: Keyring) -> None:
    """A store with one of everything, closed again."""
    async with await SQLiteStore.open(path, RecordCipher(keyring)) as store:
        await store.add_calendar(calendar(display_name="Boardroom", cursor="tok-1"))
        await store.add_calendar(calendar(ALICE))
        await store.apply_sync(sync([entry("a", 1), entry("b", 2), entry("c", 3)]))
        await store.put_channel(Channel("ch-1", ROOM, "channel-secret", "res", T0, T0))
        await store.put_binding(
            Binding(ALICE, "e1", "zoom", "r1", "@zoom", BindingState.PATCHED, join=full_join())
        )
        await store.add_device(Device("dev-1", "Lobby", ROOM, "f" * 64, T0))
        await store.put_presence(Presence(ALICE, out_of_office=True, message="away"))


# -- persistence and keys ------------------------------------------------------------------------


async def test_reopening_keeps_everything(db_path: Path, keyring: Keyring) -> None:
    await seeded(db_path, keyring)
    async with await SQLiteStore.open(db_path, RecordCipher(keyring)) as store:
        got = await store.get_calendar(ROOM)
        assert got is not None
        assert (got.display_name, got.cursor) == ("Boardroom", "cursor-1")
        assert [e.event_key for e in await store.list_entries(ROOM, *window(0, 24))] == list("abc")
        assert await store.cache_version(ROOM) > 0
        binding = await store.get_binding(ALICE, "e1")
        assert binding is not None
        assert binding.join == full_join()
        assert (await store.get_channel("ch-1")) is not None
        assert (await store.get_device_by_token_hash("f" * 64)) is not None
        assert await store.get_presence(ALICE) == Presence(
            ALICE, out_of_office=True, message="away"
        )


async def test_file_is_private(db_path: Path, keyring: Keyring) -> None:
    await seeded(db_path, keyring)
    assert mode_of(db_path) == 0o600


@pytest.mark.parametrize("kind", ["other keyring", "same ids, other keys", "missing key"])
async def test_wrong_keyring_is_refused_at_open(db_path: Path, keyring: Keyring, kind: str) -> None:
    await seeded(db_path, keyring)
    other = Keyring.generate()
    if kind == "same ids, other keys":
        other = Keyring(keys=(replace(keyring.keys[0], material=os.urandom(32)),), active_id=1)
    elif kind == "missing key":
        other = Keyring(keys=(replace(other.keys[0], id=9),), active_id=9)
    with pytest.raises(WrongKeyringError, match=re.escape(str(db_path))):
        await SQLiteStore.open(db_path, RecordCipher(other))


async def test_rotation_keeps_old_rows_readable_and_seals_new_ones_with_the_new_key(
    db_path: Path, keyring: Keyring
) -> None:
    await seeded(db_path, keyring)
    rotated = keyring.rotated()
    async with await SQLiteStore.open(db_path, RecordCipher(rotated)) as store:
        assert len(await store.list_entries(ROOM, *window(0, 24))) == 3
        await store.apply_sync(sync([entry("d", 4)]))
        assert len(await store.list_entries(ROOM, *window(0, 24))) == 4
    with raw(db_path) as conn:
        key_ids = dict(conn.execute("SELECT event_key, data FROM meetings").fetchall())
    assert {k: RecordCipher.key_id_of(v) for k, v in key_ids.items()} == {
        "a": 1,
        "b": 1,
        "c": 1,
        "d": 2,
    }


async def test_closed_store_refuses_calls(db_path: Path, keyring: Keyring) -> None:
    store = await SQLiteStore.open(db_path, RecordCipher(keyring))
    await store.close()
    await store.close()
    with pytest.raises(StoreError, match="closed"):
        await store.get_calendar(ROOM)


async def test_naive_datetimes_are_refused(db_path: Path, keyring: Keyring) -> None:
    async with await SQLiteStore.open(db_path, RecordCipher(keyring)) as store:
        await store.add_calendar(calendar())
        with pytest.raises(ValueError, match="naive"):
            await store.list_entries(ROOM, datetime(2024, 1, 1), datetime(2024, 1, 2))


# -- tampering -----------------------------------------------------------------------------------


async def reopen(path: Path, keyring: Keyring, reports: Reports) -> SQLiteStore:
    return await SQLiteStore.open(path, RecordCipher(keyring), on_integrity_error=reports)


@pytest.mark.parametrize(
    ("edit", "broken"),
    [
        ("UPDATE meetings SET data = :tampered WHERE event_key = 'b'", "b"),
        # Swapped rows: b's valid ciphertext copied into c.
        ("UPDATE meetings SET data = :b_data WHERE event_key = 'c'", "c"),
        # A clear column edited under its ciphertext: the meeting moved in time.
        ("UPDATE meetings SET start_at = '2024-06-03T09:30:00.000000Z' WHERE event_key = 'a'", "a"),
    ],
)
async def test_altered_cache_rows_are_skipped_counted_and_reported(
    db_path: Path, keyring: Keyring, edit: str, broken: str
) -> None:
    await seeded(db_path, keyring)
    with raw(db_path) as conn:
        (b_data,) = conn.execute("SELECT data FROM meetings WHERE event_key = 'b'").fetchone()
        conn.execute(edit, {"tampered": flip_last_byte(b_data), "b_data": b_data})
    reports = Reports()
    async with await reopen(db_path, keyring, reports) as store:
        listed = await store.list_entries(ROOM, *window(0, 24))
        assert [e.event_key for e in listed] == [k for k in "abc" if k != broken]
        assert await store.integrity_errors() == 1
        assert reports.calls == [("meetings", f"{ROOM}/{broken}")]
        assert reports.threads == {threading.get_ident()}  # called on the event loop's thread
        # The next sync of that source heals the row and moves the ETag.
        version = await store.cache_version(ROOM)
        await store.apply_sync(sync([entry(broken, "abc".index(broken) + 1)]))
        assert await store.cache_version(ROOM) != version
        assert len(await store.list_entries(ROOM, *window(0, 24))) == 3


async def test_altered_records_of_other_tables_fail_safe(db_path: Path, keyring: Keyring) -> None:
    await seeded(db_path, keyring)
    with raw(db_path) as conn:
        secret, name, cursor, data = conn.execute(
            "SELECT (SELECT secret FROM channels), (SELECT name FROM devices),"
            " (SELECT cursor FROM calendars WHERE key = ?), (SELECT data FROM bindings)",
            [ROOM],
        ).fetchone()
        conn.execute("UPDATE channels SET secret = ?", [flip_last_byte(secret)])
        conn.execute("UPDATE devices SET name = ?", [flip_last_byte(name)])
        conn.execute("UPDATE calendars SET cursor = ? WHERE key = ?", [cursor, ALICE])  # moved
        conn.execute("UPDATE bindings SET data = ?", [flip_last_byte(data)])
        conn.execute("UPDATE presence SET data = ?", [flip_last_byte(data)])
    reports = Reports()
    async with await reopen(db_path, keyring, reports) as store:
        assert await store.get_channel("ch-1") is None  # an unknown channel gets stopped
        assert await store.list_channels() == []
        # only the cosmetic name is unreadable: the device still authenticates
        device = await store.get_device_by_token_hash("f" * 64)
        assert device is not None
        assert device.name == "(name unreadable)"
        room = await store.get_calendar(ROOM)
        assert room is not None
        assert (room.display_name, room.cursor) == ("Boardroom", "cursor-1")
        alice = await store.get_calendar(ALICE)
        assert alice is not None
        assert alice.cursor is None  # lost cursor: the next sync is a full one
        with pytest.raises(IntegrityError):
            await store.get_binding(ALICE, "e1")  # never decide without the binding
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
    db_path: Path, keyring: Keyring
) -> None:
    await seeded(db_path, keyring)
    async with await SQLiteStore.open(db_path, RecordCipher(keyring)) as store:
        await store.put_binding(Binding(ALICE, "e2", "zoom", "r2", "@zoom", BindingState.PATCHED))
    with raw(db_path) as conn:
        (data,) = conn.execute("SELECT data FROM bindings WHERE event_id = 'e1'").fetchone()
        conn.execute("UPDATE bindings SET data = ? WHERE event_id = 'e1'", [flip_last_byte(data)])
        (row,) = conn.execute("SELECT data FROM meetings WHERE event_key = 'b'").fetchone()
        conn.execute("UPDATE meetings SET data = ? WHERE event_key = 'b'", [flip_last_byte(row)])
        (presence,) = conn.execute("SELECT data FROM presence").fetchone()
        conn.execute("UPDATE presence SET data = ?", [flip_last_byte(presence)])
    reports = Reports()
    async with await reopen(db_path, keyring, reports) as store:
        version = await store.cache_version(ROOM)
        assert await store.quarantine_unreadable(ALICE) == 2  # the binding and the presence
        assert await store.quarantine_unreadable(ROOM) == 1  # the cache row
        assert await store.count_quarantined() == 3
        assert await store.get_binding(ALICE, "e1") is None  # the planner re-adopts it
        assert await store.get_binding(ALICE, "e2") is not None
        assert [e.event_key for e in await store.list_entries(ROOM, *window(0, 24))] == ["a", "c"]
        assert await store.cache_version(ROOM) != version  # endpoints see the change
        assert reports.calls == []  # only list_entries etc. report; quarantine does not
        assert await store.quarantine_unreadable(ROOM) == 0
    with raw(db_path) as conn:
        kept = conn.execute("SELECT table_name, row_id, row_json FROM quarantine").fetchall()
    assert sorted((t, r) for t, r, _ in kept) == [
        ("bindings", "e1"),
        ("meetings", "b"),
        ("presence", ALICE),
    ]
    assert all('"b64"' in row_json for _, _, row_json in kept)  # the sealed bytes are kept


async def test_devices_from_before_the_seal_are_sealed_at_open(
    db_path: Path, keyring: Keyring
) -> None:
    await seeded(db_path, keyring)
    with raw(db_path) as conn:
        conn.execute("UPDATE devices SET seal = NULL")  # as schema version 1 wrote them
    async with await SQLiteStore.open(db_path, RecordCipher(keyring)) as store:
        assert await store.get_device_by_token_hash("f" * 64) is not None
    with raw(db_path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM devices WHERE seal IS NULL").fetchone()[0] == 0
        conn.execute("UPDATE devices SET token_hash = ?", ["0" * 64])  # a swapped token hash
    async with await SQLiteStore.open(db_path, RecordCipher(keyring)) as store:
        assert await store.get_device_by_token_hash("0" * 64) is None
        assert await store.integrity_errors() == 1


async def test_clearing_the_revoked_flag_does_not_bring_a_device_back(
    db_path: Path, keyring: Keyring
) -> None:
    await seeded(db_path, keyring)
    async with await SQLiteStore.open(db_path, RecordCipher(keyring)) as store:
        await store.revoke_device("dev-1")
    with raw(db_path) as conn:
        conn.execute("UPDATE devices SET revoked = 0")
    async with await SQLiteStore.open(db_path, RecordCipher(keyring)) as store:
        assert await store.get_device_by_token_hash("f" * 64) is None
        assert await store.integrity_errors() == 1


async def test_no_plaintext_reaches_the_file(db_path: Path, keyring: Keyring) -> None:
    secrets = {
        "title": "Merger talks with Initech",
        "location": "Boardroom 7 behind the vault",
        "organizer": "ceo.private@example.org",
        "organizer_name": "Bill Lumbergh",
        "attendee": "milton.waddams@example.org",
        "url": "https://example.zoom.us/j/98765432100?pwd=Zm9vYmFyc2VjcmV0",
        "passcode": "73914628",
        "sip": "98765432100@zoomcrc.example",
        "phone_passcode": "55119922",
        "display_name": "Executive Suite",
        "channel_secret": "channel-token-Q2hhbm5lbA",
        "cursor": "deltatoken-c3luY3Rva2Vu",
        "device": "CEO office panel",
        "presence": "Out sick, call my deputy",
    }
    async with await SQLiteStore.open(db_path, RecordCipher(keyring)) as store:
        await store.add_calendar(calendar(display_name=secrets["display_name"]))
        await store.add_calendar(calendar(ALICE))
        row = entry(
            "evt",
            1,
            title=secrets["title"],
            location=secrets["location"],
            organizer=secrets["organizer"],
            organizer_name=secrets["organizer_name"],
            attendees=(secrets["attendee"],),
            links=(JoinLink("zoom", secrets["url"], "98765432100", secrets["passcode"]),),
        )
        await store.apply_sync(sync([row], cursor=secrets["cursor"]))
        join = replace(
            full_join(),
            join_url=secrets["url"],
            passcode=secrets["passcode"],
            sip=secrets["sip"],
            phone_passcode=secrets["phone_passcode"],
        )
        await store.put_binding(
            Binding(ROOM, "evt", "zoom", "req", "@zoom", BindingState.PATCHED, join=join)
        )
        await store.put_channel(Channel("ch", ROOM, secrets["channel_secret"], None, T0, T0))
        await store.add_device(Device("dev", secrets["device"], ROOM, "e" * 64, T0))
        await store.put_presence(Presence(ALICE, out_of_office=True, message=secrets["presence"]))
        assert (await store.list_entries(ROOM, *window(0, 24))) == [row]
    files, content = read_store_files(db_path)
    assert b"Title of" not in content  # sanity: the default titles of other rows are absent too
    for label, secret in secrets.items():
        assert secret.encode() not in content, f"{label} found in clear in {files}"
    assert ROOM.encode() in content  # lookup keys are in clear, so the grep can find text


# -- schema --------------------------------------------------------------------------------------


async def test_a_newer_schema_is_refused(db_path: Path, keyring: Keyring) -> None:
    await seeded(db_path, keyring)
    with raw(db_path) as conn:
        conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", [99])
    with pytest.raises(SchemaError, match="99"):
        await SQLiteStore.open(db_path, RecordCipher(keyring))


async def test_a_foreign_database_is_refused(db_path: Path, keyring: Keyring) -> None:
    with raw(db_path) as conn:
        conn.execute("CREATE TABLE photos (id INTEGER PRIMARY KEY)")
    with pytest.raises(SchemaError, match="not a hybridcal database"):
        await SQLiteStore.open(db_path, RecordCipher(keyring))


@pytest.fixture
def not_sqlite(db_path: Path) -> Path:
    db_path.write_bytes(b"this is not a database" * 100)
    return db_path


async def test_a_file_that_is_not_sqlite_is_refused(not_sqlite: Path, keyring: Keyring) -> None:
    with pytest.raises(StoreError, match=re.escape(str(not_sqlite))):
        await SQLiteStore.open(not_sqlite, RecordCipher(keyring))


def _add_notes_table(db: Database) -> None:
    db.execute("CREATE TABLE notes (calendar_key TEXT PRIMARY KEY, note BLOB)")


def _broken_migration(db: Database) -> None:
    db.execute("CREATE TABLE half_done (x INTEGER)")
    raise RuntimeError("migration bug")


def _in_transaction(db: Database, migrations: tuple[schema.Migration, ...]) -> int:
    db.execute("BEGIN IMMEDIATE")
    try:
        version = schema.migrate(db, migrations)
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
    return version


async def test_migrations_run_in_order_from_the_stored_version(
    db_path: Path, keyring: Keyring
) -> None:
    await seeded(db_path, keyring)
    db = Database(sqlite3.connect(db_path, isolation_level=None))
    try:
        current = schema.SCHEMA_VERSION
        assert schema.schema_version(db) == current
        assert _in_transaction(db, schema.MIGRATIONS) == current  # up to date: nothing runs
        assert _in_transaction(db, (*schema.MIGRATIONS, _add_notes_table)) == current + 1
        assert schema.schema_version(db) == current + 1
        assert "notes" in db.table_names()
        assert db["meetings"].count == 3  # data survives
    finally:
        db.close()
    # This hybridcal does not know the extra version: the migrated file is now too new for it.
    with pytest.raises(SchemaError):
        await SQLiteStore.open(db_path, RecordCipher(keyring))


async def test_a_failed_migration_leaves_the_database_as_it_was(
    db_path: Path, keyring: Keyring
) -> None:
    await seeded(db_path, keyring)
    db = Database(sqlite3.connect(db_path, isolation_level=None))
    try:
        with pytest.raises(RuntimeError, match="migration bug"):
            _in_transaction(db, (*schema.MIGRATIONS, _broken_migration))
        assert schema.schema_version(db) == schema.SCHEMA_VERSION
        assert "half_done" not in db.table_names()
    finally:
        db.close()
    async with await SQLiteStore.open(db_path, RecordCipher(keyring)) as store:
        assert len(await store.list_entries(ROOM, *window(0, 24))) == 3


def test_an_empty_file_migrates_from_version_zero(tmp_path: Path) -> None:
    db = Database(sqlite3.connect(tmp_path / "fresh.db", isolation_level=None))
    try:
        assert schema.schema_version(db) == 0
        assert _in_transaction(db, schema.MIGRATIONS) == schema.SCHEMA_VERSION
        assert {"calendars", "meetings", "devices", "meta"} <= set(db.table_names())
    finally:
        db.close()


# -- the instant encoding the window queries rely on --------------------------------------------

instants = st.datetimes(
    min_value=datetime(1970, 1, 1),  # hypothesis takes naive bounds
    max_value=datetime(2200, 1, 1),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=-7)), timezone(timedelta(hours=13))]),
)


@given(instants, instants)
def test_stored_instants_sort_like_the_instants(a: datetime, b: datetime) -> None:
    text_a, text_b = codec.instant_to_text(a), codec.instant_to_text(b)
    assert (text_a < text_b) == (a < b)
    assert codec.instant_from_text(text_a) == a


def field_names(cls: type) -> set[str]:
    return {f.name for f in fields(cls)}


def test_codecs_cover_every_field_of_the_domain_types() -> None:
    # A new field in core.model must be stored somewhere: fail loudly until a codec carries it.
    row = entry("e", 1)
    clear = {"calendar_key", "event_key", "source_id", "start", "end"}
    assert field_names(MeetingEntry) == clear | set(codec.entry_to_json(row))
    assert field_names(JoinInfo) == set(codec.join_to_json(full_join()))
    presence = Presence(ALICE, out_of_office=True)
    assert field_names(Presence) == {"calendar_key"} | set(codec.presence_to_json(presence))
    secrets = codec.binding_secrets_to_json(
        Binding(ALICE, "e", "zoom", "r", "k", BindingState.INTENT)
    )
    binding_clear = {"calendar_key", "event_id", "system", "request_id", "state", "updated_at"}
    assert field_names(Binding) == binding_clear | set(secrets)
    assert len(field_names(CalendarRecord)) == 13  # each has a column (schema._V1; enabled_seq _V4)
