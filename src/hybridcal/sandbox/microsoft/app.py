"""GraphSimulator: Entra ID's token endpoint and Microsoft Graph v1.0 on one loopback port.

Usage::

    sim = GraphSimulator()
    await sim.start()                         # http://127.0.0.1:<free port>
    app = sim.register_app()                  # client id + secret, admin consent given
    sim.add_user("alice@contoso.example")
    sim.add_room("room1@contoso.example", name="Room 1")
    ...                                       # token: {sim.authority}/{tenant}/oauth2/v2.0/token
                                              # Graph: sim.graph_root (".../v1.0")
    await sim.close()

The ``person_*`` methods are a person using Outlook: they follow the same rules as the API
(attendees get their copies, rooms accept, Teams meetings get their block) and trigger change
notifications like any write. Call them from the simulator's event-loop thread. Randomness
(ids, change keys, Teams codes, notification ids) comes from generators seeded with
``faults.seed``; secrets (client secrets, token and sync-state keys) from :mod:`secrets`.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from hybridcal.sandbox import listen
from hybridcal.sandbox.faults import Faults
from hybridcal.sandbox.microsoft import routes, teams
from hybridcal.sandbox.microsoft.auth import GraphApp, TokenError, TokenService
from hybridcal.sandbox.microsoft.calendar_api import CalendarApi, render_target
from hybridcal.sandbox.microsoft.conflicts import ConcurrentSaves
from hybridcal.sandbox.microsoft.control_api import control_routes
from hybridcal.sandbox.microsoft.delta import DeltaService
from hybridcal.sandbox.microsoft.directory import AutomaticReplies, Directory
from hybridcal.sandbox.microsoft.directory_api import DirectoryApi
from hybridcal.sandbox.microsoft.errors import GraphError
from hybridcal.sandbox.microsoft.events import Change, EventStore
from hybridcal.sandbox.microsoft.http import GraphFrontEnd, GraphRecord, Handler
from hybridcal.sandbox.microsoft.lifecycle import LifecycleSchedule, LifecycleTicker
from hybridcal.sandbox.microsoft.notify import Notifier
from hybridcal.sandbox.microsoft.render import View, render
from hybridcal.sandbox.microsoft.schedule import ScheduleApi
from hybridcal.sandbox.microsoft.subscription_api import SubscriptionApi
from hybridcal.sandbox.microsoft.subscriptions import SubscriptionService
from hybridcal.sandbox.microsoft.tls import LoopbackCA
from hybridcal.sandbox.microsoft.validate import parse_event
from hybridcal.sandbox.tasks import TaskSet

SANDBOX_TENANT_ID = "5f0c7e8a-94b2-4d1e-8a3c-0b6d2e9f4a71"
DEFAULT_PERMISSIONS = ("Calendars.ReadWrite", "MailboxSettings.Read", "User.Read.All")


class GraphSimulator:
    def __init__(
        self,
        *,
        tenant_id: str = SANDBOX_TENANT_ID,
        domain: str = "contoso.example",
        faults: Faults | None = None,
        now: Callable[[], datetime] | None = None,
        notify_retries: int = 3,
        notify_backoff_s: float = 0.05,
        teams_join_host: str = "teams.microsoft.com",
    ) -> None:
        self.tenant_id = tenant_id
        self.domain = domain
        self.faults = faults or Faults()
        self.teams_join_host = teams_join_host
        self._now = now or (lambda: datetime.now(UTC))
        self.request_log: list[GraphRecord] = []
        seed = self.faults.seed
        self._rng = random.Random(seed + 11)  # noqa: S311 - ids, not secrets
        self._guids = random.Random(seed + 12)  # noqa: S311 - ids, not secrets
        self._directory = Directory(domain, random.Random(seed + 13))  # noqa: S311 - ids
        self._tokens = TokenService(
            tenant_id,
            domain,
            self._now,
            random.Random(seed + 14),  # noqa: S311 - ids
        )
        self._tasks = TaskSet()
        self._subs = SubscriptionService(self._directory, self.faults, self._now, self._guid)
        self._notifier = Notifier(
            self._subs,
            self.faults,
            self._now,
            self._tasks,
            tenant_id=tenant_id,
            retries=notify_retries,
            backoff_s=notify_backoff_s,
        )
        self._lifecycle = LifecycleTicker(self._subs, self._notifier.lifecycle)
        self._store = EventStore(
            self._directory, self._now, self._rng, self._new_meeting, self._changed
        )
        self._delta = DeltaService(self._store, self._directory)
        # 409 ErrorIrresolvableConflict on PATCH: set ``conflicts.rate`` or ``conflicts.arm``
        self.conflicts = ConcurrentSaves(random.Random(seed + 15))  # noqa: S311 - simulation
        self._runner: web.AppRunner | None = None
        self._front: GraphFrontEnd | None = None
        self.base_url = ""
        self.authority = ""
        self.graph_root = ""
        self.token_url = ""
        self.ca_file: Path | None = None  # the CA of the TLS certificate, when served over TLS

    # -- lifecycle -----------------------------------------------------------------------------

    async def start(
        self, host: str = "127.0.0.1", port: int = 0, *, tls: LoopbackCA | None = None
    ) -> None:
        """Listen on ``host:port``. With ``tls`` (``tls.make_loopback_ca``) the token endpoint
        and Graph are served over https, as azure-identity requires of an authority; clients
        trust ``ca_file`` (the daemon: ``microsoft.ca_bundle``)."""
        self._tasks.bind(asyncio.get_running_loop())
        sock, self.base_url = listen.bind(host, port)
        if tls is not None:
            self.base_url = "https://" + self.base_url.removeprefix("http://")
            self.ca_file = tls.ca_file
        self.authority = self.base_url
        self.graph_root = f"{self.base_url}/v1.0"
        self.token_url = f"{self.authority}/{self.tenant_id}/oauth2/v2.0/token"
        self._tokens.token_url = self.token_url
        await self._subs.start()
        await self._notifier.start()
        self._runner = web.AppRunner(self._build_app(), access_log=None)
        await self._runner.setup()
        context = None if tls is None else tls.server_context
        await web.SockSite(self._runner, sock, ssl_context=context).start()

    def _build_app(self) -> web.Application:
        handlers: dict[str, Handler] = {}
        handlers.update(
            CalendarApi(
                self._store, self._directory, self._delta, self.graph_root, self.conflicts
            ).handlers()
        )
        handlers.update(DirectoryApi(self._directory, self.graph_root).handlers())
        handlers.update(ScheduleApi(self._store, self._directory, self.graph_root).handlers())
        handlers.update(SubscriptionApi(self._subs, self.graph_root).handlers())
        front = GraphFrontEnd(
            router=routes.route,
            handlers=handlers,
            tokens=self._tokens,
            directory=self._directory,
            faults=self.faults,
            log=self.request_log,
            now=self._now,
        )
        self._front = front
        app = web.Application()
        app.router.add_post("/{tenant}/oauth2/v2.0/token", self._token)
        app.router.add_route("*", "/v1.0/{tail:.*}", front.handle)
        app.router.add_routes(control_routes(self))
        return app

    @property
    def peak_mailbox_inflight(self) -> int:
        """The most requests of one app that were in flight on one mailbox at once."""
        return 0 if self._front is None else self._front.peak_mailbox_inflight

    async def close(self) -> None:
        await self._lifecycle.close()
        await self._tasks.close()
        await self._notifier.close()
        await self._subs.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def drain(self, limit_s: float = 5.0) -> None:
        """Wait for pending notification deliveries (and retries)."""
        await self._tasks.drain(limit_s)

    # -- token endpoint ------------------------------------------------------------------------

    async def _token(self, request: web.Request) -> web.Response:
        form = {k: str(v) for k, v in (await request.post()).items()}
        tenant = request.match_info["tenant"]
        request_id = str(uuid.uuid4())
        try:
            body = self._tokens.grant(tenant, form)
            status = 200
        except TokenError as exc:
            body, status = exc.body(self._now()), exc.status
        self.request_log.append(
            GraphRecord(
                method="POST",
                path=request.path,
                query={},
                status=status,
                operation="token",
                app_id=form.get("client_id"),
                mailbox=None,
                body={k: v for k, v in form.items() if k != "client_secret"},
                if_match=None,
                prefer=(),
                request_id=request_id,
                at=self._now(),
            )
        )
        headers = {"Cache-Control": "no-store", "x-ms-request-id": request_id}
        return web.json_response(body, status=status, headers=headers)

    # -- the tenant admin ----------------------------------------------------------------------

    def register_app(
        self, *, permissions: Iterable[str] = DEFAULT_PERMISSIONS, consented: bool = True
    ) -> GraphApp:
        return self._tokens.register(permissions, consented=consented)

    def set_consent(self, client_id: str, consented: bool) -> None:
        self._tokens.registration(client_id).consented = consented

    def restrict_app(self, client_id: str, allowed_mailboxes: Iterable[str] | None) -> None:
        """An Exchange application access policy: only these mailboxes (None: all)."""
        registration = self._tokens.registration(client_id)
        registration.allowed_mailboxes = (
            None if allowed_mailboxes is None else frozenset(m.lower() for m in allowed_mailboxes)
        )

    def add_certificate(self, client_id: str, certificate_pem: bytes | str) -> str:
        """Upload a certificate for certificate credentials; returns its thumbprint."""
        return self._tokens.add_certificate(client_id, certificate_pem)

    def invalidate_tokens(self) -> None:
        self._tokens.invalidate()

    def add_user(
        self,
        email: str,
        *,
        name: str | None = None,
        timezone: str = "W. Europe Standard Time",
        language: str = "en-US",
        mailbox: bool = True,
    ) -> str:
        """A licensed user (``mailbox=False``: in Entra ID only); returns the user's GUID."""
        return self._directory.add(
            email,
            name=name,
            kind="user",
            timezone=timezone,
            language=language,
            has_mailbox=mailbox,
        ).id

    def add_room(self, email: str, *, name: str, timezone: str = "W. Europe Standard Time") -> str:
        return self._directory.add(
            email, name=name, kind="room", timezone=timezone, language="en-US"
        ).id

    def user_id(self, email: str) -> str:
        found = self._directory.by_email(email)
        if found is None:
            raise KeyError(f"no such user: {email}")
        return found.id

    def set_automatic_replies(
        self,
        email: str,
        *,
        status: str = "disabled",
        start: datetime | None = None,
        end: datetime | None = None,
        message: str = "",
    ) -> None:
        self._directory.set_replies(email, AutomaticReplies(status, start, end, message))

    # -- a person using Outlook ----------------------------------------------------------------

    def person_create(self, organizer_email: str, body: Mapping[str, Any]) -> dict[str, Any]:
        organizer = self._directory.mailbox(organizer_email)
        if organizer.is_room:
            raise ValueError("a room does not organise meetings")
        data = parse_event(dict(body), creating=True)
        rooms = [
            a["emailAddress"]["name"]
            for a in data.shared.get("attendees", [])
            if (m := self._directory.by_email(a["emailAddress"]["address"])) and m.is_room
        ]
        if rooms and "location" not in data.shared and "locations" not in data.shared:
            data = parse_event(
                {**body, "location": {"displayName": "; ".join(rooms)}}, creating=True
            )
        target = self._store.create(organizer.email, data)
        return render_target(target, self._directory, View())

    def person_update(self, mailbox: str, event_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        data = parse_event(dict(body), creating=False)
        target = self._store.update(mailbox.lower(), event_id, data)
        return render_target(target, self._directory, View())

    def person_delete(self, mailbox: str, event_id: str) -> None:
        self._store.delete(mailbox.lower(), event_id)

    def person_cancel_occurrence(self, mailbox: str, occurrence_id: str) -> None:
        target = self._store.resolve(mailbox.lower(), occurrence_id)
        if target.original is None and target.item.kind != "exception":
            raise ValueError("not an occurrence of a series")
        self._store.cancel(mailbox.lower(), occurrence_id)

    def person_respond(self, mailbox: str, event_id: str, response: str) -> None:
        """``accept`` | ``tentativelyAccept`` | ``decline`` as an attendee."""
        self._store.respond(mailbox.lower(), event_id, response)

    # -- inspection ----------------------------------------------------------------------------

    def get_event(self, mailbox: str, event_id: str) -> dict[str, Any] | None:
        try:
            target = self._store.resolve(mailbox.lower(), event_id)
        except GraphError:
            return None
        return render_target(target, self._directory, View())

    def extended_properties(self, mailbox: str, event_id: str) -> dict[str, str]:
        """The single-value extended properties on the mailbox's copy, by id (a person's view
        would not show them; Graph returns them only when a request expands them)."""
        try:
            target = self._store.resolve(mailbox.lower(), event_id)
        except GraphError:
            return {}
        return dict(target.copy.props)

    def list_events(self, mailbox: str) -> list[dict[str, Any]]:
        """The mailbox's single events and series masters (as ``/events`` lists them)."""
        key = mailbox.lower()
        out = []
        for item in self._store.in_mailbox(key):
            copy = item.copy_of(key)
            assert copy is not None
            out.append(render(item, copy, self._directory, View()))
        return out

    def subscriptions(self) -> list[dict[str, Any]]:
        self._subs.purge()
        return [s.describe() for s in self._subs.subscriptions.values()]

    def send_lifecycle(self, subscription_id: str, event: str) -> None:
        sub = self._subs.subscriptions.get(subscription_id)
        if sub is None:
            raise KeyError(f"no such subscription: {subscription_id}")
        self._notifier.lifecycle(sub, event)

    def schedule_lifecycle(self, schedule: LifecycleSchedule | None) -> None:
        """Send lifecycle notifications on Graph's own schedule from now on (None: stop)."""
        self._lifecycle.start(schedule)

    @property
    def scheduled_lifecycle_sent(self) -> dict[str, int]:
        """Lifecycle notifications the schedule produced, by event."""
        return dict(self._lifecycle.sent)

    @property
    def lifecycle_by_event(self) -> dict[str, int]:
        """Every lifecycle notification made (scheduled, asked for, or after a loss)."""
        return dict(self._notifier.lifecycle_by_event)

    @property
    def notifications_held_back(self) -> int:
        """Change notifications not sent because a reauthorization was pending."""
        return self._notifier.held_back

    def expire_delta_tokens(self, mailbox: str) -> None:
        self._delta.expire(mailbox.lower())

    @property
    def teams_meetings_created(self) -> int:
        return self._store.teams_created

    @property
    def notifications_sent(self) -> int:
        return self._notifier.sent

    @property
    def notifications_dropped(self) -> int:
        return self._notifier.dropped

    @property
    def notifications_failed(self) -> int:
        return self._notifier.failed

    @property
    def notification_latencies_s(self) -> list[float]:
        return list(self._notifier.latencies_s)

    @property
    def delivered_notifications(self) -> list[dict[str, Any]]:
        return list(self._notifier.delivered)

    @property
    def lifecycle_notifications_sent(self) -> int:
        return self._notifier.lifecycle_sent

    # -- internals -----------------------------------------------------------------------------

    def _changed(self, changes: list[Change]) -> None:
        self._notifier.changed(changes)
        self._delta.changed(changes)  # out-of-window changes come back from delta as @removed

    def _guid(self) -> str:
        return str(uuid.UUID(int=self._guids.getrandbits(128), version=4))

    def _new_meeting(self, organizer: str) -> teams.TeamsMeeting:
        found = self._directory.by_email(organizer)
        oid = found.id if found is not None else self._guid()
        return teams.create(self._rng, self.teams_join_host, self.tenant_id, oid)
