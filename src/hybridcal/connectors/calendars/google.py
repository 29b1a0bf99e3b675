"""Google Calendar connector: service account with domain-wide delegation.

Requests are *built* by google-api-python-client from the Calendar v3 / Gmail v1 discovery
documents it ships (so every parameter is validated by Google's own library) and *sent* with
aiohttp, so the event loop never waits on httplib2. Tokens come from google-auth.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import cache
from importlib import resources
from typing import Any

import aiohttp
import structlog
from googleapiclient.discovery import Resource, build_from_document
from googleapiclient.http import HttpRequest
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt

from hybridcal.connectors.calendars.base import AccessCheck, ChangeBatch, SkippedItem
from hybridcal.connectors.calendars.google_auth import DelegatedTokens
from hybridcal.connectors.calendars.google_wire import parse_event
from hybridcal.connectors.errors import (
    AuthError,
    ConferenceRefusedError,
    ConflictError,
    ConnectorError,
    CursorExpiredError,
    ForbiddenError,
    MalformedEventError,
    NotFoundError,
    ThrottledError,
    TransientError,
    WritesPausedError,
)
from hybridcal.connectors.retry import wait_for_retry
from hybridcal.core.model import (
    CalendarKind,
    CalendarRecord,
    Channel,
    Event,
    Marker,
    Presence,
    Provider,
    Window,
)
from hybridcal.core.patch import EventPatch

log = structlog.get_logger(__name__)

CALENDAR_SCOPE = "https://www.googleapis.com/auth/calendar"
GMAIL_SETTINGS_SCOPE = "https://www.googleapis.com/auth/gmail.settings.basic"
SCOPES = (CALENDAR_SCOPE, GMAIL_SETTINGS_SCOPE)
PAGE_SIZE = 250
# short-lived: back off exponentially with jitter (Google's "Handle API errors" guide)
_RATE_REASONS = {"rateLimitExceeded", "userRateLimitExceeded"}
# "Calendar usage limits exceeded": one user hit Calendar's general limits, for hours
_USAGE_LIMIT = "quotaExceeded"
WRITE_PAUSE = timedelta(hours=3)  # how long a user's writes rest after quotaExceeded
_WRITES = frozenset({"events.patch"})
MEET = "hangoutsMeet"
# how long the calendar list's allowed conference solutions are trusted (a refused Meet is
# tried again after an hour: by then they are read again)
SOLUTIONS_TTL = timedelta(minutes=30)
# Google's default Calendar API quotas are 10,000 requests per minute per project and 600 per
# minute per user; requests are paced a margin below both, so that a large organisation's
# start-up sweep or reconcile round never meets them (a refused request costs a retry and,
# for a burst, minutes of backoff)
PROJECT_REQUESTS_PER_MINUTE = 9_000
USER_REQUESTS_PER_MINUTE = 540
_BY_STATUS: dict[int, type[ConnectorError]] = {
    401: AuthError,
    403: ForbiddenError,
    404: NotFoundError,
    410: CursorExpiredError,  # fullSyncRequired: the sync token expired
    412: ConflictError,
}


@cache
def _discovery(name: str) -> dict[str, Any]:
    doc = resources.files("googleapiclient") / "discovery_cache" / "documents" / f"{name}.json"
    parsed: dict[str, Any] = json.loads(doc.read_text(encoding="utf-8"))
    return parsed


def _service(name: str, root: str) -> Resource:
    # the HTTP object is never used: requests are sent with aiohttp
    import httplib2  # noqa: PLC0415 - only needed to satisfy build_from_document

    return build_from_document(
        _discovery(name), http=httplib2.Http(), client_options={"api_endpoint": root}
    )


class GoogleCalendarConnector:
    provider = Provider.GOOGLE

    def __init__(
        self,
        *,
        tokens: DelegatedTokens,
        session: aiohttp.ClientSession,
        calendar_root: str,
        gmail_root: str,
        send_updates: str = "none",
        room_access_user: str | None = None,
        channel_ttl: timedelta = timedelta(days=7),
        max_retries: int = 5,
        timeout: float = 30.0,
        concurrency: int = 8,
        on_call: Callable[[str], None] | None = None,
        now: Callable[[], datetime] | None = None,
        project_requests_per_minute: int = PROJECT_REQUESTS_PER_MINUTE,
        user_requests_per_minute: int = USER_REQUESTS_PER_MINUTE,
    ) -> None:
        self._tokens = tokens
        tokens.use_session(session)  # grants ride the connector's connections
        self._now = now or (lambda: datetime.now(UTC))
        self._paused: dict[str, datetime] = {}  # subject -> its writes rest until then
        # calendar address -> (read at, allowed conference solution types)
        self._solutions: dict[str, tuple[datetime, frozenset[str]]] = {}
        self._session = session
        # Resources are built once: each `service.events()` call rebuilds every method of the
        # collection (about 3 ms), while building one request from them costs 0.06 ms.
        calendar_service = _service("calendar.v3", calendar_root)
        self._calendar_api = calendar_service  # for calendar_request (room booking)
        self._events = calendar_service.events()
        self._settings = calendar_service.settings()
        self._channels = calendar_service.channels()
        self._calendar_list = calendar_service.calendarList()
        self._vacation = _service("gmail.v1", gmail_root).users().settings()
        self._send_updates = send_updates
        self._room_user = room_access_user
        self._ttl = channel_ttl
        self._attempts = max(1, max_retries)
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        # requests in flight at once: keeps a large organisation's start-up and reconcile
        # rounds inside Google's per-project quota instead of bursting into 403s
        self._in_flight = asyncio.Semaphore(concurrency)
        self._on_call = on_call or (lambda _name: None)
        self._pace = Pacer(project_requests_per_minute, user_requests_per_minute)

    # -- activation --------------------------------------------------------------------------

    async def check_access(self, calendar: CalendarRecord) -> AccessCheck:
        subject = self._subject(calendar)
        if calendar.kind is CalendarKind.ROOM:
            req = self._events.list(calendarId=calendar.address, maxResults=1)
            await self._send(subject, req, "events.list")
            return AccessCheck()
        settings = self._settings
        locale = await self._send(subject, settings.get(setting="locale"), "settings.get")
        zone = await self._send(subject, settings.get(setting="timezone"), "settings.get")
        return AccessCheck(locale=(locale or {}).get("value"), timezone=(zone or {}).get("value"))

    # -- reading -----------------------------------------------------------------------------

    async def list_changes(self, calendar: CalendarRecord) -> ChangeBatch:
        events: list[Event] = []
        skipped: list[SkippedItem] = []
        page_token: str | None = None
        calls = 0
        while True:
            params: dict[str, Any] = {"calendarId": calendar.address, "maxResults": PAGE_SIZE}
            if calendar.cursor:
                params["syncToken"] = calendar.cursor
            if page_token:
                params["pageToken"] = page_token
            page = await self._send(
                self._subject(calendar), self._events.list(**params), "events.list"
            )
            calls += 1
            assert page is not None
            self._parse_into(page.get("items", []), calendar, events, skipped)
            page_token = page.get("nextPageToken")
            if page_token:
                continue
            cursor = page.get("nextSyncToken")
            if not cursor:
                raise ConnectorError("events.list ended without nextSyncToken")
            return ChangeBatch(events, cursor, calendar.cursor is None, skipped, calls)

    async def list_instances(
        self, calendar: CalendarRecord, master_id: str, window: Window
    ) -> list[Event]:
        """The occurrences of a series inside the window, exceptions applied by Google."""
        events: list[Event] = []
        skipped: list[SkippedItem] = []
        page_token: str | None = None
        while True:
            req = self._events.instances(
                calendarId=calendar.address,
                eventId=master_id,
                timeMin=_rfc3339(window.start),
                timeMax=_rfc3339(window.end),
                maxResults=PAGE_SIZE,
                **({"pageToken": page_token} if page_token else {}),
            )
            page = await self._send(self._subject(calendar), req, "events.instances")
            assert page is not None
            self._parse_into(page.get("items", []), calendar, events, skipped)
            page_token = page.get("nextPageToken")
            if not page_token:
                return events

    async def get_event(self, calendar: CalendarRecord, event_id: str) -> Event | None:
        req = self._events.get(calendarId=calendar.address, eventId=event_id)
        try:
            data = await self._send(self._subject(calendar), req, "events.get")
        except NotFoundError:
            return None
        assert data is not None
        return parse_event(data, calendar.key, default_tz=calendar.timezone)

    def _parse_into(
        self,
        items: list[Any],
        calendar: CalendarRecord,
        events: list[Event],
        skipped: list[SkippedItem],
    ) -> None:
        for item in items:
            try:
                events.append(parse_event(item, calendar.key, default_tz=calendar.timezone))
            except MalformedEventError as exc:
                event_id = item.get("id") if isinstance(item, dict) else None
                skipped.append(SkippedItem(event_id, str(exc)))
                log.warning("google.malformed_event", calendar=calendar.key, reason=str(exc))

    # -- writing -----------------------------------------------------------------------------

    async def patch_event(self, calendar: CalendarRecord, event: Event, patch: EventPatch) -> Event:
        subject = self._subject(calendar)
        self._check_paused(subject, "events.patch")
        if patch.conference_request_id is not None and not await self._allows(calendar, MEET):
            raise ConferenceRefusedError(
                f"events.patch: Google Meet is not an allowed conference solution of "
                f"{calendar.address} (calendarList conferenceProperties): Meet is turned off "
                "for the user or the user has no Meet licence"
            )
        body: dict[str, Any] = {}
        if patch.description is not None:
            body["description"] = patch.description
        private = _marker_properties(patch)
        if private:
            body["extendedProperties"] = {"private": private}
        if patch.conference_request_id is not None:
            body["conferenceData"] = {
                "createRequest": {
                    "requestId": patch.conference_request_id,
                    "conferenceSolutionKey": {"type": "hangoutsMeet"},
                }
            }
        elif patch.clear_conference:
            body["conferenceData"] = None
        # conferenceDataVersion=1 on every write, or Google drops existing conference data
        req = self._events.patch(
            calendarId=calendar.address,
            eventId=event.event_id,
            body=body,
            conferenceDataVersion=1,
            sendUpdates=self._send_updates,
        )
        if event.etag:
            req.headers["If-Match"] = event.etag
        data = await self._send(subject, req, "events.patch", retry=False)
        assert data is not None
        return parse_event(data, calendar.key, default_tz=calendar.timezone)

    async def _allows(self, calendar: CalendarRecord, solution: str) -> bool:
        """Whether the calendar list names ``solution`` among the calendar's allowed conference
        solutions (read at most every SOLUTIONS_TTL). Unknown counts as allowed: the patch
        itself then says."""
        now = self._now()
        cached = self._solutions.get(calendar.address)
        if cached is None or now - cached[0] >= SOLUTIONS_TTL:
            req = self._calendar_list.get(calendarId=calendar.address)
            try:
                data = await self._send(self._subject(calendar), req, "calendarList.get") or {}
            except (TransientError, NotFoundError, ForbiddenError) as exc:
                log.info(
                    "google.conference_solutions_unknown", calendar=calendar.key, error=str(exc)
                )
                return True
            listed = (data.get("conferenceProperties") or {}).get("allowedConferenceSolutionTypes")
            if not isinstance(listed, list):
                return True
            cached = (now, frozenset(str(kind) for kind in listed))
            self._solutions[calendar.address] = cached
        return solution in cached[1]

    def _check_paused(self, subject: str, name: str) -> None:
        until = self._paused.get(subject)
        if until is None:
            return
        if self._now() >= until:
            del self._paused[subject]
            log.info("google.writes_resumed", user=subject)
            return
        raise WritesPausedError(_paused_message(name, subject, until), until)

    # -- push channels -----------------------------------------------------------------------

    async def watch(
        self, calendar: CalendarRecord, *, address: str, channel_id: str, secret: str, now: datetime
    ) -> Channel:
        body = {
            "id": channel_id,
            "type": "web_hook",
            "address": address,
            "token": secret,
            "params": {"ttl": str(int(self._ttl.total_seconds()))},
        }
        req = self._events.watch(calendarId=calendar.address, body=body)
        data = await self._send(self._subject(calendar), req, "events.watch")
        assert data is not None
        expiration = data.get("expiration")
        expires = (
            datetime.fromtimestamp(int(expiration) / 1000, UTC) if expiration else now + self._ttl
        )
        return Channel(
            channel_id=channel_id,
            calendar_key=calendar.key,
            secret=secret,
            resource_id=data.get("resourceId"),
            expires_at=expires,
            created_at=now,
        )

    async def renew_channel(
        self,
        calendar: CalendarRecord,  # noqa: ARG002 - the protocol's signature
        channel: Channel,  # noqa: ARG002
        *,
        now: datetime,  # noqa: ARG002
    ) -> Channel | None:
        """Google channels cannot be extended: a new one replaces them."""
        return None

    def is_own_write(
        self,
        calendar_key: str,  # noqa: ARG002 - the protocol's signature
        event_id: str,  # noqa: ARG002
        etag: str | None,  # noqa: ARG002
    ) -> bool:
        """Google's notifications name no event: echoes are recognised by the planner."""
        return False

    async def stop_channel(self, calendar: CalendarRecord, channel: Channel) -> None:
        req = self._channels.stop(
            body={"id": channel.channel_id, "resourceId": channel.resource_id}
        )
        with contextlib.suppress(NotFoundError):  # already gone: expired or stopped before
            await self._send(self._subject(calendar), req, "channels.stop")

    # -- out of office -----------------------------------------------------------------------

    async def get_presence(self, calendar: CalendarRecord, now: datetime) -> Presence:
        if calendar.kind is CalendarKind.ROOM:
            return Presence(calendar.key, out_of_office=False)
        req = self._vacation.getVacation(userId=calendar.address)
        data = await self._send(calendar.address, req, "gmail.getVacation") or {}
        starts = _from_ms(data.get("startTime"))
        ends = _from_ms(data.get("endTime"))
        active = bool(data.get("enableAutoReply")) and (starts is None or starts <= now)
        active = active and (ends is None or now < ends)
        return Presence(
            calendar.key,
            out_of_office=active,
            starts_at=starts,
            ends_at=ends,
            message=data.get("responseSubject") or None,
        )

    async def close(self) -> None:
        """The session belongs to the caller, who closes it."""

    async def calendar_request(
        self,
        calendar: CalendarRecord,
        build: Callable[[Resource], HttpRequest],
        name: str,
        *,
        write: bool = False,
    ) -> dict[str, Any]:
        """A request built from the Calendar v3 service (room booking), sent as the calendar's
        subject with this connector's tokens, pacing, retries and error translation; a write is
        retried only when Google said "slow down" (it was not applied then)."""
        subject = self._subject(calendar)
        if write:
            self._check_paused(subject, name)
        return await self._send(subject, build(self._calendar_api), name, retry=not write) or {}

    # -- transport ---------------------------------------------------------------------------

    def _subject(self, calendar: CalendarRecord) -> str:
        if calendar.kind is CalendarKind.ROOM:
            if not self._room_user:
                raise AuthError(
                    "room calendars need google.room_access_user: an admin user whose "
                    "calendar access covers the room resources"
                )
            return self._room_user
        return calendar.address

    async def _send(
        self, subject: str, req: HttpRequest, name: str, *, retry: bool = True
    ) -> dict[str, Any] | None:
        # a write is retried only when Google said "slow down": it was not applied then
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self._attempts),
            wait=wait_for_retry,
            retry=retry_if_exception_type(TransientError if retry else ThrottledError),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await self._send_once(subject, req, name)
        return None  # pragma: no cover - AsyncRetrying either returns or raises

    async def _send_once(self, subject: str, req: HttpRequest, name: str) -> dict[str, Any] | None:
        for auth_try in range(2):
            token = await self._tokens.token(subject)
            headers = {k: v for k, v in req.headers.items() if k.lower() != "accept-encoding"}
            headers["Authorization"] = f"Bearer {token}"
            self._on_call(name)
            await self._pace.turn(subject)
            try:
                async with (
                    self._in_flight,
                    self._session.request(
                        req.method, req.uri, data=req.body, headers=headers, timeout=self._timeout
                    ) as resp,
                ):
                    status = resp.status
                    text = await resp.text()
                    retry_after = resp.headers.get("Retry-After")
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise TransientError(f"{name}: {type(exc).__name__}") from None
            if status == 401 and auth_try == 0:
                self._tokens.forget(subject)  # token revoked or expired early: one fresh try
                continue
            if 200 <= status < 300:
                return json.loads(text) if text.strip() else None
            if status in (403, 429) and _reason(text)[0] == _USAGE_LIMIT:
                # no retry will help for hours: this user's writes rest, reads go on
                until = self._now() + WRITE_PAUSE
                self._paused[subject] = until
                log.warning("google.writes_paused", user=subject, until=until.isoformat())
                raise WritesPausedError(_paused_message(name, subject, until), until)
            raise _error(name, status, text, retry_after)
        raise AuthError(f"{name}: access token refused twice")  # pragma: no cover


class Pacer:
    """Token buckets, one for the project and one per subject: bursts pass at once, and no
    60-second window holds more than the bucket's size plus a minute of its rate, which is
    kept below the quota. A request over the limit waits for its turn. Buckets of subjects
    that have refilled are dropped, so the table stays small however large the organisation.
    """

    _PRUNE_AT = 256

    def __init__(self, project: int, user: int) -> None:
        # a tenth of the quota as the burst, the rest as the steady rate (per second)
        self._project = (project / 10, project * 0.9 / 60)
        self._user = (user / 10, user * 0.9 / 60)
        self._project_level = (self._project[0], time.monotonic())
        self._user_levels: dict[str, tuple[float, float]] = {}

    async def turn(self, subject: str) -> None:
        now = time.monotonic()
        self._project_level, wait = _take(self._project_level, self._project, now)
        user_level = self._user_levels.get(subject, (self._user[0], now))
        self._user_levels[subject], user_wait = _take(user_level, self._user, now)
        if len(self._user_levels) > self._PRUNE_AT:
            size, rate = self._user
            self._user_levels = {
                key: (level, at)
                for key, (level, at) in self._user_levels.items()
                if level + (now - at) * rate < size
            }
        wait = max(wait, user_wait)
        if wait > 0:
            await asyncio.sleep(wait)


def _take(
    state: tuple[float, float], bucket: tuple[float, float], now: float
) -> tuple[tuple[float, float], float]:
    """One request from a bucket of (size, rate per second) whose level was ``state`` =
    (level, at): the new state and how long the request waits (a level below zero is debt)."""
    size, rate = bucket
    level = min(size, state[0] + (now - state[1]) * rate) - 1
    return (level, now), max(0.0, -level / rate)


def _reason(text: str) -> tuple[str, str]:
    """(first error reason, message) of Google's error body."""
    try:
        err = json.loads(text).get("error", {})
        message = str(err.get("message", ""))
        reason = str((err.get("errors") or [{}])[0].get("reason", ""))
    except (ValueError, AttributeError, IndexError, TypeError):
        return "", text[:200]
    return reason, message


def _error(name: str, status: int, text: str, retry_after: str | None) -> ConnectorError:
    reason, message = _reason(text)
    what = f"{name}: {status} {reason or ''} {message}".strip()
    if status == 429 or (status == 403 and reason in _RATE_REASONS):
        return ThrottledError(what, _retry_after(retry_after))
    if status >= 500:
        return TransientError(what)
    if status == 400 and "conference type" in message.lower():
        # Meet is turned off for the organiser, or they have no licence for it
        return ConferenceRefusedError(what)
    return _BY_STATUS.get(status, ConnectorError)(what)


def _paused_message(name: str, subject: str, until: datetime) -> str:
    return (
        f"{name}: Calendar usage limits exceeded for {subject} (403 quotaExceeded); "
        f"writes paused until {until.astimezone(UTC):%Y-%m-%d %H:%M} UTC, reads go on"
    )


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _marker_properties(patch: EventPatch) -> dict[str, str | None]:
    """Our keys only: Google merges ``extendedProperties.private`` key by key on patch, and a
    null value deletes a key, so other applications' properties are never touched."""
    names = Marker.property_names()
    if patch.marker is not None:
        props = patch.marker.to_properties()
        return {name: props.get(name) for name in names}
    if patch.clear_marker:
        return dict.fromkeys(names)
    return {}


def _rfc3339(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _from_ms(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromtimestamp(int(value) / 1000, UTC)
    except ValueError:
        return None
