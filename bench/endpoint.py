"""Endpoint API benchmark: the server's cost per device poll, with the server the bottleneck.

``python -m bench.endpoint [--quick]`` from the repository root prints one JSON object.

A real SQLite store in a temporary directory, encrypted with a fresh keyring, holds N room
calendars with M meetings each (with join links) and one device per calendar. Every server
process (one per phase, plus the baseline) is pinned to CPU 0; the load generator, a separate
process with a raw keep-alive HTTP/1.1 client over asyncio streams (much cheaper per request
than aiohttp's client), is pinned to CPU 1 together with this orchestrating process. Only one
server is under load at a time. The phases and the baseline alternate in short slices within
one run (baseline, phase 1, phase 2, phase 3, phase 4, baseline, ...), so drifts in machine
load hit all of them; a ratio is taken per round against that round's baseline slice, and the
median and the spread over rounds are reported.

Per slice: requests per second, the server process's CPU time per request (utime + stime from
``/proc/<pid>/stat``), and the busy share of both cores (``/proc/stat``): the server's core
should be near 100 % and the generator's below it, or the figures measure the client.

Phases (what ``endpoint_api.EndpointApi._answer`` does for each):

1. ``not_modified``: unchanged list, ``If-None-Match`` matches: ``304`` from the rendered
   snapshot (ETag only), no row read, no decryption;
2. ``cached_200``: unchanged list, full answer assembled from the rendered snapshot: no row
   read, no decryption;
3. ``changed_rows``: every answer reads the calendar's rows (``list_entries``), decrypts and
   renders them, as after a change. Served with ``keep_rendered=False``, which takes exactly
   that path on every full answer (the write that would bump the version is not measured);
4. ``many_devices``: every device polls its own calendar, round robin, and the snapshot cache
   holds fewer calendars than there are devices, so every answer is a miss: row read,
   decryption, render, and a snapshot evicted.

The baseline is a bare aiohttp handler returning a precomputed body of the size of a full
answer. Baseline and endpoint servers are both plain ``web.AppRunner`` sites without the
HTTP guard of ``daemon/http_guard.py`` (same stack on both sides; the guard's per-connection
bookkeeping is not part of either figure).
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
import statistics
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
SERVER_CPU, GENERATOR_CPU = 0, 1
CLK_TCK = os.sysconf("SC_CLK_TCK")

PHASES: dict[str, str] = {
    "not_modified": "rendered cache: 304 from the snapshot's ETag; no row read, no decryption",
    "cached_200": "rendered cache: 200 assembled from the rendered snapshot; no row read, "
    "no decryption",
    "changed_rows": "store: reads the calendar's rows, decrypts and renders them on every "
    "answer (keep_rendered=False, the path a changed list takes)",
    "many_devices": "store: every device polls its own calendar and the snapshot cache is "
    "smaller than the device count, so every answer reads, decrypts and renders rows",
}
EXPECT = {"not_modified": 304, "cached_200": 200, "changed_rows": 200, "many_devices": 200}


@dataclass(frozen=True, slots=True)
class Params:
    devices: int
    meetings: int
    slices: int
    slice_seconds: float
    concurrency: int
    quick: bool


def parse_args(argv: Sequence[str] | None = None) -> Params:
    parser = argparse.ArgumentParser(prog="python -m bench.endpoint", description=__doc__)
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--meetings", type=int, default=30, help="meetings per calendar")
    parser.add_argument("--slices", type=int, default=5, help="rounds of interleaved slices")
    parser.add_argument("--slice-seconds", type=float, default=3.0)
    parser.add_argument("--concurrency", type=int, default=16, help="keep-alive connections")
    parser.add_argument("--quick", action="store_true", help="a few-second smoke run")
    args = parser.parse_args(argv)
    if args.quick:
        return Params(
            devices=10, meetings=10, slices=2, slice_seconds=0.4, concurrency=4, quick=True
        )
    return Params(
        devices=args.devices,
        meetings=args.meetings,
        slices=args.slices,
        slice_seconds=args.slice_seconds,
        concurrency=args.concurrency,
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
def _server_main(
    mode: str, db: str, keyring_path: str, body: bytes, limit: int, conn: Connection
) -> None:
    asyncio.run(_serve(mode, Path(db), Path(keyring_path), body, limit, conn))


async def _serve(
    mode: str, db: Path, keyring_path: Path, body: bytes, limit: int, conn: Connection
) -> None:
    app = web.Application()
    store: SQLiteStore | None = None
    if mode != "baseline":
        store = await SQLiteStore.open(db, RecordCipher(load_keyring(keyring_path)))
        api = EndpointApi(
            store,
            Metrics(),
            now=lambda: datetime.now(UTC),
            obtp_lead_minutes=5,
            hide_tentative=False,
            hide_private_titles=True,
            max_window_days=31,
            keep_rendered=mode != "changed_rows",
            snapshot_limit=limit,
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


def _pin(pid: int, cpu: int) -> bool:
    if (os.cpu_count() or 1) < 2 or not hasattr(os, "sched_setaffinity"):
        return False
    os.sched_setaffinity(pid, {cpu})
    return True


class ServerProcess:
    def __init__(
        self, mode: str, db: Path, keyring_path: Path, body: bytes = b"", limit: int = 4096
    ) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._process = ctx.Process(
            target=_server_main,
            args=(mode, str(db), str(keyring_path), body, limit, child),
            daemon=True,
        )
        self.port = 0
        self.pid = 0

    def __enter__(self) -> Self:
        self._process.start()
        assert self._process.pid is not None
        self.pid = self._process.pid
        _pin(self.pid, SERVER_CPU)
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

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime


def _cores() -> dict[int, tuple[int, int]]:
    """(busy, total) jiffies per CPU from /proc/stat."""
    out: dict[int, tuple[int, int]] = {}
    for line in Path("/proc/stat").read_text().splitlines():
        name, *rest = line.split()
        if name.startswith("cpu") and name != "cpu":
            values = [int(v) for v in rest[:8]]
            idle = values[3] + values[4]
            out[int(name[3:])] = (sum(values) - idle, sum(values))
    return out


def _busy(before: dict[int, tuple[int, int]], after: dict[int, tuple[int, int]], cpu: int) -> float:
    if cpu not in before or cpu not in after:
        return 0.0
    busy = after[cpu][0] - before[cpu][0]
    total = after[cpu][1] - before[cpu][1]
    return 100.0 * busy / total if total else 0.0


# -- load generator (its own process) -------------------------------------------------------------
def _request(path: str, token: str | None, etag: str | None = None) -> bytes:
    lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1"]
    if token is not None:
        lines.append(f"Authorization: Bearer {token}")
    if etag is not None:
        lines.append(f"If-None-Match: {etag}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    body = await reader.readexactly(length) if length else b""
    return status, headers, body


async def fetch(port: int, request: bytes) -> tuple[int, dict[str, str], bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        return await _read_response(reader)
    finally:
        writer.close()
        await writer.wait_closed()


async def _drive(
    port: int, requests: list[bytes], seconds: float, expect: int, concurrency: int
) -> dict[str, Any]:
    tickets = itertools.count()
    latencies: list[float] = []
    counts = {"done": 0, "unexpected": 0}
    streams = [await asyncio.open_connection("127.0.0.1", port) for _ in range(concurrency)]
    cpu_began = time.process_time()
    began = time.perf_counter()
    deadline = began + seconds

    async def worker(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while (started := time.perf_counter()) < deadline:
            writer.write(requests[next(tickets) % len(requests)])
            status, _, _ = await _read_response(reader)
            latencies.append((time.perf_counter() - started) * 1000)
            counts["done"] += 1
            if status != expect:
                counts["unexpected"] += 1

    async with asyncio.TaskGroup() as group:
        for reader, writer in streams:
            group.create_task(worker(reader, writer))
    elapsed = time.perf_counter() - began
    cpu = time.process_time() - cpu_began
    for _, writer in streams:
        writer.close()
    latencies.sort()
    return {
        "requests": counts["done"],
        "unexpected": counts["unexpected"],
        "seconds": elapsed,
        "generator_cpu_seconds": cpu,
        "p50_ms": latencies[len(latencies) // 2] if latencies else 0.0,
        "p99_ms": latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))]
        if latencies
        else 0.0,
    }


def _generator_main(conn: Connection) -> None:
    while True:
        command = conn.recv()
        if command == "stop":
            return
        conn.send(asyncio.run(_drive(*command)))


class Generator:
    def __init__(self) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._process = ctx.Process(target=_generator_main, args=(child,), daemon=True)

    def __enter__(self) -> Self:
        self._process.start()
        assert self._process.pid is not None
        _pin(self._process.pid, GENERATOR_CPU)
        return self

    def __exit__(self, *_exc: object) -> None:
        self._conn.send("stop")
        self._process.join(10)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()

    def drive(
        self, port: int, requests: list[bytes], seconds: float, expect: int, concurrency: int
    ) -> dict[str, Any]:
        self._conn.send((port, requests, seconds, expect, concurrency))
        result: dict[str, Any] = self._conn.recv()
        return result


# -- orchestration ---------------------------------------------------------------------------------
def _slice(
    generator: Generator,
    server: ServerProcess,
    requests: list[bytes],
    params: Params,
    expect: int,
) -> dict[str, Any]:
    cores_before, cpu_before = _cores(), server.cpu_seconds()
    result = generator.drive(
        server.port, requests, params.slice_seconds, expect, params.concurrency
    )
    cpu = server.cpu_seconds() - cpu_before
    cores_after = _cores()
    n = max(1, result["requests"])
    return {
        "rps": result["requests"] / result["seconds"],
        "server_cpu_us_per_request": 1e6 * cpu / n,
        "generator_cpu_us_per_request": 1e6 * result["generator_cpu_seconds"] / n,
        "server_core_busy_pct": _busy(cores_before, cores_after, SERVER_CPU),
        "generator_core_busy_pct": _busy(cores_before, cores_after, GENERATOR_CPU),
        "p50_ms": result["p50_ms"],
        "p99_ms": result["p99_ms"],
        "unexpected": result["unexpected"],
    }


def _summary(slices: list[dict[str, Any]], baseline: list[dict[str, Any]] | None) -> dict[str, Any]:
    def med(key: str) -> float:
        return float(statistics.median(float(s[key]) for s in slices))

    out: dict[str, Any] = {
        "requests_per_second": round(med("rps"), 1),
        "server_cpu_us_per_request": round(med("server_cpu_us_per_request"), 1),
        "generator_cpu_us_per_request": round(med("generator_cpu_us_per_request"), 1),
        "server_core_busy_pct": round(med("server_core_busy_pct"), 1),
        "generator_core_busy_pct": round(med("generator_core_busy_pct"), 1),
        "p50_ms": round(med("p50_ms"), 3),
        "p99_ms": round(med("p99_ms"), 3),
        "per_slice_requests_per_second": [round(s["rps"], 1) for s in slices],
    }
    if baseline is not None:
        ratios = [s["rps"] / b["rps"] for s, b in zip(slices, baseline, strict=True)]
        cpu = [
            b["server_cpu_us_per_request"] / s["server_cpu_us_per_request"]
            for s, b in zip(slices, baseline, strict=True)
            if s["server_cpu_us_per_request"] > 0
        ]
        out["ratio_vs_baseline"] = {
            "median": round(statistics.median(ratios), 3),
            "min": round(min(ratios), 3),
            "max": round(max(ratios), 3),
            "per_slice": [round(r, 3) for r in ratios],
        }
        out["cpu_ratio_vs_baseline"] = round(statistics.median(cpu), 3) if cpu else None
    return out


def run(params: Params) -> dict[str, Any]:
    began = time.perf_counter()
    pinned = _pin(0, GENERATOR_CPU)  # this process only orchestrates: keep it off the server core
    with tempfile.TemporaryDirectory(prefix="hybridcal-bench-") as tmp:
        db, keyring_path = Path(tmp) / "hybridcal.db", Path(tmp) / "keyring.json"
        seed_began = time.perf_counter()
        tokens = asyncio.run(seed(db, keyring_path, params))
        seed_seconds = time.perf_counter() - seed_began
        full = [_request(MEETINGS_PATH, t) for t in tokens]
        evicting_limit = max(1, params.devices // 4)
        with (
            ServerProcess("cached", db, keyring_path) as cached,
            ServerProcess("changed_rows", db, keyring_path) as rows,
            ServerProcess("many_devices", db, keyring_path, limit=evicting_limit) as many,
        ):
            answers = asyncio.run(_prime(cached.port, full))
            body = answers[0][2]
            if answers[0][0] != 200:
                raise RuntimeError(f"the endpoint answered {answers[0][0]}: {body[:200]!r}")
            with (
                ServerProcess("baseline", db, keyring_path, body) as base,
                Generator() as generator,
            ):
                servers = {"not_modified": cached, "cached_200": cached}
                servers |= {"changed_rows": rows, "many_devices": many}
                baseline_req = [_request(BASELINE_PATH, None)]
                # warm-up: one short slice each, not recorded
                warm = Params(
                    **(asdict(params) | {"slice_seconds": min(1.0, params.slice_seconds)})
                )
                _slice(generator, base, baseline_req, warm, 200)
                for phase, server in servers.items():
                    _slice(generator, server, full, warm, EXPECT[phase])
                results: dict[str, list[dict[str, Any]]] = {p: [] for p in ("baseline", *PHASES)}
                for _ in range(params.slices):
                    results["baseline"].append(_slice(generator, base, baseline_req, params, 200))
                    for phase, server in servers.items():
                        requests = full
                        if phase == "not_modified":  # fresh ETags: a Join button may have flipped
                            fresh = asyncio.run(_prime(server.port, full))
                            requests = [
                                _request(MEETINGS_PATH, t, a[1].get("etag"))
                                for t, a in zip(tokens, fresh, strict=True)
                            ]
                        results[phase].append(
                            _slice(generator, server, requests, params, EXPECT[phase])
                        )
    phases = {
        phase: {"answered_from": PHASES[phase], "status": EXPECT[phase]}
        | _summary(results[phase], results["baseline"])
        for phase in PHASES
    }
    unexpected = sum(s["unexpected"] for slices in results.values() for s in slices)
    return {
        "benchmark": "endpoint",
        "method": {
            "server_cpu": SERVER_CPU if pinned else None,
            "generator_cpu": GENERATOR_CPU if pinned else None,
            "generator": "raw HTTP/1.1 keep-alive client on asyncio streams, own process",
            "interleaving": "per round: baseline, then each phase, one slice each",
            "baseline": "bare aiohttp handler, precomputed body of a full answer's size; "
            "neither side behind the HTTP guard",
            "ratio": "per round, phase rps / that round's baseline rps; median, min, max",
        },
        "phases": phases,
        "baseline": _summary(results["baseline"], None),
        "unexpected_statuses": unexpected,
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


async def _prime(port: int, requests: list[bytes]) -> list[tuple[int, dict[str, str], bytes]]:
    return [await fetch(port, r) for r in requests]


def main(argv: Sequence[str] | None = None) -> int:
    result = run(parse_args(argv))
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0 if result["unexpected_statuses"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
