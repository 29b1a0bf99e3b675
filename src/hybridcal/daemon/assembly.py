"""Where the daemon is put together: every part built once, typed, in dependency order, on one
``AsyncExitStack`` — so that whatever part of a start-up succeeded is undone, and shutdown runs
in the reverse order of start-up by construction.

The order, and why: the store (behind its lock) before everything that reads it; the
connectors before the syncer; the HTTP server before the coordinator joins the cluster (a
replica answers its health checks before it claims calendars); the coordinator after the
queue, so that at shutdown it hands its calendars over (waiting for their syncs to end) while
the queue still runs; the jobs and the start-up sweep last.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import aiohttp
import structlog
from aiohttp import web

from hybridcal.cluster.base import Coordinator
from hybridcal.cluster.registry import open_coordinator
from hybridcal.config.loader import ConfigError
from hybridcal.config.secrets import Overrides
from hybridcal.config.settings import Settings
from hybridcal.connectors.calendars.base import CalendarConnector
from hybridcal.connectors.calendars.booking import room_bookings
from hybridcal.connectors.calendars.registry import build_connectors
from hybridcal.connectors.meetings.base import MeetingSystem
from hybridcal.connectors.meetings.registry import build_meeting_systems, longest_call_seconds
from hybridcal.core.model import CalendarRecord, Provider
from hybridcal.core.planner import Policy
from hybridcal.core.render import choose_locale
from hybridcal.crypto import RecordCipher, open_keyring
from hybridcal.crypto.secret_files import SecretFileError
from hybridcal.daemon.admin_api import AdminTokenError, load_token_hash
from hybridcal.daemon.app import AppParts, build_app
from hybridcal.daemon.booking_api import BookingParts
from hybridcal.daemon.calendar_work import CalendarWork, Dispatcher
from hybridcal.daemon.channel_care import ChannelCare
from hybridcal.daemon.channels import ChannelManager
from hybridcal.daemon.executor import EventExecutor
from hybridcal.daemon.faults import FaultBook
from hybridcal.daemon.graph_webhook import GraphWebhook
from hybridcal.daemon.http_guard import serve
from hybridcal.daemon.jobs import JobParts, Jobs
from hybridcal.daemon.metrics import Metrics
from hybridcal.daemon.row_builder import RowBuilder
from hybridcal.daemon.status import LiveFigures, status_document
from hybridcal.daemon.sweep import Sweeper
from hybridcal.daemon.sync import CalendarSyncer, WindowPolicy
from hybridcal.daemon.webhooks import GoogleWebhook
from hybridcal.daemon.work_queue import CalendarQueue
from hybridcal.store.base import Store
from hybridcal.store.registry import open_store
from hybridcal.store.sqlite_lock import DaemonLock

log = structlog.get_logger(__name__)

WEBHOOK_PATHS = {Provider.GOOGLE: "/webhooks/google", Provider.MICROSOFT: "/webhooks/microsoft"}
# systems each calendar makes itself, through the event's own patch
NATIVE_SYSTEMS = {Provider.GOOGLE: frozenset({"meet"}), Provider.MICROSOFT: frozenset({"teams"})}
SETTLE_MARGIN_S = 5.0  # on top of the longest meeting-system call, for clocks and scheduling


@dataclass(frozen=True, slots=True)
class Parts:
    """Everything a running daemon is made of."""

    settings: Settings
    now: Callable[[], datetime]
    metrics: Metrics
    store: Store
    faults: FaultBook
    connectors: Mapping[Provider, CalendarConnector]
    meetings: Mapping[str, MeetingSystem]
    coordinator: Coordinator
    queue: CalendarQueue
    syncer: CalendarSyncer
    channels: ChannelManager
    work: CalendarWork
    deliver: Dispatcher
    sweeper: Sweeper
    care: ChannelCare
    google_webhook: GoogleWebhook
    graph_webhook: GraphWebhook | None
    jobs: Jobs
    runner: web.AppRunner
    base_url: str
    initial_sweep: asyncio.Task[None]


class Policies:
    """The planner's policy for each calendar: keywords, systems, the organiser's language."""

    def __init__(self, settings: Settings, external: Collection[str]) -> None:
        self._settings = settings
        self._external = frozenset(external)

    def __call__(self, calendar: CalendarRecord) -> Policy:
        s = self._settings
        return Policy(
            keywords=dict(s.keywords),
            native_systems=NATIVE_SYSTEMS[calendar.provider],
            external_systems=self._external,
            personal_room_default=s.meetings.personal_room_systems(),
            locale=choose_locale(
                calendar.locale,
                s.render.default_locale,
                force_default=s.render.force_default_locale,
            ),
        )


async def assemble(
    stack: AsyncExitStack,
    settings: Settings,
    *,
    overrides: Overrides,
    environ: Mapping[str, str],
    now: Callable[[], datetime],
    metrics: Metrics,
    ready: Callable[[], bool],
) -> Parts:
    """Build and start every part, registering each one's undoing on ``stack``."""
    s = settings
    repairs: list[Callable[[str, str], None]] = []
    store = await _open_store(
        stack, s, overrides=overrides, environ=environ, now=now, repairs=repairs
    )
    faults = FaultBook(store, now)
    await faults.load()
    connectors, meetings = await _outside(
        stack, s, overrides=overrides, environ=environ, now=now, metrics=metrics, vault=store
    )
    rows = RowBuilder()
    stack.push_async_callback(rows.close)
    coordinator = open_coordinator(s, store, now=now, environ=environ)

    syncer: CalendarSyncer | None = None  # the queue's handler reaches it once it exists

    async def run_sync(key: str, full: bool) -> None:
        assert work is not None
        await work.run(key, full)

    work: CalendarWork | None = None
    queue = CalendarQueue(
        run_sync,
        concurrency=s.daemon.sync_concurrency,
        debounce=s.daemon.sync_debounce_seconds,
        on_depth=metrics.set_queue_depth,
        on_retry=lambda key, exc, delay: work.failed(key, exc, delay) if work else None,
        on_success=lambda key: work.succeeded(key) if work else None,
    )
    deliver = Dispatcher(queue.enqueue, coordinator)
    executor = EventExecutor(
        store,
        meetings,
        metrics,
        now=now,
        on_deferred=lambda binding: syncer.note_deferred(binding) if syncer else None,
        coordinator=coordinator,
        settle_seconds=longest_call_seconds(s) + SETTLE_MARGIN_S,
    )
    syncer = CalendarSyncer(
        store=store,
        connectors=connectors,
        executor=executor,
        policy_for=Policies(s, meetings),
        window=WindowPolicy(
            timedelta(days=s.window.past_days), timedelta(days=s.window.future_days)
        ),
        metrics=metrics,
        now=now,
        faults=faults,
        rows=rows,
    )
    work = CalendarWork(syncer=syncer, faults=faults, coordinator=coordinator, deliver=deliver)
    stack.push_async_callback(work.aclose)
    repairs.append(work.unreadable)
    public = str(s.daemon.public_url).rstrip("/")
    channels = ChannelManager(
        store=store,
        connectors=connectors,
        webhook_urls={p: public + WEBHOOK_PATHS[p] for p in connectors},
        renew_before=timedelta(hours=s.schedule.channel_renew_before_hours),
        now=now,
    )
    sweeper = Sweeper(
        store=store,
        connectors=connectors,
        channels=channels,
        syncer=syncer,
        coordinator=coordinator,
        enqueue=queue.enqueue,
        now=now,
    )
    care = ChannelCare(
        store=store,
        connectors=connectors,
        channels=channels,
        coordinator=coordinator,
        deliver=deliver,
        now=now,
    )
    stack.push_async_callback(care.aclose)
    google_webhook = GoogleWebhook(
        store=store,
        enqueue=deliver,
        stop_unknown=care.stop_unknown_channel,
        metrics=metrics,
        max_body=s.daemon.max_webhook_body_bytes,
    )
    care.delivered_within = google_webhook.delivered_within
    graph_webhook = _graph_webhook(
        s, store, connectors, deliver=deliver, care=care, metrics=metrics
    )
    if graph_webhook is not None:
        stack.push_async_callback(graph_webhook.stop)
    app = build_app(
        AppParts(
            settings=s,
            store=store,
            metrics=metrics,
            queue=queue,
            faults=faults,
            coordinator=coordinator,
            google=google_webhook,
            graph=graph_webhook,
            ready=ready,
            now=now,
            status=lambda: status_document(
                store,
                now(),
                live=LiveFigures(
                    queue_depth=queue.depth,
                    first_sweep_running=sweeper.first_sweep_running(),
                    replica=coordinator.replica_id,
                ),
            ),
            admin_token_hash=_admin_token_hash(s),
            booking=BookingParts(rooms=room_bookings(connectors), deliver=deliver),
        )
    )
    # timeouts and connection caps against slow and abusive clients: see http_guard
    runner = await serve(app, s.daemon.listen_host, s.daemon.listen_port)
    stack.push_async_callback(runner.cleanup)

    queue.start()
    stack.push_async_callback(_drain, queue, s.daemon.shutdown_timeout_seconds)
    # Joining the cluster claims this replica's calendars (and catches up on them); leaving
    # runs before the queue drains: queued work is dropped, running syncs end, and the
    # calendars are handed over at once rather than after a drain.
    stack.push_async_callback(coordinator.aclose)
    stack.push_async_callback(deliver.aclose)
    await coordinator.start(
        on_acquired=sweeper.taken_over,
        on_releasing=queue.forget,
        on_notified=lambda key, full: queue.enqueue(key, full=full),
    )
    jobs = Jobs(
        JobParts(
            schedule=s.schedule,
            window=s.window,
            store=store,
            connectors=connectors,
            channels=channels,
            metrics=metrics,
            faults=faults,
            coordinator=coordinator,
            enqueue=queue.enqueue,
            sweep=sweeper.sweep,
            retry_deferred=work.retry_deferred,
            now=now,
        )
    )
    jobs.start()
    stack.callback(jobs.stop)
    # Activation, channels and catch-up syncs for every calendar can take minutes in a large
    # organisation: they run in the background, so systemd hears READY=1 (and the endpoints
    # are served from the store) at once.
    initial_sweep = asyncio.create_task(_first_sweep(sweeper, jobs), name="initial-sweep")
    stack.push_async_callback(_cancel, initial_sweep)
    stack.push_async_callback(sweeper.aclose)
    return Parts(
        settings=s,
        now=now,
        metrics=metrics,
        store=store,
        faults=faults,
        connectors=connectors,
        meetings=meetings,
        coordinator=coordinator,
        queue=queue,
        syncer=syncer,
        channels=channels,
        work=work,
        deliver=deliver,
        sweeper=sweeper,
        care=care,
        google_webhook=google_webhook,
        graph_webhook=graph_webhook,
        jobs=jobs,
        runner=runner,
        base_url=_site_url(runner, s.daemon.listen_host),
        initial_sweep=initial_sweep,
    )


async def _open_store(
    stack: AsyncExitStack,
    s: Settings,
    *,
    overrides: Overrides,
    environ: Mapping[str, str],
    now: Callable[[], datetime],
    repairs: list[Callable[[str, str], None]],
) -> Store:
    """The store (behind its lock when embedded). It reports unreadable rows as it meets
    them; the repair needs the syncer and the queue, built later, hence ``repairs``."""
    keyring = overrides.keyring or open_keyring(
        path=Path(s.crypto.keyring) if s.crypto.keyring else None,
        credential=s.crypto.credential,
        environ=environ,
    )
    if s.store.backend == "sqlite":
        Path(s.store.path).parent.mkdir(parents=True, exist_ok=True)
        lock = DaemonLock.acquire(Path(s.store.path))  # one daemon per embedded store
        stack.callback(lock.release)

    def unreadable(table: str, row_id: str) -> None:
        for repair in repairs:
            repair(table, row_id)

    store = await open_store(
        s, RecordCipher(keyring), now=now, on_integrity_error=unreadable, environ=environ
    )
    stack.push_async_callback(store.close)
    return store


async def _outside(
    stack: AsyncExitStack,
    s: Settings,
    *,
    overrides: Overrides,
    environ: Mapping[str, str],
    now: Callable[[], datetime],
    metrics: Metrics,
    vault: Store,
) -> tuple[dict[Provider, CalendarConnector], dict[str, MeetingSystem]]:
    """The calendar connectors and meeting systems, on one HTTP session; systems that keep
    their tokens (Webex's Service App) keep them in the store."""
    http = await stack.enter_async_context(aiohttp.ClientSession())
    connectors = build_connectors(
        s, http, overrides=overrides, environ=environ, now=now, on_call=metrics.provider_call
    )
    for connector in connectors.values():
        stack.push_async_callback(connector.close)
    meetings = build_meeting_systems(
        s,
        http,
        overrides=overrides,
        environ=environ,
        now=now,
        on_call=metrics.provider_call,
        vault=vault,
    )
    for system in meetings.values():
        stack.push_async_callback(system.close)
    return connectors, meetings


def _graph_webhook(
    settings: Settings,
    store: Store,
    connectors: Mapping[Provider, CalendarConnector],
    *,
    deliver: Dispatcher,
    care: ChannelCare,
    metrics: Metrics,
) -> GraphWebhook | None:
    graph = connectors.get(Provider.MICROSOFT)
    if graph is None:
        return None
    return GraphWebhook(
        store=store,
        enqueue=deliver,
        metrics=metrics,
        max_body=settings.daemon.max_webhook_body_bytes,
        renew=care.renew_subscription,
        recreate=care.recreate_subscription,
        resync=care.resync,
        own_write=graph.is_own_write,
        forget=getattr(graph, "forget_subscription", None),
        ours=getattr(graph, "is_own_client_state", None),
    )


def _admin_token_hash(s: Settings) -> bytes | None:
    path = s.daemon.admin_token_file
    try:
        return load_token_hash(None if path is None else Path(path))
    except (OSError, SecretFileError, AdminTokenError) as exc:
        raise ConfigError([("daemon.admin_token_file", str(exc))]) from None


async def _first_sweep(sweeper: Sweeper, jobs: Jobs) -> None:
    await sweeper.sweep(catch_up=True)
    await jobs.gauges()
    log.info("daemon.initial_sweep_done")


async def _drain(queue: CalendarQueue, seconds: float) -> None:
    """Let running and queued syncs finish (for up to ``seconds``), then stop the workers."""
    try:
        async with asyncio.timeout(seconds):
            await queue.wait_idle()
    except TimeoutError:
        log.warning("daemon.shutdown_timeout", queued=queue.depth)
    await queue.stop()


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


def _site_url(runner: web.AppRunner, host: str) -> str:
    for address in runner.addresses:
        if isinstance(address, tuple):
            return f"http://{host}:{address[1]}"
    return f"http://{host}"
