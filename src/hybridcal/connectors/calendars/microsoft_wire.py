"""Microsoft Graph event JSON <-> core types, validated at the edge with pydantic.

Reading: a Graph ``event`` (or a delta ``@removed`` stub) becomes a :class:`core.model.Event`.
Graph writes times as a local ``dateTime`` plus a ``timeZone`` that may be a Windows zone name
("W. Europe Standard Time"), an IANA name or "UTC"; recurrence is a pattern/range object that is
turned into RRULE lines so that the planner, the recurrence checks and the meeting systems see
the same format as from Google.

Writing: an :class:`EventPatch` becomes a Graph PATCH body. Graph replaces a body as a whole, so
our block is transplanted into the body we read (under If-Match) and nothing else changes, above
all not Outlook's own online-meeting block: removing it disables the Teams meeting.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, time
from typing import Any, Literal
from urllib.parse import unquote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hybridcal.connectors.errors import MalformedEventError, short_reason
from hybridcal.core.html_text import looks_like_html
from hybridcal.core.model import Attendee, Conference, EntryPoint, Event, EventStatus, Marker
from hybridcal.core.patch import EventPatch
from hybridcal.core.render import (
    END_MARK,
    START_MARK,
    RenderedBlock,
    block_digest_of,
    replace_block,
)

# Our marker: one single-value extended property (MAPI named property in our own namespace).
MARKER_GUID = "e8b59c6e-80a4-402f-b405-c5eb0a77c2b8"
MARKER_PROPERTY_ID = f"String {{{MARKER_GUID}}} Name hybridcal"
# Graph cannot delete a single-value extended property with PATCH (only the whole item goes), so a
# removed marker is overwritten with this tombstone; it reads back as "no marker". A non-empty
# value is used because an empty one is not accepted everywhere.
MARKER_TOMBSTONE = "{}"
MARKER_EXPAND = f"singleValueExtendedProperties($filter=id eq '{MARKER_PROPERTY_ID}')"
TEAMS_PROVIDER = "teamsForBusiness"

# Windows time zone ids -> IANA, from the "001" (default territory) rows of CLDR's windowsZones
# mapping, written down here for the zones Exchange hands out.
WINDOWS_ZONES: dict[str, str] = {
    "Dateline Standard Time": "Etc/GMT+12",
    "UTC-11": "Etc/GMT+11",
    "Aleutian Standard Time": "America/Adak",
    "Hawaiian Standard Time": "Pacific/Honolulu",
    "Marquesas Standard Time": "Pacific/Marquesas",
    "Alaskan Standard Time": "America/Anchorage",
    "UTC-09": "Etc/GMT+9",
    "Pacific Standard Time (Mexico)": "America/Tijuana",
    "UTC-08": "Etc/GMT+8",
    "Pacific Standard Time": "America/Los_Angeles",
    "US Mountain Standard Time": "America/Phoenix",
    "Mountain Standard Time (Mexico)": "America/Mazatlan",
    "Mountain Standard Time": "America/Denver",
    "Yukon Standard Time": "America/Whitehorse",
    "Central America Standard Time": "America/Guatemala",
    "Central Standard Time": "America/Chicago",
    "Easter Island Standard Time": "Pacific/Easter",
    "Central Standard Time (Mexico)": "America/Mexico_City",
    "Canada Central Standard Time": "America/Regina",
    "SA Pacific Standard Time": "America/Bogota",
    "Eastern Standard Time (Mexico)": "America/Cancun",
    "Eastern Standard Time": "America/New_York",
    "Haiti Standard Time": "America/Port-au-Prince",
    "Cuba Standard Time": "America/Havana",
    "US Eastern Standard Time": "America/Indiana/Indianapolis",
    "Turks And Caicos Standard Time": "America/Grand_Turk",
    "Paraguay Standard Time": "America/Asuncion",
    "Atlantic Standard Time": "America/Halifax",
    "Venezuela Standard Time": "America/Caracas",
    "Central Brazilian Standard Time": "America/Cuiaba",
    "SA Western Standard Time": "America/La_Paz",
    "Pacific SA Standard Time": "America/Santiago",
    "Newfoundland Standard Time": "America/St_Johns",
    "Tocantins Standard Time": "America/Araguaina",
    "E. South America Standard Time": "America/Sao_Paulo",
    "SA Eastern Standard Time": "America/Cayenne",
    "Argentina Standard Time": "America/Argentina/Buenos_Aires",
    "Greenland Standard Time": "America/Nuuk",
    "Montevideo Standard Time": "America/Montevideo",
    "Magallanes Standard Time": "America/Punta_Arenas",
    "Saint Pierre Standard Time": "America/Miquelon",
    "Bahia Standard Time": "America/Bahia",
    "UTC-02": "Etc/GMT+2",
    "Mid-Atlantic Standard Time": "Etc/GMT+2",
    "Azores Standard Time": "Atlantic/Azores",
    "Cape Verde Standard Time": "Atlantic/Cape_Verde",
    "UTC": "UTC",
    "Coordinated Universal Time": "UTC",
    "GMT Standard Time": "Europe/London",
    "Greenwich Standard Time": "Atlantic/Reykjavik",
    "Sao Tome Standard Time": "Africa/Sao_Tome",
    "Morocco Standard Time": "Africa/Casablanca",
    "W. Europe Standard Time": "Europe/Berlin",
    "Central Europe Standard Time": "Europe/Budapest",
    "Romance Standard Time": "Europe/Paris",
    "Central European Standard Time": "Europe/Warsaw",
    "W. Central Africa Standard Time": "Africa/Lagos",
    "Jordan Standard Time": "Asia/Amman",
    "GTB Standard Time": "Europe/Bucharest",
    "Middle East Standard Time": "Asia/Beirut",
    "Egypt Standard Time": "Africa/Cairo",
    "E. Europe Standard Time": "Europe/Chisinau",
    "Syria Standard Time": "Asia/Damascus",
    "West Bank Standard Time": "Asia/Hebron",
    "South Africa Standard Time": "Africa/Johannesburg",
    "FLE Standard Time": "Europe/Kyiv",
    "Israel Standard Time": "Asia/Jerusalem",
    "South Sudan Standard Time": "Africa/Juba",
    "Kaliningrad Standard Time": "Europe/Kaliningrad",
    "Sudan Standard Time": "Africa/Khartoum",
    "Libya Standard Time": "Africa/Tripoli",
    "Namibia Standard Time": "Africa/Windhoek",
    "Arabic Standard Time": "Asia/Baghdad",
    "Turkey Standard Time": "Europe/Istanbul",
    "Arab Standard Time": "Asia/Riyadh",
    "Belarus Standard Time": "Europe/Minsk",
    "Russian Standard Time": "Europe/Moscow",
    "E. Africa Standard Time": "Africa/Nairobi",
    "Volgograd Standard Time": "Europe/Volgograd",
    "Iran Standard Time": "Asia/Tehran",
    "Arabian Standard Time": "Asia/Dubai",
    "Astrakhan Standard Time": "Europe/Astrakhan",
    "Azerbaijan Standard Time": "Asia/Baku",
    "Russia Time Zone 3": "Europe/Samara",
    "Mauritius Standard Time": "Indian/Mauritius",
    "Saratov Standard Time": "Europe/Saratov",
    "Georgian Standard Time": "Asia/Tbilisi",
    "Caucasus Standard Time": "Asia/Yerevan",
    "Afghanistan Standard Time": "Asia/Kabul",
    "West Asia Standard Time": "Asia/Tashkent",
    "Ekaterinburg Standard Time": "Asia/Yekaterinburg",
    "Pakistan Standard Time": "Asia/Karachi",
    "Qyzylorda Standard Time": "Asia/Qyzylorda",
    "India Standard Time": "Asia/Kolkata",
    "Sri Lanka Standard Time": "Asia/Colombo",
    "Nepal Standard Time": "Asia/Kathmandu",
    "Central Asia Standard Time": "Asia/Bishkek",
    "Bangladesh Standard Time": "Asia/Dhaka",
    "Omsk Standard Time": "Asia/Omsk",
    "Myanmar Standard Time": "Asia/Yangon",
    "SE Asia Standard Time": "Asia/Bangkok",
    "Altai Standard Time": "Asia/Barnaul",
    "W. Mongolia Standard Time": "Asia/Hovd",
    "North Asia Standard Time": "Asia/Krasnoyarsk",
    "N. Central Asia Standard Time": "Asia/Novosibirsk",
    "Tomsk Standard Time": "Asia/Tomsk",
    "China Standard Time": "Asia/Shanghai",
    "North Asia East Standard Time": "Asia/Irkutsk",
    "Singapore Standard Time": "Asia/Singapore",
    "W. Australia Standard Time": "Australia/Perth",
    "Taipei Standard Time": "Asia/Taipei",
    "Ulaanbaatar Standard Time": "Asia/Ulaanbaatar",
    "Aus Central W. Standard Time": "Australia/Eucla",
    "Transbaikal Standard Time": "Asia/Chita",
    "Tokyo Standard Time": "Asia/Tokyo",
    "North Korea Standard Time": "Asia/Pyongyang",
    "Korea Standard Time": "Asia/Seoul",
    "Yakutsk Standard Time": "Asia/Yakutsk",
    "Cen. Australia Standard Time": "Australia/Adelaide",
    "AUS Central Standard Time": "Australia/Darwin",
    "E. Australia Standard Time": "Australia/Brisbane",
    "AUS Eastern Standard Time": "Australia/Sydney",
    "West Pacific Standard Time": "Pacific/Port_Moresby",
    "Tasmania Standard Time": "Australia/Hobart",
    "Vladivostok Standard Time": "Asia/Vladivostok",
    "Lord Howe Standard Time": "Australia/Lord_Howe",
    "Bougainville Standard Time": "Pacific/Bougainville",
    "Russia Time Zone 10": "Asia/Srednekolymsk",
    "Magadan Standard Time": "Asia/Magadan",
    "Norfolk Standard Time": "Pacific/Norfolk",
    "Sakhalin Standard Time": "Asia/Sakhalin",
    "Central Pacific Standard Time": "Pacific/Guadalcanal",
    "Russia Time Zone 11": "Asia/Kamchatka",
    "Kamchatka Standard Time": "Asia/Kamchatka",
    "New Zealand Standard Time": "Pacific/Auckland",
    "UTC+12": "Etc/GMT-12",
    "Fiji Standard Time": "Pacific/Fiji",
    "Chatham Islands Standard Time": "Pacific/Chatham",
    "UTC+13": "Etc/GMT-13",
    "Tonga Standard Time": "Pacific/Tongatapu",
    "Samoa Standard Time": "Pacific/Apia",
    "Line Islands Standard Time": "Pacific/Kiritimati",
}
_WINDOWS_FOLDED = {name.lower(): iana for name, iana in WINDOWS_ZONES.items()}
# zone names Exchange uses for UTC in originalStartTimeZone and friends
_UTC_ALIASES = frozenset({"utc", "etc/utc", "gmt", "z", "tzone://microsoft/utc"})


def iana_zone(name: str | None) -> str | None:
    """The IANA name for a Graph zone name (Windows, IANA or UTC); None when unknown."""
    if not name:
        return None
    cleaned = name.strip()
    folded = cleaned.lower()
    if folded in _UTC_ALIASES:
        return "UTC"
    mapped = _WINDOWS_FOLDED.get(folded)
    if mapped is not None:
        return mapped
    try:
        ZoneInfo(cleaned)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        # "Customized Time Zone", "tzone://Microsoft/Custom", typos; OSError for a tzdata
        # directory ("America") or an overlong name
        return None
    return cleaned


# -- wire models ------------------------------------------------------------------------------


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class MTime(_Wire):
    date_time: str = Field(alias="dateTime")
    time_zone: str | None = Field(default=None, alias="timeZone")


class MAddress(_Wire):
    name: str | None = None
    address: str | None = None


class MRecipient(_Wire):
    email_address: MAddress | None = Field(default=None, alias="emailAddress")


class MStatus(_Wire):
    response: str | None = None


class MAttendee(MRecipient):
    type: str = "required"
    status: MStatus | None = None


class MLocation(_Wire):
    display_name: str | None = Field(default=None, alias="displayName")


class MBody(_Wire):
    content_type: str = Field(default="html", alias="contentType")
    content: str | None = None


class MOnlineMeeting(_Wire):
    join_url: str | None = Field(default=None, alias="joinUrl")
    conference_id: str | None = Field(default=None, alias="conferenceId")


class MPattern(_Wire):
    type: str
    interval: int = Field(default=1, ge=0)
    month: int = Field(default=0, ge=0, le=12)
    day_of_month: int = Field(default=0, alias="dayOfMonth", ge=0, le=31)
    days_of_week: list[str] = Field(default_factory=list, alias="daysOfWeek")
    first_day_of_week: str | None = Field(default=None, alias="firstDayOfWeek")
    index: str | None = None


class MRange(_Wire):
    type: str = "noEnd"
    start_date: str | None = Field(default=None, alias="startDate")
    end_date: str | None = Field(default=None, alias="endDate")
    recurrence_time_zone: str | None = Field(default=None, alias="recurrenceTimeZone")
    number_of_occurrences: int = Field(default=0, alias="numberOfOccurrences", ge=0)


class MRecurrence(_Wire):
    pattern: MPattern
    range: MRange = Field(default_factory=MRange)


class MProperty(_Wire):
    id: str
    value: str | None = None


class MEvent(_Wire):
    id: str = Field(min_length=1)
    etag: str | None = Field(default=None, alias="@odata.etag")
    subject: str | None = None
    body: MBody | None = None
    location: MLocation | None = None
    locations: list[MLocation] = Field(default_factory=list)
    start: MTime | None = None
    end: MTime | None = None
    original_start_time_zone: str | None = Field(default=None, alias="originalStartTimeZone")
    original_end_time_zone: str | None = Field(default=None, alias="originalEndTimeZone")
    is_all_day: bool = Field(default=False, alias="isAllDay")
    is_cancelled: bool = Field(default=False, alias="isCancelled")
    is_organizer: bool = Field(default=False, alias="isOrganizer")
    sensitivity: str = "normal"
    organizer: MRecipient | None = None
    attendees: list[MAttendee] = Field(default_factory=list)
    i_cal_uid: str | None = Field(default=None, alias="iCalUId")
    type: str = "singleInstance"
    series_master_id: str | None = Field(default=None, alias="seriesMasterId")
    original_start: str | None = Field(default=None, alias="originalStart")
    recurrence: MRecurrence | None = None
    is_online_meeting: bool = Field(default=False, alias="isOnlineMeeting")
    online_meeting_provider: str | None = Field(default=None, alias="onlineMeetingProvider")
    online_meeting: MOnlineMeeting | None = Field(default=None, alias="onlineMeeting")
    online_meeting_url: str | None = Field(default=None, alias="onlineMeetingUrl")
    properties: list[MProperty] = Field(default_factory=list, alias="singleValueExtendedProperties")
    last_modified: str | None = Field(default=None, alias="lastModifiedDateTime")


class MRemoved(_Wire):
    id: str = Field(min_length=1)
    removed: dict[str, Any] = Field(alias="@removed")


# -- reading ----------------------------------------------------------------------------------


def is_removed(data: object) -> bool:
    """A delta stub for an event that was deleted or left the window."""
    return isinstance(data, dict) and "@removed" in data


def event_type(data: object) -> str:
    """``singleInstance``, ``occurrence``, ``exception`` or ``seriesMaster``."""
    value = data.get("type") if isinstance(data, dict) else None
    return value if isinstance(value, str) else "singleInstance"


def parse_event(data: dict[str, Any], calendar_key: str, *, default_tz: str | None = None) -> Event:
    """Raise MalformedEventError (with the event id when known) on anything we cannot read."""
    try:
        if is_removed(data):
            stub = MRemoved.model_validate(data)
            return Event(calendar_key, stub.id, None, EventStatus.CANCELLED, None, None)
        return _to_event(MEvent.model_validate(data), calendar_key, default_tz)
    except (ValidationError, ValueError, KeyError, TypeError, OverflowError) as exc:
        event_id = data.get("id") if isinstance(data, dict) else None
        raise MalformedEventError(f"event {event_id!r}: {short_reason(exc)}") from exc


def _to_event(wire: MEvent, calendar_key: str, default_tz: str | None) -> Event:
    if wire.start is None or wire.end is None:
        raise ValueError("start and end are required")
    zone = (
        iana_zone(wire.original_start_time_zone)
        or iana_zone(wire.recurrence.range.recurrence_time_zone if wire.recurrence else None)
        or iana_zone(wire.start.time_zone)
        or iana_zone(default_tz)
    )
    start = _instant(wire.start, wire.is_all_day, zone, default_tz)
    end = _instant(wire.end, wire.is_all_day, zone, default_tz)
    status = EventStatus.CANCELLED if wire.is_cancelled else EventStatus.CONFIRMED
    if end < start and status is not EventStatus.CANCELLED:
        raise ValueError("end before start")
    organizer = wire.organizer.email_address if wire.organizer else None
    organizer_email = organizer.address.lower() if organizer and organizer.address else None
    recurrence: tuple[str, ...] = ()
    if wire.type == "seriesMaster" and wire.recurrence is not None:
        recurrence = (_rrule(wire.recurrence, start, zone, all_day=wire.is_all_day),)
    return Event(
        calendar_key=calendar_key,
        event_id=wire.id,
        etag=wire.etag,
        status=status,
        start=start,
        end=end,
        all_day=wire.is_all_day,
        timezone=zone,
        summary=wire.subject or "",
        location=_location(wire),
        description=(wire.body.content or "") if wire.body else "",
        ical_uid=wire.i_cal_uid,
        organizer=organizer_email,
        organizer_name=organizer.name if organizer else None,
        is_organizer_copy=wire.is_organizer,
        attendees=tuple(_attendees(wire.attendees, organizer_email)),
        private=wire.sensitivity.lower() in ("private", "confidential"),
        recurrence=recurrence,
        recurring_event_id=wire.series_master_id if wire.type != "seriesMaster" else None,
        original_start=_original_start(wire, start),
        conference=_conference(wire),
        marker=marker_of(wire.properties),
        updated=_offset(wire.last_modified) if wire.last_modified else None,
    )


def _original_start(wire: MEvent, start: datetime) -> datetime | None:
    """Where the occurrence sits in its series; a plain occurrence is where it always was."""
    if wire.original_start:
        return _offset(wire.original_start)
    return start if wire.type == "occurrence" else None


def _instant(t: MTime, all_day: bool, zone: str | None, default_tz: str | None) -> datetime:
    """An aware UTC instant. All-day events start at midnight of their date in the event's (or
    else the calendar's) zone; Graph writes them as midnight whatever zone it was asked for."""
    parsed = datetime.fromisoformat(t.date_time)
    if all_day:
        local = iana_zone(t.time_zone)
        if local in (None, "UTC"):
            local = zone or iana_zone(default_tz)
        return datetime.combine(parsed.date(), time(0), _zone(local)).astimezone(UTC)
    if parsed.tzinfo is None:
        # the value's own zone; a custom zone we cannot resolve falls back to the event's
        named = iana_zone(t.time_zone) or zone or iana_zone(default_tz)
        parsed = parsed.replace(tzinfo=_zone(named))
    return parsed.astimezone(UTC)


def _offset(value: str) -> datetime:
    """A DateTimeOffset ("2030-03-04T09:00:00Z"); a naive one is read as UTC, as Graph means."""
    parsed = datetime.fromisoformat(value)
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return ZoneInfo("UTC")


def _location(wire: MEvent) -> str:
    """Outlook joins several locations into ``location.displayName`` ("Room 1; @zoom")."""
    if wire.location and wire.location.display_name:
        return wire.location.display_name
    names = (loc.display_name for loc in wire.locations if loc.display_name)
    return "; ".join(dict.fromkeys(names))


_RESPONSES = {
    "accepted": "accepted",
    "organizer": "accepted",
    "declined": "declined",
    "tentativelyaccepted": "tentative",
}


def _attendees(items: list[MAttendee], organizer: str | None) -> list[Attendee]:
    people = []
    for item in items:
        address = item.email_address.address if item.email_address else None
        if not address:
            continue
        email = address.lower()
        response = (item.status.response or "") if item.status else ""
        people.append(
            Attendee(
                email=email,
                name=item.email_address.name if item.email_address else None,
                resource=item.type.lower() == "resource",
                organizer=email == organizer,
                optional=item.type.lower() == "optional",
                response=_RESPONSES.get(response.lower(), "needsAction"),
            )
        )
    return people


# a Teams join URL names the meeting's chat thread: .../meetup-join/19%3ameeting_X%40thread.v2/0
_THREAD = re.compile(r"/meetup-join/([^/?#]+)")


def teams_thread_id(join_url: str) -> str | None:
    found = _THREAD.search(join_url)
    if found is None:
        return None
    thread = unquote(found.group(1))
    return thread if "@thread" in thread else None


def _conference(wire: MEvent) -> Conference | None:
    if not wire.is_online_meeting:
        return None
    provider = wire.online_meeting_provider or "unknown"
    meeting = wire.online_meeting
    join_url = (meeting.join_url if meeting else None) or wire.online_meeting_url
    entry_points = (EntryPoint("video", join_url),) if join_url else ()
    if provider != TEAMS_PROVIDER:
        return Conference(system=provider, entry_points=entry_points)
    # Exchange fills the join URL a moment after isOnlineMeeting was set: until then the
    # conference is pending, not missing (or the planner would ask for a second one)
    conference_id = (teams_thread_id(join_url) or join_url) if join_url else None
    return Conference(
        system="teams",
        conference_id=conference_id,
        status="success" if join_url else "pending",
        entry_points=entry_points,
    )


def has_marker_property(data: object) -> bool:
    """Whether the item carries our property at all (a tombstone counts: it was ours)."""
    props = data.get("singleValueExtendedProperties") if isinstance(data, dict) else None
    return isinstance(props, list) and any(
        isinstance(p, dict) and str(p.get("id", "")).lower() == MARKER_PROPERTY_ID.lower()
        for p in props
    )


def marker_of(properties: list[MProperty]) -> Marker | None:
    for prop in properties:
        if prop.id.lower() == MARKER_PROPERTY_ID.lower():
            return decode_marker(prop.value)
    return None


_MARKER_MAX_CHARS = 4096  # ours is a few hundred characters; anything longer is not ours


def decode_marker(value: str | None) -> Marker | None:
    """Our property's value; the tombstone, garbage or foreign keys read as no marker."""
    if not value or len(value) > _MARKER_MAX_CHARS:
        return None
    try:
        props = json.loads(value)
    except (ValueError, RecursionError):  # RecursionError: nesting deeper than json allows
        return None
    if not isinstance(props, dict):
        return None
    return Marker.from_properties({str(k): str(v) for k, v in props.items() if isinstance(v, str)})


def encode_marker(marker: Marker) -> str:
    return json.dumps(marker.to_properties(), separators=(",", ":"), sort_keys=True)


# -- recurrence -------------------------------------------------------------------------------

_DAYS = {
    "sunday": "SU",
    "monday": "MO",
    "tuesday": "TU",
    "wednesday": "WE",
    "thursday": "TH",
    "friday": "FR",
    "saturday": "SA",
}
_INDEX = {"first": 1, "second": 2, "third": 3, "fourth": 4, "last": -1}


def _rrule(rec: MRecurrence, start: datetime, zone: str | None, *, all_day: bool) -> str:
    """Graph's recurrence pattern and range as one RRULE line."""
    pattern = rec.pattern
    parts = [f"FREQ={_freq(pattern.type)}"]
    if pattern.interval > 1:
        parts.append(f"INTERVAL={pattern.interval}")
    parts += _by_parts(pattern, start.astimezone(_zone(zone)))
    parts += _range(rec.range, zone, all_day=all_day)
    return "RRULE:" + ";".join(parts)


def _by_parts(pattern: MPattern, local_start: datetime) -> list[str]:
    kind = pattern.type
    days = [_day(name) for name in pattern.days_of_week]
    if kind == "weekly":
        parts = [f"BYDAY={','.join(days or [_DAYS_BY_NUMBER[local_start.weekday()]])}"]
        if pattern.interval > 1 and pattern.first_day_of_week:
            parts.append(f"WKST={_day(pattern.first_day_of_week)}")
        return parts
    parts = [f"BYMONTH={_month(pattern.month)}"] if kind.endswith("Yearly") else []
    if kind in ("absoluteMonthly", "absoluteYearly"):
        return [*parts, f"BYMONTHDAY={_month_day(pattern.day_of_month)}"]
    if kind in ("relativeMonthly", "relativeYearly"):
        if not days:
            raise ValueError(f"recurrence {kind} needs daysOfWeek")
        index = _INDEX.get((pattern.index or "first").lower())
        if index is None:
            raise ValueError(f"unknown recurrence index {pattern.index!r}")
        if len(days) == 1:
            return [*parts, f"BYDAY={index}{days[0]}"]
        return [*parts, f"BYDAY={','.join(days)}", f"BYSETPOS={index}"]
    return parts  # daily


_FREQ = {
    "daily": "DAILY",
    "weekly": "WEEKLY",
    "absoluteMonthly": "MONTHLY",
    "relativeMonthly": "MONTHLY",
    "absoluteYearly": "YEARLY",
    "relativeYearly": "YEARLY",
}
_DAYS_BY_NUMBER = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def _freq(kind: str) -> str:
    try:
        return _FREQ[kind]
    except KeyError:
        raise ValueError(f"unknown recurrence pattern {kind!r}") from None


def _day(name: str) -> str:
    try:
        return _DAYS[name.lower()]
    except KeyError:
        raise ValueError(f"unknown day of week {name!r}") from None


def _month(value: int) -> int:
    if not 1 <= value <= 12:
        raise ValueError("yearly recurrence needs a month")
    return value


def _month_day(value: int) -> int:
    if not 1 <= value <= 31:
        raise ValueError("recurrence needs a dayOfMonth")
    return value


def _range(rng: MRange, zone: str | None, *, all_day: bool) -> list[str]:
    if rng.type == "numbered":
        if rng.number_of_occurrences < 1:
            raise ValueError("numbered recurrence needs numberOfOccurrences")
        return [f"COUNT={rng.number_of_occurrences}"]
    if rng.type == "endDate":
        if not rng.end_date:
            raise ValueError("recurrence range endDate is missing")
        last = date.fromisoformat(rng.end_date)
        if all_day:
            return [f"UNTIL={last:%Y%m%d}"]
        # the last day counts in the series' own zone; RFC 5545 wants UNTIL in UTC then
        local = iana_zone(rng.recurrence_time_zone) or zone
        until = datetime.combine(last, time(23, 59, 59), _zone(local)).astimezone(UTC)
        return [f"UNTIL={until:%Y%m%dT%H%M%SZ}"]
    if rng.type == "noEnd":
        return []
    raise ValueError(f"unknown recurrence range {rng.type!r}")


# -- writing ----------------------------------------------------------------------------------

BodyType = Literal["html", "text"]

# Outlook's online-meeting block starts with a line of underscores and names Teams soon after.
_RULE = re.compile(r"_{30,}")
_TEAMS_HINT = re.compile(r"teams\.microsoft|teams\.live\.com|Microsoft Teams", re.IGNORECASE)
# tags that open the block's first line, and comments right before it, belong to the block
_OPENERS_BEFORE = re.compile(
    r"(?:<!--(?:(?!-->).)*-->\s*|<(?:div|span|p|font)\b[^<>]*>\s*)+$", re.IGNORECASE | re.DOTALL
)
_BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)
_TEAMS_LOOKAHEAD = 2000


def body_type_of(content: str) -> BodyType:
    return "html" if looks_like_html(content) else "text"


def teams_block_start(content: str) -> int | None:
    """Where Outlook's online-meeting block begins in ``content``, if it has one."""
    for rule in _RULE.finditer(content):
        if _TEAMS_HINT.search(content, rule.end(), rule.end() + _TEAMS_LOOKAHEAD) is None:
            continue
        low = max(0, rule.start() - _TEAMS_LOOKAHEAD)  # bounded: bodies can be large
        openers = _OPENERS_BEFORE.search(content[low : rule.start()])
        start = low + openers.start() if openers else rule.start()
        line_start = content.rfind("\n", 0, start) + 1
        return line_start if not content[line_start:start].strip() else start
    return None


def merge_body(current: str, wanted: str) -> str:
    """``current`` with our block as it is in ``wanted`` (the planner's new description, made
    from ``current``): replaced in place, inserted before Outlook's online-meeting block (or at
    the end of the body), or removed. Everything outside our block stays byte for byte."""
    block = _our_block(wanted)
    has_ours = block_digest_of(current) is not None
    if block is None:
        if block_digest_of(wanted) is not None:
            return wanted  # a block we cannot lift out cleanly: trust the planner's text
        return replace_block(current, None) if has_ours else current
    if has_ours:
        return replace_block(current, RenderedBlock(text=block, html=block, digest=""))
    return _insert(current, block)


def _our_block(text: str) -> str | None:
    start = text.find(START_MARK)
    end = text.find(END_MARK, start + 1) if start >= 0 else -1
    if start < 0 or end < 0:
        return None
    return text[start : end + len(END_MARK)]


def _insert(current: str, block: str) -> str:
    """Insert the way core.render does (so that its removal restores ``current`` exactly), but
    before Outlook's online-meeting block when there is one."""
    html_body = looks_like_html(current)
    at = teams_block_start(current)
    if at is None:
        ends = list(_BODY_END.finditer(current)) if html_body else []
        at = ends[-1].start() if ends else len(current)
    elif not html_body:
        # before the blank lines that lead into the block: they stay with it, untouched
        at = len(current[:at].rstrip())
    before = current[:at]
    separator = ("<br><br>" if html_body else "\n\n") if before else ""
    return before + separator + block + current[at:]


def patch_body(event: Event, patch: EventPatch) -> dict[str, Any]:
    """The Graph PATCH body for ``patch`` on ``event`` (its body as we read it under If-Match)."""
    body: dict[str, Any] = {}
    if patch.description is not None:
        content = merge_body(event.description, patch.description)
        if content != event.description:
            body["body"] = {"contentType": body_type_of(content), "content": content}
    if patch.marker is not None:
        body["singleValueExtendedProperties"] = [
            {"id": MARKER_PROPERTY_ID, "value": encode_marker(patch.marker)}
        ]
    elif patch.clear_marker:
        body["singleValueExtendedProperties"] = [
            {"id": MARKER_PROPERTY_ID, "value": MARKER_TOMBSTONE}
        ]
    if patch.conference_request_id is not None:
        body["isOnlineMeeting"] = True
        body["onlineMeetingProvider"] = TEAMS_PROVIDER
    elif patch.clear_conference:
        body["isOnlineMeeting"] = False
    return body


def marker_after(event: Event, patch: EventPatch) -> Marker | None:
    """Our marker once ``patch`` landed (Graph does not echo extended properties on PATCH)."""
    if patch.marker is not None:
        return patch.marker
    if patch.clear_marker:
        return None
    return event.marker
