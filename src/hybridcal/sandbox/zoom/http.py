"""The request pipeline: hooks, request log, routing, bearer and scope checks, limits, faults.

Order for ``/v2`` calls: ``before_request`` hooks, injected latency, route (404/405, JSON
bodies), bearer token (401 code 124), the account's per-second limit (429), scopes (4711),
injected faults (500/503 ``Internal error``, or 429 with ``Retry-After`` from
``faults.throttle_retry_after_s`` if set), the JSON body (``POST``/``PATCH`` need
``Content-Type: application/json`` and a JSON object, else 300), then the endpoint. The answer
is recorded, then ``after_request`` hooks run, then it is sent.

A ``before_request`` hook may raise :class:`DropRequest`: nothing is processed and the
connection is closed without an answer (recorded with status 0 and ``dropped="request"``). An
``after_request`` hook may raise :class:`DropResponse`: the change stays applied but the
connection is closed without an answer (``dropped="response"``). The token endpoint runs the
same hooks; it takes no API faults (see ``ZoomSimulator.token_error_rate``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from aiohttp import web

from hybridcal.sandbox.faults import DropRequest, DropResponse, Faults, Injected
from hybridcal.sandbox.zoom.auth import AccessToken, TokenService
from hybridcal.sandbox.zoom.errors import (
    OAuthError,
    ZoomError,
    invalid_body,
    method_not_allowed,
    per_second_limit,
    route_not_found,
)
from hybridcal.sandbox.zoom.limits import QpsLimiter


@dataclass(frozen=True)
class RequestInfo:
    """What a ``before_request`` hook sees: the request as it arrived."""

    method: str
    path: str
    query: dict[str, str]
    body: Any
    at: datetime


@dataclass(frozen=True)
class ZoomRecord:
    """One request as answered (``status`` 0 when it was dropped before processing)."""

    method: str
    path: str
    query: dict[str, str]
    status: int
    body: Any = None  # the request's JSON body, None when absent or not JSON
    at: datetime | None = None
    client_id: str | None = None  # the app whose token was used
    user: str | None = None  # email of the user acted on (path user or meeting host)
    code: int | None = None  # Zoom's error code of the answer, if an error
    response: Any = None  # the answer's JSON body, None for 204 / dropped
    dropped: str | None = None  # "request" or "response" when a hook dropped it


BeforeHook = Callable[[RequestInfo], Awaitable[None]]
AfterHook = Callable[[ZoomRecord], Awaitable[None]]


@dataclass
class Call:
    params: dict[str, str]
    query: Mapping[str, str]
    body: Any
    token: AccessToken
    user: str | None = None  # set by the endpoint for the record


@dataclass
class Reply:
    status: int = 200
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Call], Awaitable[Reply]]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    scopes: tuple[str, ...]


def route(method: str, template: str, handler: Handler, *scopes: str) -> Route:
    """``template`` like ``/v2/meetings/{meetingId}``; a parameter is one path segment."""
    regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
    return Route(method, re.compile(f"^{regex}$"), handler, scopes)


_BODY_METHODS = frozenset({"POST", "PATCH", "PUT"})


class FrontEnd:
    def __init__(
        self,
        *,
        routes: list[Route],
        tokens: TokenService,
        faults: Faults,
        qps: QpsLimiter,
        log: list[ZoomRecord],
        now: Callable[[], datetime],
        before: list[BeforeHook],
        after: list[AfterHook],
    ) -> None:
        self._routes = routes
        self._tokens = tokens
        self._faults = faults
        self._qps = qps
        self._log = log
        self._now = now
        self._before = before
        self._after = after
        self.token_error_rate = 0.0

    # -- /v2 -----------------------------------------------------------------------------------

    async def api(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        body, is_object = _parse(raw)
        query = dict(request.query)
        if not await self._run_before(request, query, body):
            return web.Response()
        await self._faults.delay()
        call: Call | None = None
        try:
            handler, scopes, params = self._match(request.method, request.path)
            token = self._tokens.authenticate(request.headers.get("Authorization"))
            call = Call(params, query, body, token)
            self._qps.admit()
            self._tokens.require(token, scopes)
            self._inject()
            if request.method in _BODY_METHODS and not (
                is_object and request.content_type == "application/json"
            ):
                raise invalid_body()
            reply = await handler(call)
        except ZoomError as exc:
            reply = Reply(exc.status, exc.body(), exc.headers)
        record = ZoomRecord(
            method=request.method,
            path=request.path,
            query=query,
            status=reply.status,
            body=body,
            at=self._now(),
            client_id=call.token.client_id if call else None,
            user=call.user if call else None,
            code=reply.body.get("code") if reply.body and reply.status >= 400 else None,
            response=reply.body,
        )
        return await self._answer(request, record, reply)

    def _match(self, method: str, path: str) -> tuple[Handler, tuple[str, ...], dict[str, str]]:
        allowed = False
        for candidate in self._routes:
            match = candidate.pattern.match(path)
            if match is None:
                continue
            if candidate.method == method:
                return candidate.handler, candidate.scopes, match.groupdict()
            allowed = True
        if allowed:
            raise method_not_allowed(method)
        raise route_not_found(path)

    def _inject(self) -> None:
        fault = self._faults.choose()
        if fault is Injected.ERROR:
            if self._faults.coin(0.5):
                raise ZoomError(503, 503, "Service unavailable")
            raise ZoomError(500, 500, "Internal error")
        if fault is Injected.THROTTLE:
            raise per_second_limit(self._faults.throttle_retry_after_s)

    # -- /oauth/token --------------------------------------------------------------------------

    async def token(self, request: web.Request) -> web.StreamResponse:
        query = dict(request.query)
        params = dict(query)
        if request.method == "POST" and request.content_type == "application/x-www-form-urlencoded":
            form = await request.post()
            for key, value in form.items():
                params.setdefault(key, str(value))
        if not await self._run_before(request, query, None):
            return web.Response()
        await self._faults.delay()
        client_id = None
        try:
            body, client_id = self._grant(request, params)
            status = 200
        except OAuthError as exc:
            body, status = exc.body, exc.status
        record = ZoomRecord(
            method=request.method,
            path=request.path,
            query=query,
            status=status,
            at=self._now(),
            client_id=client_id,
            response={k: v for k, v in body.items() if k != "access_token"},
        )
        return await self._answer(request, record, Reply(status, body))

    def _grant(self, request: web.Request, params: dict[str, str]) -> tuple[dict[str, Any], str]:
        if request.method != "POST":
            raise OAuthError("invalid_request", "Method not allowed", status=405)
        if self._faults.coin(self.token_error_rate):
            raise OAuthError("server_error", "Internal Error", status=500)
        body, app = self._tokens.grant(request.headers.get("Authorization"), params)
        return body, app.client_id

    # -- shared --------------------------------------------------------------------------------

    async def _run_before(self, request: web.Request, query: dict[str, str], body: Any) -> bool:
        info = RequestInfo(request.method, request.path, query, body, self._now())
        try:
            for hook in list(self._before):
                await hook(info)
        except DropRequest:
            self._log.append(
                ZoomRecord(request.method, request.path, query, 0, body, info.at, dropped="request")
            )
            request.protocol.force_close()
            return False
        return True

    async def _answer(
        self, request: web.Request, record: ZoomRecord, reply: Reply
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
        if reply.body is None:
            return web.Response(status=reply.status, headers=reply.headers)
        return web.Response(
            status=reply.status,
            text=json.dumps(reply.body),
            content_type="application/json",
            charset="UTF-8",
            headers=reply.headers,
        )


def _parse(raw: bytes) -> tuple[Any, bool]:
    if not raw.strip():
        return None, False
    try:
        value = json.loads(raw)
    except ValueError:
        return None, False
    return value, isinstance(value, dict)
