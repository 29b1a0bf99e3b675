"""Room systems book their own room: ``POST``/``PATCH``/``DELETE /api/v1/bookings``.

A device authenticates with its device token, as for ``GET /api/v1/meetings``, and can only
ever book the one room its token belongs to. Book now (free/busy first), extend (free/busy of
the extra span first), end early (the end moves to now: the event stays, so the room's history
shows the use). The wire format is in ``docs/endpoint-api.md``.

*Ownership* is proven by the room's calendar itself: the event carries the device's mark (see
``connectors/calendars/booking.py``), read back before every change. An event without this
device's mark — a person's meeting, another device's booking — is answered ``404`` like an id
that does not exist: a device has no business telling them apart.

*The list at once*: after a write the room's calendar is handed to the sync queue (through the
dispatcher, so another replica that owns the room syncs it) and the answer waits, at most
``list_wait`` seconds, until the store's rows show the change. The row is not written here: a
sync round is the one writer of a calendar's rows and cursor (an out-of-band row would race
the round and is refused on a replica that does not hold the room's lease), and the round reads
the event exactly as the provider stored it. ``"listed"`` in the answer tells whether the wait
succeeded; when it did not, the list shows the change within a poll or two.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import structlog
from aiohttp import hdrs, web

from hybridcal.connectors.calendars.booking import Booking, RoomBooking, Slot
from hybridcal.connectors.errors import (
    ConflictError,
    ConnectorError,
    ThrottledError,
    WritesPausedError,
)
from hybridcal.core.locales import LOCALES
from hybridcal.core.model import CalendarKind, CalendarRecord, CalendarState, Device, Provider
from hybridcal.core.render import choose_locale
from hybridcal.daemon.devices import hash_token, is_well_formed

if TYPE_CHECKING:
    from hybridcal.store.base import Store

log = structlog.get_logger(__name__)

BOOKINGS_PATH = "/api/v1/bookings"
MIN_BOOKING_MINUTES = 5
LIST_WAIT_SECONDS = 5.0
_POLL_SECONDS = 0.05
_JSON = "application/json; charset=utf-8"
_REALM = 'Bearer realm="hybridcal"'
_RETRY_SECONDS = 5


@dataclass(frozen=True, slots=True)
class BookingParts:
    """What the booking routes need from the daemon besides the store and the clock."""

    rooms: Mapping[Provider, RoomBooking]
    deliver: Callable[[str], None]  # "sync this calendar" (the local queue or its owner)


class _Refusal(Exception):  # noqa: N818 - an answer, not a failure
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.response = _error(status, code, message, extra, headers)


@dataclass(frozen=True, slots=True)
class _Caller:
    device: Device
    room: CalendarRecord
    booking: RoomBooking


class BookingApi:
    def __init__(
        self,
        *,
        store: Store,
        rooms: Mapping[Provider, RoomBooking],
        deliver: Callable[[str], None],
        now: Callable[[], datetime],
        max_minutes: int,
        default_locale: str,
        list_wait: float = LIST_WAIT_SECONDS,
    ) -> None:
        if max_minutes < MIN_BOOKING_MINUTES:
            raise ValueError(f"max_minutes must be at least {MIN_BOOKING_MINUTES}")
        self._store = store
        self._rooms = rooms
        self._deliver = deliver
        self._now = now
        self._max = timedelta(minutes=max_minutes)
        self._locale = default_locale
        self._list_wait = list_wait
        # one booking action per room at a time in this process: a double tap on the panel
        # must not pass two free/busy checks before either booking exists
        self._locks: dict[str, asyncio.Lock] = {}

    # -- handlers --------------------------------------------------------------------------------

    async def create(self, request: web.Request) -> web.Response:
        return await self._guarded(request, self._create)

    async def extend(self, request: web.Request) -> web.Response:
        return await self._guarded(request, self._extend)

    async def end(self, request: web.Request) -> web.Response:
        return await self._guarded(request, self._end)

    async def _create(self, request: web.Request, caller: _Caller) -> web.Response:
        minutes = _minutes(await _body(request), "minutes", MIN_BOOKING_MINUTES)
        now = self._instant()
        if timedelta(minutes=minutes) > self._max:
            raise self._too_long()
        slot = Slot(now, now + timedelta(minutes=minutes))
        await self._free(caller, slot)
        title = LOCALES[choose_locale(caller.room.locale, self._locale)]["booking.title"]
        made = await caller.booking.create(
            caller.room,
            slot,
            title=title.format(device=caller.device.name),
            device_id=caller.device.device_id,
        )
        log.info(
            "booking.created",
            calendar=caller.room.key,
            device=caller.device.device_id,
            event_id=made.event_id,
            minutes=minutes,
        )
        listed = await self._listed(caller.room.key, made, gone=False)
        headers = {"Location": f"{BOOKINGS_PATH}/{made.event_id}"}
        return _answer(201, made, listed, headers)

    async def _extend(self, request: web.Request, caller: _Caller) -> web.Response:
        minutes = _minutes(await _body(request), "extend_minutes", 1)
        booking = await self._own(request, caller)
        now = self._instant()
        if booking.end <= now:
            raise _Refusal(409, "booking_over", "the booking has already ended")
        end = booking.end + timedelta(minutes=minutes)
        if end - now > self._max:
            raise self._too_long()
        await self._free(caller, Slot(booking.end, end))
        changed = await caller.booking.set_end(caller.room, booking, end)
        log.info(
            "booking.extended", calendar=caller.room.key, event_id=booking.event_id, minutes=minutes
        )
        return _answer(200, changed, await self._listed(caller.room.key, changed, gone=False))

    async def _end(self, request: web.Request, caller: _Caller) -> web.Response:
        booking = await self._own(request, caller)
        now = self._instant()
        if booking.end <= now:  # already over: ending it again changes nothing
            return _answer(200, booking, listed=True)
        if booking.start >= now:
            # not begun (ended within its first second): nothing happened worth keeping
            await caller.booking.delete(caller.room, booking)
            log.info("booking.deleted", calendar=caller.room.key, event_id=booking.event_id)
            gone = Booking(booking.event_id, booking.start, booking.start, booking.device_id)
            return _answer(200, gone, await self._listed(caller.room.key, gone, gone=True))
        # shortened, not deleted: the room's calendar keeps the record of the use
        changed = await caller.booking.set_end(caller.room, booking, now)
        log.info("booking.ended", calendar=caller.room.key, event_id=booking.event_id)
        return _answer(200, changed, await self._listed(caller.room.key, changed, gone=False))

    # -- the checks ------------------------------------------------------------------------------

    async def _guarded(
        self,
        request: web.Request,
        action: Callable[[web.Request, _Caller], Awaitable[web.Response]],
    ) -> web.Response:
        try:
            caller = await self._caller(request)
            async with self._locks.setdefault(caller.room.key, asyncio.Lock()):
                return await action(request, caller)
        except _Refusal as refusal:
            return refusal.response
        except (ThrottledError, WritesPausedError) as exc:
            log.warning("booking.provider_busy", path=request.path, error=str(exc))
            return _error(
                503,
                "provider_busy",
                "the calendar system asks to slow down; try again later",
                headers={hdrs.RETRY_AFTER: str(_retry_after(exc, self._now()))},
            )
        except ConflictError as exc:
            log.info("booking.changed_meanwhile", path=request.path, error=str(exc))
            return _error(
                409, "booking_changed", "the booking changed meanwhile; read the list and try again"
            )
        except ConnectorError as exc:
            log.warning("booking.provider_error", path=request.path, error=str(exc))
            return _error(
                502,
                "provider_error",
                "the room's calendar could not be changed "
                "(the administrator can see why in the log)",
            )
        except Exception:
            log.exception("booking.failed", path=request.path)
            return _error(500, "internal", "internal error")

    async def _caller(self, request: web.Request) -> _Caller:
        """The device and its room, or the refusal: 401 as ``GET /api/v1/meetings`` answers
        it; 403 for a device of a person's calendar or a room hybridcal does not serve now."""
        token = _bearer_token(request.headers.get(hdrs.AUTHORIZATION))
        view = None
        if token is not None and is_well_formed(token):
            token_hash = hash_token(token)
            view = await self._store.device_view(token_hash)
            if view is not None and (
                view.device.revoked or not hmac.compare_digest(view.device.token_hash, token_hash)
            ):
                view = None
        if view is None:
            challenge = f'{_REALM}, error="invalid_token"' if token is not None else _REALM
            raise _Refusal(
                401,
                "unauthorized",
                "a valid device token is required",
                headers={hdrs.WWW_AUTHENTICATE: challenge},
            )
        room = view.calendar
        if room.kind is not CalendarKind.ROOM:
            raise _Refusal(403, "not_a_room", "only a room's device can book its room")
        if room.state is not CalendarState.ACTIVE:
            raise _Refusal(
                403,
                "room_not_active",
                "hybridcal does not serve this room's calendar at the moment",
            )
        booking = self._rooms.get(room.provider)
        if booking is None:
            raise _Refusal(
                503,
                "booking_unavailable",
                "booking is not available for this room",
                headers={hdrs.RETRY_AFTER: "60"},
            )
        return _Caller(view.device, room, booking)

    async def _own(self, request: web.Request, caller: _Caller) -> Booking:
        """The booking named in the path, if this device made it; 404 for anything else."""
        event_id = request.match_info["booking_id"]
        found = await caller.booking.get(caller.room, event_id) if event_id else None
        if (
            found is None
            or found.cancelled
            or found.device_id is None
            or not hmac.compare_digest(found.device_id, caller.device.device_id)
        ):
            raise _Refusal(404, "not_found", "this device has no booking with this id")
        return found

    async def _free(self, caller: _Caller, slot: Slot) -> None:
        busy = await caller.booking.busy(caller.room, slot)
        if busy:
            # when the room is taken, never by what: no title, no organiser
            first = busy[0]
            raise _Refusal(
                409,
                "room_busy",
                "the room is taken during this time",
                {"conflict": {"start": _iso(first.start), "end": _iso(first.end)}},
            )

    def _too_long(self) -> _Refusal:
        limit = int(self._max.total_seconds() // 60)
        return _Refusal(
            400, "bad_length", f"a booking holds the room at most {limit} minutes ahead of now"
        )

    def _instant(self) -> datetime:
        return self._now().astimezone(UTC).replace(microsecond=0)

    async def _listed(self, key: str, booking: Booking, *, gone: bool) -> bool:
        """Sync the room now and wait until its rows show ``booking`` (or its absence)."""
        self._deliver(key)
        deadline = time.monotonic() + self._list_wait
        margin = timedelta(minutes=1)
        while True:
            rows = await self._store.list_entries(key, booking.start - margin, booking.end + margin)
            row = next((r for r in rows if r.event_key == booking.event_id), None)
            if (row is None) if gone else (row is not None and row.end == booking.end):
                return True
            if time.monotonic() >= deadline:
                log.info("booking.not_yet_listed", calendar=key, event_id=booking.event_id)
                return False
            await asyncio.sleep(_POLL_SECONDS)


def add_booking_routes(
    app: web.Application,
    *,
    store: Store,
    parts: BookingParts,
    now: Callable[[], datetime],
    max_minutes: int,
    default_locale: str,
) -> BookingApi:
    """Mount ``POST /api/v1/bookings`` and ``PATCH``/``DELETE /api/v1/bookings/{id}``."""
    api = BookingApi(
        store=store,
        rooms=parts.rooms,
        deliver=parts.deliver,
        now=now,
        max_minutes=max_minutes,
        default_locale=default_locale,
    )
    app.router.add_post(BOOKINGS_PATH, api.create)
    app.router.add_patch(BOOKINGS_PATH + "/{booking_id}", api.extend)
    app.router.add_delete(BOOKINGS_PATH + "/{booking_id}", api.end)
    return api


# -- helpers ---------------------------------------------------------------------------------------
async def _body(request: web.Request) -> dict[str, Any]:
    try:
        data = json.loads(await request.read() or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise _Refusal(400, "bad_body", "the body must be a JSON object") from None
    if not isinstance(data, dict):
        raise _Refusal(400, "bad_body", "the body must be a JSON object")
    return data


def _minutes(body: dict[str, Any], name: str, low: int) -> int:
    value = body.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or value < low or value > 24 * 60:
        raise _Refusal(
            400, "bad_length", f"'{name}' must be a whole number of minutes, at least {low}"
        )
    return value


def _bearer_token(header: str | None) -> str | None:
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def _retry_after(exc: ConnectorError, now: datetime) -> int:
    if isinstance(exc, WritesPausedError):
        return max(1, int((exc.until - now).total_seconds()))
    if isinstance(exc, ThrottledError) and exc.retry_after:
        return max(1, int(exc.retry_after))
    return _RETRY_SECONDS


def _iso(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _answer(
    status: int, booking: Booking, listed: bool, headers: dict[str, str] | None = None
) -> web.Response:
    body = {
        "booking": {
            "id": booking.event_id,
            "start": _iso(booking.start),
            "end": _iso(booking.end),
        },
        "listed": listed,
    }
    return _json(status, body, headers)


def _error(
    status: int,
    code: str,
    message: str,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    return _json(status, {"error": code, "message": message, **(extra or {})}, headers)


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None) -> web.Response:
    all_headers = {
        hdrs.CONTENT_TYPE: _JSON,
        hdrs.CACHE_CONTROL: "no-store",
        "X-Content-Type-Options": "nosniff",
        **(headers or {}),
    }
    return web.Response(status=status, body=json.dumps(body).encode(), headers=all_headers)
