"""Endpoint API benchmark: how fast devices can poll their meeting lists.

``python -m bench.endpoint [--quick]`` from the repository root prints one JSON object.

A real SQLite store in a temporary directory, encrypted with a fresh keyring, holds N room
calendars with M meetings each (with join links) and one device per calendar. A server process
serves the endpoint routes on 127.0.0.1; this process drives it with aiohttp client sessions
(bounded concurrency, a fixed number of requests spread over all devices):

- ``requests_per_second``: full GETs (authenticate, read and decrypt the rows, render JSON);
- ``conditional_requests_per_second``: GETs with ``If-None-Match`` answered ``304``;
- ``uncached_requests_per_second``: full GETs from a server that keeps no rendered lists
  (``keep_rendered=False``), so that every answer reads and decrypts the calendar's rows;
- ``baseline_requests_per_second``: a bare aiohttp handler in its own server process returning
  a precomputed body of the same size, with the same client: the ceiling of the HTTP stack.

Server and load generator are separate processes so that they do not share a GIL.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import multiprocessing
import os
import platform
import socket
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

import aiohttp
from aiohttp import web

from hybridcal.core.model import (
    CalendarKind,
    CalendarRecord,
    CalendarState,
    JoinLink,
    MeetingEntry,
    Provider,
    calendar_key,
)
from hybridcal.crypto import RecordCipher, init_keyring, load_keyring
from hybridcal.daemon.devices import issue_device
from hybridcal.daemon.endpoint_api import MEETINGS_PATH, EndpointApi, add_endpoint_routes
from hybridcal.daemon.metrics import Metrics
from hybridcal.store.base import SyncResult
from hybridcal.store.sqlite import SQLiteStore

if TYPE_CHECKING:
    from collections.abc import Sequence
    from multiprocessing.connection import Connection

BASELINE_PATH = "/baseline"
SERVER_START_TIMEOUT = 60.0


@dataclass(frozen=True, slots=True)
class Params:
    devices: int
    meetings: int
    requests: int
    concurrency: int
    warmup: int
    quick: bool


@dataclass(frozen=True, slots=True)
class Phase:
    requests: int
    seconds: float
    latencies_ms: list[float]
    unexpected: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def parse_args(argv: Sequence[str] | None = None) -> Params:
    parser = argparse.ArgumentParser(prog="python -m bench.endpoint", description=__doc__)
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--meetings", type=int, default=30, help="meetings per calendar")
    parser.add_argument("--requests", type=int, default=10_000, help="requests per phase")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--quick", action="store_true", help="a few-second smoke run")
    args = parser.parse_args(argv)
    if args.quick:
        return Params(devices=10, meetings=10, requests=300, concurrency=8, warmup=30, quick=True)
    return Params(
        devices=args.devices,
        meetings=args.meetings,
        requests=args.requests,
        concurrency=args.concurrency,
        warmup=min(1_000, args.requests // 10),
        quick=False,
    )


# -- data ------------------------------------------------------------------------------------------
def _meetings(key: str, count: int, now: datetime) -> list[MeetingEntry]:
    """Half-hour meetings every 45 minutes from an hour ago: they all fall in the default window
    as long as ``count`` stays under ~34; the first few show a Join button."""
    first = now.replace(second=0, microsecond=0) - timedelta(minutes=50)
    rows = []
    for i in range(count):
        start = first + timedelta(minutes=45 * i)
        meeting_id = f"{8_100_000_000 + i * 7919:d}"
        links = (
            JoinLink(
                provider="zoom",
                url=f"https://example.zoom.us/j/{meeting_id}?pwd=Zx{i:04d}Qp",
                meeting_id=meeting_id,
                passcode=f"{100_000 + i:d}",
                dial=f"{meeting_id}.{100_000 + i:d}@zoomcrc.com",
            ),
            JoinLink(
                provider="teams",
                url=f"https://teams.microsoft.com/l/meetup-join/19%3ameeting_{i:08d}%40thread.v2/0",
            ),
        )
        rows.append(
            MeetingEntry(
                calendar_key=key,
                event_key=f"evt{i:04d}",
                source_id=f"evt{i:04d}",
                start=start,
                end=start + timedelta(minutes=30),
                title=f"Project review {i} — quarterly planning",
                organizer=f"organiser{i % 7}@example.com",
                organizer_name=f"Organiser {i % 7}",
                attendees=tuple(f"person{j}@example.com" for j in range(4)),
                location="Room, 3rd floor",
                private=i % 10 == 9,
                tentative=i % 8 == 7,
                links=links,
            )
        )
    return rows


async def seed(db: Path, keyring_path: Path, params: Params) -> list[str]:
    """Create the store with every calendar, meeting and device; returns the device tokens."""
    now = datetime.now(UTC)
    store = await SQLiteStore.open(db, RecordCipher(init_keyring(keyring_path)))
    tokens: list[str] = []
    try:
        for i in range(params.devices):
            address = f"room-{i:04d}@example.com"
            key = calendar_key(Provider.GOOGLE, address)
            await store.add_calendar(
                CalendarRecord(
                    key=key,
                    provider=Provider.GOOGLE,
                    address=address,
                    kind=CalendarKind.ROOM,
                    state=CalendarState.ACTIVE,
                    display_name=f"Room {i}",
                )
            )
            rows = _meetings(key, params.meetings, now)
            await store.apply_sync(
                SyncResult(
                    calendar_key=key,
                    replace={r.source_id: [r] for r in rows},
                    remove=(),
                    cursor="bench",
                    full=True,
                    synced_at=now,
                )
            )
            issued = issue_device(key, f"panel {i}", now=now)
            await store.add_device(issued.device)
            tokens.append(issued.token)
    finally:
        await store.close()
    return tokens


# -- server process ------------------------------------------------------------------------------
def _server_main(mode: str, db: str, keyring_path: str, body: bytes, conn: Connection) -> None:
    asyncio.run(_serve(mode, Path(db), Path(keyring_path), body, conn))


async def _serve(mode: str, db: Path, keyring_path: Path, body: bytes, conn: Connection) -> None:
    app = web.Application()
    store: SQLiteStore | None = None
    if mode in {"endpoint", "endpoint-uncached"}:
        store = await SQLiteStore.open(db, RecordCipher(load_keyring(keyring_path)))
        api = EndpointApi(
            store,
            Metrics(),
            now=lambda: datetime.now(UTC),
            obtp_lead_minutes=5,
            hide_tentative=False,
            hide_private_titles=True,
            max_window_days=31,
            keep_rendered=mode == "endpoint",
        )
        add_endpoint_routes(app, api)
    else:

        async def baseline(_request: web.Request) -> web.Response:
            return web.Response(body=body, content_type="application/json")

        app.router.add_get(BASELINE_PATH, baseline)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    site = web.SockSite(runner, sock)
    await site.start()
    conn.send(sock.getsockname()[1])
    try:
        await asyncio.get_running_loop().run_in_executor(None, conn.recv)  # wait for "stop"
    finally:
        await runner.cleanup()
        if store is not None:
            await store.close()


class ServerProcess:
    def __init__(self, mode: str, db: Path, keyring_path: Path, body: bytes = b"") -> None:
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._process = ctx.Process(
            target=_server_main, args=(mode, str(db), str(keyring_path), body, child), daemon=True
        )
        self.port = 0

    def __enter__(self) -> Self:
        self._process.start()
        if not self._conn.poll(SERVER_START_TIMEOUT):
            self._process.kill()
            raise RuntimeError("the benchmark server did not start")
        try:
            self.port = int(self._conn.recv())
        except EOFError:
            self._process.join()
            raise RuntimeError("the benchmark server failed to start (traceback above)") from None
        return self

    def __exit__(self, *_exc: object) -> None:
        self._conn.send("stop")
        self._process.join(10)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()


# -- load generator --------------------------------------------------------------------------------
async def drive(
    url: str,
    headers: Sequence[dict[str, str]],
    *,
    requests: int,
    concurrency: int,
    expect: int,
) -> Phase:
    """Send ``requests`` GETs, cycling through ``headers``, ``concurrency`` at a time."""
    tickets = itertools.count()
    latencies: list[float] = []
    unexpected = 0
    connector = aiohttp.TCPConnector(limit=concurrency)

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal unexpected
        while (n := next(tickets)) < requests:
            started = time.perf_counter()
            async with session.get(url, headers=headers[n % len(headers)]) as resp:
                await resp.read()
                if resp.status != expect:
                    unexpected += 1
            latencies.append((time.perf_counter() - started) * 1000)

    async with aiohttp.ClientSession(connector=connector) as session:
        began = time.perf_counter()
        async with asyncio.TaskGroup() as group:
            for _ in range(concurrency):
                group.create_task(worker(session))
        elapsed = time.perf_counter() - began
    return Phase(requests, elapsed, latencies, unexpected)


async def _fetch(url: str, headers: dict[str, str]) -> tuple[int, bytes, str]:
    async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as resp:
        return resp.status, await resp.read(), resp.headers.get("ETag", "")


async def measure_endpoint(port: int, tokens: list[str], params: Params) -> dict[str, Any]:
    url = f"http://127.0.0.1:{port}{MEETINGS_PATH}"
    auth = [{"Authorization": f"Bearer {t}"} for t in tokens]
    status, body, _ = await _fetch(url, auth[0])
    if status != 200:
        raise RuntimeError(f"the endpoint answered {status}: {body[:200]!r}")
    etags = await asyncio.gather(*(_fetch(url, h) for h in auth))
    conditional = [h | {"If-None-Match": e[2]} for h, e in zip(auth, etags, strict=True)]
    run = {"requests": params.requests, "concurrency": params.concurrency}
    await drive(url, auth, requests=params.warmup, concurrency=params.concurrency, expect=200)
    full = await drive(url, auth, expect=200, **run)
    cond = await drive(url, conditional, expect=304, **run)
    return {"full": full, "conditional": cond, "body": body}


async def measure_uncached(port: int, tokens: list[str], params: Params) -> Phase:
    url = f"http://127.0.0.1:{port}{MEETINGS_PATH}"
    auth = [{"Authorization": f"Bearer {t}"} for t in tokens]
    # Every answer decrypts all rows: a quarter of the requests is plenty to measure it.
    requests = max(params.requests // 4, params.warmup)
    await drive(url, auth, requests=params.warmup, concurrency=params.concurrency, expect=200)
    return await drive(url, auth, requests=requests, concurrency=params.concurrency, expect=200)


async def measure_baseline(port: int, params: Params) -> Phase:
    url = f"http://127.0.0.1:{port}{BASELINE_PATH}"
    headers = [{"Authorization": "Bearer x"}]
    await drive(url, headers, requests=params.warmup, concurrency=params.concurrency, expect=200)
    return await drive(
        url, headers, requests=params.requests, concurrency=params.concurrency, expect=200
    )


def run(params: Params) -> dict[str, Any]:
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="hybridcal-bench-") as tmp:
        db, keyring_path = Path(tmp) / "hybridcal.db", Path(tmp) / "keyring.json"
        seed_began = time.perf_counter()
        tokens = asyncio.run(seed(db, keyring_path, params))
        seed_seconds = time.perf_counter() - seed_began
        with ServerProcess("endpoint", db, keyring_path) as server:
            endpoint = asyncio.run(measure_endpoint(server.port, tokens, params))
        with ServerProcess("endpoint-uncached", db, keyring_path) as server:
            uncached = asyncio.run(measure_uncached(server.port, tokens, params))
        body: bytes = endpoint["body"]
        with ServerProcess("baseline", db, keyring_path, body) as server:
            baseline = asyncio.run(measure_baseline(server.port, params))
    full: Phase = endpoint["full"]
    cond: Phase = endpoint["conditional"]
    return {
        "benchmark": "endpoint",
        "requests_per_second": round(full.rps, 1),
        "p50_ms": round(full.percentile(0.50), 3),
        "p99_ms": round(full.percentile(0.99), 3),
        "conditional_requests_per_second": round(cond.rps, 1),
        "conditional_p50_ms": round(cond.percentile(0.50), 3),
        "conditional_p99_ms": round(cond.percentile(0.99), 3),
        "uncached_requests_per_second": round(uncached.rps, 1),
        "uncached_p50_ms": round(uncached.percentile(0.50), 3),
        "uncached_p99_ms": round(uncached.percentile(0.99), 3),
        "baseline_requests_per_second": round(baseline.rps, 1),
        "baseline_p50_ms": round(baseline.percentile(0.50), 3),
        "baseline_p99_ms": round(baseline.percentile(0.99), 3),
        "ratio_vs_baseline": round(full.rps / baseline.rps, 3),
        "conditional_ratio_vs_baseline": round(cond.rps / baseline.rps, 3),
        "uncached_ratio_vs_baseline": round(uncached.rps / baseline.rps, 3),
        "unexpected_statuses": sum(phase.unexpected for phase in (full, cond, uncached, baseline)),
        "response_bytes": len(body),
        "parameters": asdict(params),
        "seed_seconds": round(seed_seconds, 2),
        "elapsed_seconds": round(time.perf_counter() - began, 2),
        "environment": {
            "python": platform.python_version(),
            "aiohttp": aiohttp.__version__,
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
    }


def main(argv: Sequence[str] | None = None) -> int:
    result = run(parse_args(argv))
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0 if result["unexpected_statuses"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
