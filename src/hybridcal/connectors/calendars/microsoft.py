"""Microsoft 365 calendar connector: Microsoft Graph v1.0 with application permissions.

Requests are *addressed* by msgraph-sdk's request builders (URL templates, path and query
parameter encoding, the ``calendarView/delta()`` function syntax) and *sent* through the same
Graph request adapter (kiota on httpx, with the credential's bearer token), but answered raw:
a native response handler hands back status, headers and bytes, which ``microsoft_wire`` parses.
That keeps one parse path for every event (delta pages, GETs, PATCH answers), gives access to
``@odata.etag``, ``@removed`` and the extended properties without the SDK's typed models, and
lets the connector read Graph's error code and ``Retry-After`` itself. Absolute nextLink and
deltaLink URLs are followed with the builders' ``with_url``.

Kiota's own retry handler is switched off: retries happen here, with the backoff every connector
shares (``connectors.retry``: exponential with jitter, or the server's ``Retry-After``), so a
throttled call is retried once per policy and not 3 x 5 times, the per-mailbox slot is released
while waiting, and every attempt is counted.

msgraph-sdk is imported only when this connector is built (0.2 s, 32 MB), so installs that use
Google only never load it.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import ssl
import warnings
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import aiohttp
import structlog
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt

from hybridcal.connectors.calendars.base import AccessCheck, ChangeBatch, SkippedItem
from hybridcal.connectors.calendars.microsoft_auth import GRAPH_SCOPE, GraphCredential
from hybridcal.connectors.calendars.microsoft_state import is_signed_state, sign_state
from hybridcal.connectors.calendars.microsoft_wire import (
    MARKER_EXPAND,
    event_type,
    has_marker_property,
    iana_zone,
    is_removed,
    marker_after,
    parse_event,
    patch_body,
)
from hybridcal.connectors.errors import (
    AuthError,
    ConflictError,
    ConnectorError,
    CursorExpiredError,
    ForbiddenError,
    MalformedEventError,
    NotFoundError,
    ThrottledError,
    TransientError,
)
from hybridcal.connectors.retry import wait_for_retry
from hybridcal.core.html_text import html_to_text, looks_like_html
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
from hybridcal.core.recurrence import may_occur_in

if TYPE_CHECKING:
    import httpx
    from kiota_abstractions.request_information import RequestInformation
    from msgraph.generated.users.item.user_item_request_builder import UserItemRequestBuilder
    from msgraph.graph_request_adapter import GraphRequestAdapter
    from msgraph.graph_service_client import GraphServiceClient

log = structlog.get_logger(__name__)

DEFAULT_GRAPH_ROOT = "https://graph.microsoft.com/v1.0"
MAX_SUBSCRIPTION_MINUTES = 10_070  # Graph allows 10,080 for events; it refuses values close to it
SERIES_MEMORY = 100_000  # occurrences remembered for removals (about 20 MB at most)
DEFAULT_SUBSCRIPTION_MINUTES = 10_000  # leaves room for a clock that runs ahead of Graph's
MAX_CLIENT_STATE = 128
CURSOR_PREFIX = "graph-delta:v1"
CONSENT_HINT = (
    "grant admin consent for Calendars.ReadWrite, MailboxSettings.Read and User.Read.All in "
    "Entra ID (App registrations > API permissions > Grant admin consent)"
)
_LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})
USER_AGENT = "hybridcal"
# what kiota decodes in query parameter names (upper and lower case hex)
_ENCODED_NAME_CHARS = tuple(
    (code, char)
    for char in "$.-~"
    for code in dict.fromkeys((f"%{ord(char):02X}", f"%{ord(char):02x}"))
)
# a subscription made this long ago by this process may still be on its way into the store
FRESH_SUBSCRIPTION_SECONDS = 120.0
_EXPIRED_CODES = frozenset({"syncstatenotfound", "resyncrequired", "syncstateinvalid"})
_POLICY_WORDS = ("accesspolicy", "access policy", "[raop]")
_NOT_FOUND_CODES = frozenset(
    {"erroritemnotfound", "request_resourcenotfound", "resourcenotfound", "errorinvaliduser"}
)


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int
    data: dict[str, Any]


class _Calls:
    """HTTP calls of one operation (ChangeBatch.api_calls)."""

    def __init__(self) -> None:
        self.count = 0


class MicrosoftCalendarConnector:
    provider = Provider.MICROSOFT

    def __init__(
        self,
        *,
        credential: GraphCredential,
        graph_root: str = DEFAULT_GRAPH_ROOT,
        scope: str | None = None,
        window_past: timedelta = timedelta(days=7),
        window_future: timedelta = timedelta(days=31),
        page_size: int = 100,
        mailbox_concurrency: int = 4,
        timeout: float = 30.0,
        max_retries: int = 5,
        subscription_ttl: timedelta = timedelta(minutes=DEFAULT_SUBSCRIPTION_MINUTES),
        lifecycle_url: str | None = None,
        on_call: Callable[[str], None] | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        owns_credential: bool = False,
        client_state_key: bytes | None = None,
        ca_bundle: str | None = None,
    ) -> None:
        """``credential`` belongs to the caller (close it after this connector) unless
        ``owns_credential``. ``lifecycle_url`` defaults to the notification URL +
        ``/lifecycle``. With ``client_state_key`` (see ``microsoft_state``) clientStates are
        signed, so that orphaned subscriptions of this app can be recognised and deleted.
        ``ca_bundle``: CA certificates (PEM) to trust for the Graph root instead of the
        system's."""
        self._owns_credential = owns_credential
        self._state_key = client_state_key
        self._made: OrderedDict[str, datetime] = OrderedDict()  # subscription -> created at
        root = graph_root.rstrip("/")
        parts = urlsplit(root)
        if parts.scheme != "https" and not (parts.scheme == "http" and parts.hostname in _LOOPBACK):
            raise ValueError(
                f"microsoft.graph_root {graph_root!r} must be https (http only on loopback)"
            )
        if not 1 <= page_size <= 1000:
            raise ValueError("page_size must be between 1 and 1000")
        self._root = root
        self._scope = scope or _scope_for(parts.scheme, parts.hostname or "")
        self._past = window_past
        self._future = window_future
        self._page_size = page_size
        self._mailbox_concurrency = max(1, mailbox_concurrency)
        self._attempts = max(1, max_retries)
        self._ttl = min(subscription_ttl, timedelta(minutes=MAX_SUBSCRIPTION_MINUTES))
        self._lifecycle_url = lifecycle_url
        self._on_call = on_call or (lambda _name: None)
        self._now = now
        self._credential = credential
        # at most this many requests in flight per mailbox: Outlook's limit is 4 concurrent
        # (semaphore, callers holding or waiting for it), dropped when the last one leaves: a
        # semaphore per mailbox kept for good is 10,000 objects in a large organisation
        self._slots: dict[str, tuple[asyncio.Semaphore, list[int]]] = {}
        # occurrence -> (series master, original start): Graph's removals name neither
        self._series: OrderedDict[tuple[str, str], tuple[str, datetime]] = OrderedDict()
        # (calendar, event) -> (etag, marker) our last PATCH answered: that etag coming back in
        # a notification or a delta item is our own write, and its marker is known
        self._written: OrderedDict[tuple[str, str], tuple[str, Marker | None]] = OrderedDict()
        self._http, self._adapter, self._client = _build_client(
            credential, root, self._scope, parts.hostname or "", timeout, ca_bundle=ca_bundle
        )
        self._ssl: ssl.SSLContext | bool = (
            True if ca_bundle is None else ssl.create_default_context(cafile=ca_bundle)
        )
        self._aio_timeout = aiohttp.ClientTimeout(total=timeout, connect=min(timeout, 10.0))
        self._aio: aiohttp.ClientSession | None = None

    # -- activation --------------------------------------------------------------------------

    async def check_access(self, calendar: CalendarRecord) -> AccessCheck:
        """The user (or room) exists, its events and mailbox settings can be read; the locale,
        time zone (IANA) and display name come back for rendering."""
        from msgraph.generated.users.item.user_item_request_builder import (  # noqa: PLC0415
            UserItemRequestBuilder,
        )

        user = self._user(calendar)
        query = UserItemRequestBuilder.UserItemRequestBuilderGetQueryParameters(
            select=["id", "displayName", "mail", "userPrincipalName"]
        )
        person = await self._call(
            calendar, lambda: user.to_get_request_information(_config(query)), "users.get"
        )
        from msgraph.generated.users.item.events.events_request_builder import (  # noqa: PLC0415
            EventsRequestBuilder,
        )

        # one event id: proves the calendar permission (consent) and the policy for this mailbox
        probe = EventsRequestBuilder.EventsRequestBuilderGetQueryParameters(top=1, select=["id"])
        await self._call(
            calendar,
            lambda: user.events.to_get_request_information(_config(probe)),
            "events.probe",
        )
        settings = await self._call(
            calendar, user.mailbox_settings.to_get_request_information, "mailbox.get"
        )
        language = settings.data.get("language")
        locale = language.get("locale") if isinstance(language, dict) else None
        zone = settings.data.get("timeZone")
        name = person.data.get("displayName")
        return AccessCheck(
            locale=locale if isinstance(locale, str) and locale else None,
            timezone=iana_zone(zone) if isinstance(zone, str) else None,
            display_name=name if isinstance(name, str) and name else None,
        )

    # -- reading -----------------------------------------------------------------------------

    def window(self) -> Window:
        """The synced window, aligned to days (UTC) so that a cursor lives for a day: when the
        day changes, the window slides and the next round starts afresh."""
        today = datetime.combine(self._now().astimezone(UTC).date(), time(0), UTC)
        return Window(today - self._past, today + self._future + timedelta(days=1))

    async def list_changes(self, calendar: CalendarRecord) -> ChangeBatch:
        window = self.window()
        calls = _Calls()
        link = None
        if calendar.cursor:
            link = _decode_cursor(calendar.cursor, window)
        items = await self._delta_round(calendar, window, link, calls)
        events, skipped = await self._complete(calendar, items, calls, window)
        return ChangeBatch(
            events=events,
            cursor=_encode_cursor(window, items.delta_link),
            full=link is None,
            skipped=skipped,
            api_calls=calls.count,
        )

    async def _delta_round(
        self, calendar: CalendarRecord, window: Window, link: str | None, calls: _Calls
    ) -> _Round:
        from msgraph.generated.users.item.calendar_view.delta.delta_request_builder import (  # noqa: PLC0415
            DeltaRequestBuilder,
        )

        delta = self._user(calendar).calendar_view.delta
        query = DeltaRequestBuilder.DeltaRequestBuilderGetQueryParameters(
            start_date_time=_iso(window.start), end_date_time=_iso(window.end)
        )
        result = _Round()
        while True:

            def build(url: str | None = link) -> RequestInformation:
                if url is not None:  # an absolute nextLink / deltaLink, followed as it is
                    info = delta.with_url(url).to_get_request_information()
                else:
                    info = delta.to_get_request_information(_config(query))
                info.headers.try_add("Prefer", f"odata.maxpagesize={self._page_size}")
                return info

            page = await self._call(calendar, build, "calendarView.delta", calls=calls)
            values = page.data.get("value")
            if not isinstance(values, list):
                raise TransientError("calendarView.delta: page without value[]")
            for item in values:
                if isinstance(item, dict) and isinstance(item.get("id"), str):
                    result.items[item["id"]] = item  # a later page has the newer state
                else:
                    result.skipped.append(SkippedItem(None, "delta item without id"))
            next_link = page.data.get("@odata.nextLink")
            if isinstance(next_link, str) and next_link:
                link = next_link
                continue
            delta_link = page.data.get("@odata.deltaLink")
            if not isinstance(delta_link, str) or not delta_link:
                raise TransientError("calendarView.delta ended without @odata.deltaLink")
            result.delta_link = delta_link
            return result

    async def _complete(
        self, calendar: CalendarRecord, found: _Round, calls: _Calls, window: Window
    ) -> tuple[list[Event], list[SkippedItem]]:
        """Turn a round's items into the events the planner expects, reading what delta cannot
        give (see ``_reads_needed``). calendarView expands series; Google-style, the planner
        wants the organiser's series as its master plus the exceptions, so the organiser's
        plain occurrences are replaced by their master (read once per round), which the sync
        expands with ``list_instances``. Attendees' and rooms' copies keep their occurrences:
        they only feed meeting lists, and name the series to refresh."""
        items = found.items
        self._learn_series(calendar, items.values())
        refetch, masters, hidden = _reads_needed(items)
        # our own writes coming back need no read: their marker is the one we wrote
        own = {
            event_id
            for event_id in refetch
            if self.is_own_write(calendar.key, event_id, items[event_id].get("@odata.etag"))
        }
        refetch -= own
        fetched = await self._fetch_many(calendar, [*refetch, *(masters - refetch)], calls)
        raw: dict[str, dict[str, Any]] = {}
        outside = 0
        for event_id, item in items.items():
            if event_id in hidden:
                continue
            if event_id in refetch:
                got = fetched.get(event_id)
                if got is not None and is_removed(item) and self._outside(calendar, got, window):
                    got, outside = None, outside + 1
                # gone by now, removed for good, or not ours and outside the window: for the
                # window, a cancellation (its rows go; it has no meeting of ours to delete)
                raw[event_id] = got or _removed_stub(event_id)
            else:
                raw[event_id] = item
        if outside:
            log.info("microsoft.out_of_window", calendar=calendar.key, events=outside)
        for master in masters:
            if (got := fetched.get(master)) is not None:
                raw.setdefault(master, got)
        for master in await self._deleted_series(calendar, refetch, fetched, calls):
            raw.setdefault(master, _removed_stub(master))
        events, skipped = self._parse_all(raw.values(), calendar)
        by_id = {e.event_id: e for e in events}
        completed = [
            replace(e, marker=self._written[(calendar.key, e.event_id)][1])
            if e.event_id in own
            else self._completed(calendar, e, raw[e.event_id], by_id)
            for e in events
        ]
        # series masters first, so that their occurrences see the series' binding
        completed.sort(key=lambda e: e.recurring_event_id is not None)
        return completed, [*found.skipped, *skipped]

    async def _deleted_series(
        self,
        calendar: CalendarRecord,
        refetch: set[str],
        fetched: dict[str, dict[str, Any] | None],
        calls: _Calls,
    ) -> list[str]:
        """Series masters gone with their removed occurrences: delta never lists masters, so a
        deleted series shows only as removed occurrences; the masters they belong to are read
        once, and those answering 404 are reported as cancelled (their meeting goes too)."""
        candidates = {
            known[0]
            for event_id in refetch
            if fetched.get(event_id) is None
            and (known := self._series.get((calendar.key, event_id))) is not None
        }
        unread = sorted(candidates - fetched.keys())
        answers = await self._fetch_many(calendar, unread, calls) if unread else {}
        return [master for master in unread if answers.get(master) is None]

    @staticmethod
    def _outside(calendar: CalendarRecord, raw: dict[str, Any], window: Window) -> bool:
        """Whether an event that delta reported ``@removed`` but that still exists lies
        outside the window and is not ours. Graph reports events created or changed outside
        the window that way, as well as events that moved out of it. Such an event is no
        meeting of the window's: it is not planned (a keyword on an event months ahead gets its
        meeting when the event enters the window, in the full round of that day), and its rows
        go. One that carries our marker is passed on as it is, so its meeting follows it."""
        if has_marker_property(raw):
            return False
        try:
            event = parse_event(raw, calendar.key, default_tz=calendar.timezone)
        except MalformedEventError:
            return False
        if event.is_series_master:
            return not may_occur_in(event, window)
        if event.start is None or event.end is None:
            return False
        return event.end <= window.start or event.start >= window.end

    def _completed(
        self, calendar: CalendarRecord, event: Event, raw: dict[str, Any], by_id: dict[str, Event]
    ) -> Event:
        if is_removed(raw):
            # a deleted occurrence names no series; what we learned earlier does
            known = self._series.get((calendar.key, event.event_id))
            if known is not None:
                return replace(event, recurring_event_id=known[0], original_start=known[1])
            return event
        series = by_id.get(event.recurring_event_id or "")
        if series is not None and event.marker is None and not has_marker_property(raw):
            return replace(event, marker=series.marker)  # it carries its master's properties
        return event

    def _learn_series(self, calendar: CalendarRecord, items: Any) -> None:
        """Remember occurrence -> (series, original start) of delta items, for removals."""
        for item in items:
            master = item.get("seriesMasterId")
            if not isinstance(master, str) or not master or is_removed(item):
                continue
            try:
                occurrence = parse_event(item, calendar.key, default_tz=calendar.timezone)
            except MalformedEventError:
                continue  # reported when the round is parsed
            if occurrence.original_start is not None:
                self._remember(calendar, occurrence.event_id, master, occurrence.original_start)

    def _remember(
        self, calendar: CalendarRecord, occurrence_id: str, master: str, original: datetime
    ) -> None:
        key = (calendar.key, occurrence_id)
        self._series[key] = (master, original)
        self._series.move_to_end(key)
        if len(self._series) > SERIES_MEMORY:
            self._series.popitem(last=False)

    async def _fetch_many(
        self, calendar: CalendarRecord, ids: list[str], calls: _Calls
    ) -> dict[str, dict[str, Any] | None]:
        results: dict[str, dict[str, Any] | None] = {}

        async def one(event_id: str) -> None:
            results[event_id] = await self._get_raw(calendar, event_id, calls)

        # the mailbox's slots bound the requests in flight; a failure cancels the rest
        try:
            async with asyncio.TaskGroup() as group:
                for event_id in ids:
                    group.create_task(one(event_id))
        except BaseExceptionGroup as failed:
            errors: list[BaseException] = [
                e for e in failed.exceptions if isinstance(e, ConnectorError)
            ]
            raise (errors or list(failed.exceptions))[0] from None
        return results

    async def _get_raw(
        self, calendar: CalendarRecord, event_id: str, calls: _Calls | None = None
    ) -> dict[str, Any] | None:
        from msgraph.generated.users.item.events.item.event_item_request_builder import (  # noqa: PLC0415
            EventItemRequestBuilder,
        )

        item = self._user(calendar).events.by_event_id(event_id)
        query = EventItemRequestBuilder.EventItemRequestBuilderGetQueryParameters(
            expand=[MARKER_EXPAND]
        )
        try:
            answer = await self._call(
                calendar,
                lambda: item.to_get_request_information(_config(query)),
                "events.get",
                calls=calls,
            )
        except NotFoundError:
            return None
        return answer.data

    async def list_instances(
        self, calendar: CalendarRecord, master_id: str, window: Window
    ) -> list[Event]:
        """Graph's own expansion of the series inside the window, exceptions applied."""
        from msgraph.generated.users.item.events.item.instances.instances_request_builder import (  # noqa: PLC0415
            InstancesRequestBuilder,
        )

        instances = self._user(calendar).events.by_event_id(master_id).instances
        query = InstancesRequestBuilder.InstancesRequestBuilderGetQueryParameters(
            start_date_time=_iso(window.start), end_date_time=_iso(window.end)
        )
        events: list[Event] = []
        link: str | None = None
        while True:

            def build(url: str | None = link) -> RequestInformation:
                if url is not None:
                    info = instances.with_url(url).to_get_request_information()
                else:
                    info = instances.to_get_request_information(_config(query))
                info.headers.try_add("Prefer", f"odata.maxpagesize={self._page_size}")
                return info

            page = await self._call(calendar, build, "events.instances")
            values = page.data.get("value")
            if not isinstance(values, list):
                raise TransientError("events.instances: page without value[]")
            parsed, _ = self._parse_all((v for v in values if isinstance(v, dict)), calendar)
            for occurrence in parsed:
                if occurrence.recurring_event_id and occurrence.original_start:
                    self._remember(
                        calendar,
                        occurrence.event_id,
                        occurrence.recurring_event_id,
                        occurrence.original_start,
                    )
            events += parsed
            next_link = page.data.get("@odata.nextLink")
            if not isinstance(next_link, str) or not next_link:
                return events
            link = next_link

    async def get_event(self, calendar: CalendarRecord, event_id: str) -> Event | None:
        data = await self._get_raw(calendar, event_id)
        if data is None:
            return None
        return parse_event(data, calendar.key, default_tz=calendar.timezone)

    def _parse_all(
        self, items: Any, calendar: CalendarRecord
    ) -> tuple[list[Event], list[SkippedItem]]:
        events: list[Event] = []
        skipped: list[SkippedItem] = []
        for item in items:
            try:
                events.append(parse_event(item, calendar.key, default_tz=calendar.timezone))
            except MalformedEventError as exc:
                skipped.append(SkippedItem(item.get("id"), str(exc)))
                log.warning("microsoft.malformed_event", calendar=calendar.key, reason=str(exc))
        return events, skipped

    # -- writing -----------------------------------------------------------------------------

    async def patch_event(self, calendar: CalendarRecord, event: Event, patch: EventPatch) -> Event:
        """PATCH with If-Match on the etag we read. The body is transplanted: only our block
        changes, above all never Outlook's online-meeting block."""
        body = patch_body(event, patch)
        if not body:
            return event
        item = self._user(calendar).events.by_event_id(event.event_id)

        def build() -> RequestInformation:
            info = _with_json(_request_info(item, "PATCH"), body)
            if event.etag:
                info.headers.try_add("If-Match", event.etag)
            return info

        # retried only when throttled (refused before anything happened); after a timeout the
        # round is retried, and a patch that did land then answers 412 and is re-planned; a
        # 409 (a concurrent save won) is a ConflictError like 412: the executor re-reads
        answer = await self._call(calendar, build, "events.patch", retry_on=ThrottledError)
        patched = parse_event(answer.data, calendar.key, default_tz=calendar.timezone)
        # Graph does not return extended properties on PATCH: ours is what we just wrote
        marker = marker_after(event, patch)
        if patched.etag:
            self._remember_write(calendar, patched.event_id, patched.etag, marker)
        return replace(patched, marker=marker)

    def is_own_write(self, calendar_key: str, event_id: str, etag: str | None) -> bool:
        """Whether ``etag`` is the one our last PATCH of the event answered: a change
        notification or delta item carrying it is our own write, not a person's edit."""
        known = self._written.get((calendar_key, event_id))
        return etag is not None and known is not None and known[0] == etag

    def _remember_write(
        self, calendar: CalendarRecord, event_id: str, etag: str, marker: Marker | None
    ) -> None:
        key = (calendar.key, event_id)
        self._written[key] = (etag, marker)
        self._written.move_to_end(key)
        if len(self._written) > SERIES_MEMORY:
            self._written.popitem(last=False)

    # -- push channels -----------------------------------------------------------------------

    async def watch(
        self,
        calendar: CalendarRecord,
        *,
        address: str,
        channel_id: str,  # noqa: ARG002 - Graph names its subscriptions itself
        secret: str,
        now: datetime,
    ) -> Channel:
        """A subscription to the mailbox's events. Graph validates both URLs (the handshake)
        before it answers, so the webhook must be reachable from Graph by then."""
        if self._state_key is not None:
            secret = sign_state(self._state_key, secret)
        if not secret or len(secret) > MAX_CLIENT_STATE:
            raise ValueError(f"clientState must be 1 to {MAX_CLIENT_STATE} characters")
        resource = f"users/{calendar.address}/events"
        expires = now + self._ttl
        body = {
            "changeType": "created,updated,deleted",
            "notificationUrl": address,
            "lifecycleNotificationUrl": self._lifecycle_url or address.rstrip("/") + "/lifecycle",
            "resource": resource,
            "expirationDateTime": _iso(expires),
            "clientState": secret,
        }
        subscriptions = self._client.subscriptions
        answer = await self._call(
            calendar,
            lambda: _with_json(_request_info(subscriptions, "POST"), body),
            "subscriptions.create",
        )
        subscription_id = answer.data.get("id")
        if not isinstance(subscription_id, str) or not subscription_id:
            raise TransientError("subscriptions.create answered without an id")
        self._made[subscription_id] = now
        while len(self._made) > SERIES_MEMORY:
            self._made.popitem(last=False)
        return Channel(
            channel_id=subscription_id,
            calendar_key=calendar.key,
            secret=secret,
            resource_id=resource,
            expires_at=_expiry(answer.data, expires),
            created_at=now,
        )

    async def renew_channel(
        self, calendar: CalendarRecord, channel: Channel, *, now: datetime
    ) -> Channel:
        """Extend a subscription in place (Graph allows it; also answers
        ``reauthorizationRequired``)."""
        expires = now + self._ttl
        item = self._client.subscriptions.by_subscription_id(channel.channel_id)
        body = {"expirationDateTime": _iso(expires)}
        answer = await self._call(
            calendar,
            lambda: _with_json(_request_info(item, "PATCH"), body),
            "subscriptions.renew",
        )
        return replace(channel, expires_at=_expiry(answer.data, expires))

    async def stop_channel(self, calendar: CalendarRecord, channel: Channel) -> None:
        item = self._client.subscriptions.by_subscription_id(channel.channel_id)
        with contextlib.suppress(NotFoundError):  # expired or deleted before
            await self._call(calendar, item.to_delete_request_information, "subscriptions.delete")

    def is_own_client_state(self, client_state: str) -> bool:
        """Whether this app signed ``client_state`` (see ``microsoft_state``)."""
        return self._state_key is not None and is_signed_state(self._state_key, client_state)

    async def forget_subscription(self, subscription_id: str, client_state: str) -> bool:
        """Delete a subscription we hold no channel for, when its clientState proves it is
        this app's (see ``microsoft_state``) and it is not one this process made moments ago
        (its channel may be on its way into the store). True when it was deleted (or was
        already gone)."""
        if not self.is_own_client_state(client_state):
            return False
        made = self._made.get(subscription_id)
        if made is not None and self._now() - made < timedelta(seconds=FRESH_SUBSCRIPTION_SECONDS):
            return False
        item = self._client.subscriptions.by_subscription_id(subscription_id)
        with contextlib.suppress(NotFoundError):
            await self._call(_APP, item.to_delete_request_information, "subscriptions.delete")
        log.info("microsoft.orphan_subscription_deleted", subscription=subscription_id)
        return True

    # -- out of office -----------------------------------------------------------------------

    async def get_presence(self, calendar: CalendarRecord, now: datetime) -> Presence:
        if calendar.kind is CalendarKind.ROOM:
            return Presence(calendar.key, out_of_office=False)
        from msgraph.generated.users.item.mailbox_settings.mailbox_settings_request_builder import (  # noqa: PLC0415
            MailboxSettingsRequestBuilder,
        )

        settings = self._user(calendar).mailbox_settings
        query = MailboxSettingsRequestBuilder.MailboxSettingsRequestBuilderGetQueryParameters(
            select=["automaticRepliesSetting"]
        )
        answer = await self._call(
            calendar,
            lambda: settings.to_get_request_information(_config(query)),
            "mailbox.automaticReplies",
        )
        return _presence(calendar.key, answer.data.get("automaticRepliesSetting"), now)

    async def close(self) -> None:
        """Closes the HTTP client made here, and the credential when it was handed over."""
        await self._http.aclose()
        if self._aio is not None:
            await self._aio.close()
        if self._owns_credential:
            await self._credential.close()

    async def mailbox_request(
        self,
        calendar: CalendarRecord,
        build: Callable[[UserItemRequestBuilder], RequestInformation],
        name: str,
        *,
        write: bool = False,
    ) -> dict[str, Any]:
        """A request addressed from the mailbox's request builder (room booking), sent with
        this connector's token, per-mailbox slot, retries and error translation; a write is
        retried only when throttled (refused before anything happened)."""
        user = self._user(calendar)
        retry_on = ThrottledError if write else TransientError
        answer = await self._call(calendar, lambda: build(user), name, retry_on=retry_on)
        return answer.data

    # -- transport ---------------------------------------------------------------------------

    def _user(self, calendar: CalendarRecord) -> UserItemRequestBuilder:
        return self._client.users.by_user_id(calendar.address)

    @contextlib.asynccontextmanager
    async def _slot(self, mailbox: str) -> AsyncIterator[None]:
        entry = self._slots.get(mailbox)
        if entry is None:
            entry = self._slots[mailbox] = (asyncio.Semaphore(self._mailbox_concurrency), [0])
        slot, users = entry
        users[0] += 1
        try:
            async with slot:
                yield
        finally:
            users[0] -= 1
            if not users[0]:
                del self._slots[mailbox]

    async def _call(
        self,
        calendar: CalendarRecord,
        build: Callable[[], RequestInformation],
        name: str,
        *,
        calls: _Calls | None = None,
        retry_on: type[ConnectorError] = TransientError,
    ) -> _Answer:
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self._attempts),
            wait=wait_for_retry,
            retry=retry_if_exception_type(retry_on),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await self._call_once(calendar, build, name, calls)
        raise AssertionError("unreachable")  # pragma: no cover - AsyncRetrying returns or raises

    async def _call_once(
        self,
        calendar: CalendarRecord,
        build: Callable[[], RequestInformation],
        name: str,
        calls: _Calls | None,
    ) -> _Answer:
        for auth_try in range(2):
            info = build()
            self._on_call(name)
            if calls is not None:
                calls.count += 1
            try:
                async with self._slot(calendar.address.lower()):
                    status, headers, content = await self._send(info)
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise TransientError(f"{name}: {type(exc).__name__}") from None
            if status == 401 and auth_try == 0:
                _forget(self._credential)  # revoked or expired early: one fresh token
                continue
            if 200 <= status < 300:
                return _Answer(status, _json(content))
            raise _error(name, status, content, headers, calendar.address)
        raise AuthError(f"{name}: the access token was refused twice")  # pragma: no cover

    async def _send(self, info: RequestInformation) -> tuple[int, Mapping[str, str], bytes]:
        """One request as the builders addressed it, sent with aiohttp. kiota's own pipeline
        (httpx, seven middlewares, a tracing span each) cost about 3 ms of CPU per request,
        more than everything else a calendar's start-up needs; what of it applies here is
        done inline: the base URL, ``$`` in query parameter names, the bearer token."""
        info.path_parameters["baseurl"] = self._root
        url = _decode_parameter_names(str(info.url))
        token = await self._credential.get_token(self._scope)
        headers = {key: ", ".join(values) for key, values in info.headers.get_all().items()}
        headers["Authorization"] = f"Bearer {token.token}"
        headers.setdefault("User-Agent", USER_AGENT)
        method = info.http_method.value if info.http_method is not None else "GET"
        session = self._session()
        async with session.request(
            method, url, data=info.content, headers=headers, allow_redirects=False
        ) as resp:
            return resp.status, resp.headers, await resp.read()

    def _session(self) -> aiohttp.ClientSession:
        # made on first use: an aiohttp session belongs to the running event loop
        if self._aio is None or self._aio.closed:
            connector = aiohttp.TCPConnector(ssl=self._ssl, limit=100)
            self._aio = aiohttp.ClientSession(connector=connector, timeout=self._aio_timeout)
        return self._aio


@dataclass
class _Round:
    """The items of one delta round (all pages), the last state of each event."""

    items: dict[str, dict[str, Any]] = field(default_factory=dict)
    skipped: list[SkippedItem] = field(default_factory=list)
    delta_link: str = ""


# -- helpers ----------------------------------------------------------------------------------


def _may_be_ours(item: dict[str, Any]) -> bool:
    """Whether an organiser copy may carry our marker, judged from what delta gives: a keyword
    in the location, our block in the body, or an online meeting (a Teams meeting we made).
    Only these are read again for the marker (delta has no ``$expand``); an event that has
    none of them needs no marker to be planned: without keyword and block there is nothing
    of ours to keep, and a binding we hold is torn down from the store's side."""
    location = item.get("location")
    where = location.get("displayName") if isinstance(location, dict) else None
    if isinstance(where, str) and "@" in where:
        return True
    if item.get("isOnlineMeeting") is True:
        return True
    body = item.get("body")
    content = body.get("content") if isinstance(body, dict) else None
    return isinstance(content, str) and "hybridcal" in content


def _reads_needed(items: dict[str, dict[str, Any]]) -> tuple[set[str], set[str], set[str]]:
    """For one delta round: (items to read again, series masters to read, items the master
    stands for). Delta has no ``$expand``, so organiser copies that may be ours are read again
    for our marker (see ``_may_be_ours``); ``@removed`` items are read to tell deleted from
    moved out of the window (a meeting must not be deleted because its event moved to next
    quarter)."""
    refetch: set[str] = set()
    masters: set[str] = set()
    hidden: set[str] = set()
    for event_id, item in items.items():
        kind = event_type(item)
        if is_removed(item):
            refetch.add(event_id)
        elif item.get("isOrganizer") is True and not item.get("isCancelled"):
            master = item.get("seriesMasterId")
            if kind in ("occurrence", "exception") and isinstance(master, str) and master:
                masters.add(master)
            if kind == "occurrence":
                hidden.add(event_id)
            elif _may_be_ours(item):
                refetch.add(event_id)
    return refetch, masters, hidden


_BUILDER_MODULES = (
    "users.users_request_builder",
    "users.item.user_item_request_builder",
    "users.item.events.events_request_builder",
    "users.item.events.item.event_item_request_builder",
    "users.item.events.item.instances.instances_request_builder",
    "users.item.calendar_view.calendar_view_request_builder",
    "users.item.calendar_view.delta.delta_request_builder",
    "users.item.mailbox_settings.mailbox_settings_request_builder",
    "subscriptions.subscriptions_request_builder",
    "subscriptions.item.subscription_item_request_builder",
)


def _build_client(
    credential: GraphCredential,
    root: str,
    scope: str,
    host: str,
    timeout: float,
    *,
    ca_bundle: str | None,
) -> tuple[httpx.AsyncClient, GraphRequestAdapter, GraphServiceClient]:
    """The SDK client over our own httpx client (timeouts; kiota's retries off)."""
    import httpx  # noqa: PLC0415
    from kiota_authentication_azure.azure_identity_authentication_provider import (  # noqa: PLC0415
        AzureIdentityAuthenticationProvider,
    )
    from kiota_http.kiota_client_factory import KiotaClientFactory  # noqa: PLC0415
    from kiota_http.middleware.options import RetryHandlerOption  # noqa: PLC0415
    from msgraph.graph_request_adapter import GraphRequestAdapter  # noqa: PLC0415
    from msgraph.graph_service_client import GraphServiceClient  # noqa: PLC0415

    # the request builders we use, loaded now: their modules warn about deprecated classes of
    # their own while they load, which says nothing to an admin
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        for module in _BUILDER_MODULES:
            importlib.import_module(f"msgraph.generated.{module}")
    verify: ssl.SSLContext | bool = True
    if ca_bundle is not None:
        verify = ssl.create_default_context(cafile=ca_bundle)
    http = httpx.AsyncClient(
        timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)), verify=verify
    )
    options: dict[str, Any] = {
        RetryHandlerOption.get_key(): RetryHandlerOption(max_retries=0, should_retry=False)
    }
    http = KiotaClientFactory.create_with_default_middleware(client=http, options=options)
    auth = AzureIdentityAuthenticationProvider(
        credential,  # type: ignore[arg-type] # an AsyncTokenCredential by shape
        scopes=[scope],
        allowed_hosts=[host],
    )
    adapter = GraphRequestAdapter(auth, client=http)
    adapter.base_url = root
    return http, adapter, GraphServiceClient(request_adapter=adapter)


def _scope_for(scheme: str, host: str) -> str:
    """``https://<graph host>/.default``; the sandbox on loopback stands in for the global
    cloud, so it gets the global scope."""
    if scheme != "https" or host in _LOOPBACK:
        return GRAPH_SCOPE
    return f"https://{host}/.default"


def _config(query: Any) -> Any:
    from kiota_abstractions.base_request_configuration import (  # noqa: PLC0415
        RequestConfiguration,
    )

    return RequestConfiguration(query_parameters=query)


def _request_info(builder: Any, method: str) -> RequestInformation:
    """A request addressed by ``builder``'s URL template, for a body we serialise ourselves."""
    from kiota_abstractions.method import Method  # noqa: PLC0415
    from kiota_abstractions.request_information import RequestInformation  # noqa: PLC0415

    info = RequestInformation(Method(method), builder.url_template, builder.path_parameters)
    info.headers.try_add("Accept", "application/json")
    return info


def _with_json(info: RequestInformation, body: dict[str, Any]) -> RequestInformation:
    info.set_stream_content(json.dumps(body).encode(), "application/json")
    return info


def _decode_parameter_names(url: str) -> str:
    """``%24select=`` -> ``$select=``: Graph's OData options are named with ``$`` and kiota's
    URL templates encode it (its ParametersNameDecodingHandler undoes that the same way)."""
    base, sep, query = url.partition("?")
    if not sep:
        return url
    parts = []
    for part in query.split("&"):
        name, eq, value = part.partition("=")
        for code, char in _ENCODED_NAME_CHARS:
            name = name.replace(code, char)
        parts.append(f"{name}{eq}{value}")
    return f"{base}?{'&'.join(parts)}"


def _forget(credential: GraphCredential) -> None:
    forget = getattr(credential, "forget", None)
    if callable(forget):
        forget()


def _json(content: bytes) -> dict[str, Any]:
    if not content.strip():
        return {}
    try:
        data = json.loads(content)
    except ValueError:
        raise TransientError("Graph answered with a body that is not JSON") from None
    if not isinstance(data, dict):
        raise TransientError("Graph answered with JSON that is not an object")
    return data


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _encode_cursor(window: Window, delta_link: str) -> str:
    """The deltaLink with the window it was made for: a slid window needs a fresh round."""
    return f"{CURSOR_PREFIX}|{_iso(window.start)}|{_iso(window.end)}|{delta_link}"


def _decode_cursor(cursor: str, window: Window) -> str:
    parts = cursor.split("|", 3)
    if len(parts) != 4 or parts[0] != CURSOR_PREFIX or not parts[3]:
        raise CursorExpiredError("the stored cursor is not a Graph delta cursor")
    if (parts[1], parts[2]) != (_iso(window.start), _iso(window.end)):
        raise CursorExpiredError("the sync window moved on: a fresh delta round is needed")
    return parts[3]


def _removed_stub(event_id: str) -> dict[str, Any]:
    return {"id": event_id, "@removed": {"reason": "deleted"}}


def _expiry(data: dict[str, Any], fallback: datetime) -> datetime:
    value = data.get("expirationDateTime")
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return fallback
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
    return fallback


def _presence(key: str, setting: Any, now: datetime) -> Presence:
    """``automaticRepliesSetting``: ``alwaysEnabled``, or ``scheduled`` within its window."""
    if not isinstance(setting, dict):
        return Presence(key, out_of_office=False)
    status = str(setting.get("status") or "disabled").lower()
    starts = _local(setting.get("scheduledStartDateTime"))
    ends = _local(setting.get("scheduledEndDateTime"))
    if status == "alwaysenabled":
        active, starts, ends = True, None, None
    elif status == "scheduled":
        active = (starts is None or starts <= now) and (ends is None or now < ends)
    else:
        active, starts, ends = False, None, None
    message = setting.get("internalReplyMessage")
    text = None
    if active and isinstance(message, str) and message.strip():
        plain = html_to_text(message).text if looks_like_html(message) else message
        text = " ".join(plain.split())[:200] or None
    return Presence(key, out_of_office=active, starts_at=starts, ends_at=ends, message=text)


def _local(value: Any) -> datetime | None:
    """A Graph dateTimeTimeZone ({dateTime, timeZone}) as an aware UTC instant."""
    if not isinstance(value, dict) or not isinstance(value.get("dateTime"), str):
        return None
    from zoneinfo import ZoneInfo  # noqa: PLC0415

    try:
        parsed = datetime.fromisoformat(value["dateTime"])
    except ValueError:
        return None
    if parsed.tzinfo is None:
        zone = iana_zone(value.get("timeZone") if isinstance(value.get("timeZone"), str) else None)
        parsed = parsed.replace(tzinfo=ZoneInfo(zone or "UTC"))
    return parsed.astimezone(UTC)


_BY_STATUS: dict[int, type[ConnectorError]] = {
    401: AuthError,
    410: CursorExpiredError,  # the delta state expired
    # ErrorIrresolvableConflict: If-Match failed (412), or another save of the item landed
    # while ours was applied (409). Either way ours did not happen: re-read and re-plan.
    409: ConflictError,
    412: ConflictError,
}
# requests that concern the app, not a mailbox (their slot and their messages name no mailbox)
_APP = CalendarRecord("microsoft:(app)", Provider.MICROSOFT, "(app)", CalendarKind.USER)
_MAILBOX_CALLS = frozenset({"users.get", "events.probe", "mailbox.get"})


def _error(name: str, status: int, content: bytes, headers: Any, mailbox: str) -> ConnectorError:
    code, message = "", ""
    try:
        err = json.loads(content).get("error", {})
        code = str(err.get("code", ""))
        message = str(err.get("message", ""))
    except (ValueError, AttributeError):
        message = content[:200].decode("utf-8", "replace")
    what = f"{name}: {status} {code} {message}".strip()
    if status == 429 or (status == 503 and headers.get("Retry-After")):
        return ThrottledError(what, _retry_after(headers.get("Retry-After")))
    if status >= 500:
        return TransientError(what)
    return _by_code(name, status, code.lower(), what, message=message, mailbox=mailbox)


def _by_code(
    name: str, status: int, folded: str, what: str, *, message: str, mailbox: str
) -> ConnectorError:
    if folded in _EXPIRED_CODES:
        return CursorExpiredError(what)
    if folded == "mailboxnotenabledforrestapi":
        return NotFoundError(
            f"{mailbox} has no Exchange Online mailbox (not licensed, on-premises or "
            f"soft-deleted): {what}"
        )
    if status == 404 or folded in _NOT_FOUND_CODES:
        if name in _MAILBOX_CALLS:
            return NotFoundError(f"no user or room mailbox {mailbox} in the tenant: {what}")
        return NotFoundError(what)
    if status == 403:
        return _forbidden(name, what, message, mailbox)
    return _BY_STATUS.get(status, ConnectorError)(what)


def _forbidden(name: str, what: str, message: str, mailbox: str) -> ConnectorError:
    if any(word in message.lower() for word in _POLICY_WORDS):
        return AuthError(
            f"the Exchange application access policy does not include {mailbox}: add the "
            "mailbox to the mail-enabled security group the policy names "
            "(Test-ApplicationAccessPolicy shows the result) or widen the policy"
        )
    if name == "events.patch":
        return ForbiddenError(what)  # e.g. not the organiser's copy
    return AuthError(f"access to {mailbox} denied: {CONSENT_HINT} ({what})")


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
