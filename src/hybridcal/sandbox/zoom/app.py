"""ZoomSimulator: the S2S OAuth token endpoint and Zoom REST API v2 on one loopback port.

Usage::

    sim = ZoomSimulator(now=clock)         # clock: () -> aware datetime (default: real UTC)
    await sim.start()                      # http://127.0.0.1:<free port>
    app = sim.create_app()                 # ZoomApp(account_id, client_id, client_secret, scopes)
    sim.add_user("alice@example.com", first_name="Alice")
    ...                                    # point the client at sim.oauth_root / sim.api_root
    await sim.close()

Everything random (ids, uuids, generated passcodes, client ids) comes from generators seeded
with ``seed``; secrets (client secrets, access tokens, ``zak``) come from :mod:`secrets`. All
state lives in memory on the simulator's event loop; call the methods from that loop's thread.
What is modelled and simplified is described in each module (auth, users, security,
passcodes, meetings, recurrence, listing, limits, http).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from hybridcal.sandbox import listen
from hybridcal.sandbox.faults import Faults
from hybridcal.sandbox.zoom.api import ZoomApi
from hybridcal.sandbox.zoom.auth import TokenService, ZoomApp
from hybridcal.sandbox.zoom.control_api import routes as control_routes
from hybridcal.sandbox.zoom.errors import ZoomError, route_not_found
from hybridcal.sandbox.zoom.http import AfterHook, BeforeHook, FrontEnd, ZoomRecord
from hybridcal.sandbox.zoom.limits import DailyLimiter, QpsLimiter
from hybridcal.sandbox.zoom.listing import Pager
from hybridcal.sandbox.zoom.meetings import MeetingBook
from hybridcal.sandbox.zoom.security import SecurityPolicy
from hybridcal.sandbox.zoom.users import Directory, User


class ZoomSimulator:
    def __init__(  # noqa: PLR0917 - the team's agreed signature
        self,
        faults: Faults | None = None,
        now: Callable[[], datetime] | None = None,
        account_id: str = "sandboxacct",
        join_host: str = "sandbox.zoom.us",
        seed: int = 0,
        qps_limit: int = 20,
        daily_limit: int = 100,
    ) -> None:
        self.faults = faults or Faults()
        self._now = now or (lambda: datetime.now(UTC))
        self.account_id = account_id
        self.join_host = join_host
        self.request_log: list[ZoomRecord] = []
        self.before_request: list[BeforeHook] = []
        self.after_request: list[AfterHook] = []
        self._tokens = TokenService(account_id, self._now, random.Random(seed))  # noqa: S311
        self._security = SecurityPolicy()
        self._directory = Directory(
            account_id,
            join_host,
            random.Random(seed + 1),  # noqa: S311 - ids and PMIs of a simulator
            self._security,
        )
        self._daily = DailyLimiter(daily_limit, self._now)
        self._qps = QpsLimiter(qps_limit)
        self._book = MeetingBook(
            self._directory,
            self._security,
            random.Random(seed + 2),  # noqa: S311 - ids and passcodes of a simulator
            self._now,
            lambda user: self._daily.charge(user.id),
        )
        page_key = random.Random(seed + 3).randbytes(32)  # noqa: S311 - a simulator's key
        self._pager = Pager(self._book, page_key, self._now)
        self._front = FrontEnd(
            routes=ZoomApi(self._directory, self._security, self._book, self._pager).routes(),
            tokens=self._tokens,
            faults=self.faults,
            qps=self._qps,
            log=self.request_log,
            now=self._now,
            before=self.before_request,
            after=self.after_request,
        )
        self._runner: web.AppRunner | None = None
        self.base_url = ""
        self.oauth_root = ""
        self.api_root = ""

    # -- lifecycle -----------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        sock, self.base_url = listen.bind(host, port)
        self.oauth_root = self.base_url
        self.api_root = f"{self.base_url}/v2"
        self._tokens.api_url = self.base_url
        self._runner = web.AppRunner(self._build_app(), access_log=None)
        await self._runner.setup()
        await web.SockSite(self._runner, sock).start()

    def _build_app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/oauth/token", self._front.token)
        app.router.add_route("*", "/v2/{tail:.*}", self._front.api)
        app.router.add_routes(control_routes(self))
        app.router.add_route("*", "/{tail:.*}", _not_found)
        return app

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- apps ----------------------------------------------------------------------------------

    def create_app(self, scopes: Iterable[str] | None = None) -> ZoomApp:
        return self._tokens.create_app(scopes)

    def revoke_app(self, client_id: str) -> None:
        self._tokens.revoke(client_id)

    @property
    def tokens_issued(self) -> int:
        return self._tokens.issued

    @property
    def token_error_rate(self) -> float:
        """Share of token requests answered 500 ``server_error`` (seeded by ``faults``)."""
        return self._front.token_error_rate

    @token_error_rate.setter
    def token_error_rate(self, value: float) -> None:
        if not 0.0 <= value <= 1.0:
            raise ValueError("token_error_rate must be within [0, 1]")
        self._front.token_error_rate = value

    # -- users and account settings ------------------------------------------------------------

    def add_user(
        self,
        email: str,
        *,
        first_name: str = "",
        last_name: str = "",
        type: int = 2,  # noqa: A002 - Zoom's field name
        status: str = "active",
        timezone: str = "Europe/Zurich",
    ) -> dict[str, Any]:
        user = self._directory.add(
            email,
            first_name=first_name,
            last_name=last_name,
            type_=type,
            status=status,
            timezone=timezone,
            now=self._now(),
        )
        return self._directory.render(user)

    def update_user(self, email: str, **changes: Any) -> dict[str, Any]:
        """Change ``type``, ``status``, ``timezone``, ``first_name``, ``last_name``, or the
        Personal Meeting ID's ``pmi_password`` and ``personal_meeting`` (on/off)."""
        self._find(email)
        return self._directory.render(self._directory.update(email, changes))

    def user(self, email: str) -> dict[str, Any] | None:
        found = self._directory.find(email)
        return None if found is None else self._directory.render(found)

    def personal_room(self, email: str) -> dict[str, Any]:
        """The user's Personal Meeting ID as the simulator holds it (for tests)."""
        user = self._find(email)
        return {
            "pmi": user.pmi,
            "pmi_password": user.pmi_password,
            "personal_meeting": user.personal_meeting,
            "link": f"https://{self.join_host}/j/{user.pmi}",
        }

    def users(self) -> list[dict[str, Any]]:
        return [self._directory.render(u) for u in self._directory.all()]

    def grant_scheduling_privilege(self, assistant_email: str, for_email: str) -> None:
        """``assistant_email`` may schedule meetings for ``for_email``."""
        self._directory.grant(assistant_email, for_email)

    def revoke_scheduling_privilege(self, assistant_email: str, for_email: str) -> None:
        self._directory.revoke(assistant_email, for_email)

    def set_password_requirement(
        self, *, account: bool = True, user: str | None = None, **rules: Any
    ) -> None:
        """Change the passcode rules (the fields given) of the account, or of ``user`` only."""
        self._security.set_rules(self._level(account, user), rules)

    def set_meeting_security(
        self, *, account: bool = True, user: str | None = None, **flags: Any
    ) -> None:
        """Change other ``meeting_security`` settings, e.g. ``waiting_room=True``,
        ``require_password_for_scheduled_meeting=False``, ``embed_password_in_join_link``."""
        self._security.set_flags(self._level(account, user), flags)

    def _level(self, account: bool, user: str | None) -> str | None:
        if user is not None:
            return self._find(user).id
        if not account:
            raise ValueError("name a user, or set account=True")
        return None

    def set_dial_in_numbers(self, numbers: Iterable[Mapping[str, str]]) -> None:
        self._directory.set_dial_in(numbers)

    def _find(self, email: str) -> User:
        found = self._directory.find(email)
        if found is None:
            raise KeyError(f"no such user: {email}")
        return found

    # -- limits --------------------------------------------------------------------------------

    @property
    def qps_limit(self) -> int:
        return self._qps.limit

    @qps_limit.setter
    def qps_limit(self, value: int) -> None:
        self._qps.limit = value

    @property
    def qps_clock(self) -> Callable[[], float]:
        """The monotonic clock of the per-second window (replace it to test without sleeping)."""
        return self._qps.clock

    @qps_clock.setter
    def qps_clock(self, clock: Callable[[], float]) -> None:
        self._qps.clock = clock

    @property
    def daily_limit(self) -> int:
        return self._daily.limit

    @daily_limit.setter
    def daily_limit(self, value: int) -> None:
        self._daily.limit = value

    def charge_daily(self, email: str, requests: int = 1) -> None:
        """Count create/update/delete requests the host made elsewhere today (other apps, the
        web)."""
        user = self._find(email)
        for _ in range(requests):
            self._daily.charge(user.id)

    def daily_count(self, email: str) -> int:
        """Create/update/delete requests charged to this host today (UTC day of the clock)."""
        return self._daily.count(self._find(email).id)

    # -- inspection ----------------------------------------------------------------------------

    def meetings(
        self, host_email: str | None = None, *, include_deleted: bool = False
    ) -> list[dict[str, Any]]:
        """Full meetings as GET shows them, with every occurrence (deleted ones marked)."""
        hosts = [self._find(host_email)] if host_email else self._directory.all()
        found = [m for h in hosts for m in self._book.of_host(h, include_deleted=include_deleted)]
        found.sort(key=lambda m: (m.created_at, m.id))
        return [self._book.view.render(m, inspect=True) for m in found]

    def meeting(self, meeting_id: int | str) -> dict[str, Any] | None:
        found = self._book.find(meeting_id)
        if found is None or found.deleted:
            return None
        return self._book.view.render(found, inspect=True)

    def calls(self, method: str | None = None, path_prefix: str | None = None) -> list[ZoomRecord]:
        return [
            r
            for r in self.request_log
            if (method is None or r.method == method.upper())
            and (path_prefix is None or r.path.startswith(path_prefix))
        ]


async def _not_found(request: web.Request) -> web.Response:
    error: ZoomError = route_not_found(request.path)
    return web.json_response(error.body(), status=error.status)
