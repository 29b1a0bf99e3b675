"""Checks of this host's own files: the config, secret files, the keyring and the store.

The store is only read: a SQLite file is opened read-only and PostgreSQL is asked with plain
SELECTs, so the doctor never creates, migrates or locks the database a running daemon uses.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any, Final

from hybridcal.config.loader import ConfigError, load_settings
from hybridcal.config.preflight import preflight
from hybridcal.config.settings import Settings
from hybridcal.core.model import CalendarKind, Provider
from hybridcal.crypto import DecryptionError, KeyringError, RecordCipher, open_keyring, row_aad
from hybridcal.doctor.checks import Check, Context, Result, Status, StoreFacts, fail, ok, warning
from hybridcal.store.base import StoreError
from hybridcal.store.schema import SCHEMA_VERSION as SQLITE_VERSION

# what the store seals with the active key when it is created (store/sqlite_rows.py and
# store/postgres.py); a keyring that opens it is the store's keyring
CANARY: Final = b"hybridcal store canary v1"
CANARY_AAD: Final = row_aad("meta", "canary")
KEYRING_MATCHES: Final = "keyring.matches"  # Context.notes: the keyring opens the store
SAMPLE: Final = 5  # rooms and mailboxes read from the store for the provider checks
_CHMOD_FIX: Final = (
    "make the file private to the service's user (`chmod 600 FILE`, `chown hybridcal FILE`), "
    "or point {key} at the right file"
)


async def check_config(ctx: Context) -> list[Result]:
    try:
        ctx.settings = load_settings(ctx.config_path, ctx.environ)
    except ConfigError as exc:
        problems = "; ".join(f"{key}: {message}" for key, message in exc.problems)
        return [
            fail(
                "config.load",
                f"{ctx.config_path} is not usable: {problems or exc}",
                f"edit {ctx.config_path} (each key named above), then run `hybridcal config "
                "check`; nothing else can be checked until it loads",
            )
        ]
    except OSError as exc:
        return [
            fail(
                "config.load",
                f"cannot read {ctx.config_path}: {exc.strerror or exc}",
                "give the config with --config or HYBRIDCAL_CONFIG",
            )
        ]
    return [ok("config.load", f"{ctx.config_path} is valid")]


async def check_files(ctx: Context) -> list[Result]:
    problems = preflight(ctx.require_settings(), ctx.environ)
    if not problems:
        return [ok("config.files", "every secret file is readable and private to its owner")]
    return [
        fail(f"config.files.{key}", message, _file_fix(key, message)) for key, message in problems
    ]


def _file_fix(key: str, message: str) -> str:
    if message.startswith("cannot read"):
        return f"point {key} at an existing file the service's user can read"
    return _CHMOD_FIX.format(key=key)


async def check_keyring(ctx: Context) -> list[Result]:
    crypto = ctx.require_settings().crypto
    where = f"credential {crypto.credential}" if crypto.credential else str(crypto.keyring)
    try:
        ctx.keyring = open_keyring(
            path=Path(crypto.keyring), credential=crypto.credential, environ=ctx.environ
        )
    except (KeyringError, OSError) as exc:
        return [
            fail(
                "keyring.open",
                f"the keyring ({where}) cannot be opened: {exc}",
                "crypto.keyring (or crypto.credential) must name the keyring the store was made "
                "with; only a new installation starts with `hybridcal keys init`",
            )
        ]
    keys = len(ctx.keyring.ids)
    return [
        ok("keyring.open", f"{where}: {keys} key(s), key {ctx.keyring.active_id} active"),
    ]


async def check_store(ctx: Context) -> list[Result]:
    settings = ctx.require_settings()
    try:
        facts = await asyncio.to_thread(read_store, settings, ctx.environ)
    except (StoreError, sqlite3.Error, OSError) as exc:
        return [fail("store.open", f"the store cannot be read: {exc}", _store_fix(settings))]
    ctx.store = facts
    if not facts.exists:
        return [
            warning(
                "store.open",
                f"{facts.where} does not exist yet",
                "nothing to do if this is a new installation: the daemon creates it at first "
                "start; otherwise store.path names the wrong file",
            )
        ]
    results = [ok("store.open", f"{facts.backend} store at {facts.where} opens")]
    results.append(_schema_result(facts.version, facts.current))
    results.append(_canary_result(ctx, facts))
    if facts.replicas is not None:
        results.append(_replicas_result(facts.replicas))
    return results


def _store_fix(settings: Settings) -> str:
    if settings.store.backend == "postgresql":
        return (
            "check store.dsn and the password (store.password_file or "
            "store.password_credential), that PostgreSQL is up and that this host may connect"
        )
    return "store.path must name the daemon's SQLite file, readable by this user"


def _schema_result(version: int | None, current: int) -> Result:
    if version is None or version == current:
        return ok("store.schema", f"schema version {current}, this version's")
    if version > current:
        return fail(
            "store.schema",
            f"schema version {version} was written by a newer hybridcal (this one knows "
            f"{current}): the daemon refuses to start on it",
            "upgrade hybridcal to the version that wrote the store, or restore a backup made "
            "before the upgrade",
        )
    return warning(
        "store.schema",
        f"schema version {version}; this version migrates it to {current} at start",
        "back the store up before starting this version; the migration runs once, by itself",
    )


def _canary_result(ctx: Context, facts: StoreFacts) -> Result:
    if ctx.keyring is None:
        return Result("store.keyring", Status.SKIPPED, "the keyring did not open")
    if facts.canary is None:
        ctx.notes[KEYRING_MATCHES] = True
        return warning(
            "store.keyring",
            "the store holds no keyring check record yet",
            "nothing to do: the daemon writes it when it first opens the store",
        )
    try:
        matches = RecordCipher(ctx.keyring).decrypt(facts.canary, CANARY_AAD) == CANARY
    except DecryptionError:
        matches = False
    ctx.notes[KEYRING_MATCHES] = matches
    if matches:
        return ok("store.keyring", "the keyring opens the store's check record")
    return fail(
        "store.keyring",
        f"this keyring cannot read the store at {facts.where}: it is not the keyring the "
        "store was made with",
        "set crypto.keyring (or crypto.credential) to the store's own keyring (from the "
        "backup or another replica); a new keyring cannot read the existing rows",
    )


def _replicas_result(replicas: tuple[tuple[str, bool], ...]) -> Result:
    live = [name for name, alive in replicas if alive]
    if live:
        return ok("store.replicas", f"{len(live)} live replica(s): {', '.join(sorted(live))}")
    return warning(
        "store.replicas",
        "no replica holds a live lease: no daemon is running on this database",
        "start the daemon (`systemctl start hybridcal`) on at least one host",
    )


# -- reading the store -----------------------------------------------------------------------


def read_store(settings: Settings, environ: Any) -> StoreFacts:
    if settings.store.backend == "postgresql":
        return _read_postgres(settings, environ)
    return read_sqlite(Path(settings.store.path))


def read_sqlite(path: Path) -> StoreFacts:
    where = str(path)
    if not path.exists():
        return StoreFacts("sqlite", where, exists=False, current=SQLITE_VERSION)
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        if "meta" not in tables:
            if any(not name.startswith("sqlite_") for name in tables):
                raise StoreError(f"{path} is not a hybridcal database (no `meta` table)")
            return StoreFacts("sqlite", where, exists=True, current=SQLITE_VERSION, version=0)
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        rows = _calendars(conn, "?") if "calendars" in tables else ([], [])
    finally:
        conn.close()
    return _facts(
        "sqlite", where, version=meta.get("schema_version"), canary=meta.get("canary"), rows=rows
    )


def _calendars(conn: Any, mark: str) -> tuple[list[str], list[str]]:
    query = (
        f"SELECT address FROM calendars WHERE provider = {mark} AND kind = {mark}"  # noqa: S608
        f" ORDER BY address LIMIT {SAMPLE}"
    )
    rooms = [r[0] for r in conn.execute(query, (Provider.GOOGLE.value, CalendarKind.ROOM.value))]
    people = conn.execute(query, (Provider.MICROSOFT.value, CalendarKind.USER.value))
    return rooms, [r[0] for r in people]


def _facts(
    backend: str,
    where: str,
    *,
    version: Any,
    canary: Any,
    rows: tuple[list[str], list[str]],
    replicas: tuple[tuple[str, bool], ...] | None = None,
) -> StoreFacts:
    current = _postgres_version() if backend == "postgresql" else SQLITE_VERSION
    return StoreFacts(
        backend,
        where,
        exists=True,
        current=current,
        version=int(version) if version is not None else None,
        canary=bytes(canary) if canary is not None else None,
        google_rooms=tuple(rows[0]),
        microsoft_users=tuple(rows[1]),
        replicas=replicas,
    )


def _read_postgres(settings: Settings, environ: Any) -> StoreFacts:
    import psycopg  # noqa: PLC0415 - only for PostgreSQL

    from hybridcal.store.registry import postgres_password  # noqa: PLC0415

    dsn = settings.store.dsn or ""
    where = _dsn_place(dsn)
    try:
        conn = psycopg.connect(
            dsn, password=postgres_password(settings, environ), connect_timeout=10
        )
    except psycopg.Error as exc:
        raise StoreError(f"cannot connect to PostgreSQL ({where}): {str(exc).strip()}") from None
    try:
        conn.read_only = True
        present = {
            row[0]
            for row in conn.execute(
                "SELECT table_name FROM information_schema.tables"
                " WHERE table_schema = current_schema()"
            )
        }
        if "meta" not in present:
            return StoreFacts(
                "postgresql",
                where,
                exists=True,
                current=_postgres_version(),
                version=0,
                replicas=(),
            )
        version = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        canary = conn.execute("SELECT blob FROM meta WHERE key = 'canary'").fetchone()
        rows = _calendars(conn, "%s") if "calendars" in present else ([], [])
        replicas: tuple[tuple[str, bool], ...] = ()
        if "replicas" in present:
            found = conn.execute("SELECT id, lease_until > now() FROM replicas ORDER BY id")
            replicas = tuple((str(name), bool(live)) for name, live in found)
    except psycopg.Error as exc:
        raise StoreError(f"PostgreSQL ({where}) cannot be read: {str(exc).strip()}") from None
    finally:
        conn.close()
    return _facts(
        "postgresql",
        where,
        version=version[0] if version else None,
        canary=canary[0] if canary else None,
        rows=rows,
        replicas=replicas,
    )


def _postgres_version() -> int:
    """PostgreSQL's migrations are a list of their own (it has the cluster's tables too)."""
    from hybridcal.store.postgres_schema import SCHEMA_VERSION  # noqa: PLC0415 - psycopg

    return SCHEMA_VERSION


def _dsn_place(dsn: str) -> str:
    """Host and database of a DSN, never its password."""
    from psycopg.conninfo import conninfo_to_dict  # noqa: PLC0415

    try:
        parts = conninfo_to_dict(dsn)
    except Exception:  # a malformed DSN is reported by the connect itself
        return "store.dsn"
    host = parts.get("host") or "localhost"
    return f"{host}/{parts.get('dbname') or parts.get('user') or ''}"


CHECKS: Final = (
    Check("config.load", check_config),
    Check("config.files", check_files),
    Check("keyring.open", check_keyring),
    Check("store.open", check_store),
)
