"""The end-to-end harness: Google and Zoom simulators, a real daemon in-process, and helpers to
drive them.

Everything is real except the cloud, exactly as in ``hybridcal demo``: a throwaway service-account
key, a keyring and a SQLite store on disk, the admin path enabling users and a room, and the
daemon receiving real push notifications from the simulator over loopback HTTP. Tests talk to
the simulator as a person would (``sim.person_*``) and read the outcome from the simulator's
request log, its events, and the room's meeting list served by the endpoint API.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

from hybridcal.config.loader import settings_from_mapping
from hybridcal.config.settings import Settings
from hybridcal.core.model import Binding, CalendarKind, CalendarRecord, Provider, calendar_key
from hybridcal.crypto import init_keyring
from hybridcal.daemon.admin import admin_session
from hybridcal.daemon.service import Daemon
from hybridcal.demo import install_service_account, install_zoom_app, sandbox_config
from hybridcal.sandbox.faults import Faults
from hybridcal.sandbox.google.app import GoogleSimulator
from hybridcal.sandbox.google.http import RequestRecord
from hybridcal.sandbox.zoom import ZoomApp, ZoomSimulator

DOMAIN = "example.com"
ALICE = f"alice@{DOMAIN}"
BOB = f"bob@{DOMAIN}"
CAROL = f"carol@{DOMAIN}"
ADMIN = f"hybridcal-admin@{DOMAIN}"
ROOM = "c_1880e2e-room@resource.calendar.google.com"
ZONE = "Europe/Zurich"
MARKER_PREFIX = "hybridcal."


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
            await self.zoom.close()
            await self.sim.close()

    # -- waiting -----------------------------------------------------------------------------

    def _activity(self) -> tuple[int, ...]:
        queue = self.daemon.queue
        assert queue is not None
        return (
            len(self.sim.request_log),
            self.sim.notifications_sent,
            self.sim.notifications_failed,
            self.sim.notifications_dropped,
            self.sim.conferences_created(),
            len(self.zoom.request_log),
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

    async def post_webhook(self, headers: Mapping[str, str], body: bytes = b"") -> int:
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                f"{self.daemon.base_url}/webhooks/google", headers=dict(headers), data=body
            ) as resp,
        ):
            await resp.read()
            return resp.status

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
    data = _merge(sandbox_config(sim, workdir, port, (zoom, app)), tuned)
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
) -> Harness:
    """Simulators up, key and keyring on disk, users and the room enabled, a device for the room,
    and a started daemon; the first syncs have settled when this returns. ``zoom_users`` have a
    Zoom user in the Zoom account (CAROL has none by default)."""
    sim = GoogleSimulator(domain=DOMAIN, conference_delay_s=conference_delay_s, faults=faults)
    clock = Clock()  # the daemon's and Zoom's clock (Zoom's daily limit resets by it)
    zoom = ZoomSimulator(faults=zoom_faults, account_id="e2eaccount", now=clock)
    await sim.start()
    await zoom.start()
    try:
        info = install_service_account(sim, workdir / "service-account.json", sa_info)
        for address in (ALICE, BOB, CAROL):
            sim.add_user(address, timezone=ZONE)
        sim.add_user(ADMIN, name="hybridcal service", admin=True, timezone=ZONE)
        sim.add_room(ROOM, name="E2E Room", timezone=ZONE)
        app = install_zoom_app(zoom, workdir)
        for address in zoom_users:
            zoom.add_user(address, timezone=ZONE)
        init_keyring(workdir / "keyring.json")
        configured = harness_settings((sim, zoom, app), workdir, free_port(), settings)
        async with admin_session(configured, {}) as admin:
            for address in users:
                await admin.enable(Provider.GOOGLE, address, CalendarKind.USER)
            await admin.enable(Provider.GOOGLE, ROOM, CalendarKind.ROOM, name="E2E Room")
            _device, token = await admin.add_device(Provider.GOOGLE, ROOM, "room codec")
        daemon = Daemon(configured, now=clock)
        await daemon.start()
        await daemon.wait_initial_sweep()
    except BaseException:
        await zoom.close()
        await sim.close()
        raise
    harness = Harness(sim, zoom, workdir, configured, info, clock, daemon, room_token=token)
    try:
        await harness.settle()
    except BaseException:
        await harness.close()
        raise
    return harness
