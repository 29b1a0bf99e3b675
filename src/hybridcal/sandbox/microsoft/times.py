"""Graph's ``dateTimeTimeZone`` values, time-zone names and timestamp formats.

Graph writes ``{"dateTime": "2026-12-02T10:00:00.0000000", "timeZone": "UTC"}``: a local wall time
with seven fractional digits and no offset, plus a zone name. Zone names may be Windows names
(``W. Europe Standard Time``, what Outlook and mailbox settings use) or IANA names. Responses
are in UTC unless ``Prefer: outlook.timezone="..."`` names another zone. All-day events are
floating dates: they render at midnight in whatever zone the response uses.

Simplified: only a table of common Windows zone names is known (each maps to one IANA zone);
an unknown name is refused like Graph does (``TimeZoneNotSupportedException``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hybridcal.sandbox.microsoft.errors import GraphError, bad_request

WINDOWS_ZONES = {
    "UTC": "UTC",
    "tzone://Microsoft/Utc": "UTC",
    "Coordinated Universal Time": "UTC",
    "GMT Standard Time": "Europe/London",
    "Greenwich Standard Time": "Atlantic/Reykjavik",
    "W. Europe Standard Time": "Europe/Berlin",
    "Central Europe Standard Time": "Europe/Budapest",
    "Central European Standard Time": "Europe/Warsaw",
    "Romance Standard Time": "Europe/Paris",
    "GTB Standard Time": "Europe/Bucharest",
    "E. Europe Standard Time": "Europe/Chisinau",
    "FLE Standard Time": "Europe/Kyiv",
    "Russian Standard Time": "Europe/Moscow",
    "Turkey Standard Time": "Europe/Istanbul",
    "Israel Standard Time": "Asia/Jerusalem",
    "South Africa Standard Time": "Africa/Johannesburg",
    "Arabian Standard Time": "Asia/Dubai",
    "India Standard Time": "Asia/Kolkata",
    "China Standard Time": "Asia/Shanghai",
    "Singapore Standard Time": "Asia/Singapore",
    "Tokyo Standard Time": "Asia/Tokyo",
    "Korea Standard Time": "Asia/Seoul",
    "AUS Eastern Standard Time": "Australia/Sydney",
    "New Zealand Standard Time": "Pacific/Auckland",
    "Atlantic Standard Time": "America/Halifax",
    "Eastern Standard Time": "America/New_York",
    "Central Standard Time": "America/Chicago",
    "Mountain Standard Time": "America/Denver",
    "US Mountain Standard Time": "America/Phoenix",
    "Pacific Standard Time": "America/Los_Angeles",
    "Alaskan Standard Time": "America/Anchorage",
    "Hawaiian Standard Time": "Pacific/Honolulu",
    "SA Pacific Standard Time": "America/Bogota",
    "E. South America Standard Time": "America/Sao_Paulo",
}
_LOCAL = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?"
    r"(Z|[+-]\d{2}:\d{2})?$"
)
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def zone(name: str) -> ZoneInfo:
    """The zone behind a Windows or IANA name; 400 like Graph for anything else."""
    mapped = WINDOWS_ZONES.get(name, name)
    try:
        found = ZoneInfo(mapped) if mapped and not mapped.startswith(("/", ".")) else None
    except (ZoneInfoNotFoundError, ValueError):
        found = None
    if found is None:
        raise GraphError(
            400,
            "TimeZoneNotSupportedException",
            "A valid TimeZone value must be specified. The following TimeZone value is not "
            f"supported: '{name}'.",
        )
    return found


def format_local(moment: datetime) -> str:
    """``2026-12-02T10:00:00.0000000`` (the wall time of an aware or naive value)."""
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond:06d}0"


def format_stamp(moment: datetime) -> str:
    """``createdDateTime`` style: UTC, seven fractional digits, ``Z``."""
    return format_local(moment.astimezone(UTC)) + "Z"


def parse_local(text: Any, field: str) -> tuple[datetime, bool]:
    """A ``dateTime`` string as a naive wall time, or aware if it carried an offset."""
    match = _LOCAL.match(text) if isinstance(text, str) else None
    if match is None:
        raise bad_request(
            f"Cannot convert the literal '{text}' to the expected type 'Edm.DateTime' ({field}).",
            "RequestBodyRead",
        )
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    micro = int((fraction or "0").ljust(7, "0")[:6])
    try:
        naive = datetime(  # noqa: DTZ001 - a wall time; the zone comes separately
            int(year), int(month), int(day), int(hour), int(minute), int(second or 0), micro
        )
    except ValueError:
        raise bad_request(f"Invalid date or time in '{field}'.", "RequestBodyRead") from None
    if offset is None:
        return naive, False
    if offset == "Z":
        return naive.replace(tzinfo=UTC), True
    sign = 1 if offset[0] == "+" else -1
    hours, minutes = int(offset[1:3]), int(offset[4:6])
    return naive.replace(tzinfo=UTC) - sign * timedelta(hours=hours, minutes=minutes), True


def parse_query_instant(text: str | None, name: str) -> datetime:
    """``startDateTime``/``endDateTime`` query values: an offset counts, none means UTC."""
    if not text:
        raise bad_request(
            f"This request requires a time window specified by the query string parameters "
            f"StartDateTime and EndDateTime ({name} missing).",
            "ErrorInvalidParameter",
        )
    if _DAY.match(text):
        text += "T00:00:00"
    try:
        value, aware = parse_local(text, name)
    except GraphError:
        raise bad_request(
            f"The value '{text}' of the parameter '{name}' is not a valid date-time.",
            "ErrorInvalidParameter",
        ) from None
    return value if aware else value.replace(tzinfo=UTC)


@dataclass(frozen=True)
class When:
    """A timed value (``moment``: aware UTC) or an all-day ``day``, with the zone name sent."""

    zone_name: str
    moment: datetime | None = None
    day: date | None = None

    @property
    def all_day(self) -> bool:
        return self.day is not None

    def instant(self, view_zone: str = "UTC") -> datetime:
        """Comparable: an all-day value starts at midnight in ``view_zone``."""
        if self.day is not None:
            return datetime(self.day.year, self.day.month, self.day.day, tzinfo=zone(view_zone))
        assert self.moment is not None
        return self.moment

    def render(self, view_zone: str) -> dict[str, str]:
        if self.day is not None:
            midnight = datetime(self.day.year, self.day.month, self.day.day)  # noqa: DTZ001 - floating
            return {"dateTime": format_local(midnight), "timeZone": view_zone}
        assert self.moment is not None
        return {
            "dateTime": format_local(self.moment.astimezone(zone(view_zone))),
            "timeZone": view_zone,
        }

    def local(self) -> datetime:
        """Wall time in the value's own zone (naive)."""
        if self.day is not None:
            return datetime(self.day.year, self.day.month, self.day.day)  # noqa: DTZ001 - floating
        assert self.moment is not None
        return self.moment.astimezone(zone(self.zone_name)).replace(tzinfo=None)

    def shifted(self, delta: timedelta) -> When:
        if self.day is not None:
            return When(self.zone_name, day=self.day + delta)
        assert self.moment is not None
        return When(self.zone_name, moment=self.moment + delta)


def parse_when(value: Any, field: str, *, all_day: bool) -> When:
    """A ``dateTimeTimeZone`` from a request body; all-day values must be at midnight."""
    if not isinstance(value, Mapping):
        raise bad_request(f"The property '{field}' must be a dateTimeTimeZone object.")
    extra = set(value) - {"dateTime", "timeZone", "@odata.type"}
    if extra:
        raise bad_request(
            f"The property '{min(extra)}' does not exist on type "
            "'microsoft.graph.dateTimeTimeZone'.",
            "RequestBodyRead",
        )
    tz_name = value.get("timeZone")
    if not isinstance(tz_name, str) or not tz_name:
        raise GraphError(
            400,
            "TimeZoneNotSupportedException",
            f"A valid TimeZone value must be specified for '{field}'.",
        )
    tz = zone(tz_name)
    local, aware = parse_local(value.get("dateTime"), f"{field}.dateTime")
    if all_day:
        if aware or local.time() != datetime.min.time():
            raise bad_request(
                f"The start and end of an all-day event must be at midnight ('{field}' is not).",
                "ErrorPropertyValidationFailure",
            )
        return When(tz_name, day=local.date())
    moment = local.astimezone(UTC) if aware else local.replace(tzinfo=tz).astimezone(UTC)
    return When(tz_name, moment=moment)
