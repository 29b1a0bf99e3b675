"""Scale benchmark: one daemon, an organisation of thousands of calendars.

``python -m bench.scale [--calendars 10000] [--events 5] [--provider google|microsoft|both]``
from the repository root prints one JSON object.

Three processes, so that what is measured is the daemon alone:

- the **daemon** (``hybridcal --config FILE run``, ``bench._daemon_proc``): its CPU time and
  peak memory come from ``/proc/<pid>``; its READY is its own ``READY=1`` on a
  ``NOTIFY_SOCKET`` this benchmark holds (``bench._notify``), timestamped on arrival;
- the **simulators** (the provider's and Zoom's, ``bench._sim_proc``): they build the
  organisation, answer the daemon, and count what it asked (calls per kind, peak rates
  against the provider's quotas);
- this process, which waits: it reads the daemon's SQLite store read-only once a second (every
  calendar with a cursor and a live channel ends the sweep) and asks the simulators for
  figures between phases.

Phases per provider:

The organisation: ``--calendars`` calendars, one in 50 a room (``--rooms``), people with
``--events`` events each in the synced window, most shared with a colleague and the room of
their group (the pattern of ``bench._sync_workload``). One room for everyone, as ``bench.sync``
has it, would give that room 40,000 bookings in five weeks at 10,000 calendars: no room has
that, and its one sync round would be most of the daemon's peak memory.

1. **Cold start** on an empty store (calendars enabled and activated beforehand, as
   ``hybridcal users add`` leaves them): READY, then the start-up sweep until every calendar
   has a channel and a cursor (``sweep_seconds``), its CPU (``events_per_cpu_second``,
   ``cpu_ms_per_calendar.cold_sweep``), and the provider calls it made.
2. **Warm restart** on the same store (no full resync: every calendar is caught up from its
   cursor): READY, and the catch-up until every calendar has been synced again.
3. **At rest** (``--rest-seconds``, after a third start and its catch-up), with
   reconciliation forced to every minute: CPU per second is split into a background rate
   (seconds in which no request reached the provider) and a cost per provider call; the hour
   is extrapolated from the rate at which production makes those calls (one reconciling
   listing per calendar per hour, one token per user per hour, presence every 15 minutes, a
   channel renewal every six days).

The baseline in the same run is the cold sweep itself: the warm restart and the rest phase
are reported also as ratios to it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import closing
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from statistics import median
from typing import Any

from bench._daemon_proc import DaemonProcess, config_sections, daemon_command, render_toml
from bench._notify import NotifyListener
from bench._sim_proc import Organisation, SimulatorProcess, Spec
from bench.sync import free_port
from hybridcal.config.loader import load_settings
from hybridcal.core.model import CalendarKind, CalendarRecord, CalendarState, Provider, calendar_key
from hybridcal.crypto import RecordCipher, init_keyring, open_keyring
from hybridcal.logs import configure_logging
from hybridcal.store.codec import instant_to_text
from hybridcal.store.registry import open_store

PROVIDERS = ("google", "microsoft")
READY_TIMEOUT = 120.0
SAMPLE_SECONDS = 1.0  # how often the store and /proc are read
QUIET_SECONDS = 3.0  # no provider request for this long after the sweep counts as idle
IDLE_LIMIT = 180.0
REST_RECONCILE_MINUTES = 1.0
# what production does per hour at rest, per calendar (see the module docstring)
PRODUCTION_HOUR = {"list": 1.0, "token": 1.0, "vacation": 4.0, "watch": 1 / 144, "stop": 1 / 144}

TARGETS: dict[str, tuple[str, Callable[[float], bool]]] = {
    "peak_rss_mb": ("<= 150", lambda v: v <= 150),
    "ready_seconds_warm": ("<= 2", lambda v: v <= 2),
    "events_per_cpu_second": (">= 2000", lambda v: v >= 2000),
}


@dataclass(frozen=True, slots=True)
class Params:
    calendars: int
    rooms: int
    events: int
    providers: tuple[str, ...]
    rest_seconds: float
    seed: int
    profile: str | None


def parse_args(argv: Sequence[str] | None = None) -> Params:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__)
    parser.add_argument(
        "--calendars", type=int, default=10_000, help="calendars in all: people and rooms"
    )
    parser.add_argument(
        "--rooms",
        type=int,
        help="room calendars among them (default: one per 50 calendars, at least one; "
        "everyone books their group's room)",
    )
    parser.add_argument("--events", type=int, default=5, help="events per person")
    parser.add_argument("--provider", choices=(*PROVIDERS, "both"), default="google")
    parser.add_argument("--rest-seconds", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="a smoke run: 20 calendars")
    parser.add_argument("--profile", help="cold run under cProfile, stats to FILE.<provider>")
    args = parser.parse_args(argv)
    if args.quick:
        args.calendars, args.events, args.rest_seconds = 20, 5, 5.0
    rooms = max(1, args.calendars // 50) if args.rooms is None else args.rooms
    if args.calendars < 2 or args.events < 4 or not 1 <= rooms < args.calendars:
        parser.error("need --calendars >= 2, --events >= 4 and 1 <= --rooms < --calendars")
    return Params(
        calendars=args.calendars,
        rooms=rooms,
        events=args.events,
        providers=PROVIDERS if args.provider == "both" else (args.provider,),
        rest_seconds=args.rest_seconds,
        seed=args.seed,
        profile=str(Path(args.profile).resolve()) if args.profile else None,
    )


class Sampler:
    """The daemon's CPU time once a second while a phase runs, and its peak memory."""

    def __init__(self, daemon: DaemonProcess) -> None:
        self.daemon = daemon
        self.cpu: list[tuple[float, float]] = []  # (unix time, CPU seconds)
        self.rss: list[float] = []  # MiB, at the same times

    def sample(self) -> float:
        cpu = self.daemon.cpu_seconds()
        self.cpu.append((time.time(), cpu))
        self.rss.append(self.daemon.rss_mb())
        return cpu

    def rss_timeline(self, points: int = 12) -> list[tuple[float, float, float]]:
        """(seconds, CPU seconds, RSS MiB) at about ``points`` evenly spread samples: where
        memory grows, with the work or at one moment."""
        if not self.cpu:
            return []
        step = max(1, len(self.cpu) // points)
        start = self.cpu[0][0]
        return [
            (round(at - start, 1), round(cpu, 2), round(rss, 1))
            for (at, cpu), rss in list(zip(self.cpu, self.rss, strict=True))[::step]
        ]


class Store:
    """The daemon's SQLite store, read-only (WAL: a reader never blocks the daemon)."""

    def __init__(self, path: Path) -> None:
        self._uri = f"file:{path}?mode=ro"

    def _one(self, sql: str, *args: object) -> int:
        with closing(sqlite3.connect(self._uri, uri=True, timeout=5)) as db:
            (value,) = db.execute(sql, args).fetchone()
        return int(value)

    def unswept(self) -> int:
        """Calendars without a cursor or without a channel the provider confirmed."""
        return self._one(
            "SELECT count(*) FROM calendars c WHERE c.cursor IS NULL OR NOT EXISTS "
            "(SELECT 1 FROM channels h WHERE h.calendar_key = c.key "
            "AND h.resource_id IS NOT NULL)"
        )

    def synced_before(self, iso: str) -> int:
        return self._one(
            "SELECT count(*) FROM calendars WHERE synced_at IS NULL OR synced_at < ?", iso
        )


class ScaleRun:
    def __init__(self, params: Params, provider: str, workdir: Path) -> None:
        self.params = params
        self.provider = provider
        self.workdir = workdir
        self.port = free_port()
        self.store = Store(workdir / "hybridcal.db")

    # -- set-up ------------------------------------------------------------------------------

    def write_config(self, org: Organisation, *, rest: bool) -> Path:
        sections = config_sections(self.workdir, port=self.port, providers=org.sections, zoom=None)
        sections["zoom"] = dict(org.sections["zoom"])
        for name in ("google", "microsoft"):
            sections.pop(name, None)
        sections.update({k: dict(v) for k, v in org.sections.items() if k != "zoom"})
        if rest:
            sections["schedule"] = {"reconcile_minutes": REST_RECONCILE_MINUTES}
        path = self.workdir / ("rest.toml" if rest else "cold.toml")
        path.write_text(render_toml(sections), encoding="utf-8")
        return path

    async def enable(self, org: Organisation, config: Path) -> float:
        """Every calendar stored as ``hybridcal users add`` / ``rooms add`` leaves it: active,
        with the locale and time zone the access check read (not what this measures)."""
        began = time.perf_counter()
        settings = load_settings(config, {})
        keyring = open_keyring(path=self.workdir / "keyring.json", credential=None, environ={})
        provider = Provider(self.provider)
        store = await open_store(settings, RecordCipher(keyring), now=_utcnow, environ={})
        try:
            kinds = [(a, CalendarKind.USER) for a in org.people]
            kinds += [(room, CalendarKind.ROOM) for room in org.rooms]
            for address, kind in kinds:
                await store.add_calendar(
                    CalendarRecord(
                        key=calendar_key(provider, address),
                        provider=provider,
                        address=address,
                        kind=kind,
                        state=CalendarState.ACTIVE,
                        locale="en",
                        timezone="Europe/Zurich",
                    )
                )
        finally:
            await store.close()
        return time.perf_counter() - began

    # -- phases ------------------------------------------------------------------------------

    async def start(
        self, config: Path, notify: NotifyListener, *, profile: Path | None = None
    ) -> tuple[DaemonProcess, float]:
        notify.clear()
        daemon = DaemonProcess(
            daemon_command(config, profile=profile),
            log_path=self.workdir / f"daemon-{config.stem}.log",
            env=notify.env,
            stop_timeout=60.0,
        )
        daemon.__enter__()  # stopped by the caller
        try:
            ready_at = await notify.wait_for("READY=1", READY_TIMEOUT, alive=daemon.ensure_running)
        except BaseException:
            daemon.stop()
            raise
        return daemon, ready_at

    async def until(self, daemon: DaemonProcess, done: Any, within: float, what: str) -> float:
        """Poll ``done()`` once a second; returns the ``perf_counter`` time it first held."""
        deadline = time.monotonic() + within
        while not done():
            daemon.ensure_running()
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out after {within:.0f} s waiting for {what}")
            await asyncio.sleep(SAMPLE_SECONDS)
        return time.perf_counter()

    async def idle(self, daemon: DaemonProcess, sim: SimulatorProcess) -> None:
        """Until no request has reached the simulator for QUIET_SECONDS (bounded)."""
        seen, quiet_since, deadline = (
            sim.log_size(),
            time.monotonic(),
            time.monotonic() + IDLE_LIMIT,
        )
        while time.monotonic() - quiet_since < QUIET_SECONDS and time.monotonic() < deadline:
            daemon.ensure_running()
            await asyncio.sleep(0.5)
            size = sim.log_size()
            if size != seen:
                seen, quiet_since = size, time.monotonic()

    async def run(self) -> dict[str, Any]:
        spec = Spec(
            provider=self.provider,
            people=self.params.calendars - self.params.rooms,
            rooms=self.params.rooms,
            events=self.params.events,
            seed=self.params.seed,
            workdir=str(self.workdir),
        )
        init_keyring(self.workdir / "keyring.json")
        with SimulatorProcess(spec, log_path=self.workdir / "simulator.log") as sim:
            org = sim.org
            assert org is not None
            cold_config = self.write_config(org, rest=False)
            rest_config = self.write_config(org, rest=True)
            enable_seconds = await self.enable(org, cold_config)
            calendars = len(org.people) + len(org.rooms)
            with NotifyListener(self.workdir / "notify.sock") as notify:
                cold = await self.cold(sim, notify, cold_config, org)
                warm = await self.warm(sim, notify, cold_config, calendars)
                warm["rest"] = await self.at_rest(sim, notify, rest_config, calendars)
        sweep_cpu = cold["sweep_cpu_seconds"]
        result: dict[str, Any] = {
            "provider": self.provider,
            "calendars": calendars,
            "rooms": len(org.rooms),
            "events": org.events,
            "peak_rss_mb": max(
                cold["peak_rss_mb"], warm["peak_rss_mb"], warm["rest"]["peak_rss_mb"]
            ),
            "ready_seconds_cold": cold["ready_seconds"],
            "ready_seconds_warm": warm["ready_seconds"],
            "sweep_seconds": cold["sweep_seconds"],
            "sweep_cpu_seconds": sweep_cpu,
            "events_per_cpu_second": round(org.events / max(sweep_cpu, 0.01), 1),
            "cpu_ms_per_calendar": {
                "cold_sweep": round(1000 * sweep_cpu / calendars, 2),
                "warm_catch_up": round(1000 * warm["catch_up_cpu_seconds"] / calendars, 2),
                "per_hour_at_rest": warm["rest"]["cpu_ms_per_calendar_per_hour"],
            },
            "cold": cold,
            "warm": warm,
            "setup_seconds": {"simulator": org.setup_seconds, "enable": round(enable_seconds, 2)},
        }
        result["warm_vs_cold"] = {
            "catch_up_cpu_ratio": round(warm["catch_up_cpu_seconds"] / max(sweep_cpu, 0.01), 3),
            "ready_ratio": round(warm["ready_seconds"] / max(cold["ready_seconds"], 0.001), 3),
        }
        result["targets"] = {
            name: {"target": text, "actual": result[name], "met": bool(test(result[name]))}
            for name, (text, test) in TARGETS.items()
        }
        rates = cold["calls"]["rates"]
        result["targets"]["provider_quotas"] = {
            "target": "never exceeded",
            "actual": rates,
            "met": bool(rates["within_quota"]) and not cold["calls"]["throttled_requests"],
        }
        return result

    async def cold(
        self, sim: SimulatorProcess, notify: NotifyListener, config: Path, org: Organisation
    ) -> dict[str, Any]:
        profile = None
        if self.params.profile:
            profile = Path(f"{self.params.profile}.{self.provider}")
        since = sim.log_size()
        daemon, ready_at = await self.start(config, notify, profile=profile)
        try:
            sampler = Sampler(daemon)
            cpu_at_ready = sampler.sample()
            started_unix = time.time()

            def swept() -> bool:
                sampler.sample()
                return self.store.unswept() == 0

            within = 300.0 + 0.2 * org.events
            swept_at = await self.until(
                daemon, swept, within, "every calendar's cursor and channel"
            )
            sweep_cpu = daemon.cpu_seconds() - cpu_at_ready
            await self.idle(daemon, sim)
            idle_cpu = daemon.cpu_seconds() - cpu_at_ready
            calls = sim.figures(since)
            peak = daemon.peak_rss_mb()
        finally:
            daemon.stop()
        del started_unix
        return {
            "ready_seconds": round(ready_at - daemon.started_at, 3),
            "cpu_seconds_at_ready": round(cpu_at_ready, 3),
            "sweep_seconds": round(swept_at - ready_at, 1),
            "sweep_seconds_is_wall_time_under_load": True,
            "sweep_cpu_seconds": round(sweep_cpu, 2),
            "cpu_seconds_until_idle": round(idle_cpu, 2),
            "peak_rss_mb": round(peak, 1),
            "timeline_seconds_cpu_rss": sampler.rss_timeline(),
            "calls": calls,
        }

    async def warm(
        self, sim: SimulatorProcess, notify: NotifyListener, config: Path, calendars: int
    ) -> dict[str, Any]:
        """A restart on the warm store with the production schedule: READY, and the catch-up
        until every calendar has been synced from its cursor once."""
        since = sim.log_size()
        daemon, ready_at, caught_up_at, catch_up_cpu = await self.caught_up(
            notify, config, calendars
        )
        try:
            await self.idle(daemon, sim)
            catch_up_calls = sim.figures(since)
            peak = daemon.peak_rss_mb()
        finally:
            daemon.stop()
        return {
            "ready_seconds": round(ready_at - daemon.started_at, 3),
            "catch_up_seconds": round(caught_up_at - ready_at, 1),
            "catch_up_cpu_seconds": round(catch_up_cpu, 2),
            "catch_up_calls": catch_up_calls["calls_by_kind"],
            "peak_rss_mb": round(peak, 1),
        }

    async def at_rest(
        self, sim: SimulatorProcess, notify: NotifyListener, config: Path, calendars: int
    ) -> dict[str, Any]:
        """Another restart, with reconciliation forced short; once caught up, the rest window."""
        daemon, _ready, _caught_up, _cpu = await self.caught_up(notify, config, calendars)
        try:
            rest = await self.rest(daemon, sim, calendars)
            rest["peak_rss_mb"] = round(daemon.peak_rss_mb(), 1)
        finally:
            daemon.stop()
        return rest

    async def caught_up(
        self, notify: NotifyListener, config: Path, calendars: int
    ) -> tuple[DaemonProcess, float, float, float]:
        """Start on the warm store and wait until every calendar was synced since: the daemon,
        READY's time, the time it was caught up and the CPU spent since READY."""
        restart_iso = _iso_now()
        daemon, ready_at = await self.start(config, notify)
        try:
            cpu_at_ready = daemon.cpu_seconds()
            caught_up_at = await self.until(
                daemon,
                lambda: self.store.synced_before(restart_iso) == 0,
                300.0 + calendars * 0.05,
                "every calendar's catch-up sync",
            )
        except BaseException:
            daemon.stop()
            raise
        return daemon, ready_at, caught_up_at, daemon.cpu_seconds() - cpu_at_ready

    async def rest(
        self, daemon: DaemonProcess, sim: SimulatorProcess, calendars: int
    ) -> dict[str, Any]:
        since = sim.log_size()
        sampler = Sampler(daemon)
        began = time.time()
        cpu_before = sampler.sample()
        while time.time() - began < self.params.rest_seconds:
            await asyncio.sleep(SAMPLE_SECONDS)
            daemon.ensure_running()
            sampler.sample()
        cpu = sampler.cpu[-1][1] - cpu_before
        seconds = sampler.cpu[-1][0] - began
        figures = sim.figures(since, started_at=began)
        per_second = {int(k): v for k, v in figures["per_second"].items()}
        quiet = [
            b - a
            for (t0, a), (_t1, b) in zip(sampler.cpu, sampler.cpu[1:], strict=False)
            if not per_second.get(int(t0 - began)) and not per_second.get(int(t0 - began) + 1)
        ]
        background = median(quiet) / SAMPLE_SECONDS if quiet else 0.0
        kinds: Mapping[str, int] = figures["calls_by_kind"]
        calls = sum(kinds.values())
        per_call = max(0.0, cpu - background * seconds) / calls if calls else 0.0
        hour_calls = sum(rate * calendars for rate in PRODUCTION_HOUR.values())
        per_hour = background * 3600 + per_call * hour_calls
        return {
            "seconds": round(seconds, 1),
            "reconcile_minutes": REST_RECONCILE_MINUTES,
            "cpu_seconds": round(cpu, 2),
            "calls_by_kind": dict(kinds),
            "quiet_seconds_sampled": len(quiet),
            "background_cpu_per_second": round(background, 4),
            "cpu_ms_per_call": round(1000 * per_call, 3),
            "production_calls_per_hour": round(hour_calls),
            "cpu_seconds_per_hour": round(per_hour, 1),
            "cpu_ms_per_calendar_per_hour": round(1000 * per_hour / calendars, 2),
        }


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _iso_now() -> str:
    return instant_to_text(_utcnow())


async def run_async(params: Params) -> dict[str, Any]:
    began = time.perf_counter()
    results: dict[str, Any] = {}
    for provider in params.providers:
        with tempfile.TemporaryDirectory(prefix=f"hybridcal-bench-scale-{provider}-") as tmp:
            results[provider] = await ScaleRun(params, provider, Path(tmp)).run()
    return {
        "benchmark": "scale",
        **(results if len(results) > 1 else next(iter(results.values()))),
        "parameters": asdict(replace(params, providers=tuple(params.providers))),
        "elapsed_seconds": round(time.perf_counter() - began, 1),
        "environment": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
    }


def main(argv: Sequence[str] | None = None) -> int:
    params = parse_args(argv)
    configure_logging("warning", "json", stream=sys.stderr)
    result = asyncio.run(run_async(params))
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
