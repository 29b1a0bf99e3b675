"""The PostgreSQL schema: the same tables and columns as SQLite (``schema``), versioned the same
way. ``MIGRATIONS[n]`` turns version ``n`` into ``n + 1``; they run in one transaction under an
advisory lock (replicas starting together migrate once), and a newer database is refused.

Sealed values are ``BYTEA``; instants stay fixed-width UTC text, so that the associated data of
every sealed value is computed from the same clear values as in SQLite and the table code (AAD,
codec, row handling) is shared rather than copied.
"""

from __future__ import annotations

from collections.abc import Sequence

import psycopg

from hybridcal.store import schema
from hybridcal.store.base import SchemaError

_LOCK_ID = 0x6879627269646361  # "hybridca": serialises migrations of concurrent replicas


def _postgres(sql: str) -> str:
    return (
        sql.replace("BLOB", "BYTEA")
        .replace("id INTEGER PRIMARY KEY", "id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY")
        .replace("version INTEGER", "version BIGINT")
    )


# Replicas sharing the database (``hybridcal.cluster.postgres``): PostgreSQL only, since an
# SQLite file has one daemon. A calendar's owner counts only while the owner's replica row is
# unexpired, so renewing every lease is one UPDATE of that row; ``epoch`` grows at every change
# of owner and fences the store's writes (``PostgreSQLStore.set_fence``). Instants are
# TIMESTAMPTZ from the database's clock, the one clock every replica agrees on.
CLUSTER_V3 = """
CREATE TABLE replicas (
    id TEXT PRIMARY KEY,
    started_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    lease_until TIMESTAMPTZ NOT NULL
);
CREATE TABLE ownership (
    calendar_key TEXT PRIMARY KEY REFERENCES calendars (key) ON DELETE CASCADE,
    owner TEXT,
    epoch BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX ownership_owner ON ownership (owner);
CREATE TABLE cluster_leader (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    owner TEXT,
    epoch BIGINT NOT NULL DEFAULT 0
);
INSERT INTO cluster_leader (id) VALUES (1)
"""

MIGRATIONS: tuple[str, ...] = (
    _postgres(schema.TABLES_V1),
    _postgres(schema.TABLES_V2),
    CLUSTER_V3,
    _postgres(schema.TABLES_V3),  # app_tokens (SQLite's version 3)
    # the order calendars were enabled in (SQLite's version 4): a sequence numbers existing
    # rows in their stored order and every new row as it is inserted
    "ALTER TABLE calendars ADD COLUMN enabled_seq BIGSERIAL",
)
SCHEMA_VERSION = len(MIGRATIONS)


def schema_version(conn: psycopg.Connection[tuple[object, ...]]) -> int:
    """The version recorded in ``meta``; 0 for an empty schema. Refuses foreign databases."""
    tables = {
        str(row[0])
        for row in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        )
    }
    if "meta" not in tables:
        if tables:
            raise SchemaError("not a hybridcal database: it has tables but no `meta` table")
        return 0
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    if row is None or not isinstance(row[0], int):
        raise SchemaError("not a hybridcal database: `meta` has no schema_version")
    return int(row[0])


def migrate(
    conn: psycopg.Connection[tuple[object, ...]], migrations: Sequence[str] = MIGRATIONS
) -> int:
    """Bring the database to ``len(migrations)``; the caller holds a transaction."""
    conn.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_ID])
    target = len(migrations)
    current = schema_version(conn)
    if current > target:
        raise SchemaError(
            f"the database has schema version {current}, newer than this hybridcal"
            f" understands ({target}): upgrade hybridcal, or restore a backup"
        )
    if current == 0:
        conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value BIGINT, blob BYTEA)")
        conn.execute("INSERT INTO meta (key, value) VALUES ('schema_version', 0)")
    for version in range(current, target):
        for statement in migrations[version].split(";"):
            if statement.strip():
                conn.execute(statement.encode())
        conn.execute("UPDATE meta SET value = %s WHERE key = 'schema_version'", [version + 1])
    return target
