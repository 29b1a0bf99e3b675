"""The daemon: wires settings, store, connectors, queue, scheduler and HTTP app, with an explicit
lifecycle (``start`` in order, ``stop`` in reverse order, every task owned)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import structlog
from aiohttp import web

from hybridcal.config.preflight import credential_path
from hybridcal.config.settings import Settings
from hybridcal.connectors.calendars.base import CalendarConnector
from hybridcal.connectors.calendars.google import SCOPES, GoogleCalendarConnector
from hybridcal.connectors.calendars.google_auth import DelegatedTokens
from hybridcal.connectors.errors import ConnectorError
from hybridcal.connectors.meetings.base import MeetingSystem
from hybridcal.connectors.meetings.zoom import ZoomMeetings, ZoomOptions
from hybridcal.connectors.meetings.zoom_auth import ZoomTokens
from hybridcal.core.model import (
    SYNC_FAULT,
    Binding,
    CalendarRecord,
    CalendarState,
    Channel,
    Provider,
)
from hybridcal.core.planner import Policy
from hybridcal.core.render import choose_locale
from hybridcal.crypto import Keyring, RecordCipher, open_keyring
from hybridcal.crypto.secret_files import SecretFileError, check_private, read_private
from hybridcal.daemon.activation import activate
from hybridcal.daemon.app import build_app
from hybridcal.daemon.channels import ChannelManager
from hybridcal.daemon.executor import EventExecutor
from hybridcal.daemon.faults import FaultBook
from hybridcal.daemon.graph_webhook import GraphWebhook
from hybridcal.daemon.http_guard import serve
from hybridcal.daemon.jobs import Jobs
from hybridcal.daemon.metrics import Metrics
from hybridcal.daemon.row_builder import RowBuilder
from hybridcal.daemon.sdnotify import SystemdNotifier
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
ERROR_RECHECK = timedelta(minutes=15)  # how often a calendar in error is checked again
SWEEP_CONCURRENCY = 8  # calendars activated / watched at the same time
STRAY_GRACE_S = 5.0


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Overrides:
    """What the demo and tests hand in instead of reading it from disk."""

    keyring: Keyring | None = None
    service_account_info: Mapping[str, Any] | None = None
    zoom_client_secret: str | None = None
    microsoft_client_secret: str | None = None


def secret_path(
    key: str, file: Path | None, credential: str | None, environ: Mapping[str, str]
) -> Path:
    """Where a secret lives: the systemd credential when one is named, else the file.
    ``key`` is the settings prefix, e.g. ``google.service_account``."""
    if credential:
        path = credential_path(credential, environ)
        if path is None:
            raise ConnectorError(
                f"{key}_credential is set but $CREDENTIALS_DIRECTORY is not "
                "(use LoadCredential= in the systemd unit)"
            )
        return path
    if file:
        return Path(file)
    raise ConnectorError(f"{key}_file is not set")


def read_secret(
    key: str, file: Path | None, credential: str | None, environ: Mapping[str, str], what: str
) -> tuple[Path, bytes]:
    """The bytes of a secret and where they came from. A file must be private to its owner
    (`read_private`); a systemd credential is private to the service by construction."""
    path = secret_path(key, file, credential, environ)
    try:
        if credential:
            return path, path.read_bytes()
        return path, read_private(path)
    except OSError as exc:
        raise ConnectorError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    except SecretFileError as exc:
        raise ConnectorError(f"{what}: {exc}") from None


def load_service_account(settings: Settings, environ: Mapping[str, str]) -> dict[str, Any]:
    google = settings.google
    path, data = read_secret(
        "google.service_account",
        google.service_account_file,
        google.service_account_credential,
        environ,
        "the service-account key",
    )
    try:
        info = json.loads(data)
    except ValueError as exc:  # UnicodeDecodeError included
        raise ConnectorError(f"cannot read the service-account key {path}: {exc}") from None
    if not isinstance(info, dict):
        raise ConnectorError(f"the service-account key {path} is not a JSON object")
    return info


def _secret_text(path: Path, data: bytes, what: str) -> str:
    try:
        secret = data.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise ConnectorError(f"{what} {path} is not UTF-8 text") from None
    if not secret:
        raise ConnectorError(f"{what} file {path} is empty")
    return secret


def load_zoom_secret(settings: Settings, environ: Mapping[str, str]) -> str:
    zoom = settings.zoom
    what = "the Zoom client secret"
    path, data = read_secret(
        "zoom.client_secret", zoom.client_secret_file, zoom.client_secret_credential, environ, what
    )
    return _secret_text(path, data, what)


def load_microsoft_secret(settings: Settings, environ: Mapping[str, str]) -> str | None:
    """The app's client secret, or None when it proves itself with a certificate (whose file,
    holding the private key, is held to the same rule as every secret file)."""
    m = settings.microsoft
    if m.certificate_file is not None:
        problem = check_private(Path(m.certificate_file))
        if problem is not None:
            raise ConnectorError(f"the Microsoft certificate: {problem}")
        return None
    what = "the Microsoft client secret"
    path, data = read_secret(
        "microsoft.client_secret", m.client_secret_file, m.client_secret_credential, environ, what
    )
    return _secret_text(path, data, what)


def build_microsoft(
    settings: Settings,
    *,
    overrides: Overrides,
    environ: Mapping[str, str],
    now: Callable[[], datetime],
    on_call: Callable[[str], None],
) -> CalendarConnector:
    """The Graph connector; msgraph-sdk is imported only here, when Microsoft is configured."""
    from hybridcal.connectors.calendars.microsoft import (  # noqa: PLC0415 - lazy: 0.2 s, 32 MB
        MicrosoftCalendarConnector,
    )
    from hybridcal.connectors.calendars.microsoft_auth import make_credential  # noqa: PLC0415
    from hybridcal.connectors.calendars.microsoft_state import client_state_key  # noqa: PLC0415

    m = settings.microsoft
    assert m.tenant_id is not None
    assert m.client_id is not None
    secret = overrides.microsoft_client_secret or load_microsoft_secret(settings, environ)
    credential = make_credential(
        tenant_id=m.tenant_id,
        client_id=m.client_id,
        client_secret=secret,
        certificate_path=None if secret else str(m.certificate_file),
        authority=m.authority,
        ca_bundle=None if m.ca_bundle is None else str(m.ca_bundle),
        timeout=m.http_timeout_seconds,
    )
    w = settings.window
    return MicrosoftCalendarConnector(
        credential=credential,
        graph_root=m.graph_root,
        window_past=timedelta(days=w.past_days),
        window_future=timedelta(days=w.future_days),
        page_size=m.page_size,
        mailbox_concurrency=m.mailbox_concurrency,
        timeout=m.http_timeout_seconds,
        max_retries=m.max_retries,
        subscription_ttl=timedelta(minutes=m.subscription_minutes),
        on_call=on_call,
        now=now,
        owns_credential=True,
        client_state_key=client_state_key(
            client_secret=secret, certificate_path=None if secret else m.certificate_file
        ),
        ca_bundle=None if m.ca_bundle is None else str(m.ca_bundle),
    )


def build_meeting_systems(
    settings: Settings,
    http: aiohttp.ClientSession,
    *,
    overrides: Overrides,
    environ: Mapping[str, str],
    now: Callable[[], datetime],
    on_call: Callable[[str, str], None] | None = None,
) -> dict[str, MeetingSystem]:
    """The external meeting systems the settings enable (daemon, admin CLI, demo)."""
    systems: dict[str, MeetingSystem] = {}
    z = settings.zoom
    if z.enabled:
        assert z.account_id is not None
        assert z.client_id is not None
        count = on_call or (lambda _provider, _name: None)
        tokens = ZoomTokens(
            session=http,
            oauth_root=z.oauth_root,
            account_id=z.account_id,
            client_id=z.client_id,
            client_secret=overrides.zoom_client_secret or load_zoom_secret(settings, environ),
            timeout=z.http_timeout_seconds,
            proxy=z.proxy,
            now=now,
        )
        systems["zoom"] = ZoomMeetings(
            tokens=tokens,
            session=http,
            api_root=z.api_root,
            options=ZoomOptions(
                topic_template=z.topic_template,
                fallback_host=z.fallback_host,
                alternative_hosts=z.alternative_hosts,
                scheduler=z.scheduler,
                join_before_host=z.join_before_host,
                waiting_room=z.waiting_room,
            ),
            timeout=z.http_timeout_seconds,
            max_retries=z.max_retries,
            concurrency=z.request_concurrency,
            requests_per_second=z.requests_per_second,
            proxy=z.proxy,
            now=now,
            on_call=lambda name: count("zoom", name),
        )
    return systems


def build_connectors(
    settings: Settings,
    http: aiohttp.ClientSession,
    *,
    overrides: Overrides,
    environ: Mapping[str, str],
    now: Callable[[], datetime],
    on_call: Callable[[str, str], None] | None = None,
) -> dict[Provider, CalendarConnector]:
    """The calendar connectors the settings enable (used by the daemon and the admin CLI)."""
    connectors: dict[Provider, CalendarConnector] = {}
    g = settings.google
    if g.enabled:
        info = overrides.service_account_info or load_service_account(settings, environ)
        tokens = DelegatedTokens(info, SCOPES, token_uri=g.token_uri, now=now)
        count = on_call or (lambda _provider, _name: None)
        connectors[Provider.GOOGLE] = GoogleCalendarConnector(
            tokens=tokens,
            session=http,
            calendar_root=g.calendar_api_root,
            gmail_root=g.gmail_api_root,
            send_updates=g.send_updates,
            room_access_user=g.room_access_user,
            channel_ttl=timedelta(seconds=g.channel_ttl_seconds),
            max_retries=g.max_retries,
            timeout=g.http_timeout_seconds,
            concurrency=g.request_concurrency,
            on_call=lambda name: count("google", name),
            now=now,
        )
    if settings.microsoft.enabled:
        count = on_call or (lambda _provider, _name: None)
        connectors[Provider.MICROSOFT] = build_microsoft(
            settings,
            overrides=overrides,
            environ=environ,
            now=now,
            on_call=lambda name: count("microsoft", name),
        )
    return connectors


class Daemon:
    def __init__(
        self,
        settings: Settings,
        *,
        overrides: Overrides | None = None,
        environ: Mapping[str, str] | None = None,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self._overrides = overrides or Overrides()
        self._environ = dict(environ or {})
        self.now = now
        self.metrics = Metrics()
        self.store: Store | None = None
        self.connectors: dict[Provider, CalendarConnector] = {}
        self.meetings: dict[str, MeetingSystem] = {}
        self.queue: CalendarQueue | None = None
        self.channels: ChannelManager | None = None
        self.syncer: CalendarSyncer | None = None
        self.jobs: Jobs | None = None
        self._http: aiohttp.ClientSession | None = None
        self._runner: web.AppRunner | None = None
        self._notifier = SystemdNotifier(self._environ)
        self._watchdog: asyncio.Task[None] | None = None
        self.base_url = ""
        self.ready = False
        self._error_checks: dict[str, datetime] = {}
        self._initial_sweep: asyncio.Task[None] | None = None
        self._graph_webhook: GraphWebhook | None = None
        self._sweep_lock = asyncio.Lock()
        self.faults: FaultBook | None = None
        self.rows = RowBuilder()
        self._lock: DaemonLock | None = None
        self._bookkeeping: set[asyncio.Task[None]] = set()
        self._google_webhook: GoogleWebhook | None = None
        self._recovering: dict[str, asyncio.Task[None]] = {}  # calendar -> its channel check
        # how long a stray notification waits for one of ours on the same calendar (Google
        # notifies every live channel of a change at about the same time)
        self.stray_grace_s = STRAY_GRACE_S

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        s = self.settings
        keyring = self._overrides.keyring or open_keyring(
            path=Path(s.crypto.keyring) if s.crypto.keyring else None,
            credential=s.crypto.credential,
            environ=self._environ,
        )
        if s.store.backend == "sqlite":
            Path(s.store.path).parent.mkdir(parents=True, exist_ok=True)
            self._lock = DaemonLock.acquire(Path(s.store.path))  # one daemon per embedded store
        self.store = await open_store(
            s,
            RecordCipher(keyring),
            now=self.now,
            on_integrity_error=self._unreadable_row,
            environ=self._environ,
        )
        self.faults = FaultBook(self.store, self.now)
        await self.faults.load()
        self._http = aiohttp.ClientSession()
        self.connectors.update(
            build_connectors(
                s,
                self._http,
                overrides=self._overrides,
                environ=self._environ,
                now=self.now,
                on_call=self.metrics.provider_call,
            )
        )
        self.meetings.update(
            build_meeting_systems(
                s,
                self._http,
                overrides=self._overrides,
                environ=self._environ,
                now=self.now,
                on_call=self.metrics.provider_call,
            )
        )
        self.queue = CalendarQueue(
            self._sync,
            concurrency=s.daemon.sync_concurrency,
            debounce=s.daemon.sync_debounce_seconds,
            on_depth=self.metrics.set_queue_depth,
            on_retry=self._sync_failed,
            on_success=self._sync_succeeded,
        )
        executor = EventExecutor(
            self.store,
            self.meetings,
            self.metrics,
            now=self.now,
            on_deferred=self._deferred,
        )
        self.syncer = CalendarSyncer(
            store=self.store,
            connectors=self.connectors,
            executor=executor,
            policy_for=self.policy_for,
            window=WindowPolicy(
                timedelta(days=s.window.past_days), timedelta(days=s.window.future_days)
            ),
            metrics=self.metrics,
            now=self.now,
            faults=self.faults,
            rows=self.rows,
        )
        public = str(s.daemon.public_url).rstrip("/")
        self.channels = ChannelManager(
            store=self.store,
            connectors=self.connectors,
            webhook_urls={p: public + WEBHOOK_PATHS[p] for p in self.connectors},
            renew_before=timedelta(hours=s.schedule.channel_renew_before_hours),
            now=self.now,
        )
        webhook = GoogleWebhook(
            store=self.store,
            enqueue=self.queue.enqueue,
            stop_unknown=self._stop_unknown_channel,
            metrics=self.metrics,
            max_body=s.daemon.max_webhook_body_bytes,
        )
        self._google_webhook = webhook
        self._graph_webhook = (
            GraphWebhook(
                store=self.store,
                enqueue=self.queue.enqueue,
                metrics=self.metrics,
                max_body=s.daemon.max_webhook_body_bytes,
                renew=self._renew_subscription,
                recreate=self._recreate_subscription,
                resync=self._resync,
                own_write=self.connectors[Provider.MICROSOFT].is_own_write,
                forget=getattr(self.connectors[Provider.MICROSOFT], "forget_subscription", None),
                ours=getattr(self.connectors[Provider.MICROSOFT], "is_own_client_state", None),
            )
            if Provider.MICROSOFT in self.connectors
            else None
        )
        app = build_app(self, webhook, self._graph_webhook)
        # timeouts and connection caps against slow and abusive clients: see http_guard
        self._runner = await serve(app, s.daemon.listen_host, s.daemon.listen_port)
        self.base_url = _site_url(self._runner, s.daemon.listen_host)
        self.queue.start()
        self.jobs = Jobs(self)
        self.jobs.start()
        # Activation, channels and catch-up syncs for every calendar can take minutes in a
        # large organisation: they run in the background, so systemd hears READY=1 (and the
        # endpoints are served from the store) at once.
        self._initial_sweep = asyncio.create_task(self._first_sweep(), name="initial-sweep")
        self.ready = True
        self._notifier.notify("READY=1", f"STATUS=serving on {self.base_url}")
        self._watchdog = self._notifier.start_watchdog(self._healthy)
        log.info("daemon.started", url=self.base_url, providers=[p.value for p in self.connectors])

    async def stop(self) -> None:
        self.ready = False
        self._notifier.notify("STOPPING=1")
        background = [t for t in (self._initial_sweep, self._watchdog) if t is not None]
        background += self._recovering.values()
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        if self.jobs is not None:
            self.jobs.stop()
        if self.queue is not None:
            try:
                async with asyncio.timeout(self.settings.daemon.shutdown_timeout_seconds):
                    await self.queue.wait_idle()
            except TimeoutError:
                log.warning("daemon.shutdown_timeout", queued=self.queue.depth)
            await self.queue.stop()
        await asyncio.gather(*self._bookkeeping, return_exceptions=True)
        await self.rows.close()
        if self._runner is not None:
            await self._runner.cleanup()
        if self._graph_webhook is not None:
            await self._graph_webhook.stop()
        for connector in self.connectors.values():
            await connector.close()
        await asyncio.gather(*(system.close() for system in self.meetings.values()))
        if self._http is not None:
            await self._http.close()
        await self._close_store()
        log.info("daemon.stopped")

    async def _close_store(self) -> None:
        if self.store is not None:
            await self.store.close()
        if self._lock is not None:
            self._lock.release()

    async def run_until(self, stop: asyncio.Event) -> None:
        """Serve until ``stop`` is set; whatever part of the start-up succeeded is undone."""
        try:
            await self.start()
            await stop.wait()
        finally:
            await self.stop()

    # -- work --------------------------------------------------------------------------------

    def policy_for(self, calendar: CalendarRecord) -> Policy:
        s = self.settings
        return Policy(
            keywords=dict(s.keywords),
            native_systems=NATIVE_SYSTEMS[calendar.provider],
            external_systems=frozenset(self.meetings),
            locale=choose_locale(
                calendar.locale,
                s.render.default_locale,
                force_default=s.render.force_default_locale,
            ),
        )

    def _deferred(self, binding: Binding) -> None:
        assert self.syncer is not None
        self.syncer.note_deferred(binding)

    async def retry_deferred(self) -> int:
        """Queue the calendars whose refused meetings or failed events are due to be tried
        again. A coroutine on purpose: APScheduler runs plain functions in a worker thread,
        and the queue belongs to the event loop."""
        assert self.syncer is not None
        assert self.queue is not None
        due = self.syncer.due_calendars()
        for key in due:
            self.queue.enqueue(key)
        return len(due)

    async def _sync(self, key: str, full: bool) -> None:
        assert self.syncer is not None
        await self.syncer.sync(key, full)

    # -- faults and unreadable rows ----------------------------------------------------------

    def _sync_failed(self, key: str, exc: Exception, retry_in: float) -> None:
        """A calendar's sync round failed; the queue retries it in ``retry_in`` seconds."""
        faults = self.faults
        assert faults is not None
        delay = timedelta(seconds=retry_in)
        self._book(faults.failed(key, SYNC_FAULT, exc, retry_in=delay), f"sync fault {key}")

    def _sync_succeeded(self, key: str) -> None:
        faults = self.faults
        if faults is not None and faults.attempts(key, SYNC_FAULT):
            self._book(faults.handled(key, [SYNC_FAULT]), f"sync recovered {key}")

    def _unreadable_row(self, table: str, row_id: str) -> None:
        """A stored row failed to decrypt: quarantine the calendar's unreadable rows and
        rebuild them from the provider in its next (full) sync."""
        if table not in {"bindings", "meetings", "presence"} or self.queue is None:
            return
        key = row_id.split("/", 1)[0]
        if self.syncer is not None:
            self.syncer.needs_repair(key)
        self.queue.enqueue(key, full=True)

    def _book(self, work: Coroutine[Any, Any, object], what: str) -> None:
        """Run a small store write from a synchronous callback, keeping a reference."""

        async def run() -> None:
            try:
                await work
            except Exception:
                log.exception("daemon.bookkeeping_failed", what=what)

        task = asyncio.create_task(run())
        self._bookkeeping.add(task)
        task.add_done_callback(self._bookkeeping.discard)

    async def wait_initial_sweep(self) -> None:
        """Until the start-up sweep has activated, watched and queued every calendar."""
        if self._initial_sweep is not None:
            await asyncio.shield(self._initial_sweep)

    async def _first_sweep(self) -> None:
        await self.sweep(catch_up=True)
        assert self.jobs is not None
        await self.jobs.gauges()
        log.info("daemon.initial_sweep_done")

    async def sweep(self, *, catch_up: bool = False) -> None:
        """Activate pending calendars and give every active one a channel and a first sync.

        With ``catch_up`` (at start) every active calendar is synced from its stored cursor:
        changes made while the daemon was down are read at once, not at the next reconcile.
        Calendars are handled a few at a time; one sweep runs at a time."""
        assert self.store is not None
        limit = asyncio.Semaphore(SWEEP_CONCURRENCY)

        async def one(record: CalendarRecord) -> None:
            async with limit:
                try:
                    await self._sweep_calendar(record, catch_up=catch_up)
                except Exception:
                    log.exception("sweep.calendar_failed", calendar=record.key)

        async with self._sweep_lock:
            records = await self.store.list_calendars()
            await asyncio.gather(*(one(record) for record in records))

    async def _sweep_calendar(self, record: CalendarRecord, *, catch_up: bool) -> None:
        assert self.store is not None
        assert self.channels is not None
        assert self.queue is not None
        connector = self.connectors.get(record.provider)
        if connector is None:
            return
        calendar = record
        if record.state is CalendarState.PENDING or self._recheck_due(record, catch_up):
            calendar = await activate(record, connector, self.store)
        if calendar.state is not CalendarState.ACTIVE:
            return
        if catch_up:  # refusals (Zoom's, Meet's) outlive restarts
            assert self.syncer is not None
            await self.syncer.load_deferred(calendar.key)
        try:
            had = await self.store.list_channels(calendar.key)
            channel = await self.channels.ensure(calendar)
        except ConnectorError as exc:
            log.warning("channel.open_failed", calendar=calendar.key, error=str(exc))
            return
        recovered = record.state is not CalendarState.ACTIVE
        fresh = calendar.cursor is None or not had or (channel and channel not in had)
        if catch_up or fresh or recovered:
            self.queue.enqueue(calendar.key)

    def _recheck_due(self, calendar: CalendarRecord, at_start: bool) -> bool:
        """Calendars in error are checked again at start and every ERROR_RECHECK after they
        were first seen in error: the admin may have fixed the cause."""
        if calendar.state is not CalendarState.ERROR:
            self._error_checks.pop(calendar.key, None)
            return False
        now = self.now()
        last = self._error_checks.setdefault(calendar.key, now)
        if at_start or now - last >= ERROR_RECHECK:
            self._error_checks[calendar.key] = now
            return True
        return False

    async def _stop_unknown_channel(self, channel_id: str, resource_id: str, address: str) -> None:
        assert self.store is not None
        connector = self.connectors.get(Provider.GOOGLE)
        calendar = await self.store.get_calendar(f"{Provider.GOOGLE.value}:{address.lower()}")
        if connector is None or calendar is None:
            return
        stray = Channel(channel_id, calendar.key, "", resource_id, self.now(), self.now())
        await connector.stop_channel(calendar, stray)
        log.info("channel.unknown_stopped", channel=channel_id, calendar=calendar.key)
        if calendar.state is CalendarState.ACTIVE and calendar.key not in self._recovering:
            # Google delivers this calendar's changes somewhere we do not know (a restored
            # store?): our own channels may be dead. Checked in the background, so that the
            # webhook answers at once; one check per calendar at a time.
            self._recovering[calendar.key] = asyncio.create_task(
                self._recover_channels(calendar, channel_id, resource_id),
                name=f"channel-recovery-{calendar.key}",
            )

    async def wait_channel_checks(self) -> None:
        """Until the channel checks started by stray notifications are done (tests, demo)."""
        await asyncio.gather(*self._recovering.values(), return_exceptions=True)

    async def _recover_channels(
        self, calendar: CalendarRecord, channel_id: str, resource_id: str
    ) -> None:
        try:
            await asyncio.sleep(self.stray_grace_s)
            webhook = self._google_webhook
            if webhook is not None and webhook.delivered_within(
                calendar.key, 2 * self.stray_grace_s
            ):
                log.info("channel.stray_ours_alive", calendar=calendar.key, stray=channel_id)
                return  # ours delivered the same change: a leftover, already stopped
            await self._replace_channels(calendar, channel_id, resource_id)
        except Exception:
            log.exception("channel.recover_failed", calendar=calendar.key)
        finally:
            self._recovering.pop(calendar.key, None)

    async def _replace_channels(
        self, calendar: CalendarRecord, channel_id: str, resource_id: str
    ) -> None:
        assert self.channels is not None
        assert self.queue is not None
        try:
            fresh = await self.channels.recover_from_stray(calendar, channel_id, resource_id)
        except ConnectorError as exc:
            log.warning("channel.recover_failed", calendar=calendar.key, error=str(exc))
            return
        if fresh is not None:
            self.queue.enqueue(calendar.key)  # what the dead channel did not tell us

    # -- Graph lifecycle notifications -------------------------------------------------------

    async def _renew_subscription(self, subscription_id: str) -> None:
        """``reauthorizationRequired``: extend the subscription now."""
        assert self.store is not None
        assert self.channels is not None
        channel = await self.store.get_channel(subscription_id)
        calendar = await self.store.get_calendar(channel.calendar_key) if channel else None
        if channel is None or calendar is None:
            return
        try:
            await self.channels.extend(calendar, channel)
        except ConnectorError as exc:
            log.warning("channel.reauthorize_failed", calendar=calendar.key, error=str(exc))

    async def _recreate_subscription(self, key: str) -> None:
        """``subscriptionRemoved``: a new subscription, then a resync of the window."""
        assert self.store is not None
        assert self.channels is not None
        calendar = await self.store.get_calendar(key)
        if calendar is None or calendar.state is not CalendarState.ACTIVE:
            return
        try:
            await self.channels.replace(calendar)
        except ConnectorError as exc:
            log.warning("channel.recreate_failed", calendar=key, error=str(exc))
        await self._resync(key)

    async def _resync(self, key: str) -> None:
        """``missed``: notifications were lost; read the whole window again."""
        assert self.queue is not None
        self.queue.enqueue(key, full=True)

    def _healthy(self) -> bool:
        """Watchdog pings only while work makes progress (a wedged worker stops them)."""
        queue = self.queue
        return self.ready and queue is not None and queue.healthy()


def _site_url(runner: web.AppRunner, host: str) -> str:
    for address in runner.addresses:
        if isinstance(address, tuple):
            return f"http://{host}:{address[1]}"
    return f"http://{host}"
