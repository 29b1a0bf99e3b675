"""GoogleSimulator: the token endpoint, Calendar v3 and Gmail settings on one loopback port.

Usage::

    sim = GoogleSimulator(domain="example.com")
    await sim.start()                      # http://127.0.0.1:<free port>
    sim.register_service_account(info)     # the JSON from hybridcal.sandbox.keys
    sim.grant_delegation(info["client_id"], [CALENDAR_SCOPE])
    sim.add_user("alice@example.com")
    ...                                    # point google-auth at sim.token_uri and the
                                           # client library at sim.calendar_root / gmail_root
    await sim.close()

The ``person_*`` methods are a person using Google Calendar's own UI: they bypass the API's
rules for the organiser, keep conference data, and trigger push notifications like any change.
Call them from the simulator's event-loop thread.
"""

from __future__ import annotations

import asyncio
import random
import secrets
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from hybridcal.sandbox import listen
from hybridcal.sandbox.faults import Faults
from hybridcal.sandbox.google import conference
from hybridcal.sandbox.google.auth import TokenError, TokenService
from hybridcal.sandbox.google.calendar_api import CalendarApi
from hybridcal.sandbox.google.control_api import routes as control_routes
from hybridcal.sandbox.google.directory import Directory, Vacation
from hybridcal.sandbox.google.discovery import Api
from hybridcal.sandbox.google.errors import ApiError, not_found
from hybridcal.sandbox.google.gmail_api import GmailApi
from hybridcal.sandbox.google.http import ApiFrontEnd, Hooks, RequestRecord
from hybridcal.sandbox.google.limits import MeetOutcome, MeetPolicy, ShortLimit, UsageLimits
from hybridcal.sandbox.google.listing import Lister
from hybridcal.sandbox.google.push import PushService
from hybridcal.sandbox.google.render import render
from hybridcal.sandbox.google.state import EventStore
from hybridcal.sandbox.tasks import TaskSet

CALENDAR_SCOPE = "https://www.googleapis.com/auth/calendar"
GMAIL_SETTINGS_SCOPE = "https://www.googleapis.com/auth/gmail.settings.basic"


class GoogleSimulator:
    def __init__(
        self,
        *,
        domain: str = "example.com",
        faults: Faults | None = None,
        conference_delay_s: float = 0.2,
        now: Callable[[], datetime] | None = None,
        push_retries: int = 3,
        push_backoff_s: float = 0.05,
    ) -> None:
        self.domain = domain
        self.faults = faults or Faults()
        self.conference_delay_s = conference_delay_s
        self._now = now or (lambda: datetime.now(UTC))
        self.request_log: list[RequestRecord] = []
        # crash tests: async callables run around every Calendar API method (see http.py)
        self.hooks = Hooks()
        self._directory = Directory(domain)
        self._tasks = TaskSet()
        self._tokens = TokenService(self._directory, self._now)
        self._push = PushService(
            self.faults, self._now, self._tasks, retries=push_retries, backoff_s=push_backoff_s
        )
        self.meet = MeetPolicy()
        self.limits = UsageLimits()
        self._store = EventStore(
            self._directory,
            self._now,
            self._push.changed,
            self._request_conference,
            self._settle_conference,
        )
        self._lister = Lister(self._store, self._directory, secrets.token_bytes(32))
        self._conference_rng = random.Random(self.faults.seed + 2)  # noqa: S311 - fake codes
        self._conferences = 0
        self._runner: web.AppRunner | None = None
        self.base_url = ""
        self.token_uri = ""
        self.calendar_root = ""
        self.gmail_root = ""
        self._calendar_api: CalendarApi | None = None

    # -- lifecycle -----------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._tasks.bind(asyncio.get_running_loop())
        await self._push.start()
        sock, self.base_url = listen.bind(host, port)
        self.token_uri = f"{self.base_url}/token"
        self.calendar_root = f"{self.base_url}/calendar/v3/"
        self.gmail_root = f"{self.base_url}/"
        self._runner = web.AppRunner(self._build_app(), access_log=None)
        await self._runner.setup()
        await web.SockSite(self._runner, sock).start()

    def _build_app(self) -> web.Application:
        calendar = CalendarApi(
            directory=self._directory,
            store=self._store,
            lister=self._lister,
            push=self._push,
            calendar_root=self.calendar_root,
            meet=self.meet,
        )
        self._calendar_api = calendar
        calendar_front = ApiFrontEnd(
            Api("calendar.v3"),
            "/calendar/v3/",
            calendar.handlers(),
            tokens=self._tokens,
            faults=self.faults,
            log=self.request_log,
            now=self._now,
            hooks=self.hooks,
            limits=self.limits,
        )
        gmail_front = ApiFrontEnd(
            Api("gmail.v1"),
            "/",
            GmailApi(self._directory).handlers(),
            tokens=self._tokens,
            faults=self.faults,
            log=self.request_log,
            now=self._now,
            with_status=True,
        )
        app = web.Application()
        app.router.add_post("/token", self._token)
        app.router.add_route("*", "/calendar/v3/{tail:.*}", calendar_front.handle)
        app.router.add_route("*", "/gmail/v1/{tail:.*}", gmail_front.handle)
        app.router.add_routes(control_routes(self))
        return app

    async def close(self) -> None:
        await self._tasks.close()
        await self._push.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def drain(self, limit_s: float = 5.0) -> None:
        """Wait for pending conference creations and notification deliveries."""
        await self._tasks.drain(limit_s)

    # -- token endpoint ------------------------------------------------------------------------

    async def _token(self, request: web.Request) -> web.Response:
        form = {k: str(v) for k, v in (await request.post()).items()}
        try:
            body = self._tokens.grant(form)
            status = 200
        except TokenError as exc:
            body, status = exc.body, exc.status
        self.request_log.append(
            RequestRecord(
                "POST", "/token", {}, status, None, "oauth2.token", None, None, self._now()
            )
        )
        return web.json_response(body, status=status)

    # -- directory / admin console -------------------------------------------------------------

    def add_user(
        self,
        email: str,
        *,
        name: str | None = None,
        locale: str = "en",
        timezone: str = "Europe/Zurich",
        admin: bool = False,
    ) -> None:
        self._directory.add_user(email, name=name, locale=locale, timezone=timezone, admin=admin)

    def add_room(self, email: str, *, name: str, timezone: str = "Europe/Zurich") -> None:
        self._directory.add_room(email, name=name, timezone=timezone)

    def register_service_account(self, info: Mapping[str, str]) -> None:
        self._directory.register_service_account(info)

    def grant_delegation(self, client_id: str, scopes: Iterable[str]) -> None:
        self._directory.grant_delegation(client_id, scopes)

    def revoke_delegation(self, client_id: str) -> None:
        self._directory.revoke_delegation(client_id)

    def invalidate_tokens(self, subject: str | None = None) -> None:
        self._tokens.invalidate(subject)

    def set_vacation(
        self,
        email: str,
        *,
        enabled: bool,
        start: datetime | None = None,
        end: datetime | None = None,
        subject: str = "",
        body: str = "",
    ) -> None:
        self._directory.set_vacation(email, Vacation(enabled, start, end, subject, body))

    def set_meet(self, email: str, outcome: MeetOutcome, *, allowed: bool | None = None) -> None:
        """How Meet create requests of ``email``'s events end (see ``limits.py``); ``allowed``
        is what the calendar list says (default: False only for ``refused``)."""
        self.meet.set(email.lower(), outcome, allowed)

    def rate_limit(self, email: str, reason: ShortLimit, times: int) -> None:
        """The next ``times`` API requests of ``email`` are refused with a short rate limit."""
        self.limits.rate_limit(email.lower(), reason, times)

    def limit_writes(self, email: str, until: datetime) -> None:
        """403 ``quotaExceeded`` ("Calendar usage limits exceeded.") for ``email``'s writes
        until ``until`` (by the simulator's clock)."""
        self.limits.limit_writes(email.lower(), until)

    # -- a person using Google Calendar --------------------------------------------------------

    def person_insert(self, organizer: str, body: Mapping[str, Any]) -> dict[str, Any]:
        organizer = organizer.lower()
        if organizer not in self._directory.users:
            raise KeyError(f"no such user: {organizer}")
        checked = self._check_body(body)
        event = self._store.insert(organizer, checked, conference_version=1, by_person=True)
        return self._render(event.id, organizer)

    def person_patch(self, calendar: str, event_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        calendar = calendar.lower()
        checked = self._check_body(body)
        event = self._store.write(
            calendar, event_id, checked, mode="patch", conference_version=1, by_person=True
        )
        return self._render(event.id, calendar)

    def person_delete(self, calendar: str, event_id: str) -> None:
        self._store.delete(calendar.lower(), event_id, by_person=True)

    def replay(self, calendar: str, item: Mapping[str, Any]) -> dict[str, Any]:
        """Put ``calendar``'s copy of a recorded event in place exactly as ``events.get``
        returned it (foreign organisers, ``_`` ids, instance ids, read-only fields): see
        ``replay.py``. The Calendar API itself stays as strict as Google's."""
        calendar = calendar.lower()
        if not self._directory.is_calendar(calendar):
            raise KeyError(f"no such calendar: {calendar}")
        event = self._store.replay(calendar, item)
        return self._render(event.id, calendar)

    def _check_body(self, body: Mapping[str, Any]) -> dict[str, Any]:
        api = Api("calendar.v3")
        spec = next(m for m in api.methods if m.id == "calendar.events.insert")
        return api.validate_body(spec, dict(body))

    def _render(self, event_id: str, calendar: str) -> dict[str, Any]:
        item = self.get(calendar, event_id)
        if item is None:
            raise not_found()
        return item

    # -- inspection ----------------------------------------------------------------------------

    def get(self, calendar: str, event_id: str) -> dict[str, Any] | None:
        calendar = calendar.lower()
        zone = self._directory.timezone_of(calendar)
        if self._calendar_api is None:
            event = self._store.find(calendar, event_id)
            if event is None:
                return None
            return render(event, event.copies[calendar], zone, self._directory)
        try:
            return self._calendar_api.view(calendar, event_id, zone)
        except ApiError:
            return None

    def list_events(self, calendar: str) -> list[dict[str, Any]]:
        calendar = calendar.lower()
        zone = self._directory.timezone_of(calendar)
        out = []
        for event in self._store.on_calendar(calendar):
            copy = event.copies[calendar]
            if copy.removed or event.status == "cancelled":
                continue
            out.append(render(event, copy, zone, self._directory))
        return out

    def expire_sync_tokens(self, calendar: str) -> None:
        self._store.expire_tokens(calendar.lower())

    def conferences_created(self) -> int:
        return self._conferences

    @property
    def notifications_sent(self) -> int:
        return self._push.sent

    @property
    def notifications_dropped(self) -> int:
        return self._push.dropped

    @property
    def notifications_failed(self) -> int:
        return self._push.failed

    def channels(self, calendar: str | None = None) -> list[dict[str, Any]]:
        return [c.describe() for c in self._push.live(calendar.lower() if calendar else None)]

    # -- conferences ---------------------------------------------------------------------------

    def _settle_conference(self, organizer: str, request_id: str) -> dict[str, Any] | None:
        outcome = self.meet.outcome(organizer)
        if outcome == "refused":
            raise conference.refused()
        if outcome == "failure":
            return conference.failed(request_id)
        if outcome == "success":
            self._conferences += 1
            return conference.meet(request_id, self._conference_rng)
        return None  # pending first, settled by _create_conference

    def _request_conference(self, event_id: str, request_id: str) -> None:
        organizer = self._store.events[event_id].organizer
        fails = self.meet.outcome(organizer) == "pending_failure"
        self._tasks.spawn(self._create_conference(event_id, request_id, fails))

    async def _create_conference(self, event_id: str, request_id: str, fails: bool) -> None:
        await asyncio.sleep(self.conference_delay_s)
        if fails:
            self._store.complete_conference(event_id, request_id, conference.failed(request_id))
            return
        data = conference.meet(request_id, self._conference_rng)
        if self._store.complete_conference(event_id, request_id, data):
            self._conferences += 1
