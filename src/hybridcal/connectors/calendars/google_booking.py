"""Room booking on Google Calendar: ``freebusy.query`` and events on the room's own calendar.

Rooms are read and written as ``google.room_access_user`` (domain-wide delegation), as the
connector syncs them: resource calendars cannot be impersonated. The event is inserted into the
room's calendar, so the room is its organiser, and the room is also listed as an accepted
resource attendee, which is how Google shows a room booked (busy in free/busy and in the room
finder). The device's mark is a *private* extended property: private properties belong to the
room's copy of the event alone, so nobody who invites the room can put one on its copy.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from hybridcal.connectors.calendars.booking import BOOKING_PROPERTY, Booking, Slot
from hybridcal.connectors.errors import ConnectorError, NotFoundError

if TYPE_CHECKING:
    from googleapiclient.discovery import Resource
    from googleapiclient.http import HttpRequest

    from hybridcal.connectors.calendars.google import GoogleCalendarConnector
    from hybridcal.core.model import CalendarRecord


class GoogleRoomBooking:
    def __init__(self, connector: GoogleCalendarConnector) -> None:
        self._connector = connector

    async def busy(self, room: CalendarRecord, span: Slot) -> list[Slot]:
        body: dict[str, Any] = {
            "timeMin": _rfc3339(span.start),
            "timeMax": _rfc3339(span.end),
            "items": [{"id": room.address}],
        }

        def build(api: Resource) -> HttpRequest:
            req: HttpRequest = api.freebusy().query(body=body)
            return req

        data = await self._connector.calendar_request(room, build, "freebusy.query")
        calendars = data.get("calendars") or {}
        found = calendars.get(room.address)
        if found is None:  # the id comes back as sent; tolerate another case all the same
            found = next(
                (v for k, v in calendars.items() if k.lower() == room.address.lower()), None
            )
        if not isinstance(found, dict):
            raise ConnectorError(f"freebusy.query: no answer for {room.address}")
        errors = found.get("errors") or []
        if errors:
            reason = str((errors[0] or {}).get("reason", ""))
            error = NotFoundError if reason == "notFound" else ConnectorError
            raise error(f"freebusy.query: {room.address}: {reason or 'error'}")
        periods = [
            Slot(_instant(p["start"]), _instant(p["end"]))
            for p in found.get("busy") or []
            if isinstance(p, dict) and "start" in p and "end" in p
        ]
        return sorted((p for p in periods if p.overlaps(span)), key=lambda p: p.start)

    async def create(
        self, room: CalendarRecord, slot: Slot, *, title: str, device_id: str
    ) -> Booking:
        body = {
            "summary": title,
            "start": {"dateTime": _rfc3339(slot.start), "timeZone": "UTC"},
            "end": {"dateTime": _rfc3339(slot.end), "timeZone": "UTC"},
            "transparency": "opaque",
            "attendees": [{"email": room.address, "resource": True, "responseStatus": "accepted"}],
            "extendedProperties": {"private": {BOOKING_PROPERTY: device_id}},
        }

        def build(api: Resource) -> HttpRequest:
            req: HttpRequest = api.events().insert(
                calendarId=room.address, body=body, sendUpdates="none"
            )
            return req

        data = await self._connector.calendar_request(room, build, "events.insert", write=True)
        return _booking(data)

    async def get(self, room: CalendarRecord, event_id: str) -> Booking | None:
        def build(api: Resource) -> HttpRequest:
            req: HttpRequest = api.events().get(calendarId=room.address, eventId=event_id)
            return req

        try:
            data = await self._connector.calendar_request(room, build, "events.get")
        except NotFoundError:
            return None
        return _booking(data)

    async def set_end(self, room: CalendarRecord, booking: Booking, end: datetime) -> Booking:
        body = {"end": {"dateTime": _rfc3339(end), "timeZone": "UTC"}}

        def build(api: Resource) -> HttpRequest:
            # conferenceDataVersion=1 on every write, or Google drops conference data
            req: HttpRequest = api.events().patch(
                calendarId=room.address,
                eventId=booking.event_id,
                body=body,
                conferenceDataVersion=1,
                sendUpdates="none",
            )
            if booking.etag:
                req.headers["If-Match"] = booking.etag
            return req

        data = await self._connector.calendar_request(room, build, "events.patch", write=True)
        return _booking(data)

    async def delete(self, room: CalendarRecord, booking: Booking) -> None:
        def build(api: Resource) -> HttpRequest:
            req: HttpRequest = api.events().delete(
                calendarId=room.address, eventId=booking.event_id, sendUpdates="none"
            )
            if booking.etag:
                req.headers["If-Match"] = booking.etag
            return req

        await self._connector.calendar_request(room, build, "events.delete", write=True)


def _booking(data: dict[str, Any]) -> Booking:
    private = (data.get("extendedProperties") or {}).get("private") or {}
    mark = private.get(BOOKING_PROPERTY)
    try:
        start, end = _when(data.get("start")), _when(data.get("end"))
    except (KeyError, TypeError, ValueError):
        raise ConnectorError("events: an answer without readable start and end") from None
    return Booking(
        event_id=str(data.get("id", "")),
        start=start,
        end=end,
        device_id=mark if isinstance(mark, str) and mark else None,
        cancelled=data.get("status") == "cancelled",
        etag=data.get("etag"),
    )


def _when(value: Any) -> datetime:
    if "dateTime" in value:
        return _instant(value["dateTime"])
    day = datetime.fromisoformat(value["date"])  # all day: never a device's booking
    return day.replace(tzinfo=UTC)


def _instant(text: str) -> datetime:
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        raise ValueError(f"{text!r} has no offset")
    return parsed.astimezone(UTC)


def _rfc3339(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
