"""Room systems booking their own room: what a provider must offer (``RoomBooking``).

The rules (free first, only a device's own bookings change, ending early keeps the history) are
the daemon's (``daemon/booking_api.py``); a provider only reads free/busy, and creates, reads,
re-times and deletes one event on the room's own calendar, carrying the device's mark. The mark
lives in the event itself (a private extended property on Google, a single-value extended
property on Graph), so that ownership is proven by the calendar, not by a row of ours that a
restored store or another replica might not have.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from hybridcal.connectors.calendars.base import CalendarConnector
from hybridcal.core.model import CalendarRecord, Provider

# Google: the private extended property's key; Graph: the extended property's name
BOOKING_PROPERTY = "hybridcal.booking.device"


@dataclass(frozen=True, slots=True)
class Slot:
    """A span of time, UTC, end exclusive."""

    start: datetime
    end: datetime

    def overlaps(self, other: Slot) -> bool:
        return self.start < other.end and other.start < self.end


@dataclass(frozen=True, slots=True)
class Booking:
    """An event on a room's calendar, as far as booking needs it."""

    event_id: str
    start: datetime
    end: datetime
    device_id: str | None  # the device whose mark the event carries; None: not a booking
    cancelled: bool = False
    etag: str | None = None


class RoomBooking(Protocol):
    async def busy(self, room: CalendarRecord, span: Slot) -> list[Slot]:
        """The room's busy periods overlapping ``span``, in start order."""

    async def create(
        self, room: CalendarRecord, slot: Slot, *, title: str, device_id: str
    ) -> Booking:
        """A new event on the room's own calendar, marked with ``device_id``."""

    async def get(self, room: CalendarRecord, event_id: str) -> Booking | None:
        """The event with its mark, or None when the room's calendar has no such event."""

    async def set_end(self, room: CalendarRecord, booking: Booking, end: datetime) -> Booking:
        """Move the end (If-Match on the etag read); ConflictError when it changed meanwhile."""

    async def delete(self, room: CalendarRecord, booking: Booking) -> None: ...


def room_bookings(connectors: Mapping[Provider, CalendarConnector]) -> dict[Provider, RoomBooking]:
    """Booking for every configured provider, over its connector (tokens, pacing, retries and
    error translation are the connector's). Provider modules load only when configured."""
    found: dict[Provider, RoomBooking] = {}
    google = connectors.get(Provider.GOOGLE)
    if google is not None:
        from hybridcal.connectors.calendars.google import GoogleCalendarConnector  # noqa: PLC0415
        from hybridcal.connectors.calendars.google_booking import (  # noqa: PLC0415
            GoogleRoomBooking,
        )

        if isinstance(google, GoogleCalendarConnector):
            found[Provider.GOOGLE] = GoogleRoomBooking(google)
    graph = connectors.get(Provider.MICROSOFT)
    if graph is not None:
        from hybridcal.connectors.calendars.microsoft import (  # noqa: PLC0415
            MicrosoftCalendarConnector,
        )
        from hybridcal.connectors.calendars.microsoft_booking import (  # noqa: PLC0415
            GraphRoomBooking,
        )

        if isinstance(graph, MicrosoftCalendarConnector):
            found[Provider.MICROSOFT] = GraphRoomBooking(graph)
    return found
