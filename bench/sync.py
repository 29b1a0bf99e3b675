"""Sync benchmark: what the daemon costs to sync calendars and to react to a burst of edits.

``python -m bench.sync [--provider google|microsoft] [--quick]`` from the repository root prints
one JSON object.

The provider's simulator (Google, or Microsoft Graph with ``--provider microsoft``) and the Zoom
simulator run in this process; the daemon runs as a child process (``hybridcal --config FILE
run``) so that its CPU time (``/proc/<pid>/stat``) is its own. N people and one room are enabled
with the admin commands before the daemon starts. The two providers share everything but a thin
:class:`ProviderSide` each: the same organisation, the same phases, the same figures.

1. **Initial sync.** Every person's calendar holds M events (some shared with a colleague and
   the room, some with pasted join links, a few weekly series). The daemon starts, opens a push
   channel (Graph: a subscription) per calendar and lists everything. Measured from its first
   listing (``events.list``; Graph: ``calendarView/delta``) until every calendar has a stored
   cursor and the daemon is idle: ``events_per_cpu_second`` is the events on the calendars
   divided by the daemon's CPU seconds in that span (interpreter start, imports and store
   opening happen before the first listing and are reported apart).
2. **Burst.** On K calendars people change B events each in quick succession: half get a
   keyword typed into the location (``@meet``, Graph: ``@teams``, or ``@zoom`` for
   ``--zoom-share`` of them), the others a new title. Measured until every keyword event has
   its meeting and our marker, and the daemon is idle again. From the simulators' request logs:
   listings per calendar burst, API calls per changed event, successful writes per keyword
   event, echo writes (any write beyond one per keyword event), conferences per ``@meet`` (Teams
   meetings per ``@teams``) event, and Zoom calls per ``@zoom`` event: creates (target exactly
   1) and reads on the hot path (meeting or user lookups, target 0; the token grant and the
   account's passcode rules are read once, reported apart).

With ``--graph-lifecycle S`` (Microsoft only) Graph sends lifecycle notifications on its own
schedule during the run's first seconds, as it does in production: reauthorizationRequired
every S seconds per subscription on average (holding notifications back until the renewal),
subscriptionRemoved and missed (after real losses) more rarely; the figures then include what
was sent, held back and lost, and the promises (one write per keyword event) must still hold.

The run stops by itself; every wait is bounded and the daemon is stopped on any error.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import closing
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from statistics import mean
from typing import Any, Protocol

import aiohttp

from bench import _graph_workload as graph_workload
from bench import _request_stats as stats
from bench import _sync_workload as google_workload
from bench._daemon_proc import (
    DaemonProcess,
    GoogleEndpoints,
    TomlValue,
    config_sections,
    daemon_command,
    google_section,
    metric_total,
    queue_depth,
    render_toml,
    scrape_metrics,
)
from bench._notify import NotifyListener
from bench._sync_workload import DOMAIN, Edit, SeededEvent, plan_burst
from hybridcal.config.loader import load_settings
from hybridcal.core.model import CalendarKind, CalendarState, Provider
from hybridcal.crypto import init_keyring
from hybridcal.daemon.admin import admin_session
from hybridcal.demo import (
    install_graph_app,
    install_service_account,
    install_zoom_app,
    microsoft_config,
    start_graph,
    zoom_config,
)
from hybridcal.logs import configure_logging
from hybridcal.sandbox.google.app import GoogleSimulator
from hybridcal.sandbox.keys import generate_service_account
from hybridcal.sandbox.microsoft import GraphSimulator, LifecycleSchedule
from hybridcal.sandbox.zoom import ZoomRecord, ZoomSimulator

READY_TIMEOUT = 60.0
BURST_TIMEOUT = 60.0
QUIET_SECONDS = 0.3  # no provider request for this long (and an empty queue) counts as idle
POLL_SECONDS = 0.02

TARGET_EVENTS_PER_CPU_SECOND = 2_000
PROVIDERS = ("google", "microsoft")
GRAPH_LIFECYCLE_FOR_S = 15.0


@dataclass(frozen=True, slots=True)
class Params:
    calendars: int
    events: int
    burst_calendars: int
    burst_events: int
    gap_ms: float
    conference_delay_s: float
    seed: int
    quick: bool
    profile: str | None
    zoom_share: float = 0.5
    provider: str = "google"
    # Graph only: mean seconds between reauthorizationRequired per subscription (with
    # subscriptionRemoved 20x and missed 5x as rare) during the run's first
    # GRAPH_LIFECYCLE_FOR_S, a third of it with --quick; None: none. Bounded, so that the
    # daemon can go idle for the measurements.
    graph_lifecycle_s: float | None = None


def parse_args(argv: Sequence[str] | None = None) -> Params:
    parser = argparse.ArgumentParser(prog="python -m bench.sync", description=__doc__)
    parser.add_argument("--provider", choices=PROVIDERS, default="google")
    parser.add_argument("--calendars", type=int, default=20, help="people (one room is added)")
    parser.add_argument("--events", type=int, default=100, help="events per person")
    parser.add_argument("--burst-calendars", type=int, default=10)
    parser.add_argument("--burst-events", type=int, default=20, help="edits per calendar burst")
    parser.add_argument("--gap-ms", type=float, default=5.0, help="pause between two edits")
    parser.add_argument(
        "--conference-delay", type=float, default=0.2, help="Meet creation, s (Google only)"
    )
    parser.add_argument("--zoom-share", type=float, default=0.5, help="keyword edits @zoom")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="a few-second smoke run")
    parser.add_argument("--profile", help="run the daemon under cProfile, stats to this file")
    parser.add_argument(
        "--graph-lifecycle",
        type=float,
        help="Graph: mean s between reauthorizationRequired per subscription (with "
        "subscriptionRemoved and missed), sent on Graph's own schedule for the run's first "
        f"{GRAPH_LIFECYCLE_FOR_S:.0f} s",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.calendars, args.events, args.burst_calendars, args.burst_events = 3, 10, 2, 4
    if not 1 <= args.burst_calendars <= args.calendars or args.burst_events < 1:
        parser.error("need 1 <= --burst-calendars <= --calendars and --burst-events >= 1")
    return Params(
        calendars=args.calendars,
        events=args.events,
        burst_calendars=args.burst_calendars,
        burst_events=args.burst_events,
        gap_ms=args.gap_ms,
        conference_delay_s=args.conference_delay,
        seed=args.seed,
        quick=args.quick,
        profile=str(Path(args.profile).resolve()) if args.profile else None,
        zoom_share=args.zoom_share,
        provider=args.provider,
        graph_lifecycle_s=args.graph_lifecycle,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def wait_for(
    condition: Callable[[], Awaitable[bool]],
    *,
    within: float,
    what: str,
    check: Callable[[], None],
) -> None:
    """Poll ``condition`` until true; ``check`` raises if the daemon died meanwhile."""
    deadline = time.monotonic() + within
    while not await condition():
        check()
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {within:.0f} s waiting for {what}")
        await asyncio.sleep(POLL_SECONDS)


# -- the providers ---------------------------------------------------------------------------


class ProviderSide(Protocol):
    """What differs between the providers: the simulator, the organisation in it, what a person
    does, when a keyword event is done, and how the simulator's request log reads."""

    provider: Provider
    native: str  # the provider's own meeting system, typed as @<native>
    conference: str  # what a native meeting is called, for messages
    room: str

    async def start(self) -> None: ...
    async def close(self) -> None: ...
    async def drain(self, limit_s: float) -> None: ...
    def log_size(self) -> int: ...
    def calls(self, since: int) -> list[stats.Call]: ...
    def install(self, workdir: Path) -> dict[str, Mapping[str, TomlValue]]: ...
    def populate(self, people: int) -> list[str]: ...
    def seed(
        self, people: Sequence[str], per_person: int, *, now: datetime, seed: int
    ) -> list[SeededEvent]: ...
    def apply(self, edit: Edit) -> None: ...
    def done(self, edit: Edit) -> bool: ...
    def visible_events(self, calendars: Sequence[str]) -> int: ...
    def conferences_created(self) -> int: ...
    def notifications_sent(self) -> int: ...
    def figures(self, phase: str, calls: list[stats.Call], changed: int) -> dict[str, Any]: ...


class GoogleSide:
    provider = Provider.GOOGLE
    native = "meet"
    conference = "Meet"
    room = google_workload.ROOM

    def __init__(self, params: Params) -> None:
        self.sim = GoogleSimulator(domain=DOMAIN, conference_delay_s=params.conference_delay_s)

    async def start(self) -> None:
        await self.sim.start()

    async def close(self) -> None:
        await self.sim.close()

    async def drain(self, limit_s: float) -> None:
        await self.sim.drain(limit_s)

    def log_size(self) -> int:
        return len(self.sim.request_log)

    def calls(self, since: int) -> list[stats.Call]:
        return [stats.google_call(record) for record in self.sim.request_log[since:]]

    def install(self, workdir: Path) -> dict[str, Mapping[str, TomlValue]]:
        info = generate_service_account(project_id="hybridcal-bench")
        install_service_account(self.sim, workdir / "service-account.json", info)
        endpoints = GoogleEndpoints(self.sim.token_uri, self.sim.calendar_root, self.sim.gmail_root)
        return {"google": google_section(workdir, endpoints, google_workload.ADMIN)}

    def populate(self, people: int) -> list[str]:
        return google_workload.populate_directory(self.sim, people)

    def seed(
        self, people: Sequence[str], per_person: int, *, now: datetime, seed: int
    ) -> list[SeededEvent]:
        return google_workload.seed_events(self.sim, people, per_person, now=now, seed=seed)

    def apply(self, edit: Edit) -> None:
        google_workload.apply_edit(self.sim, edit)

    def done(self, edit: Edit) -> bool:
        return google_workload.keyword_event_done(self.sim, edit)

    def visible_events(self, calendars: Sequence[str]) -> int:
        return google_workload.visible_events(self.sim, calendars)

    def conferences_created(self) -> int:
        return self.sim.conferences_created()

    def notifications_sent(self) -> int:
        return self.sim.notifications_sent

    def figures(self, phase: str, calls: list[stats.Call], changed: int) -> dict[str, Any]:
        del phase, calls, changed
        return {}


class GraphSide:
    provider = Provider.MICROSOFT
    native = "teams"
    conference = "Teams meeting"
    room = graph_workload.ROOM

    def __init__(self, params: Params) -> None:
        self.sim = GraphSimulator(domain=DOMAIN)
        self.masters: frozenset[str] = frozenset()
        self._tls = tempfile.TemporaryDirectory(prefix="hybridcal-bench-tls-")
        self._lifecycle: LifecycleSchedule | None = None
        if params.graph_lifecycle_s is not None:
            every = params.graph_lifecycle_s
            self._lifecycle = LifecycleSchedule(
                reauthorize_every_s=every,
                remove_every_s=every * 20,
                miss_every_s=every * 5,
                tick_s=min(0.1, every / 4),
                seed=params.seed,
                for_s=GRAPH_LIFECYCLE_FOR_S / (3 if params.quick else 1),
            )

    async def start(self) -> None:
        # over TLS: the daemon runs azure-identity's own credential, as in production
        await start_graph(self.sim, Path(self._tls.name))
        self.sim.schedule_lifecycle(self._lifecycle)  # Graph's own schedule, the whole run

    async def close(self) -> None:
        await self.sim.close()
        self._tls.cleanup()

    async def drain(self, limit_s: float) -> None:
        await self.sim.drain(limit_s)

    def log_size(self) -> int:
        return len(self.sim.request_log)

    def calls(self, since: int) -> list[stats.Call]:
        return [graph_workload.graph_call(record) for record in self.sim.request_log[since:]]

    def install(self, workdir: Path) -> dict[str, Mapping[str, TomlValue]]:
        app = install_graph_app(self.sim, workdir)
        return {
            "google": {"enabled": False},
            "microsoft": microsoft_config(self.sim, app, workdir),
        }

    def populate(self, people: int) -> list[str]:
        return graph_workload.populate_directory(self.sim, people)

    def seed(
        self, people: Sequence[str], per_person: int, *, now: datetime, seed: int
    ) -> list[SeededEvent]:
        seeded = graph_workload.seed_events(self.sim, people, per_person, now=now, seed=seed)
        self.masters = frozenset(e.event_id for e in seeded if e.recurring)
        return seeded

    def apply(self, edit: Edit) -> None:
        graph_workload.apply_edit(self.sim, edit)

    def done(self, edit: Edit) -> bool:
        return graph_workload.keyword_event_done(self.sim, edit)

    def visible_events(self, calendars: Sequence[str]) -> int:
        return graph_workload.visible_events(self.sim, calendars)

    def conferences_created(self) -> int:
        return self.sim.teams_meetings_created

    def notifications_sent(self) -> int:
        return self.sim.notifications_sent

    def figures(self, phase: str, calls: list[stats.Call], changed: int) -> dict[str, Any]:
        marker_reads, master_reads = graph_workload.event_reads(calls, self.masters)
        if phase == "initial":
            return {
                "graph_initial_marker_reads": marker_reads,
                "graph_initial_series_master_reads": master_reads,
            }
        return {
            "graph_marker_reads_per_changed_event": round(marker_reads / max(changed, 1), 3),
            "graph_series_master_reads": master_reads,
            "graph_notifications_failed": self.sim.notifications_failed,
            "graph_lifecycle_notifications": self.sim.lifecycle_by_event,
            "graph_notifications_held_back": self.sim.notifications_held_back,
            "graph_notifications_lost": self.sim.notifications_dropped,
        }


def provider_side(params: Params) -> ProviderSide:
    return GraphSide(params) if params.provider == "microsoft" else GoogleSide(params)


# -- the benchmark ---------------------------------------------------------------------------


class SyncBench:
    def __init__(
        self, params: Params, workdir: Path, org: ProviderSide, zoom: ZoomSimulator
    ) -> None:
        self.params = params
        self.workdir = workdir
        self.org = org
        self.zoom = zoom
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.config = workdir / "hybridcal.toml"
        self.people: list[str] = []

    # -- set-up ------------------------------------------------------------------------------

    async def prepare(self) -> list[Edit]:
        """Directory, provider credentials, keyring, config, enabled calendars and their
        events; returns the burst edits to make later."""
        org, workdir = self.org, self.workdir
        providers = org.install(workdir)
        self.people = org.populate(self.params.calendars)
        app = install_zoom_app(self.zoom, workdir)
        for address in self.people:
            self.zoom.add_user(address)
        init_keyring(workdir / "keyring.json")
        sections = config_sections(
            workdir,
            port=self.port,
            providers=providers,
            zoom=zoom_config(self.zoom, app, workdir),
        )
        self.config.write_text(render_toml(sections), encoding="utf-8")
        settings = load_settings(self.config, {})
        async with admin_session(settings, {}) as admin:
            records = [
                await admin.enable(org.provider, address, CalendarKind.USER)
                for address in self.people
            ]
            records.append(
                await admin.enable(org.provider, org.room, CalendarKind.ROOM, name="Board Room")
            )
        broken = [r.address for r in records if r.state is not CalendarState.ACTIVE]
        if broken:
            raise RuntimeError(f"calendars failed to activate: {broken}")
        seeded = org.seed(
            self.people, self.params.events, now=datetime.now(UTC), seed=self.params.seed
        )
        bursting = self.people[: self.params.burst_calendars]
        bursts = plan_burst(
            seeded, bursting, self.params.burst_events, self.params.zoom_share, org.native
        )
        return [edit for burst in bursts for edit in burst]

    # -- waiting -----------------------------------------------------------------------------

    def cursors_missing(self) -> int:
        """Calendars without a stored sync cursor (the store is read, read-only)."""
        uri = f"file:{self.workdir / 'hybridcal.db'}?mode=ro"
        with closing(sqlite3.connect(uri, uri=True, timeout=5)) as db:
            (missing,) = db.execute(
                "SELECT count(*) FROM calendars WHERE cursor IS NULL"
            ).fetchone()
        return int(missing)

    async def wait_idle(
        self, daemon: DaemonProcess, http: aiohttp.ClientSession, within: float
    ) -> None:
        """Until the simulator has nothing in flight, the daemon's queue is empty and no request
        has arrived for ``QUIET_SECONDS``."""
        org = self.org
        seen, quiet_since = org.log_size(), time.monotonic()

        async def idle() -> bool:
            nonlocal seen, quiet_since
            await org.drain(1.0)
            if org.log_size() != seen:
                seen, quiet_since = org.log_size(), time.monotonic()
                return False
            if time.monotonic() - quiet_since < QUIET_SECONDS:
                return False
            return await queue_depth(http, self.base_url) == 0

        await wait_for(
            idle, within=within, what="the daemon to go idle", check=daemon.ensure_running
        )

    # -- phases ------------------------------------------------------------------------------

    async def initial_sync(
        self, daemon: DaemonProcess, http: aiohttp.ClientSession, notify: NotifyListener
    ) -> dict[str, Any]:
        calendars = [*self.people, self.org.room]
        events = self.org.visible_events(calendars)
        within = 60.0 + events / 100
        since = self.org.log_size()
        first_listing = asyncio.create_task(self._cpu_at_first_listing(daemon, since))
        try:
            # the daemon's own READY=1, timestamped on arrival: polling /readyz from this
            # process, which also runs the simulator, measured the poller
            ready_at = await notify.wait_for("READY=1", READY_TIMEOUT, alive=daemon.ensure_running)
            ready_seconds = ready_at - daemon.started_at
            cpu_at_ready = daemon.cpu_seconds()

            async def all_cursors() -> bool:
                return self.cursors_missing() == 0

            await wait_for(
                all_cursors,
                within=within,
                what="every calendar's cursor",
                check=daemon.ensure_running,
            )
            await self.wait_idle(daemon, http, within)
            cpu_at_start, started = await asyncio.wait_for(first_listing, 1.0)
        finally:
            first_listing.cancel()
        cpu_spent = daemon.cpu_seconds() - cpu_at_start
        calls = self.org.calls(since)
        metrics = await scrape_metrics(http, self.base_url)
        return {
            "initial_events": events,
            "initial_events_listed": int(metric_total(metrics, "hybridcal_events_processed_total")),
            "initial_seconds": round(stats.span_seconds(calls, started), 3),
            "initial_cpu_seconds": round(cpu_spent, 3),
            "events_per_cpu_second": round(events / max(cpu_spent, 0.01), 1),
            "startup_cpu_seconds": round(cpu_at_start, 3),
            "cpu_seconds_at_ready": round(cpu_at_ready, 3),
            "ready_seconds": round(ready_seconds, 3),
            "initial_calls_by_method": stats.by_method(calls),
            "initial_failed_requests": stats.failed(calls),
            "initial_throttled_requests": stats.throttled(calls),
            "initial_sync_errors": int(
                metric_total(metrics, "hybridcal_syncs_total", outcome="error")
            ),
            **self.org.figures("initial", calls, events),
        }

    async def _cpu_at_first_listing(
        self, daemon: DaemonProcess, since: int
    ) -> tuple[float, datetime]:
        """The daemon's CPU time when its first listing reaches the simulator."""
        while True:
            for call in self.org.calls(since):
                if call.kind == "list" and call.at is not None:
                    return daemon.cpu_seconds(), call.at
            since = self.org.log_size()
            await asyncio.sleep(0.002)

    async def burst(
        self, daemon: DaemonProcess, http: aiohttp.ClientSession, edits: list[Edit]
    ) -> dict[str, Any]:
        org = self.org
        since = org.log_size()
        zoom_since = len(self.zoom.request_log)
        conferences_before = org.conferences_created()
        notifications_before = org.notifications_sent()
        metrics_before = await scrape_metrics(http, self.base_url)
        cpu_before = daemon.cpu_seconds()
        started = datetime.now(UTC)
        by_calendar: dict[str, list[Edit]] = {}
        for edit in edits:
            by_calendar.setdefault(edit.organizer, []).append(edit)
        finished = await asyncio.gather(*(self._edit(edits) for edits in by_calendar.values()))
        last_edit_at = dict(zip(by_calendar, finished, strict=True))
        keyword = [e for e in edits if e.keyword]

        async def meetings_made() -> bool:
            return all(org.done(e) for e in keyword)

        await wait_for(
            meetings_made,
            within=BURST_TIMEOUT,
            what=f"every keyword event's {org.conference} and marker",
            check=daemon.ensure_running,
        )
        await self.wait_idle(daemon, http, BURST_TIMEOUT)
        cpu_spent = daemon.cpu_seconds() - cpu_before
        calls = org.calls(since)
        metrics = await scrape_metrics(http, self.base_url)
        native_events = sum(1 for e in keyword if e.system == org.native)
        return {
            **self._burst_figures(calls, edits, last_edit_at),
            **zoom_figures(self.zoom.request_log[zoom_since:], edits),
            "conferences_per_keyword_event": round(
                (org.conferences_created() - conferences_before) / max(native_events, 1), 3
            ),
            "burst_seconds": round(stats.span_seconds(calls, started), 3),
            "burst_cpu_seconds": round(cpu_spent, 3),
            "burst_sync_rounds": int(
                metric_total(metrics, "hybridcal_syncs_total")
                - metric_total(metrics_before, "hybridcal_syncs_total")
            ),
            "burst_echoes_recognised": int(
                metric_total(metrics, "hybridcal_echo_writes_avoided_total")
                - metric_total(metrics_before, "hybridcal_echo_writes_avoided_total")
            ),
            "burst_notifications_delivered": org.notifications_sent() - notifications_before,
            **org.figures("burst", calls, len(edits)),
        }

    async def _edit(self, edits: list[Edit]) -> datetime:
        """One calendar's burst; returns when its last edit was made."""
        for n, edit in enumerate(edits):
            if n:
                await asyncio.sleep(self.params.gap_ms / 1000)
            self.org.apply(edit)
        return datetime.now(UTC)  # the simulators stamp their request logs with the same clock

    def _burst_figures(
        self, calls: list[stats.Call], edits: list[Edit], last_edit_at: dict[str, datetime]
    ) -> dict[str, Any]:
        ok = [c for c in calls if c.status < 400]
        lists = stats.list_calls(calls)
        per_burst = [lists[calendar] for calendar in last_edit_at]
        reading = [stats.lists_to_read_edits(calls, c, t) for c, t in last_edit_at.items()]
        writes = stats.writes_per_event(ok)
        keyword_ids = {e.event_id for e in edits if e.keyword}
        echo = sum(max(0, writes[e] - 1) for e in keyword_ids)
        echo += sum(count for event, count in writes.items() if event not in keyword_ids)
        return {
            "burst_changed_events": len(edits),
            "burst_keyword_events": len(keyword_ids),
            "list_calls_per_burst": round(mean(per_burst), 3),
            "list_calls_per_burst_max": max(per_burst),
            "list_calls_per_burst_reading_edits": round(mean(reading), 3),
            "room_list_calls": lists[self.org.room],
            "api_calls_per_changed_event": round(len(calls) / len(edits), 3),
            "writes_per_keyword_event": round(sum(writes.values()) / len(keyword_ids), 3),
            "echo_writes": echo,
            "refused_writes": sum(1 for c in calls if c.kind == "write" and c.status >= 400),
            "burst_calls_by_method": stats.by_method(calls),
            "burst_failed_requests": stats.failed(calls),
            "burst_throttled_requests": stats.throttled(calls),
        }


def zoom_figures(records: list[ZoomRecord], edits: list[Edit]) -> dict[str, Any]:
    """What the ``@zoom`` events of the burst cost in Zoom API calls."""
    events = sum(1 for e in edits if e.keyword and e.system == "zoom")
    api = [r for r in records if r.path.startswith("/v2/")]
    creates = [
        r for r in api if r.method == "POST" and r.path.endswith("/meetings") and r.status == 201
    ]
    settings = [r for r in api if r.path.endswith("/settings")]
    lookups = [r for r in api if r.method == "GET" and r not in settings]
    per = max(events, 1)
    return {
        "zoom_keyword_events": events,
        "zoom_creates_per_keyword_event": round(len(creates) / per, 3),
        "zoom_hot_path_reads_per_keyword_event": round(len(lookups) / per, 3),
        "zoom_calls_per_keyword_event": round(len(api) / per, 3),
        "zoom_policy_reads": len(settings),
        "zoom_token_grants": sum(1 for r in records if r.path == "/oauth/token"),
        "zoom_throttled": sum(1 for r in api if r.status == 429),
        "zoom_calls_by_method": dict(
            sorted(Counter(f"{r.method} {_zoom_route(r.path)}" for r in api).items())
        ),
    }


def _zoom_route(path: str) -> str:
    parts = path.split("/")
    return "/".join("{id}" if i == 3 and len(parts) > 3 else p for i, p in enumerate(parts))


def targets(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    checks: dict[str, tuple[str, Callable[[float], bool]]] = {
        "events_per_cpu_second": (
            f">= {TARGET_EVENTS_PER_CPU_SECOND}",
            lambda v: v >= TARGET_EVENTS_PER_CPU_SECOND,
        ),
        "list_calls_per_burst": ("== 1", lambda v: v == 1),
        "writes_per_keyword_event": ("== 1", lambda v: v == 1),
        "echo_writes": ("== 0", lambda v: v == 0),
        "conferences_per_keyword_event": ("== 1", lambda v: v == 1),
        "zoom_creates_per_keyword_event": ("== 1", lambda v: v == 1),
        "zoom_hot_path_reads_per_keyword_event": ("== 0", lambda v: v == 0),
    }
    return {
        name: {"target": text, "actual": result[name], "met": bool(test(result[name]))}
        for name, (text, test) in checks.items()
    }


async def run_async(params: Params) -> dict[str, Any]:
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="hybridcal-bench-sync-") as tmp:
        workdir = Path(tmp)
        org = provider_side(params)
        zoom = ZoomSimulator(account_id="benchaccount")
        await org.start()
        await zoom.start()
        try:
            bench = SyncBench(params, workdir, org, zoom)
            edits = await bench.prepare()
            command = daemon_command(
                bench.config, profile=Path(params.profile) if params.profile else None
            )
            async with aiohttp.ClientSession() as http:
                with (
                    NotifyListener(workdir / "notify.sock") as notify,
                    DaemonProcess(
                        command, log_path=workdir / "daemon.log", env=notify.env
                    ) as daemon,
                ):
                    initial = await bench.initial_sync(daemon, http, notify)
                    burst = await bench.burst(daemon, http, edits)
                    peak_rss = daemon.peak_rss_mb()
        finally:
            await zoom.close()
            await org.close()
    result: dict[str, Any] = {"benchmark": "sync", "provider": params.provider, **initial, **burst}
    result["peak_rss_mb"] = round(peak_rss, 1)
    result["targets"] = targets(result)
    result["all_targets_met"] = all(t["met"] for t in result["targets"].values())
    result["parameters"] = asdict(params)
    result["elapsed_seconds"] = round(time.perf_counter() - began, 2)
    result["environment"] = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
    }
    return result


def main(argv: Sequence[str] | None = None) -> int:
    params = parse_args(argv)
    configure_logging("warning", "json", stream=sys.stderr)  # stdout carries only the JSON
    result = asyncio.run(run_async(params))
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
