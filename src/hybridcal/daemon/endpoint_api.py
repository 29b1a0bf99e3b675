"""The endpoint (device) API: a room system's meeting list with OBTP Join buttons.

``GET /api/v1/meetings`` with ``Authorization: Bearer <device token>`` answers the meeting list of
the one calendar the device is registered to; nothing in the request can name another calendar.
The wire format, the parameters and the polling pattern are described in ``docs/endpoint-api.md``.

Devices poll, typically every minute, and a list rarely changes, so an unchanged list must be
cheap. For each (calendar, window, lead) the API keeps a *snapshot* labelled with the calendar's
cache version: every meeting's times and, unless disabled, its JSON rendered up to the one value
that depends on the clock (``obtp.show_button``). While the store reports the same version, an
answer is put together from the snapshot without reading or decrypting a single cache row: the
ETag (version, window, lead, presence, and which Join buttons show *now*) decides a ``304``, and a
full answer is the rendered meetings with the button states filled in. A changed version, or no
snapshot, means one ``list_entries`` call and a new snapshot. The rendered JSON keeps decrypted
meeting details in memory while the list stays unchanged and polled; ``keep_rendered=False`` keeps
only times (every full answer then reads and decrypts the rows; a 304 still does not).

Attendee names are shown only where the admin allows them (``attendee_names``: "off", "all", or
"rooms_listed" with ``attendee_name_rooms``), and never for a private meeting whose title is
hidden; the count is always given. A Meet interop gateway (``meet_sip_gateway``, a template with
``{code}``) gives Meet links a dial string. Both are fixed for the API's lifetime and part of the
ETag, so that a restart with other settings changes every tag.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import re
import time
from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import structlog
from aiohttp import hdrs, web

from hybridcal.core.entries import MEET_CODE, meet_gateway_dial, numeric_passcode
from hybridcal.core.model import (
    CalendarRecord,
    Device,
    JoinLink,
    MeetingEntry,
    Presence,
    Window,
)
from hybridcal.daemon.devices import hash_token, is_well_formed

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from multidict import MultiMapping

    from hybridcal.daemon.metrics import Metrics
    from hybridcal.store.base import Store

log = structlog.get_logger(__name__)

MEETINGS_PATH = "/api/v1/meetings"
PRIVATE_TITLE = "Private meeting"
MAX_LEAD_MINUTES = 120
# Default window, relative to the start of the current hour (see docs/endpoint-api.md): it moves
# once an hour, so that every poll within the hour has the same window and can get a 304.
DEFAULT_BEFORE = timedelta(hours=1)
DEFAULT_LENGTH = timedelta(hours=26)
# Bump when the JSON representation changes, so that old ETags stop matching.
REPRESENTATION = "2"  # 2: attendee count and names, join.numeric_passcode, Meet gateway dial

_JSON = "application/json; charset=utf-8"
# Answers carry meeting passcodes: no cache (browser, proxy, device HTTP stack) may keep them.
# A device that keeps its own copy still sends If-None-Match and gets a 304 (docs/endpoint-api.md).
_CACHE_CONTROL = "no-store"
_NOSNIFF = "nosniff"
_REALM = 'Bearer realm="hybridcal"'
# A '+' in an unencoded query string arrives as a space: "...T10:00:00 01:00".
_SPACE_FOR_PLUS = re.compile(r" ([0-9]{2}(?::?[0-9]{2})?)$")
# Parameters are checked for shape (ASCII only, short) before anything converts them: int() and
# fromisoformat() accept non-ASCII digits ("²", "٣") that nobody means.
_LEAD = re.compile(r"[0-9]{1,4}")
_INSTANT = re.compile(r"[0-9][0-9:.,+\-TZtz ]{3,39}")
# Instants outside these bounds cannot lie in the cached window; refusing them up front keeps
# every later step (UTC conversion, window arithmetic) clear of the datetime range.
_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
_LATEST = datetime(9000, 1, 1, tzinfo=UTC)
_PARAMETERS = ("from", "to", "lead")
ATTENDEE_NAME_MODES = ("off", "rooms_listed", "all")


class BadRequestError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class _Query:
    window: Window
    lead: timedelta


@dataclass(frozen=True, slots=True)
class _State:
    """What one request is answered from."""

    device: Device
    calendar: CalendarRecord
    version: int
    presence: Presence | None
    query: _Query
    now: datetime


@dataclass(frozen=True, slots=True)
class _Item:
    """One meeting of a snapshot."""

    event_key: str
    show_from: datetime
    end: datetime
    joinable: bool
    head: bytes  # the meeting's JSON up to the value of "show_button"; b"" when not kept

    def shows_button(self, now: datetime) -> bool:
        return self.joinable and self.show_from <= now < self.end

    def render(self, button: bool) -> bytes:
        return self.head + (b"true}}" if button else b"false}}")


@dataclass(frozen=True, slots=True)
class _Snapshot:
    version: int
    items: tuple[_Item, ...]
    rendered: bool

    def buttons(self, now: datetime) -> tuple[bool, ...]:
        return tuple(i.shows_button(now) for i in self.items)


_SnapshotKey = tuple[str, datetime, datetime, int]  # calendar, window start and end, lead (s)


class EndpointApi:
    """The handlers of the device API; see :func:`add_endpoint_routes`."""

    def __init__(
        self,
        store: Store,
        metrics: Metrics,
        *,
        now: Callable[[], datetime],
        obtp_lead_minutes: int,
        hide_tentative: bool,
        hide_private_titles: bool,
        max_window_days: int,
        window_past_days: int = 7,
        window_future_days: int = 31,
        keep_rendered: bool = True,
        snapshot_limit: int = 4096,
        attendee_names: str = "off",
        attendee_name_rooms: Iterable[str] = (),
        meet_sip_gateway: str | None = None,
    ) -> None:
        if not 0 <= obtp_lead_minutes <= MAX_LEAD_MINUTES:
            raise ValueError(f"obtp_lead_minutes must be within 0..{MAX_LEAD_MINUTES}")
        if max_window_days < 1 or window_past_days < 0 or window_future_days < 1:
            raise ValueError("window sizes must be positive")
        if attendee_names not in ATTENDEE_NAME_MODES:
            raise ValueError(f"attendee_names must be one of {', '.join(ATTENDEE_NAME_MODES)}")
        if meet_sip_gateway is not None and meet_sip_gateway.count(MEET_CODE) != 1:
            raise ValueError(f"meet_sip_gateway must contain {MEET_CODE} once")
        self._store = store
        self._metrics = metrics
        self._now = now
        self._lead_default = obtp_lead_minutes
        self._hide_tentative = hide_tentative
        self._hide_private_titles = hide_private_titles
        self._max_window = timedelta(days=max_window_days)
        self._past = timedelta(days=window_past_days)
        self._future = timedelta(days=window_future_days)
        self._keep_rendered = keep_rendered
        self._snapshots: OrderedDict[_SnapshotKey, _Snapshot] = OrderedDict()
        self._snapshot_limit = snapshot_limit
        self._names_mode = attendee_names
        self._name_rooms = frozenset(address.lower() for address in attendee_name_rooms)
        self._meet_gateway = meet_sip_gateway

    async def meetings(self, request: web.Request) -> web.Response:
        started = time.perf_counter()
        try:
            response = await self._meetings(request)
        except Exception:
            log.exception("endpoint_request_failed", path=request.path)
            response = _error(500, "internal", "internal error")
        self._metrics.endpoint_request(response.status, time.perf_counter() - started)
        return response

    async def _meetings(self, request: web.Request) -> web.Response:
        token = _bearer_token(request.headers.get(hdrs.AUTHORIZATION))
        found = await self._authenticate(token) if token is not None else None
        if found is None:
            return _unauthorized(presented=token is not None)
        device, calendar, version, presence = found
        now = self._now()
        try:
            query = self._parse_query(request.query, calendar, now)
        except BadRequestError as exc:
            return _error(400, exc.code, exc.message)
        state = _State(device, calendar, version, presence, query, now)
        return await self._answer(state, request.headers.get(hdrs.IF_NONE_MATCH))

    async def _answer(self, state: _State, if_none_match: str | None) -> web.Response:
        calendar, query, now = state.calendar, state.query, state.now
        basis = self._basis(state)
        key = (
            calendar.key,
            query.window.start,
            query.window.end,
            int(query.lead.total_seconds()),
        )
        snapshot = self._snapshots.get(key)
        if snapshot is not None and snapshot.version == state.version:
            self._snapshots.move_to_end(key)
            buttons = snapshot.buttons(now)
            etag = _etag(basis, snapshot, buttons)
            if if_none_match is not None and _etag_matches(if_none_match, etag):
                return _not_modified(etag)  # the cheap path: no cache row read
            if snapshot.rendered:
                return self._ok(state, snapshot, buttons, etag)
        # The version was read first: rows written meanwhile only make this snapshot look older
        # than it is, and the next request refreshes it.
        entries = await self._store.list_entries(calendar.key, query.window.start, query.window.end)
        snapshot = self._snapshot(
            state.version, entries, query.lead, names=self._names_allowed(calendar)
        )
        self._remember(key, snapshot)
        buttons = snapshot.buttons(now)
        etag = _etag(basis, snapshot, buttons)
        if if_none_match is not None and _etag_matches(if_none_match, etag):
            return _not_modified(etag)
        return self._ok(state, snapshot, buttons, etag)

    def _ok(
        self, state: _State, snapshot: _Snapshot, buttons: tuple[bool, ...], etag: str
    ) -> web.Response:
        query = state.query
        head, tail = _envelope(state.calendar, query.window.start, query.window.end, state.presence)
        payload = b"".join(
            (
                head,
                _iso(state.now).encode(),
                tail,
                b",".join(
                    [item.render(b) for item, b in zip(snapshot.items, buttons, strict=True)]
                ),
                b"]}",
            )
        )
        return web.Response(body=payload, headers=_headers(etag, content_type=_JSON))

    async def _authenticate(
        self, token: str
    ) -> tuple[Device, CalendarRecord, int, Presence | None] | None:
        """The device and its calendar's state, in one store call; None for unknown, revoked
        and malformed tokens, and for a removed calendar whose device lingers, alike."""
        if not is_well_formed(token):
            return None
        token_hash = hash_token(token)
        view = await self._store.device_view(token_hash)
        # Re-check the hash in constant time: the store's lookup is an index search, and this
        # guards against an implementation that matches loosely (case folding, prefixes).
        if (
            view is None
            or view.device.revoked
            or not hmac.compare_digest(view.device.token_hash, token_hash)
        ):
            return None
        return view.device, view.calendar, view.cache_version, view.presence

    # -- parameters ------------------------------------------------------------------------------
    def _parse_query(
        self, params: MultiMapping[str], calendar: CalendarRecord, now: datetime
    ) -> _Query:
        for name in _PARAMETERS:
            if len(params.getall(name, ())) > 1:
                raise BadRequestError("bad_parameter", f"'{name}' is given more than once")
        hour = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        start = _parse_instant(params, "from") or hour - DEFAULT_BEFORE
        end = _parse_instant(params, "to") or start + DEFAULT_LENGTH
        if end <= start:
            raise BadRequestError("bad_window", "'to' must be after 'from'")
        # Clamp to what the cache holds (bounds also move by the hour, for stable ETags) and to
        # the longest window the admin allows.
        start = max(start, hour - self._past)
        end = min(end, hour + self._future, start + self._max_window)
        if end <= start:
            raise BadRequestError(
                "out_of_range",
                f"the window lies outside the cached range ({self._past.days} days back "
                f"to {self._future.days} days ahead)",
            )
        lead = _parse_lead(params.get("lead"))
        if lead is None:
            lead = (
                calendar.obtp_lead_minutes
                if calendar.obtp_lead_minutes is not None
                else self._lead_default
            )
        return _Query(Window(start, end), timedelta(minutes=lead))

    # -- representation --------------------------------------------------------------------------
    def _basis(self, state: _State) -> str:
        """Digest of every input of the answer except the clock-dependent button states."""
        query = state.query
        return _basis_digest(
            device_id=state.device.device_id,
            key=state.calendar.key,
            address=state.calendar.address,
            kind=state.calendar.kind.value,
            display_name=state.calendar.display_name or "",
            version=state.version,
            start=query.window.start,
            end=query.window.end,
            lead_s=int(query.lead.total_seconds()),
            flags=(self._hide_tentative, self._hide_private_titles),
            presence=state.presence,
            options=(
                f"names={int(self._names_allowed(state.calendar))}"
                f"\x1fmeet={self._meet_gateway or ''}"
            ),
        )

    def _names_allowed(self, calendar: CalendarRecord) -> bool:
        """Whether this calendar's devices see attendee names (the admin's choice)."""
        if self._names_mode == "all":
            return True
        return self._names_mode == "rooms_listed" and calendar.address.lower() in self._name_rooms

    def _snapshot(
        self, version: int, entries: list[MeetingEntry], lead: timedelta, *, names: bool
    ) -> _Snapshot:
        items = tuple(
            self._item(entry, lead, names=names)
            for entry in entries
            if not (entry.tentative and self._hide_tentative)
        )
        return _Snapshot(version, items, rendered=True)

    def _item(self, entry: MeetingEntry, lead: timedelta, *, names: bool) -> _Item:
        show_from = entry.start - lead
        meeting = _dumps(self._meeting_json(entry, names=names))
        # Reopen the object to append "obtp", leaving the button state for answer time.
        head = meeting[:-1] + b',"obtp":{"show_from":"' + _iso(show_from).encode() + b'",'
        return _Item(
            event_key=entry.event_key,
            show_from=show_from,
            end=entry.end,
            joinable=bool(entry.links),
            head=head + b'"show_button":',
        )

    def _meeting_json(self, entry: MeetingEntry, *, names: bool) -> dict[str, Any]:
        hidden = entry.private and self._hide_private_titles
        links = [self._link_json(link) for link in entry.links]
        join = dict(links[0]) if links else None
        if join is not None:
            # rows stored before the field was added: what their join link itself tells
            join["numeric_passcode"] = entry.numeric_passcode or numeric_passcode(entry.links[0])
        return {
            "id": entry.event_key,
            "title": PRIVATE_TITLE if hidden else entry.title,
            "start": _iso(entry.start),
            "end": _iso(entry.end),
            "all_day": entry.all_day,
            "organizer": (
                {"email": entry.organizer, "name": entry.organizer_name}
                if entry.organizer
                else None
            ),
            "location": "" if hidden else entry.location,
            "private": entry.private,
            "status": "tentative" if entry.tentative else "confirmed",
            # The Join target carries the passcode: a room system dialling Zoom, Webex or a SIP
            # bridge needs it. The list of every link does not repeat passcodes.
            "join": join,
            "links": [
                {name: value for name, value in link.items() if name != "passcode"}
                for link in links
            ],
            # Added in representation 2. Names hide with the title of a private meeting.
            "attendee_count": entry.attendee_count,
            "attendee_names": (
                list(entry.attendee_names)
                if names and not hidden and entry.attendee_count is not None
                else None
            ),
        }

    def _link_json(self, link: JoinLink) -> dict[str, Any]:
        data: dict[str, Any] = dict(link.to_json())
        if data["dial"] is None and self._meet_gateway is not None:
            data["dial"] = meet_gateway_dial(link, self._meet_gateway)
        return data

    def _remember(self, key: _SnapshotKey, snapshot: _Snapshot) -> None:
        if not self._keep_rendered:
            items = tuple(replace(i, head=b"") for i in snapshot.items)
            snapshot = _Snapshot(snapshot.version, items, rendered=False)
        self._snapshots[key] = snapshot
        self._snapshots.move_to_end(key)
        while len(self._snapshots) > self._snapshot_limit:
            self._snapshots.popitem(last=False)


def add_endpoint_routes(app: web.Application, api: EndpointApi) -> None:
    """Mount the device API (GET, and HEAD for free) on ``app``."""
    app.router.add_get(MEETINGS_PATH, api.meetings)


# -- helpers ---------------------------------------------------------------------------------------
def _bearer_token(header: str | None) -> str | None:
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


def _parse_instant(params: MultiMapping[str], name: str) -> datetime | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    value = _SPACE_FOR_PLUS.sub(r"+\1", raw.strip())
    malformed = BadRequestError(
        "bad_parameter", f"'{name}' must be an ISO 8601 date-time with an offset"
    )
    if _INSTANT.fullmatch(value) is None:
        raise malformed
    try:
        parsed = datetime.fromisoformat(value)
    except (ValueError, OverflowError):
        raise malformed from None
    if parsed.tzinfo is None:
        raise BadRequestError("bad_parameter", f"'{name}' needs a UTC offset, e.g. 'Z' or '+01:00'")
    out_of_range = BadRequestError(
        "bad_parameter", f"'{name}' must lie between the years 1970 and 9000"
    )
    try:
        instant = parsed.astimezone(UTC)  # 9999-12-31T23:59:59-23:59 overflows here
    except OverflowError:
        raise out_of_range from None
    if not _EARLIEST <= instant < _LATEST:
        raise out_of_range
    return instant


def _parse_lead(raw: str | None) -> int | None:
    if raw is None or raw == "":
        return None
    if _LEAD.fullmatch(raw) is None or int(raw) > MAX_LEAD_MINUTES:
        raise BadRequestError(
            "bad_parameter", f"'lead' must be a whole number of minutes, 0..{MAX_LEAD_MINUTES}"
        )
    return int(raw)


def _presence_json(presence: Presence | None) -> dict[str, Any] | None:
    # The out-of-office message is left out on purpose: it is personal text for mail senders,
    # not for a room display.
    if presence is None:
        return None
    return {
        "out_of_office": presence.out_of_office,
        "starts_at": _iso(presence.starts_at) if presence.starts_at else None,
        "ends_at": _iso(presence.ends_at) if presence.ends_at else None,
    }


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def _iso(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@functools.lru_cache(maxsize=4096)  # polls repeat the same inputs until something changes
def _basis_digest(  # keyword-only: the cache key must not depend on argument order
    *,
    device_id: str,
    key: str,
    address: str,
    kind: str,
    display_name: str,
    version: int,
    start: datetime,
    end: datetime,
    lead_s: int,
    flags: tuple[bool, bool],
    presence: Presence | None,
    options: str,
) -> str:
    parts = (
        REPRESENTATION,
        device_id,
        key,
        address,
        kind,
        display_name,
        str(version),
        _iso(start),
        _iso(end),
        str(lead_s),
        "t" if flags[0] else "-",
        "p" if flags[1] else "-",
        json.dumps(_presence_json(presence), sort_keys=True),
        options,
    )
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


@functools.lru_cache(maxsize=4096)
def _envelope(
    calendar: CalendarRecord, start: datetime, end: datetime, presence: Presence | None
) -> tuple[bytes, bytes]:
    """The answer's JSON around ``generated_at`` and up to the meetings array."""
    marker = "\x00generated_at\x00"
    envelope = {
        "calendar": {
            "address": calendar.address,
            "kind": calendar.kind.value,
            "display_name": calendar.display_name,
        },
        "generated_at": marker,
        "window": {"from": _iso(start), "to": _iso(end)},
        "presence": _presence_json(presence),
    }
    text = _dumps(envelope)[:-1] + b',"meetings":['
    head, _, tail = text.partition(json.dumps(marker).encode())
    return head + b'"', b'"' + tail


def _etag(basis: str, snapshot: _Snapshot, buttons: tuple[bool, ...]) -> str:
    lit = [item.event_key for item, on in zip(snapshot.items, buttons, strict=True) if on]
    digest = hashlib.sha256("\x1e".join((basis, *lit)).encode()).hexdigest()
    # Weak: two answers with the same tag carry the same meetings and buttons, but
    # ``generated_at`` (and a default window's echo) differ byte for byte.
    return f'W/"{digest[:32]}"'


def _etag_matches(if_none_match: str, etag: str) -> bool:
    """Weak comparison (RFC 9110 section 13.1.2), as If-None-Match requires."""
    if if_none_match.strip() == "*":
        return True
    opaque = etag.removeprefix("W/")
    return any(
        candidate.strip().removeprefix("W/") == opaque for candidate in if_none_match.split(",")
    )


def _headers(etag: str, content_type: str | None = None) -> dict[str, str]:
    headers: dict[str, str] = {
        hdrs.ETAG: etag,
        hdrs.CACHE_CONTROL: _CACHE_CONTROL,
        hdrs.VARY: hdrs.AUTHORIZATION,
        "X-Content-Type-Options": _NOSNIFF,
    }
    if content_type is not None:
        headers[hdrs.CONTENT_TYPE] = content_type
    return headers


def _not_modified(etag: str) -> web.Response:
    return web.Response(status=304, headers=_headers(etag))


def _error(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> web.Response:
    payload = json.dumps({"error": code, "message": message}).encode()
    all_headers = {
        hdrs.CONTENT_TYPE: _JSON,
        hdrs.CACHE_CONTROL: "no-store",
        "X-Content-Type-Options": _NOSNIFF,
        **(headers or {}),
    }
    return web.Response(status=status, body=payload, headers=all_headers)


def _unauthorized(*, presented: bool) -> web.Response:
    # Unknown and revoked tokens get the very same answer.
    challenge = f'{_REALM}, error="invalid_token"' if presented else _REALM
    return _error(
        401, "unauthorized", "a valid device token is required", {hdrs.WWW_AUTHENTICATE: challenge}
    )
