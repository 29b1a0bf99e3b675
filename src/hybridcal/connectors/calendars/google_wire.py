"""Google Calendar v3 event JSON -> core.Event, validated at the edge with pydantic."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hybridcal.connectors.errors import MalformedEventError, short_reason
from hybridcal.core.model import Attendee, Conference, EntryPoint, Event, EventStatus, Marker


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class GTime(_Wire):
    date: str | None = None
    date_time: str | None = Field(default=None, alias="dateTime")
    time_zone: str | None = Field(default=None, alias="timeZone")


class GPerson(_Wire):
    email: str | None = None
    display_name: str | None = Field(default=None, alias="displayName")
    self_: bool = Field(default=False, alias="self")


class GAttendee(GPerson):
    resource: bool = False
    organizer: bool = False
    optional: bool = False
    response_status: str = Field(default="needsAction", alias="responseStatus")


class GEntryPoint(_Wire):
    entry_point_type: str = Field(alias="entryPointType")
    uri: str = ""
    label: str | None = None
    pin: str | None = None
    passcode: str | None = None
    region_code: str | None = Field(default=None, alias="regionCode")


class GCreateStatus(_Wire):
    status_code: str | None = Field(default=None, alias="statusCode")


class GCreateRequest(_Wire):
    request_id: str | None = Field(default=None, alias="requestId")
    status: GCreateStatus | None = None


class GSolutionKey(_Wire):
    type: str | None = None


class GSolution(_Wire):
    key: GSolutionKey | None = None


class GConferenceData(_Wire):
    conference_id: str | None = Field(default=None, alias="conferenceId")
    create_request: GCreateRequest | None = Field(default=None, alias="createRequest")
    conference_solution: GSolution | None = Field(default=None, alias="conferenceSolution")
    entry_points: list[GEntryPoint] = Field(default_factory=list, alias="entryPoints")


class GExtended(_Wire):
    private: dict[str, str] | None = None
    shared: dict[str, str] | None = None


class GEvent(_Wire):
    id: str
    etag: str | None = None
    status: str = "confirmed"
    summary: str = ""
    location: str = ""
    description: str = ""
    visibility: str = "default"
    i_cal_uid: str | None = Field(default=None, alias="iCalUID")
    start: GTime | None = None
    end: GTime | None = None
    organizer: GPerson | None = None
    attendees: list[GAttendee] = Field(default_factory=list)
    recurrence: list[str] = Field(default_factory=list)
    recurring_event_id: str | None = Field(default=None, alias="recurringEventId")
    original_start_time: GTime | None = Field(default=None, alias="originalStartTime")
    conference_data: GConferenceData | None = Field(default=None, alias="conferenceData")
    extended_properties: GExtended | None = Field(default=None, alias="extendedProperties")
    updated: str | None = None
    event_type: str = Field(default="default", alias="eventType")


_STATUSES = frozenset(s.value for s in EventStatus)
_SOLUTIONS = {"hangoutsMeet": "meet", "eventHangout": "meet", "eventNamedHangout": "meet"}


def parse_event(data: dict[str, Any], calendar_key: str, *, default_tz: str | None = None) -> Event:
    """Raise MalformedEventError (with the event id when known) on anything we cannot read."""
    try:
        wire = GEvent.model_validate(data)
        return _to_event(wire, calendar_key, default_tz)
    except (ValidationError, ValueError, KeyError, TypeError, OverflowError) as exc:
        # OverflowError: a date at the edge of the calendar (year 1, 9999) moved by its offset
        event_id = data.get("id") if isinstance(data, dict) else None
        raise MalformedEventError(f"event {event_id!r}: {short_reason(exc)}") from exc


def _to_event(wire: GEvent, calendar_key: str, default_tz: str | None) -> Event:
    start, all_day, tz = _instant(wire.start, default_tz)
    end, _, _ = _instant(wire.end, tz or default_tz)
    status = EventStatus(wire.status) if wire.status in _STATUSES else EventStatus.CONFIRMED
    if start is not None and end is not None and end < start and status != EventStatus.CANCELLED:
        raise ValueError("end before start")
    organizer = wire.organizer
    private = wire.extended_properties.private if wire.extended_properties else None
    return Event(
        calendar_key=calendar_key,
        event_id=wire.id,
        etag=wire.etag,
        status=status,
        start=start,
        end=end,
        all_day=all_day,
        timezone=tz,
        summary=wire.summary,
        location=wire.location,
        description=wire.description,
        ical_uid=wire.i_cal_uid,
        organizer=organizer.email.lower() if organizer and organizer.email else None,
        organizer_name=organizer.display_name if organizer else None,
        is_organizer_copy=bool(organizer and organizer.self_),
        attendees=tuple(
            Attendee(
                email=a.email.lower(),
                name=a.display_name,
                resource=a.resource,
                organizer=a.organizer,
                optional=a.optional,
                response=a.response_status,
            )
            for a in wire.attendees
            if a.email
        ),
        private=wire.visibility in ("private", "confidential"),
        recurrence=tuple(wire.recurrence),
        recurring_event_id=wire.recurring_event_id,
        original_start=_instant(wire.original_start_time, tz or default_tz)[0],
        conference=_conference(wire.conference_data),
        marker=Marker.from_properties(private),
        updated=_parse_dt(wire.updated) if wire.updated else None,
    )


def _conference(data: GConferenceData | None) -> Conference | None:
    if data is None:
        return None
    key = data.conference_solution.key if data.conference_solution else None
    solution = key.type if key and key.type else None
    request = data.create_request
    if solution is None and request is not None:
        solution = "hangoutsMeet"
    return Conference(
        system=_SOLUTIONS.get(solution or "", solution or "unknown"),
        conference_id=data.conference_id,
        status=request.status.status_code if request and request.status else None,
        request_id=request.request_id if request else None,
        entry_points=tuple(
            EntryPoint(
                kind=ep.entry_point_type,
                uri=ep.uri,
                label=ep.label,
                pin=ep.pin,
                passcode=ep.passcode,
                region=ep.region_code,
            )
            for ep in data.entry_points
        ),
    )


def _instant(t: GTime | None, default_tz: str | None) -> tuple[datetime | None, bool, str | None]:
    """(UTC instant, all-day, time zone name). All-day dates start at midnight in the zone."""
    if t is None:
        return None, False, None
    if t.date_time:
        return _parse_dt(t.date_time, t.time_zone or default_tz).astimezone(UTC), False, t.time_zone
    if t.date:
        zone = _zone(t.time_zone or default_tz)
        day = date.fromisoformat(t.date)
        return datetime.combine(day, time(0), zone).astimezone(UTC), True, t.time_zone
    return None, False, t.time_zone


def _parse_dt(value: str, tz: str | None = None) -> datetime:
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=_zone(tz))
    return parsed


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError, OSError):
        # OSError: a tzdata directory ("America") or an overlong name is no zone either
        return ZoneInfo("UTC")
