"""The SQLite schema, its version, and the migrations that bring an older database up to date.

``MIGRATIONS[n]`` turns a version-``n`` database into version ``n + 1``; version 0 is an empty
file. Migrations run inside the caller's transaction (SQLite DDL is transactional), so a failed
migration leaves the database as it was. A database newer than ``SCHEMA_VERSION`` is refused.
Migrations receive a ``sqlite_utils.Database`` so that later ones can use ``Table.transform()``
for the column changes SQLite's ALTER TABLE cannot do.

What is stored in clear and what is encrypted (``BLOB`` columns, see ``sqlite_tables``):

- calendars: key, provider, address (the key already contains it; needed for lookups), kind,
  state, locale, timezone, OBTP lead, synced_at in clear; display name, state reason (may quote a
  provider message naming people) and sync cursor (a bearer-like deltaLink) encrypted.
- channels: ids, calendar, resource id, times in clear; the verification secret encrypted.
- bindings: keys, meeting system, request id, state, updated_at in clear (the daemon looks up
  unfinished intents by state); keyword, meeting id, block hash, join details (URL, passcode,
  phones) and fingerprint encrypted as one record.
- meetings: calendar key, event key, source id, start and end (fixed-width UTC text, indexed for
  window queries) in clear; everything else of a row encrypted as one record.
- devices: id, calendar, token hash (sha256 hex, unique), created_at, revoked in clear; name
  encrypted; ``seal`` an empty record whose associated data are the clear columns, so that a
  device authenticates even when its cosmetic name no longer decrypts, and an edited clear column
  (a cleared ``revoked``, a swapped token hash) still fails.
- presence: one encrypted record per calendar. cache_versions: plain counters.
- faults: calendar, event id ('' for the calendar's sync), error type, times, attempts in clear;
  the message encrypted. quarantine: rows that failed authentication, kept as they were.
- app_tokens: the app's name and the record's version in clear; its tokens (access and refresh
  token, expiry times) encrypted as one record bound to name and version (``sqlite_tokens``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from hybridcal.store.base import SchemaError

if TYPE_CHECKING:
    from sqlite_utils import Database

Migration = Callable[["Database"], None]

_V1 = """
CREATE TABLE calendars (
    key TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    address TEXT NOT NULL,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    locale TEXT,
    timezone TEXT,
    obtp_lead_minutes INTEGER,
    synced_at TEXT,
    display_name BLOB,
    reason BLOB,
    cursor BLOB
);
CREATE INDEX calendars_address ON calendars (address);

CREATE TABLE channels (
    channel_id TEXT PRIMARY KEY,
    calendar_key TEXT NOT NULL REFERENCES calendars (key) ON DELETE CASCADE,
    resource_id TEXT,
    expires_at TEXT NOT NULL,
    created_at TEXT NOT NULL,
    secret BLOB NOT NULL
);
CREATE INDEX channels_calendar ON channels (calendar_key);

CREATE TABLE bindings (
    calendar_key TEXT NOT NULL REFERENCES calendars (key) ON DELETE CASCADE,
    event_id TEXT NOT NULL,
    system TEXT NOT NULL,
    request_id TEXT NOT NULL,
    state TEXT NOT NULL,
    updated_at TEXT,
    data BLOB NOT NULL,
    PRIMARY KEY (calendar_key, event_id)
);

CREATE TABLE meetings (
    calendar_key TEXT NOT NULL REFERENCES calendars (key) ON DELETE CASCADE,
    event_key TEXT NOT NULL,
    source_id TEXT NOT NULL,
    start_at TEXT NOT NULL,
    end_at TEXT NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (calendar_key, event_key)
);
CREATE INDEX meetings_window ON meetings (calendar_key, start_at);
CREATE INDEX meetings_source ON meetings (calendar_key, source_id);
CREATE INDEX meetings_end ON meetings (end_at);
CREATE INDEX meetings_start ON meetings (start_at);

CREATE TABLE devices (
    device_id TEXT PRIMARY KEY,
    calendar_key TEXT NOT NULL REFERENCES calendars (key) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0,
    name BLOB NOT NULL
);
CREATE INDEX devices_calendar ON devices (calendar_key);

CREATE TABLE presence (
    calendar_key TEXT PRIMARY KEY REFERENCES calendars (key) ON DELETE CASCADE,
    data BLOB NOT NULL
);

CREATE TABLE cache_versions (
    calendar_key TEXT PRIMARY KEY REFERENCES calendars (key) ON DELETE CASCADE,
    version INTEGER NOT NULL
);

INSERT INTO meta (key, value) VALUES ('cache_counter', 0);
"""


def _create_v1(db: Database) -> None:
    for statement in _V1.split(";"):
        if statement.strip():
            db.execute(statement)


_V2 = """
CREATE TABLE faults (
    calendar_key TEXT NOT NULL REFERENCES calendars (key) ON DELETE CASCADE,
    event_id TEXT NOT NULL,
    error TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    retry_at TEXT,
    message BLOB NOT NULL,
    PRIMARY KEY (calendar_key, event_id)
);
CREATE INDEX faults_retry ON faults (retry_at);

CREATE TABLE quarantine (
    id INTEGER PRIMARY KEY,
    table_name TEXT NOT NULL,
    calendar_key TEXT NOT NULL REFERENCES calendars (key) ON DELETE CASCADE,
    row_id TEXT NOT NULL,
    quarantined_at TEXT NOT NULL,
    row_json TEXT NOT NULL
);

ALTER TABLE devices ADD COLUMN seal BLOB
"""


def _faults_quarantine_device_seal_v2(db: Database) -> None:
    """Per-event faults, the quarantine of unreadable rows, and a device seal that
    authenticates a device's clear columns apart from its (cosmetic) name. Existing devices get
    their seal when the store next opens with the keyring (``RowStore.open``)."""
    for statement in _V2.split(";"):
        if statement.strip():
            db.execute(statement)


_V3 = """
CREATE TABLE app_tokens (
    name TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    data BLOB NOT NULL
)
"""


def _app_tokens_v3(db: Database) -> None:
    """Tokens of the daemon's own apps (the Webex Service App), refreshed and rotated here."""
    db.execute(_V3)


# The order calendars were enabled in (the start-up sweep takes people in that order): the
# rowid of existing rows, and of every new row through the trigger, so no insert names it.
_V4 = """
ALTER TABLE calendars ADD COLUMN enabled_seq INTEGER;
UPDATE calendars SET enabled_seq = rowid;
CREATE TRIGGER calendars_enabled_seq AFTER INSERT ON calendars WHEN NEW.enabled_seq IS NULL
BEGIN UPDATE calendars SET enabled_seq = NEW.rowid WHERE rowid = NEW.rowid; END
"""


def _enabled_order_v4(db: Database) -> None:
    for statement in _V4.split(";\n"):
        if statement.strip():
            db.execute(statement)


MIGRATIONS: tuple[Migration, ...] = (
    _create_v1,
    _faults_quarantine_device_seal_v2,
    _app_tokens_v3,
    _enabled_order_v4,
)
SCHEMA_VERSION = len(MIGRATIONS)


def schema_version(db: Database) -> int:
    """The version recorded in ``meta``; 0 for an empty file. Refuses foreign databases."""
    names = set(db.table_names())
    if "meta" not in names:
        if any(not name.startswith("sqlite_") for name in names):
            raise SchemaError("not a hybridcal database: it has tables but no `meta` table")
        return 0
    row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    if row is None or not isinstance(row[0], int):
        raise SchemaError("not a hybridcal database: `meta` has no schema_version")
    return int(row[0])


def migrate(db: Database, migrations: Sequence[Migration] = MIGRATIONS) -> int:
    """Bring the database to ``len(migrations)``; the caller holds a write transaction."""
    target = len(migrations)
    current = schema_version(db)
    if current > target:
        raise SchemaError(
            f"the database has schema version {current}, newer than this hybridcal"
            f" understands ({target}): upgrade hybridcal, or restore a backup"
        )
    if current == 0:
        db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value)")
        db.execute("INSERT INTO meta (key, value) VALUES ('schema_version', 0)")
    for version in range(current, target):
        migrations[version](db)
        db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", [version + 1])
    return target


# The table definitions, shared with the PostgreSQL store (``postgres_schema``), which adapts
# the few type names that differ; both stores keep the same tables, columns and clear values.
TABLES_V1 = _V1
TABLES_V2 = _V2
TABLES_V3 = _V3
