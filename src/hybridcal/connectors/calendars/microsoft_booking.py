"""Room booking on Microsoft 365: Graph on the room mailbox itself.

Free/busy comes from ``POST /users/{room}/calendar/getSchedule`` (application permission
``Calendars.ReadWrite`` covers it, like everything else the app does), the booking is
``POST /users/{room}/calendar/events``, so the room mailbox is its organiser and it shows busy
(``showAs: busy``) without inviting itself. The device's mark is a single-value extended
property under the project's GUID (``String {guid} Name hybridcal.booking.device``): extended
properties belong to one mailbox's item, so an organiser who invites the room cannot put one on
the room's copy. msgraph-sdk's builders are imported only when a booking is made.
"""

from __future__ import annotations

import json
import warnings
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hybridcal.connectors.calendars.booking import BOOKING_PROPERTY, Booking, Slot
from hybridcal.connectors.calendars.microsoft_wire import MARKER_GUID, iana_zone
from hybridcal.connectors.errors import ConnectorError, NotFoundError

if TYPE_CHECKING:
    from kiota_abstractions.request_information import RequestInformation
    from msgraph.generated.users.item.user_item_request_builder import UserItemRequestBuilder

    from hybridcal.connectors.calendars.microsoft import MicrosoftCalendarConnector
    from hybridcal.core.model import CalendarRecord

BOOKING_PROPERTY_ID = f"String {{{MARKER_GUID}}} Name {BOOKING_PROPERTY}"
_EXPAND = f"singleValueExtendedProperties($filter=id eq '{BOOKING_PROPERTY_ID}')"
SCHEDULE_INTERVAL_MINUTES = 5  # getSchedule's finest availabilityView (its items are exact)
_FREE = frozenset({"free"})


class GraphRoomBooking:
    def __init__(self, connector: MicrosoftCalendarConnector) -> None:
        self._connector = connector

    async def busy(self, room: CalendarRecord, span: Slot) -> list[Slot]:
        body = {
            "schedules": [room.address],
            "startTime": _utc(span.start),
            "endTime": _utc(span.end),
            "availabilityViewInterval": SCHEDULE_INTERVAL_MINUTES,
        }

        def build(user: UserItemRequestBuilder) -> RequestInformation:
            return _json_request(_calendar(user).get_schedule, "POST", body)

        data = await self._connector.mailbox_request(room, build, "calendar.getSchedule")
        values = data.get("value")
        info = next(
            (
                v
                for v in values or []
                if isinstance(v, dict)
                and str(v.get("scheduleId", "")).lower() == room.address.lower()
            ),
            None,
        )
        if info is None:
            raise ConnectorError(f"calendar.getSchedule: no schedule for {room.address}")
        error = info.get("error")
        if isinstance(error, dict):
            raise ConnectorError(f"calendar.getSchedule: {room.address}: {error.get('message')}")
        periods = []
        for item in info.get("scheduleItems") or []:
            if not isinstance(item, dict) or str(item.get("status", "")).lower() in _FREE:
                continue
            periods.append(Slot(_instant(item.get("start")), _instant(item.get("end"))))
        return sorted((p for p in periods if p.overlaps(span)), key=lambda p: p.start)

    async def create(
        self, room: CalendarRecord, slot: Slot, *, title: str, device_id: str
    ) -> Booking:
        body = {
            "subject": title,
            "start": _utc(slot.start),
            "end": _utc(slot.end),
            "showAs": "busy",
            "isReminderOn": False,
            "singleValueExtendedProperties": [{"id": BOOKING_PROPERTY_ID, "value": device_id}],
        }

        def build(user: UserItemRequestBuilder) -> RequestInformation:
            return _json_request(_calendar(user).events, "POST", body)

        data = await self._connector.mailbox_request(room, build, "events.create", write=True)
        # Graph answers a create without the extended properties: the mark is what was sent
        return _booking(data, mark=device_id)

    async def get(self, room: CalendarRecord, event_id: str) -> Booking | None:
        from kiota_abstractions.base_request_configuration import (  # noqa: PLC0415
            RequestConfiguration,
        )
        from msgraph.generated.users.item.events.item.event_item_request_builder import (  # noqa: PLC0415
            EventItemRequestBuilder,
        )

        query = EventItemRequestBuilder.EventItemRequestBuilderGetQueryParameters(expand=[_EXPAND])

        def build(user: UserItemRequestBuilder) -> RequestInformation:
            item = user.events.by_event_id(event_id)
            return item.to_get_request_information(RequestConfiguration(query_parameters=query))

        try:
            data = await self._connector.mailbox_request(room, build, "events.get")
        except NotFoundError:
            return None
        return _booking(data, mark=_mark(data))

    async def set_end(self, room: CalendarRecord, booking: Booking, end: datetime) -> Booking:
        body = {"end": _utc(end)}

        def build(user: UserItemRequestBuilder) -> RequestInformation:
            info = _json_request(user.events.by_event_id(booking.event_id), "PATCH", body)
            if booking.etag:
                info.headers.try_add("If-Match", booking.etag)
            return info

        data = await self._connector.mailbox_request(room, build, "events.patch", write=True)
        return _booking(data, mark=booking.device_id)

    async def delete(self, room: CalendarRecord, booking: Booking) -> None:
        def build(user: UserItemRequestBuilder) -> RequestInformation:
            info = _json_request(user.events.by_event_id(booking.event_id), "DELETE", None)
            if booking.etag:
                info.headers.try_add("If-Match", booking.etag)
            return info

        await self._connector.mailbox_request(room, build, "events.delete", write=True)


def _calendar(user: UserItemRequestBuilder) -> Any:
    # msgraph's calendar builder module warns about its own deprecated classes on import
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return user.calendar


def _json_request(builder: Any, method: str, body: dict[str, Any] | None) -> RequestInformation:
    """A request to ``builder``'s URL with a JSON body we serialise ourselves."""
    from kiota_abstractions.method import Method  # noqa: PLC0415
    from kiota_abstractions.request_information import RequestInformation  # noqa: PLC0415

    info = RequestInformation(Method(method), builder.url_template, builder.path_parameters)
    info.headers.try_add("Accept", "application/json")
    if body is not None:
        info.set_stream_content(json.dumps(body).encode(), "application/json")
    return info


def _mark(data: dict[str, Any]) -> str | None:
    for prop in data.get("singleValueExtendedProperties") or []:
        if (
            isinstance(prop, dict)
            and str(prop.get("id", "")).lower() == BOOKING_PROPERTY_ID.lower()
            and isinstance(prop.get("value"), str)
            and prop["value"]
        ):
            return str(prop["value"])
    return None


def _booking(data: dict[str, Any], *, mark: str | None) -> Booking:
    try:
        start, end = _instant(data.get("start")), _instant(data.get("end"))
    except (KeyError, TypeError, ValueError):
        raise ConnectorError("events: an answer without readable start and end") from None
    etag = data.get("@odata.etag")
    return Booking(
        event_id=str(data.get("id", "")),
        start=start,
        end=end,
        device_id=mark,
        cancelled=bool(data.get("isCancelled")),
        etag=etag if isinstance(etag, str) else None,
    )


def _utc(value: datetime) -> dict[str, str]:
    return {"dateTime": value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"}


def _instant(value: Any) -> datetime:
    """A Graph dateTimeTimeZone as an aware UTC instant (Graph answers in UTC unless asked)."""
    if not isinstance(value, dict) or not isinstance(value.get("dateTime"), str):
        raise TypeError("not a dateTimeTimeZone")
    text = value["dateTime"]
    head, dot, fraction = text.partition(".")
    parsed = datetime.fromisoformat(head + (dot + fraction[:6] if dot else ""))
    if parsed.tzinfo is None:
        zone_name = value.get("timeZone")
        try:
            zone = ZoneInfo(iana_zone(zone_name if isinstance(zone_name, str) else None) or "UTC")
        except (ZoneInfoNotFoundError, ValueError):
            zone = ZoneInfo("UTC")
        parsed = parsed.replace(tzinfo=zone)
    return parsed.astimezone(UTC)
