"""``/subscriptions``: change-notification subscriptions on mailbox events.

Create checks what Graph checks, then performs the **validation handshake**: a POST to
``notificationUrl?validationToken=<url-encoded token>`` (and to ``lifecycleNotificationUrl``) with
``Content-Type: text/plain`` and no body, which must answer 200 within 10 s with
``Content-Type: text/plain`` and the decoded token as the body. Otherwise 400
``ValidationError`` and no subscription. The token is Graph's style of text (with spaces), so a
receiver that echoes it without decoding fails as it would against Graph.

Rules: ``changeType`` is a comma list of ``created``/``updated``/``deleted``; ``resource`` is
``users/{id|upn}/events`` (a leading ``/`` and ``users/{id}/calendar/events`` are accepted);
``expirationDateTime`` must be in the future and at most ``MAX_MINUTES`` ahead (Graph
documents 10,080 minutes for events, implementers see anything beyond about 10,070 refused, so
the sandbox enforces 10,070), and is raised to 45 minutes when shorter; ``clientState`` at most
128 characters; ``notificationUrl`` must be HTTPS, except plain HTTP to a loopback address (a
local daemon has no certificate); ``lifecycleNotificationUrl`` can only be set on create; at
most 1,000 subscriptions per mailbox across apps; the app needs ``Calendars.Read`` or
``Calendars.ReadWrite`` and access to the mailbox under its application access policy. An app
sees only its own subscriptions. Expired subscriptions are deleted (404 afterwards).

Simplified: no rich notifications (``includeResourceData``), no ``notificationQueryOptions``,
no ``/reauthorize`` action (a PATCH reauthorizes too). Lifecycle notifications come from
``send_lifecycle`` or, on Graph's own schedule, from ``lifecycle.LifecycleSchedule``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from ipaddress import ip_address
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import aiohttp

from hybridcal.sandbox.faults import Faults
from hybridcal.sandbox.microsoft.auth import Registration
from hybridcal.sandbox.microsoft.directory import Directory, Mailbox
from hybridcal.sandbox.microsoft.errors import (
    POLICY_DENIED,
    GraphError,
    read_only,
    unknown_property,
)
from hybridcal.sandbox.microsoft.times import format_stamp, parse_query_instant

MAX_MINUTES = 10_070
MIN_MINUTES = 45
MAX_PER_MAILBOX = 1000
CHANGE_TYPES = ("created", "updated", "deleted")
TLS_VERSIONS = ("v1_0", "v1_1", "v1_2", "v1_3")
VALIDATION_TIMEOUT_S = 10.0
_RESOURCE = re.compile(r"^/?users/(?P<user>[^/]+)/(?:calendar/)?events$", re.IGNORECASE)
_CREATE_KEYS = {
    "changeType",
    "notificationUrl",
    "lifecycleNotificationUrl",
    "resource",
    "expirationDateTime",
    "clientState",
    "latestSupportedTlsVersion",
    "includeResourceData",
    "encryptionCertificate",
    "encryptionCertificateId",
    "notificationQueryOptions",
    "notificationUrlAppId",
}
_READ_ONLY = {"id", "applicationId", "creatorId"}
_LOOPBACK_NAMES = {"localhost", "localhost.localdomain"}


@dataclass
class Subscription:
    id: str
    app_id: str
    creator_id: str
    mailbox: Mailbox
    resource: str
    change_types: tuple[str, ...]
    notification_url: str
    lifecycle_url: str | None
    expiration: datetime
    client_state: str | None
    tls: str
    silent_after: datetime | None = None
    # reauthorizationRequired was sent: no change notifications until the app reauthorizes
    reauthorization_pending: bool = False
    lose_next: bool = False  # the next change's notifications are lost (then `missed`)

    def live(self, now: datetime) -> bool:
        if now >= self.expiration:
            return False
        return self.silent_after is None or now < self.silent_after

    def describe(self, root: str = "") -> dict[str, Any]:
        out: dict[str, Any] = {}
        if root:
            out["@odata.context"] = f"{root}/$metadata#subscriptions/$entity"
        out.update(
            id=self.id,
            resource=self.resource,
            applicationId=self.app_id,
            changeType=",".join(self.change_types),
            clientState=self.client_state,
            notificationUrl=self.notification_url,
            notificationQueryOptions=None,
            lifecycleNotificationUrl=self.lifecycle_url,
            expirationDateTime=format_stamp(self.expiration),
            creatorId=self.creator_id,
            includeResourceData=None,
            latestSupportedTlsVersion=self.tls,
            encryptionCertificate=None,
            encryptionCertificateId=None,
            notificationUrlAppId=None,
        )
        return out


def _extension(status: int, operation: str, reason: str) -> GraphError:
    names = {400: "BadRequest", 403: "Forbidden", 404: "NotFound"}
    return GraphError(
        status,
        "ExtensionError",
        f"Operation: {operation}; Exception: [Status Code: {names.get(status, status)}; "
        f"Reason: {reason}]",
    )


def _invalid(message: str) -> GraphError:
    return GraphError(400, "InvalidRequest", message)


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value:
        raise _invalid(f"Invalid request: '{name}' is required.")
    parts = urlsplit(value)
    secure = parts.scheme == "https" or (parts.scheme == "http" and _is_loopback(parts.hostname))
    if not parts.hostname or not secure:
        raise _invalid(f"Invalid '{name}': the URL must use https ('{value}').")
    return value


class SubscriptionService:
    def __init__(
        self,
        directory: Directory,
        faults: Faults,
        now: Callable[[], datetime],
        new_id: Callable[[], str],
    ) -> None:
        self._directory = directory
        self._faults = faults
        self._now = now
        self._new_id = new_id
        self._session: aiohttp.ClientSession | None = None
        self.subscriptions: dict[str, Subscription] = {}
        self.validations = 0

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=VALIDATION_TIMEOUT_S)
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    # -- reading -------------------------------------------------------------------------------

    def purge(self) -> None:
        now = self._now()
        for key, sub in list(self.subscriptions.items()):
            if now >= sub.expiration:
                del self.subscriptions[key]

    def live_for(self, mailbox: str) -> list[Subscription]:
        self.purge()
        now = self._now()
        return [
            s for s in self.subscriptions.values() if s.mailbox.email == mailbox and s.live(now)
        ]

    def owned(self, app_id: str, sub_id: str) -> Subscription:
        self.purge()
        found = self.subscriptions.get(sub_id)
        if found is None or found.app_id != app_id:
            raise GraphError(
                404, "ResourceNotFound", f"The object was not found: subscription '{sub_id}'."
            )
        return found

    def of_app(self, app_id: str) -> list[Subscription]:
        self.purge()
        return [s for s in self.subscriptions.values() if s.app_id == app_id]

    # -- writing -------------------------------------------------------------------------------

    async def create(self, app: Registration, roles: frozenset[str], body: Any) -> Subscription:
        if not isinstance(body, Mapping):
            raise _invalid("The request body must be a JSON object.")
        for key in body:
            if key in _READ_ONLY:
                raise read_only(key)
            if key not in _CREATE_KEYS and key != "@odata.type":
                raise unknown_property(key, "microsoft.graph.subscription")
        if body.get("includeResourceData"):
            raise _invalid(
                "Rich notifications (includeResourceData) are not simulated; an "
                "encryptionCertificate would be required."
            )
        change_types = _change_types(body.get("changeType"))
        url = check_url(body.get("notificationUrl"), "notificationUrl")
        lifecycle = body.get("lifecycleNotificationUrl")
        if lifecycle is not None:
            lifecycle = check_url(lifecycle, "lifecycleNotificationUrl")
        mailbox = self._resource(body.get("resource"), app, roles)
        expiration = self._expiration(body.get("expirationDateTime"), "Create")
        client_state = body.get("clientState")
        if client_state is not None and (
            not isinstance(client_state, str) or len(client_state) > 128
        ):
            raise _invalid("Invalid 'clientState': at most 128 characters.")
        tls = body.get("latestSupportedTlsVersion") or "v1_2"
        if tls not in TLS_VERSIONS:
            raise _invalid(f"Invalid 'latestSupportedTlsVersion': '{tls}'.")
        self.purge()
        live = [s for s in self.subscriptions.values() if s.mailbox is mailbox]
        if len(live) >= MAX_PER_MAILBOX:
            raise _extension(
                403, "Create", "The mailbox has reached the maximum of 1000 subscriptions."
            )
        await self._validate(url)
        if lifecycle is not None:
            await self._validate(lifecycle)
        now = self._now()
        silent = self._faults.channel_silent_expiry_s
        sub = Subscription(
            id=self._new_id(),
            app_id=app.app.client_id,
            creator_id=app.service_principal_id,
            mailbox=mailbox,
            resource=str(body["resource"]),
            change_types=change_types,
            notification_url=url,
            lifecycle_url=lifecycle,
            expiration=expiration,
            client_state=client_state,
            tls=tls,
            silent_after=None if silent is None else now + timedelta(seconds=silent),
        )
        self.subscriptions[sub.id] = sub
        return sub

    async def update(self, app_id: str, sub_id: str, body: Any) -> Subscription:
        sub = self.owned(app_id, sub_id)
        if not isinstance(body, Mapping):
            raise _invalid("The request body must be a JSON object.")
        for key in body:
            if key == "lifecycleNotificationUrl":
                raise _invalid(
                    "lifecycleNotificationUrl can only be set when the subscription is created."
                )
            if key in _READ_ONLY or key in {"resource", "changeType", "clientState"}:
                raise read_only(key)
            if key not in {"expirationDateTime", "notificationUrl", "@odata.type"}:
                raise unknown_property(key, "microsoft.graph.subscription")
        expiration = sub.expiration
        if "expirationDateTime" in body:
            expiration = self._expiration(body["expirationDateTime"], "Update")
        url = sub.notification_url
        if "notificationUrl" in body:
            url = check_url(body["notificationUrl"], "notificationUrl")
            if url != sub.notification_url:
                await self._validate(url)
        sub.expiration, sub.notification_url = expiration, url
        sub.reauthorization_pending = False  # a PATCH reauthorizes: the flow resumes
        return sub

    def delete(self, app_id: str, sub_id: str) -> None:
        sub = self.owned(app_id, sub_id)
        del self.subscriptions[sub.id]

    def remove(self, sub_id: str) -> Subscription | None:
        return self.subscriptions.pop(sub_id, None)

    # -- checks --------------------------------------------------------------------------------

    def _resource(self, value: Any, app: Registration, roles: frozenset[str]) -> Mailbox:
        if not isinstance(value, str) or not value:
            raise _invalid("Invalid request: 'resource' is required.")
        if value.strip("/").lower().startswith("me/"):
            raise _invalid("/me request is only valid with delegated authentication flow.")
        match = _RESOURCE.match(value)
        if match is None:
            raise _extension(
                400, "Create", f"The resource '{value}' is not supported; use users/{{id}}/events."
            )
        if not roles & {"Calendars.Read", "Calendars.ReadWrite"}:
            raise _extension(403, "Create", "Access is denied. Check credentials and try again.")
        user = unquote(match.group("user")).strip("'()")
        found = self._directory.find(user)
        if found is None or not found.has_mailbox:
            raise _extension(404, "Create", f"The requested user '{user}' is invalid.")
        allowed = app.allowed_mailboxes
        if allowed is not None and found.email not in allowed:
            raise _extension(403, "Create", POLICY_DENIED)
        return found

    def _expiration(self, value: Any, operation: str) -> datetime:
        if not isinstance(value, str) or not value:
            raise _invalid("Invalid request: 'expirationDateTime' is required.")
        try:
            when = parse_query_instant(value, "expirationDateTime")
        except GraphError:
            raise _invalid(f"Invalid 'expirationDateTime': '{value}'.") from None
        now = self._now()
        if when <= now:
            raise _extension(400, operation, "Subscription expiration time must be in the future.")
        if when > now + timedelta(minutes=MAX_MINUTES):
            raise _extension(
                400,
                operation,
                f"Subscription expiration can only be {MAX_MINUTES} minutes in the future.",
            )
        when = max(when, now + timedelta(minutes=MIN_MINUTES))
        cap = self._faults.channel_ttl_override_s
        if cap is not None:
            when = min(when, now + timedelta(seconds=cap))
        return when.astimezone(UTC)

    async def _validate(self, url: str) -> None:
        token = (
            "Validation: Testing client application reachability for subscription Request-Id: "
            f"{uuid.uuid4()}"
        )
        target = f"{url}{'&' if '?' in url else '?'}validationToken={quote(token, safe='')}"
        self.validations += 1
        ok = False
        if self._session is not None:
            try:
                async with self._session.post(
                    target, data=b"", headers={"Content-Type": "text/plain; charset=utf-8"}
                ) as resp:
                    text = await resp.text()
                    kind = resp.headers.get("Content-Type", "")
                    ok = resp.status == 200 and kind.startswith("text/plain") and text == token
            except (aiohttp.ClientError, TimeoutError, UnicodeDecodeError):
                ok = False
        if not ok:
            raise GraphError(
                400,
                "ValidationError",
                "Subscription validation request failed. Notification endpoint must respond "
                "with 200 OK to validation request.",
            )


def _change_types(value: Any) -> tuple[str, ...]:
    if not isinstance(value, str) or not value.strip():
        raise _invalid("Invalid request: 'changeType' is required.")
    parts = [p.strip() for p in value.split(",")]
    for part in parts:
        if part not in CHANGE_TYPES:
            raise _invalid(f"Invalid 'changeType' attribute: '{part}'.")
    if len(set(parts)) != len(parts):
        raise _invalid(f"Invalid 'changeType' attribute: '{value}' repeats a value.")
    return tuple(parts)
