"""What the admin commands cost at organisation size: a bulk enable and ``status``.

``python -m bench.admin_scale [--calendars 10000] [--postgres]`` from the repository root
prints one JSON object. It makes a keyring and a SQLite store in a temporary directory (with
``--postgres``: a database on a throwaway PostgreSQL server, ``bench._postgres``), then
measures:

- ``enable_ms``: ``Admin.enable_many`` of N addresses (what ``users add --from-file`` runs
  after parsing), and ``cli_enable_s``: the whole command in a child process, start-up
  included (SQLite only);
- ``status_ms``: ``status_document`` (best and median of 5) on the store with 74 % of the
  calendars synced (a cursor and a live channel), 1 % in error and a few hundred faults, and
  ``cli_status_s``: ``hybridcal status`` in a child process (SQLite only);
- ``list_calendars_ms``: loading and decrypting every calendar, the way the gauges job counts
  states today, for comparison.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hybridcal.core.model import SYNC_FAULT, CalendarKind, CalendarState, Channel, Fault, Provider
from hybridcal.crypto import RecordCipher, init_keyring
from hybridcal.daemon.admin import Admin
from hybridcal.daemon.status import status_document
from hybridcal.store.base import SyncResult
from hybridcal.store.sqlite import SQLiteStore

if TYPE_CHECKING:
    from hybridcal.store.base import Store

SYNCED_SHARE = 0.7412
ERROR_SHARE = 0.01


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


async def _populate(store: Store, keys: list[str], now: datetime) -> None:
    """Sync a share of the calendars (spread over the last 20 minutes), fail a few."""
    synced = keys[: int(len(keys) * SYNCED_SHARE)]
    for n, key in enumerate(synced):
        at = now - timedelta(seconds=1200 * (1 - n / len(synced)))
        await store.set_calendar_state(key, CalendarState.ACTIVE)
        expires = now + timedelta(days=6)
        await store.put_channel(Channel(f"ch-{n}", key, "secret", f"r-{n}", expires, at))
        await store.apply_sync(SyncResult(key, {}, (), cursor="token", synced_at=at))
    for n, key in enumerate(keys[-int(len(keys) * ERROR_SHARE) :]):
        reason = f"{key.split(':')[1]}: not found" if n % 3 else "forbidden by the tenant"
        await store.set_calendar_state(key, CalendarState.ERROR, reason)
    for n, key in enumerate(synced[:300]):
        event = SYNC_FAULT if n % 10 == 0 else f"event-{n}"
        await store.put_fault(Fault(key, event, "ValueError", "bad " * 20, now, now))


async def measure(calendars: int, store: Store, now: datetime) -> dict[str, Any]:
    admin = Admin(store, {}, lambda: now)
    addresses = [f"person{n}@example.com" for n in range(calendars)]
    started = time.perf_counter()
    outcome = await admin.enable_many(Provider.GOOGLE, addresses, CalendarKind.USER)
    enable = time.perf_counter() - started
    assert outcome.enabled == calendars
    keys = [f"google:{address}" for address in addresses]
    await _populate(store, keys, now)
    times = []
    doc: dict[str, Any] = {}
    for _ in range(5):
        started = time.perf_counter()
        doc = await status_document(store, now)
        times.append(time.perf_counter() - started)
    started = time.perf_counter()
    await store.list_calendars()
    listing = time.perf_counter() - started
    return {
        "calendars": calendars,
        "enable_ms": _ms(enable),
        "status_ms_best": _ms(min(times)),
        "status_ms_median": _ms(statistics.median(times)),
        "list_calendars_ms": _ms(listing),
        "sweep": doc["sweep"],
    }


def _cli(config: Path, *args: str, stdin: str | None = None) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "hybridcal", "--config", str(config), *args],
        input=stdin,
        text=True,
        capture_output=True,
        check=False,
    )
    return round(time.perf_counter() - started, 2)


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        keyring = init_keyring(root / "keyring.json")
        cipher = RecordCipher(keyring)
        if args.postgres:
            return await _on_postgres(args.calendars, cipher, now)
        async with await SQLiteStore.open(root / "store.db", cipher) as store:
            result = {"backend": "sqlite"} | await measure(args.calendars, store, now)
        config = root / "hybridcal.toml"
        config.write_text(
            f'[daemon]\npublic_url = "https://hybridcal.example.com"\n'
            f'[store]\npath = "{root / "store.db"}"\n'
            f'[crypto]\nkeyring = "{root / "keyring.json"}"\n',
            encoding="utf-8",
        )
        result["cli_status_s"] = _cli(config, "status")
        people = "\n".join(f"more{n}@example.com" for n in range(args.calendars))
        result["cli_enable_s"] = _cli(config, "users", "add", "--from-file", "-", stdin=people)
        return result


async def _on_postgres(calendars: int, cipher: RecordCipher, now: datetime) -> dict[str, Any]:
    from bench._postgres import find_bin_dir, running_server  # noqa: PLC0415
    from hybridcal.store.postgres import PostgreSQLStore  # noqa: PLC0415

    bin_dir = find_bin_dir()
    if bin_dir is None:
        raise SystemExit("PostgreSQL server binaries (initdb, pg_ctl) not found")
    with running_server(bin_dir) as server:
        dsn = server.create_database()
        async with await PostgreSQLStore.connect(dsn, cipher) as pg:
            return {"backend": "postgresql"} | await measure(calendars, pg, now)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calendars", type=int, default=10_000)
    parser.add_argument("--postgres", action="store_true", help="on a throwaway PostgreSQL")
    print(json.dumps(asyncio.run(main_async(parser.parse_args())), indent=2))


if __name__ == "__main__":
    main()
