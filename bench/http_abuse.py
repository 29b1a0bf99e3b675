"""Hostile HTTP clients against the daemon's web app: what do they cost a health probe?

``python -m bench.http_abuse [--quick]`` from the repository root prints one JSON object.

A server process runs the daemon's real aiohttp app (``build_app``: webhooks, endpoint API,
health, metrics, behind ``http_guard``) against a SQLite store in a temporary directory, with the
default limits (10 s header and 30 s body timeouts, 1,000 connections, 32 requests per client).
This process probes ``GET /healthz`` (a new connection each time, as a load balancer does) and
reports latency p50/p99 for each phase, and its ratio to the baseline measured in the same run:

- ``baseline``: nothing else happens;
- ``slow_loris``: 1,100 connections each send one byte of a request head every 2 s, reconnecting
  when dropped;
- ``slow_body``: 50 clients send a webhook POST head, then one body byte a second;
- ``forged_graph``: 4 clients post forged Graph batches of 1,000 unknown subscriptions
  back to back.

Each phase is bounded in time and connections, uses loopback only, and ends by itself. The server
reports the guard's counters and how many log records the phase produced.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import multiprocessing
import os
import platform
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
import structlog

from hybridcal.cluster.solo import SoloCoordinator
from hybridcal.config.loader import settings_from_mapping
from hybridcal.crypto import Keyring, RecordCipher
from hybridcal.daemon.app import AppParts, build_app
from hybridcal.daemon.faults import FaultBook
from hybridcal.daemon.graph_webhook import GraphWebhook
from hybridcal.daemon.http_guard import GUARD, install_log_filter, serve
from hybridcal.daemon.metrics import Metrics
from hybridcal.daemon.webhooks import GoogleWebhook
from hybridcal.daemon.work_queue import CalendarQueue
from hybridcal.store.sqlite import SQLiteStore

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

HOST = "127.0.0.1"


@dataclass(frozen=True)
class Params:
    phase_seconds: float
    loris: int
    slow_bodies: int
    graph_clients: int
    probe_interval: float


FULL = Params(phase_seconds=12, loris=1100, slow_bodies=50, graph_clients=4, probe_interval=0.02)
QUICK = Params(phase_seconds=4, loris=300, slow_bodies=50, graph_clients=2, probe_interval=0.02)


# -- server process --------------------------------------------------------------------------------
class _LogCount(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def emit(self, _record: logging.LogRecord) -> None:
        self.count += 1


def _server_main(db: str, conn: Connection) -> None:
    asyncio.run(_serve(Path(db), conn))


async def _serve(db: Path, conn: Connection) -> None:
    # Count what would be logged instead of printing it (stdout carries the JSON report).
    logged = _LogCount()
    logging.getLogger().addHandler(logged)
    logging.getLogger().setLevel(logging.INFO)
    events = [0]

    def count(_logger: Any, _name: str, _event: Any) -> Any:
        events[0] += 1
        raise structlog.DropEvent

    structlog.configure(processors=[count])
    settings = settings_from_mapping({"daemon": {"public_url": "https://hybridcal.example.com"}})
    store = await SQLiteStore.open(db, RecordCipher(Keyring.generate()))
    metrics = Metrics()

    async def nothing(*_args: str) -> None:
        return None

    async def nothing_status() -> dict[str, Any]:
        return {}

    body = settings.daemon.max_webhook_body_bytes
    google = GoogleWebhook(
        store=store, enqueue=lambda _k: None, stop_unknown=nothing, metrics=metrics, max_body=body
    )
    graph = GraphWebhook(
        store=store,
        enqueue=lambda _k: None,
        metrics=metrics,
        max_body=body,
        renew=nothing,
        recreate=nothing,
        resync=nothing,
    )
    now = lambda: datetime.now(UTC)  # noqa: E731
    app = build_app(
        AppParts(
            settings=settings,
            store=store,
            metrics=metrics,
            queue=CalendarQueue(lambda _key, _full: nothing()),  # never started: nothing syncs
            faults=FaultBook(store, now),
            coordinator=SoloCoordinator(),
            google=google,
            graph=graph,
            ready=lambda: True,
            now=now,
            status=nothing_status,
            admin_token_hash=None,
        )
    )
    runner = await serve(app, HOST, 0)
    noise = install_log_filter()
    conn.send(runner.addresses[0][1])
    loop = asyncio.get_running_loop()
    try:
        while (await loop.run_in_executor(None, conn.recv)) == "stats":
            guard = app[GUARD]
            conn.send(
                {
                    "guard": dict(guard.stats),
                    "open_connections": guard.open_connections,
                    "aiohttp_server_records_suppressed": sum(noise.counts.values()),
                    "log_records": logged.count + events[0],
                }
            )
    finally:
        await runner.cleanup()
        await graph.stop()
        await store.close()


# -- load ------------------------------------------------------------------------------------------
async def probe(port: int, until: float, interval: float) -> tuple[list[float], int]:
    """Sequential /healthz probes, each on a new connection; latencies (ms) and failures."""
    latencies: list[float] = []
    failures = 0
    timeout = aiohttp.ClientTimeout(total=5)
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(force_close=True), timeout=timeout
    ) as session:
        while time.monotonic() < until:
            started = time.perf_counter()
            try:
                async with session.get(f"http://{HOST}:{port}/healthz") as resp:
                    await resp.read()
                    ok = resp.status == 200
            except (aiohttp.ClientError, TimeoutError):
                ok = False
            if ok:
                latencies.append((time.perf_counter() - started) * 1000)
            else:
                failures += 1
            await asyncio.sleep(interval)
    return latencies, failures


async def _reconnecting(
    port: int, head: bytes, trickle: float, stop: asyncio.Event, tally: Counter[str]
) -> None:
    """Send ``head``, then one more byte every ``trickle`` seconds; reconnect when dropped."""
    while not stop.is_set():
        writer: asyncio.StreamWriter | None = None
        try:
            reader, writer = await asyncio.open_connection(HOST, port)
            tally["connections"] += 1
            writer.write(head)
            while not stop.is_set() and not reader.at_eof():
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(trickle):
                        data = await reader.read(4096)
                        if data.startswith(b"HTTP/1.1 429"):
                            tally["answered_429"] += 1
                        if not data:
                            break
                writer.write(b"x")
                await writer.drain()
        except OSError:
            pass
        finally:
            if writer is not None:
                writer.close()
        tally["dropped"] += 1
        await asyncio.sleep(0.05)


async def slow_loris(port: int, count: int, stop: asyncio.Event, tally: Counter[str]) -> None:
    head = b"GET /healthz HTTP/1.1\r\nX-a: "
    async with asyncio.TaskGroup() as group:
        for _ in range(count):
            group.create_task(_reconnecting(port, head, 2.0, stop, tally))
            await asyncio.sleep(0.002)  # ~500 connects a second


async def slow_body(port: int, count: int, stop: asyncio.Event, tally: Counter[str]) -> None:
    head = (
        b"POST /webhooks/microsoft HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 60000\r\n\r\n{"
    )
    async with asyncio.TaskGroup() as group:
        for _ in range(count):
            group.create_task(_reconnecting(port, head, 1.0, stop, tally))


def forged_batch() -> bytes:
    items = [{"subscriptionId": f"forged-{n:05d}", "clientState": "guess"} for n in range(1000)]
    return json.dumps({"value": items}, separators=(",", ":")).encode()


async def forged_graph(port: int, clients: int, stop: asyncio.Event, tally: Counter[str]) -> None:
    body = forged_batch()
    headers = {"Content-Type": "application/json"}

    async def one() -> None:
        async with aiohttp.ClientSession() as session:
            while not stop.is_set():
                try:
                    async with session.post(
                        f"http://{HOST}:{port}/webhooks/microsoft", data=body, headers=headers
                    ) as resp:
                        await resp.read()
                        tally[f"status_{resp.status}"] += 1
                except aiohttp.ClientError:
                    tally["errors"] += 1

    async with asyncio.TaskGroup() as group:
        for _ in range(clients):
            group.create_task(one())


Attack = Callable[[int, asyncio.Event, Counter[str]], Coroutine[Any, Any, None]]


async def phase(port: int, params: Params, attack: Attack | None) -> dict[str, Any]:
    stop = asyncio.Event()
    tally: Counter[str] = Counter()
    task = asyncio.create_task(attack(port, stop, tally)) if attack is not None else None
    if task is not None:
        await asyncio.sleep(1.5)  # let the attack build up
    latencies, failures = await probe(
        port, time.monotonic() + params.phase_seconds, params.probe_interval
    )
    stop.set()
    if task is not None:
        with contextlib.suppress(Exception):
            async with asyncio.timeout(10):
                await task
    latencies.sort()
    return {
        "probes": len(latencies) + failures,
        "failed_probes": failures,
        "p50_ms": round(statistics.median(latencies), 2) if latencies else None,
        "p99_ms": round(latencies[int(0.99 * (len(latencies) - 1))], 2) if latencies else None,
        "max_ms": round(latencies[-1], 2) if latencies else None,
        "attack": dict(tally),
    }


def run(params: Params) -> dict[str, Any]:
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    with tempfile.TemporaryDirectory() as tmp:
        process = ctx.Process(
            target=_server_main, args=(str(Path(tmp) / "store.db"), child), daemon=True
        )
        process.start()
        try:
            port = parent.recv()
            attacks: dict[str, Attack | None] = {
                "baseline": None,
                "slow_loris": lambda p, s, t: slow_loris(p, params.loris, s, t),
                "slow_body": lambda p, s, t: slow_body(p, params.slow_bodies, s, t),
                "forged_graph": lambda p, s, t: forged_graph(p, params.graph_clients, s, t),
            }
            phases: dict[str, Any] = {}
            before: dict[str, Any] = {"guard": {}, "log_records": 0}
            for name, attack in attacks.items():
                result = asyncio.run(phase(port, params, attack))
                parent.send("stats")
                after = parent.recv()
                result["server"] = {
                    "guard": {
                        k: v - before["guard"].get(k, 0)
                        for k, v in after["guard"].items()
                        if v - before["guard"].get(k, 0)
                    },
                    "log_records": after["log_records"] - before["log_records"],
                    "open_connections_after": after["open_connections"],
                }
                before = after
                phases[name] = result
        finally:
            parent.send("stop")
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
    base = phases["baseline"]
    for name, result in phases.items():
        if name != "baseline" and result["p50_ms"] and base["p50_ms"]:
            result["p50_ratio"] = round(result["p50_ms"] / base["p50_ms"], 2)
            result["p99_ratio"] = round(result["p99_ms"] / base["p99_ms"], 2)
    return phases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="shorter phases, fewer connections")
    args = parser.parse_args()
    params = QUICK if args.quick else FULL
    started = time.monotonic()
    phases = run(params)
    report = {
        "benchmark": "http_abuse",
        "params": params.__dict__,
        "phases": phases,
        "seconds": round(time.monotonic() - started, 1),
        "python": platform.python_version(),
        "aiohttp": aiohttp.__version__,
        "cpus": os.cpu_count(),
    }
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
