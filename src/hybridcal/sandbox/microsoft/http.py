"""The request pipeline in front of every Graph v1.0 route.

Order, as Graph's front end does it: route (400 ``BadRequest`` for an unknown segment, 405 for
a method the resource lacks), the bearer token (401 ``InvalidAuthenticationToken``), the body
(400 for malformed JSON, 415 for a non-JSON body), the app's roles (403), the mailbox (404
``ErrorInvalidUser`` / ``MailboxNotEnabledForRESTAPI``) and its application access policy (403),
the mailbox concurrency limit (at most ``MAILBOX_CONCURRENCY`` requests of one app per mailbox
in flight; the next gets 429 ``ApplicationThrottled`` with ``Retry-After: 1``), injected faults
(latency; 429 ``TooManyRequests`` with ``Retry-After``; 500 ``generalException`` or 503
``ServiceUnavailable`` with ``Retry-After: 1``), then the handler. Every answer carries
``request-id`` and ``client-request-id`` (echoed when the client sent one) and errors carry them
in ``innerError``. Every request is kept as a frozen :class:`GraphRecord`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from hybridcal.sandbox.faults import Faults, Injected
from hybridcal.sandbox.microsoft.auth import AccessToken, Registration, TokenService
from hybridcal.sandbox.microsoft.directory import Directory, Mailbox
from hybridcal.sandbox.microsoft.errors import GraphError, policy_denied

MAILBOX_CONCURRENCY = 4
JSON_TYPE = (
    "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;"
    "charset=utf-8"
)


@dataclass(frozen=True)
class GraphRecord:
    """One request as the simulator saw it (for tests and benchmarks to assert on)."""

    method: str
    path: str
    query: dict[str, str]
    status: int
    operation: str | None
    app_id: str | None
    mailbox: str | None
    body: Any
    if_match: str | None
    prefer: tuple[str, ...]
    request_id: str
    at: datetime


@dataclass(frozen=True)
class Route:
    """What the router found: an operation, its path values, and what it needs."""

    operation: str
    params: dict[str, str]
    roles: frozenset[str] = frozenset()
    roles_error: str = "exchange"  # "exchange" (ErrorAccessDenied) | "directory"
    user: str | None = None  # the users/{id} segment for mailbox operations
    mailbox_scoped: bool = True


@dataclass
class Call:
    method: str
    path: str
    route: Route
    query: dict[str, str]
    headers: Mapping[str, str]
    body: Any
    token: AccessToken
    app: Registration
    prefer: dict[str, str]
    mailbox: Mailbox | None = None
    applied: list[str] = field(default_factory=list)

    @property
    def params(self) -> dict[str, str]:
        return self.route.params

    def user(self) -> Mailbox:
        assert self.mailbox is not None
        return self.mailbox


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Call], Awaitable[Reply]]
Router = Callable[[str, list[str]], Route]


def parse_prefer(values: list[str]) -> dict[str, str]:
    """``Prefer`` preferences by lower-case name (``odata.maxpagesize``, ``outlook.timezone``)."""
    out: dict[str, str] = {}
    for value in values:
        for part in _split(value):
            name, _, raw = part.partition("=")
            if name.strip():
                out[name.strip().lower()] = raw.strip().strip('"')
    return out


def _split(text: str) -> list[str]:
    parts, current, quoted = [], "", False
    for char in text:
        if char == '"':
            quoted = not quoted
        if char == "," and not quoted:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [p for p in (x.strip() for x in parts) if p]


class GraphFrontEnd:
    def __init__(
        self,
        *,
        router: Router,
        handlers: Mapping[str, Handler],
        tokens: TokenService,
        directory: Directory,
        faults: Faults,
        log: list[GraphRecord],
        now: Callable[[], datetime],
    ) -> None:
        self._router = router
        self._handlers = handlers
        self._tokens = tokens
        self._directory = directory
        self._faults = faults
        self._log = log
        self._now = now
        self._inflight: dict[tuple[str, str], int] = {}
        # the most requests of one app in flight on one mailbox at once (benchmarks compare it
        # with Graph's limit of MAILBOX_CONCURRENCY)
        self.peak_mailbox_inflight = 0

    async def handle(self, request: web.Request) -> web.StreamResponse:
        request_id = str(uuid.uuid4())
        client_id = request.headers.get("client-request-id") or request_id
        raw_path = request.raw_path.split("?", 1)[0]
        segments = [unquote(s) for s in raw_path.split("/")[2:]]
        while segments and segments[-1] == "":
            segments.pop()
        prefer_raw = tuple(request.headers.getall("Prefer", []))
        record: dict[str, Any] = {"operation": None, "app_id": None, "mailbox": None, "body": None}
        try:
            reply = await self._handle(request, segments, prefer_raw, record)
        except GraphError as exc:
            inner = {
                "date": self._now().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
                "request-id": request_id,
                "client-request-id": client_id,
            }
            reply = Reply(exc.status, exc.body(inner), dict(exc.headers))
        self._log.append(
            GraphRecord(
                method=request.method,
                path=request.path,
                query=dict(request.query),
                status=reply.status,
                operation=record["operation"],
                app_id=record["app_id"],
                mailbox=record["mailbox"],
                body=record["body"],
                if_match=request.headers.get("If-Match"),
                prefer=prefer_raw,
                request_id=request_id,
                at=self._now(),
            )
        )
        headers = {"request-id": request_id, "client-request-id": client_id, **reply.headers}
        if reply.body is None:
            return web.Response(status=reply.status, headers=headers)
        headers["Content-Type"] = JSON_TYPE
        return web.Response(status=reply.status, text=json.dumps(reply.body), headers=headers)

    async def _handle(
        self,
        request: web.Request,
        segments: list[str],
        prefer_raw: tuple[str, ...],
        record: dict[str, Any],
    ) -> Reply:
        route = self._router(request.method, segments)
        record["operation"] = route.operation
        token = self._tokens.authenticate(request.headers.get("Authorization"))
        app = self._tokens.apps[token.app_id]
        record["app_id"] = token.app_id
        body = await _body(request)
        record["body"] = body
        if route.roles and not route.roles & token.roles:
            if route.roles_error == "directory":
                raise GraphError(
                    403,
                    "Authorization_RequestDenied",
                    "Insufficient privileges to complete the operation.",
                )
            raise GraphError(
                403, "ErrorAccessDenied", "Access is denied. Check credentials and try again."
            )
        mailbox: Mailbox | None = None
        if route.user is not None:
            if route.mailbox_scoped:
                mailbox = self._directory.mailbox(route.user)
                allowed = app.allowed_mailboxes
                if allowed is not None and mailbox.email not in allowed:
                    raise policy_denied()
            else:
                mailbox = self._directory.get(route.user)
            record["mailbox"] = mailbox.email
        call = Call(
            method=request.method,
            path=request.path,
            route=route,
            query=dict(request.query),
            headers=request.headers,
            body=body,
            token=token,
            app=app,
            prefer=parse_prefer(list(prefer_raw)),
            mailbox=mailbox,
        )
        key = (token.app_id, mailbox.email) if mailbox and route.mailbox_scoped else None
        if key is not None and self._inflight.get(key, 0) >= MAILBOX_CONCURRENCY:
            raise GraphError(
                429,
                "ApplicationThrottled",
                "Application is over its MailboxConcurrency limit.",
                headers={"Retry-After": "1"},
            )
        if key is not None:
            self._inflight[key] = self._inflight.get(key, 0) + 1
            self.peak_mailbox_inflight = max(self.peak_mailbox_inflight, self._inflight[key])
        try:
            await self._faults.delay()
            self._inject()
            reply = await self._handlers[route.operation](call)
        finally:
            if key is not None:
                self._inflight[key] -= 1
        if call.applied:
            reply.headers["Preference-Applied"] = ", ".join(call.applied)
        return reply

    def _inject(self) -> None:
        fault = self._faults.choose()
        if fault is Injected.THROTTLE:
            wait = self._faults.throttle_retry_after_s
            seconds = max(1, round(wait)) if wait is not None else 1
            raise GraphError(
                429,
                "TooManyRequests",
                "Too many requests. Please retry after the time given in Retry-After.",
                headers={"Retry-After": str(seconds)},
            )
        if fault is Injected.ERROR:
            if self._faults.coin(0.5):
                raise GraphError(
                    503,
                    "ServiceUnavailable",
                    "The service is temporarily unavailable. Please retry.",
                    headers={"Retry-After": "1"},
                )
            raise GraphError(500, "generalException", "An internal server error occurred.")


async def _body(request: web.Request) -> Any:
    if request.method not in {"POST", "PATCH", "PUT"}:
        return None
    raw = await request.read()
    if not raw.strip():
        return None
    kind = request.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
    if kind != "application/json":
        raise GraphError(
            415, "UnsupportedMediaType", f"The content type '{kind or 'none'}' is not supported."
        )
    try:
        return json.loads(raw)
    except ValueError:
        raise GraphError(
            400,
            "BadRequest",
            "Unable to read JSON request payload. Please ensure Content-Type header is set and "
            "payload is of valid JSON format.",
        ) from None
