"""The request pipeline shared by the Calendar and Gmail simulators.

Order of checks, as Google's front end does it: route (404/405), query parameters (400), the
bearer token (401), the token's scopes against the method's scopes from the discovery document
(403 ``insufficientPermissions``), injected faults, the user's usage limits (``limits.py``),
then the method itself. Every request is
recorded in :class:`RequestRecord` for tests to assert on.

Crash tests hook in around the method: a ``before`` hook sees the request once it passed the
checks and may raise :class:`DropRequest` (not processed, connection closed); an ``after`` hook
sees the record once the change is applied and may raise :class:`DropResponse` (change kept,
answer lost).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiohttp import web

from hybridcal.sandbox.faults import DropRequest, DropResponse, Faults, Injected
from hybridcal.sandbox.google.auth import AccessToken, TokenService
from hybridcal.sandbox.google.discovery import Api, MethodSpec
from hybridcal.sandbox.google.errors import ApiError
from hybridcal.sandbox.google.limits import UsageLimits


@dataclass(frozen=True)
class RequestRecord:
    method: str
    path: str
    query: dict[str, str]
    status: int
    subject: str | None
    method_id: str | None = None
    body: Any = None
    if_match: str | None = None
    at: datetime | None = None


@dataclass
class Call:
    spec: MethodSpec
    path: dict[str, str]
    params: dict[str, Any]
    body: dict[str, Any]
    token: AccessToken
    headers: Mapping[str, str]


@dataclass
class Reply:
    status: int = 200
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Call], Awaitable[Reply]]
Hook = Callable[[RequestRecord], Awaitable[None]]


@dataclass
class Hooks:
    before: list[Hook] = field(default_factory=list)
    after: list[Hook] = field(default_factory=list)


class ApiFrontEnd:
    def __init__(
        self,
        api: Api,
        prefix: str,
        handlers: Mapping[str, Handler],
        *,
        tokens: TokenService,
        faults: Faults,
        log: list[RequestRecord],
        now: Callable[[], datetime],
        with_status: bool = False,
        hooks: Hooks | None = None,
        limits: UsageLimits | None = None,
    ) -> None:
        self._hooks = hooks or Hooks()
        self._limits = limits
        self._api = api
        self._prefix = prefix
        self._handlers = handlers
        self._tokens = tokens
        self._faults = faults
        self._log = log
        self._now = now
        self._with_status = with_status

    async def handle(self, request: web.Request) -> web.StreamResponse:
        subject: str | None = None
        method_id: str | None = None
        body: Any = None
        try:
            raw = request.raw_path.split("?", 1)[0]
            spec, path = self._api.match(request.method, raw[len(self._prefix) :])
            method_id = spec.id
            params = self._api.parse_query(spec, list(request.query.items()))
            if spec.request_schema is not None:
                body = await _json_body(request)
            token = self._tokens.authenticate(request.headers.get("Authorization"))
            subject = token.subject
            _check_scopes(spec, token)
            await self._faults.delay()
            self._inject()
            if self._limits is not None:
                self._limits.check(token.subject, spec.id, self._now())
            handler = self._handler(spec)
            checked = self._api.validate_body(spec, body) if spec.request_schema else {}
            arrived = self._record(request, 0, subject, spec.id, body)
            if not await self._run(self._hooks.before, arrived, request):
                return web.Response()
            reply = await handler(Call(spec, path, params, checked, token, request.headers))
        except ApiError as exc:
            reply = Reply(exc.code, exc.body(with_status=self._with_status), exc.headers)
        record = self._record(request, reply.status, subject, method_id, body)
        self._log.append(record)
        if not await self._run(self._hooks.after, record, request):
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

    def _record(
        self,
        request: web.Request,
        status: int,
        subject: str | None,
        method_id: str | None,
        body: Any,
    ) -> RequestRecord:
        return RequestRecord(
            method=request.method,
            path=request.path,
            query=dict(request.query),
            status=status,
            subject=subject,
            method_id=method_id,
            body=body,
            if_match=request.headers.get("If-Match"),
            at=self._now(),
        )

    @staticmethod
    async def _run(hooks: list[Hook], record: RequestRecord, request: web.Request) -> bool:
        """False when a hook dropped the request or its answer: the connection is closed at
        once, so the client sees a broken connection instead of an answer."""
        try:
            for hook in list(hooks):
                await hook(record)
        except (DropRequest, DropResponse):
            request.protocol.force_close()
            return False
        return True

    def _handler(self, spec: MethodSpec) -> Handler:
        handler = self._handlers.get(spec.id)
        if handler is None:
            raise ApiError(501, "notImplemented", f"{spec.id} is not simulated")
        return handler

    def _inject(self) -> None:
        fault = self._faults.choose()
        if fault is Injected.ERROR:
            raise ApiError(500, "backendError", "Backend Error")
        if fault is Injected.THROTTLE:
            headers = {}
            if self._faults.throttle_retry_after_s is not None:
                headers["Retry-After"] = str(int(self._faults.throttle_retry_after_s))
            if self._faults.coin(0.5):
                raise ApiError(
                    429,
                    "rateLimitExceeded",
                    "Rate Limit Exceeded",
                    domain="usageLimits",
                    headers=headers,
                )
            raise ApiError(
                403,
                "rateLimitExceeded",
                "Rate Limit Exceeded",
                domain="usageLimits",
                headers=headers,
            )


def _check_scopes(spec: MethodSpec, token: AccessToken) -> None:
    if spec.scopes and not spec.scopes & token.scopes:
        raise ApiError(
            403, "insufficientPermissions", "Request had insufficient authentication scopes."
        )


async def _json_body(request: web.Request) -> Any:
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except ValueError:
        raise ApiError(400, "parseError", "Parse Error") from None
