"""The request pipeline: hooks, request log, routing, bearer and scope checks, limits, faults.

Order for ``/v1`` API calls: ``before_request`` hooks, injected latency, route (404/405),
bearer token (401), the per-minute budget (429 + ``Retry-After``), the route's scope (403),
injected faults (502/503/504, or 429 with ``Retry-After`` = ``faults.throttle_retry_after_s``
or 60), the JSON body (``POST``/``PUT``/``PATCH`` need ``Content-Type: application/json`` and
a JSON object, else 400), then the endpoint. The answer is recorded, then ``after_request``
hooks run, then it is sent. Every answer carries a ``trackingid`` header; errors carry the same
id in their body (webex.md §4).

429 bodies: Webex may answer them as ``text/html`` (webex.md §4), so by default the simulator
does too (``throttle_html``) — a client must read ``Retry-After``, not the body.

A ``before_request`` hook may raise :class:`DropRequest` (nothing processed, connection closed,
recorded with status 0); an ``after_request`` hook may raise :class:`DropResponse` (the change
stays, the answer is lost). The token endpoint runs the same hooks and the fault rates too.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from aiohttp import web

from hybridcal.sandbox.faults import DropRequest, DropResponse, Faults, Injected
from hybridcal.sandbox.webex.auth import AccessToken, TokenService
from hybridcal.sandbox.webex.errors import (
    WebexError,
    bad_request,
    method_not_allowed,
    not_found,
    server_error,
    too_many,
)
from hybridcal.sandbox.webex.limits import MinuteBudget


@dataclass(frozen=True)
class RequestInfo:
    """What a ``before_request`` hook sees."""

    method: str
    path: str
    query: dict[str, str]
    body: Any
    at: datetime


@dataclass(frozen=True)
class WebexRecord:
    """One request as answered (``status`` 0 when it was dropped before processing)."""

    method: str
    path: str
    query: dict[str, str]
    status: int
    body: Any = None  # the JSON (or, for the token endpoint, form without secrets) sent
    at: datetime | None = None
    operation: str | None = None  # e.g. "meetings.create"; None for unknown routes
    host: str | None = None  # the hostEmail / userEmail acted for
    response: Any = None  # the JSON answered (tokens removed), None for 204 / HTML / dropped
    tracking_id: str = ""
    dropped: str | None = None  # "request" or "response"


BeforeHook = Callable[[RequestInfo], Awaitable[None]]
AfterHook = Callable[[WebexRecord], Awaitable[None]]


@dataclass
class Call:
    params: dict[str, str]
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: Any
    token: AccessToken
    host: str | None = None  # set by the endpoint for the record


@dataclass
class Reply:
    status: int = 200
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    html: str | None = None


Handler = Callable[[Call], Awaitable[Reply]]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    scope: str | None
    operation: str
    refusal: str | None = None  # the 403 description without the scope


def route(
    method: str,
    template: str,
    operation: str,
    handler: Handler,
    scope: str,
    *,
    refusal: str | None = None,
) -> Route:
    regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
    return Route(method, re.compile(f"^{regex}$"), handler, scope, operation, refusal)


_BODY_METHODS = frozenset({"POST", "PATCH", "PUT"})
_SECRET_FORM_KEYS = frozenset({"client_secret", "refresh_token"})


class FrontEnd:
    def __init__(
        self,
        *,
        routes: list[Route],
        tokens: TokenService,
        faults: Faults,
        budget: MinuteBudget,
        log: list[WebexRecord],
        now: Callable[[], datetime],
        rng: random.Random,
        before: list[BeforeHook],
        after: list[AfterHook],
    ) -> None:
        self._routes = routes
        self._tokens = tokens
        self._faults = faults
        self._budget = budget
        self._log = log
        self._now = now
        self._rng = rng
        self._before = before
        self._after = after
        self.throttle_html = True

    def _tracking_id(self) -> str:
        return "SANDBOX_" + "".join(self._rng.choice("0123456789ABCDEF") for _ in range(32))

    # -- /v1 -----------------------------------------------------------------------------------

    async def api(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        body, is_object = _parse(raw)
        query = dict(request.query)
        if not await self._run_before(request, query, body):
            return web.Response()
        await self._faults.delay()
        tracking = self._tracking_id()
        call: Call | None = None
        operation = None
        try:
            found, params = self._match(request.method, request.path)
            operation = found.operation
            token = self._tokens.authenticate(request.headers.get("Authorization"))
            call = Call(params, query, request.headers, body, token)
            self._budget.admit()
            self._tokens.require(token, found.scope, found.refusal)
            self._inject()
            if request.method in _BODY_METHODS and not (
                is_object and request.content_type == "application/json"
            ):
                raise bad_request("The request body must be a JSON object.")
            reply = await found.handler(call)
        except WebexError as exc:
            reply = self._error(exc, tracking)
        record = WebexRecord(
            method=request.method,
            path=request.path,
            query=query,
            status=reply.status,
            body=body,
            at=self._now(),
            operation=operation,
            host=call.host if call else None,
            response=reply.body,
            tracking_id=tracking,
        )
        return await self._answer(request, record, reply)

    def _error(self, exc: WebexError, tracking: str) -> Reply:
        if exc.status == 429 and self.throttle_html:
            page = "<html><body><h1>429 Too Many Requests</h1></body></html>"
            return Reply(exc.status, None, dict(exc.headers), html=page)
        return Reply(exc.status, exc.body(tracking), dict(exc.headers))

    def _match(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        allowed = False
        for candidate in self._routes:
            match = candidate.pattern.match(path)
            if match is None:
                continue
            if candidate.method == method:
                return candidate, match.groupdict()
            allowed = True
        if allowed:
            raise method_not_allowed()
        raise not_found()

    def _inject(self) -> None:
        fault = self._faults.choose()
        if fault is Injected.ERROR:
            raise server_error(self._faults.randint(0, 2) + 502)
        if fault is Injected.THROTTLE:
            retry = self._faults.throttle_retry_after_s
            raise too_many(60 if retry is None else retry)

    # -- /v1/access_token ----------------------------------------------------------------------

    async def token(self, request: web.Request) -> web.StreamResponse:
        query = dict(request.query)
        form: dict[str, str] | None = None
        if request.method == "POST" and request.content_type == "application/x-www-form-urlencoded":
            form = {k: str(v) for k, v in (await request.post()).items()}
        shown = (
            None if form is None else {k: v for k, v in form.items() if k not in _SECRET_FORM_KEYS}
        )
        if not await self._run_before(request, query, shown):
            return web.Response()
        await self._faults.delay()
        tracking = self._tracking_id()
        try:
            if request.method != "POST":
                raise method_not_allowed()
            self._inject()
            reply = Reply(200, self._tokens.grant(request.headers.get("Authorization"), form))
        except WebexError as exc:
            reply = self._error(exc, tracking)
        record = WebexRecord(
            method=request.method,
            path=request.path,
            query=query,
            status=reply.status,
            body=shown,
            at=self._now(),
            operation="token.refresh",
            response=None
            if reply.body is None
            else {
                k: v for k, v in reply.body.items() if k not in {"access_token", "refresh_token"}
            },
            tracking_id=tracking,
        )
        return await self._answer(request, record, reply)

    # -- shared --------------------------------------------------------------------------------

    async def _run_before(self, request: web.Request, query: dict[str, str], body: Any) -> bool:
        info = RequestInfo(request.method, request.path, query, body, self._now())
        try:
            for hook in list(self._before):
                await hook(info)
        except DropRequest:
            self._log.append(
                WebexRecord(
                    request.method, request.path, query, 0, body, info.at, dropped="request"
                )
            )
            request.protocol.force_close()
            return False
        return True

    async def _answer(
        self, request: web.Request, record: WebexRecord, reply: Reply
    ) -> web.StreamResponse:
        index = len(self._log)
        self._log.append(record)
        try:
            for hook in list(self._after):
                await hook(record)
        except DropResponse:
            self._log[index] = replace(record, dropped="response")
            request.protocol.force_close()
            return web.Response()
        headers = {"trackingid": record.tracking_id, **reply.headers}
        if reply.html is not None:
            return web.Response(
                status=reply.status, text=reply.html, content_type="text/html", headers=headers
            )
        if reply.body is None:
            return web.Response(status=reply.status, headers=headers)
        return web.Response(
            status=reply.status,
            text=json.dumps(reply.body),
            content_type="application/json",
            charset="UTF-8",
            headers=headers,
        )


def _parse(raw: bytes) -> tuple[Any, bool]:
    if not raw.strip():
        return None, False
    try:
        value = json.loads(raw)
    except ValueError:
        return None, False
    return value, isinstance(value, dict)
