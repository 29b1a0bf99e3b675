"""WebexSimulator: the Service App token endpoint and the Meetings API on one loopback port."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from hybridcal.sandbox import listen
from hybridcal.sandbox.faults import Faults
from hybridcal.sandbox.webex.api import WebexApi
from hybridcal.sandbox.webex.auth import ADMIN_SCOPES, TokenService
from hybridcal.sandbox.webex.control_api import routes as control_routes
from hybridcal.sandbox.webex.errors import not_found
from hybridcal.sandbox.webex.http import AfterHook, BeforeHook, FrontEnd, WebexRecord
from hybridcal.sandbox.webex.limits import CreateQuota, MinuteBudget
from hybridcal.sandbox.webex.meetings import MeetingBook
from hybridcal.sandbox.webex.site import Site


class WebexSimulator:
    def __init__(
        self,
        *,
        faults: Faults | None = None,
        now: Callable[[], datetime] | None = None,
        site_url: str = "sandbox.webex.com",
        org_id: str = "sandbox-org",
        scopes: Iterable[str] = ADMIN_SCOPES,
        seed: int = 0,
        per_minute: int = 300,
        creates_per_host: int = 800,
        creates_overall: int = 3000,
    ) -> None:
        self.faults = faults or Faults()
        self._now = now or (lambda: datetime.now(UTC))
        self.request_log: list[WebexRecord] = []
        self.before_request: list[BeforeHook] = []
        self.after_request: list[AfterHook] = []
        self._tokens = TokenService(org_id, self._now, random.Random(seed), scopes)  # noqa: S311
        self.site = Site(site_url, random.Random(seed + 1))  # noqa: S311 - a simulator's ids
        self._budget = MinuteBudget(per_minute)
        self._quota = CreateQuota(creates_per_host, creates_overall, self._now)
        self._book = MeetingBook(
            self.site,
            random.Random(seed + 2),  # noqa: S311 - a simulator's ids and passwords
            self._now,
            lambda user: self._quota.charge(user.email),
        )
        self._api = WebexApi(self.site, self._book, self._now)
        self._front = FrontEnd(
            routes=self._api.routes(),
            tokens=self._tokens,
            faults=self.faults,
            budget=self._budget,
            log=self.request_log,
            now=self._now,
            rng=random.Random(seed + 3),  # noqa: S311 - tracking ids
            before=self.before_request,
            after=self.after_request,
        )
        self._runner: web.AppRunner | None = None
        self.base_url = ""
        self.api_root = ""
        self.token_url = ""

    # -- lifecycle -----------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        sock, self.base_url = listen.bind(host, port)
        self.api_root = f"{self.base_url}/v1"
        self.token_url = f"{self.api_root}/access_token"
        self._api.api_root = self.api_root
        self._runner = web.AppRunner(self._build_app(), access_log=None)
        await self._runner.setup()
        await web.SockSite(self._runner, sock).start()

    def _build_app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/v1/access_token", self._front.token)
        app.router.add_route("*", "/v1/{tail:.*}", self._front.api)
        app.router.add_routes(control_routes(self))
        app.router.add_route("*", "/{tail:.*}", _not_found)
        return app

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def drain(self) -> None:
        """Nothing runs in the background (no webhooks yet); kept for the sandbox interface."""

    @property
    def oauth_root(self) -> str:
        return self.api_root

    # -- the Service App -----------------------------------------------------------------------

    @property
    def client_id(self) -> str:
        return self._tokens.app.client_id

    @property
    def client_secret(self) -> str:
        return self._tokens.app.client_secret

    @property
    def scopes(self) -> tuple[str, ...]:
        return self._tokens.app.scopes

    def issue_service_app_tokens(self) -> tuple[str, str, str, str]:
        """An admin authorises the app in Control Hub: (client_id, client_secret,
        access_token, refresh_token)."""
        access, refresh = self._tokens.issue()
        return self.client_id, self.client_secret, access, refresh

    def revoke(self) -> None:
        """The admin removes the authorisation: every token stops working at once."""
        self._tokens.revoke()

    def expire_access_tokens(self) -> None:
        self._tokens.expire_access_tokens()

    @property
    def tokens_issued(self) -> int:
        return self._tokens.issued

    @property
    def access_token_lifetime(self) -> float:
        return self._tokens.access_lifetime.total_seconds()

    @access_token_lifetime.setter
    def access_token_lifetime(self, seconds: float) -> None:
        self._tokens.access_lifetime = timedelta(seconds=seconds)

    # -- site and users ------------------------------------------------------------------------

    def add_user(
        self,
        email: str,
        *,
        licensed: bool = True,
        timezone: str = "Europe/Zurich",
        personal_room: bool = True,
        display_name: str | None = None,
    ) -> dict[str, Any]:
        user = self.site.add(
            email,
            licensed=licensed,
            timezone=timezone,
            personal_room=personal_room,
            display_name=display_name,
        )
        return _user_view(user)

    def set_licensed(self, email: str, *, licensed: bool) -> None:
        user = self.site.find(email)
        if user is None:
            raise KeyError(f"no such user: {email}")
        user.licensed = licensed

    def users(self) -> list[dict[str, Any]]:
        return [_user_view(u) for u in self.site.users.values()]

    def set_password_rules(self, **rules: Any) -> None:
        """``min_length``, ``require_letter``, ``require_digit``, ``require_mixed_case``,
        ``require_special``."""
        self.site.set_password_rules(rules)

    def set_call_in_numbers(self, numbers: Iterable[Mapping[str, str]]) -> None:
        self.site.set_call_in_numbers(numbers)

    def set_in_progress(self, meeting_id: str, *, in_progress: bool = True) -> None:
        self._book.set_in_progress(meeting_id.partition("_")[0], in_progress=in_progress)

    # -- limits --------------------------------------------------------------------------------

    @property
    def per_minute(self) -> int:
        return self._budget.limit

    @per_minute.setter
    def per_minute(self, value: int) -> None:
        self._budget.limit = value

    @property
    def rate_clock(self) -> Callable[[], float]:
        return self._budget.clock

    @rate_clock.setter
    def rate_clock(self, clock: Callable[[], float]) -> None:
        self._budget.clock = clock

    @property
    def throttle_html(self) -> bool:
        return self._front.throttle_html

    @throttle_html.setter
    def throttle_html(self, value: bool) -> None:
        self._front.throttle_html = value

    def creates_today(self, email: str) -> int:
        return self._quota.count(email)

    # -- inspection ----------------------------------------------------------------------------

    def meetings(
        self, host_email: str | None = None, *, include_deleted: bool = False
    ) -> list[dict[str, Any]]:
        """Every series as GET shows it, with ``occurrences`` (live ones, each as GET shows it)
        and ``deleted``."""
        out = []
        for series in self._book.all(include_deleted=include_deleted):
            if host_email is not None and series.host.email.lower() != host_email.lower():
                continue
            view = self._book.render(series, api_root=self.api_root)
            view["occurrences"] = [
                self._book.render(series, o, api_root=self.api_root) for o in series.occurrences()
            ]
            view["deleted"] = series.deleted
            out.append(view)
        return out

    def meeting(self, meeting_id: str) -> dict[str, Any] | None:
        found = [m for m in self.meetings() if m["id"] == meeting_id.partition("_")[0]]
        return found[0] if found else None

    def calls(self, method: str | None = None, path_prefix: str | None = None) -> list[WebexRecord]:
        return [
            r
            for r in self.request_log
            if (method is None or r.method == method.upper())
            and (path_prefix is None or r.path.startswith(path_prefix))
        ]

    def operations(self) -> Counter[str]:
        """Answered requests by operation (``meetings.create``, ``token.refresh``, …)."""
        return Counter(r.operation for r in self.request_log if r.operation and r.status)


def _user_view(user: Any) -> dict[str, Any]:
    return {
        "email": user.email,
        "personId": user.person_id,
        "displayName": user.display_name,
        "licensed": user.licensed,
        "timezone": user.timezone,
        "personalRoom": None if user.room is None else user.room.room_id,
    }


async def _not_found(_request: web.Request) -> web.Response:
    error = not_found()
    return web.json_response(error.body("SANDBOX_CONTROL"), status=404)
