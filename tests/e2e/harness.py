"""The end-to-end harness: Google and Zoom simulators (and, optionally, a Microsoft 365 tenant
behind the Graph simulator), a real daemon in-process, and helpers to drive them.

Everything is real except the cloud, exactly as in ``hybridcal demo``: a throwaway service-account
key, a keyring and a SQLite store on disk, the admin path enabling users and a room, and the
daemon receiving real push notifications from the simulator over loopback HTTP. Tests talk to
the simulator as a person would (``sim.person_*``) and read the outcome from the simulator's
request log, its events, and the room's meeting list served by the endpoint API.

With ``start_harness(..., webex=True)`` a Webex simulator joins (``Harness.webex``): the
daemon's Service App is authorised (its refresh token in the store, as ``hybridcal webex
authorize`` leaves it) and ``webex_users`` are licensed hosts (also the Microsoft 365 users).

With ``start_harness(..., microsoft=True)`` the same daemon also serves a Microsoft 365 tenant
(``TENANT``): MEGAN and ADELE are enabled users (both have Zoom users), M365_ROOM a room with a
device (``Harness.m365_room_token``). People use Outlook through ``graph.person_*``; the outcome
is read from ``graph.request_log`` (``graph_requests``/``graph_patches``), the simulator's
events and our marker as Graph returns it to any app (``graph_marker``).
"""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import sys
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp

from hybridcal.config.loader import settings_from_mapping
from hybridcal.config.settings import Settings
from hybridcal.connectors.calendars.microsoft_wire import MARKER_EXPAND, MARKER_PROPERTY_ID
from hybridcal.core.model import Binding, CalendarKind, CalendarRecord, Provider, calendar_key
from hybridcal.crypto import init_keyring
from hybridcal.daemon.admin import admin_session
from hybridcal.daemon.service import Daemon
from hybridcal.demo import (
    install_graph_app,
    install_service_account,
    install_zoom_app,
    sandbox_config,
    start_graph,
)
from hybridcal.sandbox.faults import Faults
from hybridcal.sandbox.google.app import GoogleSimulator
from hybridcal.sandbox.google.http import RequestRecord
from hybridcal.sandbox.microsoft import GraphApp, GraphRecord, GraphSimulator
from hybridcal.sandbox.webex import WebexSimulator
from hybridcal.sandbox.zoom import ZoomApp, ZoomSimulator

DOMAIN = "example.com"
ALICE = f"alice@{DOMAIN}"
BOB = f"bob@{DOMAIN}"
CAROL = f"carol@{DOMAIN}"
ADMIN = f"hybridcal-admin@{DOMAIN}"
ROOM = "c_1880e2e-room@resource.calendar.google.com"
ZONE = "Europe/Zurich"
MARKER_PREFIX = "hybridcal."
# the optional Microsoft 365 tenant
TENANT = "contoso.example"
MEGAN = f"megan@{TENANT}"
ADELE = f"adele@{TENANT}"
M365_ROOM = f"boardroom@{TENANT}"
M365_ZONE = "W. Europe Standard Time"  # Windows' name for the zone Exchange hands out
GRAPH_SCOPE = "https://graph.microsoft.com/.default"


class SettleTimeoutError(AssertionError):
    """The simulator and the daemon did not go quiet in time (a test failure, not an error)."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Clock:
    """Wall-clock time plus an offset a test can move forward (channel renewal, windows)."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, delta: timedelta) -> None:
        self.offset += delta


def when(start: datetime, minutes: int = 30, zone: str = ZONE) -> dict[str, Any]:
    """``start``/``end`` of an event body, in the organiser's zone (series need the zone)."""
    end = start + timedelta(minutes=minutes)
    return {
        "start": {"dateTime": start.isoformat(), "timeZone": zone},
        "end": {"dateTime": end.isoformat(), "timeZone": zone},
    }


def tomorrow_at(hour: int, minute: int = 0) -> datetime:
    base = datetime.now(UTC) + timedelta(days=1)
    return base.replace(hour=hour, minute=minute, second=0, microsecond=0)


def outlook_when(start: datetime, minutes: int = 30, zone: str = "UTC") -> dict[str, Any]:
    """Graph's ``start``/``end`` (a local dateTime and a zone name) for an instant in UTC."""
    fmt = "%Y-%m-%dT%H:%M:%S"
    end = start + timedelta(minutes=minutes)
    local = ZoneInfo(zone)
    first, last = start.astimezone(local), end.astimezone(local)
    return {
        "start": {"dateTime": first.strftime(fmt), "timeZone": zone},
        "end": {"dateTime": last.strftime(fmt), "timeZone": zone},
    }


def outlook_event(
    subject: str,
    location: str,
    body_html: str,
    start: datetime,
    minutes: int = 30,
    *,
    attendees: tuple[str, ...] = (M365_ROOM,),
    **extra: Any,
) -> dict[str, Any]:
    """An event as Outlook creates it: an HTML body, the room invited as a resource."""
    people = [
        {
            "emailAddress": {"address": a, "name": a.split("@", 1)[0].title()},
            "type": "resource" if a == M365_ROOM else "required",
        }
        for a in attendees
    ]
    event: dict[str, Any] = {
        "subject": subject,
        "body": {"contentType": "html", "content": body_html},
        "attendees": people,
        **outlook_when(start, minutes),
        **extra,
    }
    if location:
        event["location"] = {"displayName": location}
    return event


def marker_of(event: Mapping[str, Any]) -> dict[str, str]:
    """Our keys in the event's ``extendedProperties.private`` (empty when it carries none)."""
    private = (event.get("extendedProperties") or {}).get("private") or {}
    return {k: v for k, v in private.items() if k.startswith(MARKER_PREFIX)}


def conference_status(event: Mapping[str, Any]) -> str | None:
    data = event.get("conferenceData") or {}
    status = (data.get("createRequest") or {}).get("status") or {}
    code = status.get("statusCode")
    return str(code) if code is not None else None


def video_link(event: Mapping[str, Any]) -> str | None:
    for point in (event.get("conferenceData") or {}).get("entryPoints") or []:
        if point.get("entryPointType") == "video":
            return str(point.get("uri"))
    return None


@dataclass
class Harness:
    """One simulator and one daemon on the same event loop; see :func:`start_harness`."""

    sim: GoogleSimulator
    zoom: ZoomSimulator
    workdir: Path
    settings: Settings
    sa_info: dict[str, str]
    clock: Clock
    daemon: Daemon
    room_token: str = ""
    restarts: int = 0
    graph: GraphSimulator | None = None
    graph_app: GraphApp | None = None
    m365_room_token: str = ""
    webex: WebexSimulator | None = None
    _reader: GraphApp | None = field(default=None, repr=False)
    _closed: bool = field(default=False, repr=False)

    # -- lifecycle ---------------------------------------------------------------------------

    async def restart(self, while_down: Callable[[], Awaitable[None]] | None = None) -> None:
        """Stop the daemon and start a new one on the same store, keyring and port; the
        optional ``while_down`` runs in between (a person keeps working meanwhile)."""
        await self.daemon.stop()
        if while_down is not None:
            await while_down()
        self.daemon = Daemon(self.settings, now=self.clock)
        await self.daemon.start()
        await self.daemon.wait_initial_sweep()
        self.restarts += 1

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            await self.daemon.stop()
        finally:
            if self.graph is not None:
                await self.graph.close()
            if self.webex is not None:
                await self.webex.close()
            await self.zoom.close()
            await self.sim.close()

    # -- waiting -----------------------------------------------------------------------------

    def _activity(self) -> tuple[int, ...]:
        queue = self.daemon.queue
        assert queue is not None
        graph = self.graph
        graph_activity = (
            ()
            if graph is None
            else (
                len(graph.request_log),
                graph.notifications_sent,
                graph.notifications_failed,
                graph.notifications_dropped,
                graph.lifecycle_notifications_sent,
                graph.teams_meetings_created,
            )
        )
        return (
            *graph_activity,
            len(self.sim.request_log),
            self.sim.notifications_sent,
            self.sim.notifications_failed,
            self.sim.notifications_dropped,
            self.sim.conferences_created(),
            len(self.zoom.request_log),
            len(self.webex.request_log) if self.webex is not None else 0,
            queue.completed,
            queue.failed,
        )

    async def settle(self, limit_s: float = 10.0, quiet_rounds: int = 2) -> None:
        """Until the simulator has no delivery or conference in flight and the daemon's queue is
        idle, with nothing at all happening across ``quiet_rounds`` consecutive polls.

        ``sim.drain`` waits for the simulator's background tasks (notification deliveries,
        asynchronous conference creation), the queue's idle event for the daemon's syncs; a
        round counts as quiet only when no counter on either side moved during the round.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit_s
        quiet = 0
        while quiet < quiet_rounds:
            before = self._activity()
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise SettleTimeoutError(self._stuck(limit_s))
            await self.sim.drain(remaining)
            if self.graph is not None:
                await self.graph.drain(max(0.001, deadline - loop.time()))
            queue = self.daemon.queue
            assert queue is not None
            try:
                await asyncio.wait_for(queue.wait_idle(), max(0.001, deadline - loop.time()))
            except TimeoutError:
                raise SettleTimeoutError(self._stuck(limit_s)) from None
            await asyncio.sleep(0.01)
            quiet = quiet + 1 if self._activity() == before and not queue.busy else 0
        if loop.time() > deadline:
            raise SettleTimeoutError(self._stuck(limit_s))

    def _stuck(self, timeout: float) -> str:
        queue = self.daemon.queue
        depth = queue.depth if queue is not None else -1
        return (
            f"not settled within {timeout} s: daemon queue depth {depth}, "
            f"{len(self.sim.request_log)} provider requests so far, "
            f"{self.sim.notifications_sent} notifications delivered"
        )

    async def converge(self, done: Callable[[], bool], limit_s: float = 20.0) -> None:
        """Reconcile until ``done``. A failed sync waits on a backoff timer that settle() does
        not wait for: a reconcile runs it at once, but a throttled one honours the provider's
        Retry-After, so this keeps trying for ``limit_s`` seconds."""
        await self.settle()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit_s
        while not done() and loop.time() < deadline:
            await self.reconcile()
            await asyncio.sleep(0.2)
        assert done()

    async def reconcile(self) -> None:
        """The daemon's periodic reconciliation, run now, then settle."""
        jobs = self.daemon.jobs
        assert jobs is not None
        await jobs.reconcile()
        await self.settle()

    # -- reading the outcome -----------------------------------------------------------------

    def zoom_calls(self, method: str | None = None, path_prefix: str | None = None) -> int:
        """Zoom API requests so far (the token endpoint is not an API call)."""
        return len([r for r in self.zoom.calls(method, path_prefix) if r.path.startswith("/v2/")])

    def zoom_meetings(self) -> list[dict[str, Any]]:
        return self.zoom.meetings()

    def webex_meetings(self, include_deleted: bool = False) -> list[dict[str, Any]]:
        assert self.webex is not None, "start the harness with webex=True"
        return self.webex.meetings(include_deleted=include_deleted)

    def webex_calls(self, method: str | None = None, operation: str | None = None) -> int:
        """Webex API requests so far (token refreshes are not API calls)."""
        assert self.webex is not None, "start the harness with webex=True"
        return len(
            [
                r
                for r in self.webex.calls(method, "/v1/")
                if r.operation != "token.refresh"
                and (operation is None or r.operation == operation)
            ]
        )

    def requests(
        self, method_id: str | None = None, *, method: str | None = None
    ) -> list[RequestRecord]:
        return [
            r
            for r in self.sim.request_log
            if (method_id is None or r.method_id == method_id)
            and (method is None or r.method == method)
        ]

    def patches(self, event_id: str | None = None) -> list[RequestRecord]:
        """PATCH requests the daemon sent (to one event when ``event_id`` is given)."""
        return [
            r
            for r in self.requests(method="PATCH")
            if event_id is None or r.path.rstrip("/").endswith(f"/events/{event_id}")
        ]

    def lists(self, calendar: str) -> list[RequestRecord]:
        """``events.list`` calls on one calendar (the path carries the calendar id, %-encoded)."""
        encoded = calendar.replace("@", "%40")
        return [
            r
            for r in self.requests("calendar.events.list")
            if f"/calendars/{calendar}/" in r.path or f"/calendars/{encoded}/" in r.path
        ]

    def event(self, calendar: str, event_id: str) -> dict[str, Any]:
        found = self.sim.get(calendar, event_id)
        assert found is not None, f"{event_id} is not on {calendar}"
        return found

    async def calendar(self, address: str) -> CalendarRecord:
        store = self.daemon.store
        assert store is not None
        record = await store.get_calendar(calendar_key(Provider.GOOGLE, address))
        assert record is not None, f"{address} is not enabled"
        return record

    async def binding(self, address: str, event_id: str) -> Binding | None:
        store = self.daemon.store
        assert store is not None
        return await store.get_binding(calendar_key(Provider.GOOGLE, address), event_id)

    async def meetings(
        self,
        token: str | None = None,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[dict[str, Any]]:
        """The device's meeting list for an explicit window (default: a day back, 20 ahead)."""
        now = datetime.now(UTC).replace(microsecond=0)
        window = {
            "from": (start or now - timedelta(days=1)).isoformat(),
            "to": (end or now + timedelta(days=20)).isoformat(),
        }
        async with (
            aiohttp.ClientSession() as http,
            http.get(
                f"{self.daemon.base_url}/api/v1/meetings",
                params=window,
                headers={"Authorization": f"Bearer {token or self.room_token}"},
            ) as resp,
        ):
            assert resp.status == 200, f"meeting list answered {resp.status}: {await resp.text()}"
            data: dict[str, Any] = await resp.json()
        meetings: list[dict[str, Any]] = data["meetings"]
        return meetings

    def metric(self, name: str, **labels: str) -> float:
        """A sample of the daemon's Prometheus registry (0 when the series does not exist)."""
        value = self.daemon.metrics.registry.get_sample_value(name, labels)
        return 0.0 if value is None else value

    async def admin_json(self, *args: str) -> Any:
        """Run ``hybridcal ARGS`` as the admin would, against this daemon's store, and parse
        its JSON output (e.g. ``users show alice@...``)."""
        config = self.workdir / "admin.toml"
        config.write_text(
            f'[daemon]\npublic_url = "{self.settings.daemon.public_url}"\n'
            f'[store]\npath = "{self.settings.store.path}"\n'
            f'[crypto]\nkeyring = "{self.settings.crypto.keyring}"\n',
            encoding="utf-8",
        )
        cli = Path(sys.executable).with_name("hybridcal")
        process = await asyncio.create_subprocess_exec(
            str(cli),
            "--config",
            str(config),
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await process.communicate()
        assert process.returncode == 0, err.decode()
        return json.loads(out)

    async def post_webhook(self, headers: Mapping[str, str], body: bytes = b"") -> int:
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                f"{self.daemon.base_url}/webhooks/google", headers=dict(headers), data=body
            ) as resp,
        ):
            await resp.read()
            return resp.status

    # -- the Microsoft 365 tenant ------------------------------------------------------------

    def _graph(self) -> GraphSimulator:
        assert self.graph is not None, "start the harness with microsoft=True"
        return self.graph

    def graph_requests(
        self, operation: str | None = None, *, method: str | None = None, since: int = 0
    ) -> list[GraphRecord]:
        """Graph requests the daemon's app sent (token requests and other apps' excluded),
        from ``since`` (an index into ``graph.request_log``) on."""
        assert self.graph_app is not None
        return [
            r
            for r in self._graph().request_log[since:]
            if r.app_id == self.graph_app.client_id
            and r.operation != "token"
            and (operation is None or r.operation == operation)
            and (method is None or r.method == method)
        ]

    def graph_patches(self, event_id: str | None = None) -> list[GraphRecord]:
        """The daemon's event PATCHes (to one event when ``event_id`` is given)."""
        return [
            r
            for r in self.graph_requests("event.update")
            if event_id is None or r.path.rstrip("/").rsplit("/", 1)[-1] == event_id
        ]

    def m365_event(self, mailbox: str, event_id: str) -> dict[str, Any]:
        found = self._graph().get_event(mailbox, event_id)
        assert found is not None, f"{event_id} is not in {mailbox}'s calendar"
        return found

    def m365_body(self, mailbox: str, event_id: str) -> str:
        return str(self.m365_event(mailbox, event_id)["body"]["content"])

    async def graph_marker(self, mailbox: str, event_id: str) -> str | None:
        """Our extended property on the event, as Graph returns it to any app with access
        (read with a second app registration, so the daemon's request log stays its own)."""
        graph = self._graph()
        if self._reader is None:
            self._reader = graph.register_app()
        reader = self._reader
        assert graph.ca_file is not None
        trust = ssl.create_default_context(cafile=str(graph.ca_file))
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=trust)) as http:
            form = {
                "grant_type": "client_credentials",
                "client_id": reader.client_id,
                "client_secret": reader.client_secret,
                "scope": GRAPH_SCOPE,
            }
            async with http.post(graph.token_url, data=form) as resp:
                assert resp.status == 200, await resp.text()
                token = (await resp.json())["access_token"]
            async with http.get(
                f"{graph.graph_root}/users/{mailbox}/events/{event_id}",
                params={"$expand": MARKER_EXPAND},
                headers={"Authorization": f"Bearer {token}"},
            ) as resp:
                assert resp.status == 200, await resp.text()
                data: dict[str, Any] = await resp.json()
        for prop in data.get("singleValueExtendedProperties") or []:
            if str(prop.get("id", "")).lower() == MARKER_PROPERTY_ID.lower():
                return str(prop.get("value"))
        return None

    async def m365_binding(self, address: str, event_id: str) -> Binding | None:
        store = self.daemon.store
        assert store is not None
        return await store.get_binding(calendar_key(Provider.MICROSOFT, address), event_id)

    async def post_graph(
        self,
        body: bytes = b"",
        *,
        lifecycle: bool = False,
        query: Mapping[str, str] | None = None,
        content_type: str = "application/json",
    ) -> tuple[int, str, str]:
        """POST to the daemon's Graph webhook; returns (status, Content-Type, body text)."""
        path = "/webhooks/microsoft/lifecycle" if lifecycle else "/webhooks/microsoft"
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                f"{self.daemon.base_url}{path}",
                params=dict(query or {}),
                data=body,
                headers={"Content-Type": content_type},
            ) as resp,
        ):
            return resp.status, resp.headers.get("Content-Type", ""), await resp.text()

    # -- admin -------------------------------------------------------------------------------

    async def enable(self, address: str, kind: CalendarKind = CalendarKind.USER) -> CalendarRecord:
        """``hybridcal enable`` while the daemon runs; the daemon's sweep picks it up."""
        async with admin_session(self.settings, {}) as admin:
            return await admin.enable(Provider.GOOGLE, address, kind)


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def harness_settings(
    sims: tuple[GoogleSimulator, ZoomSimulator, ZoomApp],
    workdir: Path,
    port: int,
    extra: Mapping[str, Any] | None = None,
    microsoft: tuple[GraphSimulator, GraphApp] | None = None,
    webex: Mapping[str, Any] | None = None,
) -> Settings:
    sim, zoom, app = sims
    tuned: dict[str, Any] = {
        "daemon": {
            "shutdown_timeout_seconds": 5,
            # short, but on: bursts still coalesce, and tests do not wait half a second a step
            "sync_debounce_seconds": 0.02,
        },
        "google": {"room_access_user": ADMIN, "max_retries": 2},
    }
    tuned["zoom"] = {"max_retries": 2}
    if microsoft is not None:
        tuned["microsoft"] = {"max_retries": 3}
    if webex is not None:
        tuned["webex"] = dict(webex)
    data = _merge(sandbox_config(sim, workdir, port, (zoom, app), microsoft), tuned)
    return settings_from_mapping(_merge(data, extra or {}))


async def start_harness(
    workdir: Path,
    sa_info: dict[str, str],
    *,
    settings: Mapping[str, Any] | None = None,
    faults: Faults | None = None,
    conference_delay_s: float = 0.05,
    users: tuple[str, ...] = (ALICE, BOB),
    zoom_faults: Faults | None = None,
    zoom_users: tuple[str, ...] = (ALICE, BOB),
    microsoft: bool = False,
    graph_faults: Faults | None = None,
    m365_users: tuple[str, ...] = (MEGAN, ADELE),
    webex: bool = False,
    webex_users: tuple[str, ...] = (ALICE, BOB),
    webex_faults: Faults | None = None,
) -> Harness:
    """Simulators up, key and keyring on disk, users and the room enabled, a device for the room,
    and a started daemon; the first syncs have settled when this returns. ``zoom_users`` have a
    Zoom user in the Zoom account (CAROL has none by default). With ``microsoft`` the daemon
    also serves a Microsoft 365 tenant: ``m365_users`` (enabled, with Zoom users) and M365_ROOM
    with a device; Graph shares the daemon's clock (subscription expiries are checked by it)."""
    sim = GoogleSimulator(domain=DOMAIN, conference_delay_s=conference_delay_s, faults=faults)
    clock = Clock()  # the daemon's and Zoom's clock (Zoom's daily limit resets by it)
    zoom = ZoomSimulator(faults=zoom_faults, account_id="e2eaccount", now=clock)
    graph = GraphSimulator(domain=TENANT, faults=graph_faults, now=clock) if microsoft else None
    webex_sim = WebexSimulator(faults=webex_faults, now=clock) if webex else None
    await sim.start()
    await zoom.start()
    if webex_sim is not None:
        await webex_sim.start()
    if graph is not None:
        await start_graph(graph, workdir / "graph-tls")  # https, for azure-identity
    graph_app: GraphApp | None = None
    m365_token = ""
    try:
        info = install_service_account(sim, workdir / "service-account.json", sa_info)
        for address in (ALICE, BOB, CAROL):
            sim.add_user(address, timezone=ZONE)
        sim.add_user(ADMIN, name="hybridcal service", admin=True, timezone=ZONE)
        sim.add_room(ROOM, name="E2E Room", timezone=ZONE)
        app = install_zoom_app(zoom, workdir)
        for address in zoom_users:
            zoom.add_user(address, timezone=ZONE)
        if graph is not None:
            graph_app = install_graph_app(graph, workdir)
            for address in m365_users:
                graph.add_user(address, timezone=M365_ZONE)
                zoom.add_user(address, timezone=ZONE)
            graph.add_room(M365_ROOM, name="Contoso Board Room", timezone=M365_ZONE)
        webex_refresh, webex_section = "", None
        if webex_sim is not None:
            webex_refresh, webex_section = _install_webex_app(
                webex_sim, workdir, (*webex_users, *(m365_users if graph is not None else ()))
            )
        init_keyring(workdir / "keyring.json")
        configured = harness_settings(
            (sim, zoom, app),
            workdir,
            free_port(),
            settings,
            None if graph is None or graph_app is None else (graph, graph_app),
            webex_section,
        )
        async with admin_session(configured, {}) as admin:
            if webex_sim is not None:  # what `hybridcal webex authorize` leaves behind
                client = webex_sim.client_id
                await admin.store.put_app_token(
                    "webex", {"client_id": client, "refresh_token": webex_refresh}
                )
            for address in users:
                await admin.enable(Provider.GOOGLE, address, CalendarKind.USER)
            await admin.enable(Provider.GOOGLE, ROOM, CalendarKind.ROOM, name="E2E Room")
            _device, token = await admin.add_device(Provider.GOOGLE, ROOM, "room codec")
            if graph is not None:
                for address in m365_users:
                    await admin.enable(Provider.MICROSOFT, address, CalendarKind.USER)
                await admin.enable(
                    Provider.MICROSOFT, M365_ROOM, CalendarKind.ROOM, name="Contoso Board Room"
                )
                _device, m365_token = await admin.add_device(
                    Provider.MICROSOFT, M365_ROOM, "Contoso room codec"
                )
        daemon = Daemon(configured, now=clock)
        await daemon.start()
        await daemon.wait_initial_sweep()
    except BaseException:
        if graph is not None:
            await graph.close()
        if webex_sim is not None:
            await webex_sim.close()
        await zoom.close()
        await sim.close()
        raise
    harness = Harness(
        sim,
        zoom,
        workdir,
        configured,
        info,
        clock,
        daemon,
        room_token=token,
        graph=graph,
        graph_app=graph_app,
        m365_room_token=m365_token,
        webex=webex_sim,
    )
    try:
        await harness.settle()
    except BaseException:
        await harness.close()
        raise
    return harness


def _install_webex_app(
    webex: WebexSimulator, workdir: Path, hosts: tuple[str, ...]
) -> tuple[str, dict[str, Any]]:
    """A full admin authorises the Service App; its secret goes to a private file. Returns the
    refresh token the admin hands over and the ``[webex]`` section."""
    client_id, secret, _access, refresh = webex.issue_service_app_tokens()
    path = workdir / "webex-client-secret"
    path.write_text(secret + "\n", encoding="utf-8")
    path.chmod(0o600)
    for address in dict.fromkeys(hosts):
        webex.add_user(address, timezone=ZONE)
    section = {
        "enabled": True,
        "client_id": client_id,
        "client_secret_file": str(path),
        "api_root": webex.api_root + "/",
        "token_url": webex.token_url,
        "max_retries": 2,
    }
    return refresh, section
