"""Times as the Meetings API takes and gives them (webex.md §2, "Create" table).

In: ISO 8601. A time with an offset must agree with ``timezone`` when both are sent, else 400
"timezone … and timezone offset … do not match" (webex.md §2, seen by cal.com [CAL]); a time
without an offset is read in ``timezone``. *Stricter*: a time without an offset and without
``timezone`` is refused — which zone Webex then assumes is undocumented, so a client must not
depend on it. Seconds are dropped (webex.md §2).

Out: UTC ``YYYY-MM-DDTHH:MM:SSZ``, or in the zone of the request's ``timezone`` header with its
offset (webex.md §2 "Get": header ``timezone`` sets the zone of returned times, default UTC).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hybridcal.sandbox.webex.errors import bad_request


def zone(name: object, what: str = "timezone") -> ZoneInfo:
    if not isinstance(name, str) or not name:
        raise bad_request(f"{what} must be an IANA time zone name.")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise bad_request(f"{what} '{name}' is not a valid time zone.") from None


def parse(
    value: object, field: str, tz: ZoneInfo | None, *, naive_zone: ZoneInfo | None = None
) -> datetime:
    """An aware datetime in UTC with seconds dropped; 400 naming ``field`` otherwise. ``tz``
    is the ``timezone`` sent with it (an offset must agree); a time without an offset is read
    in ``tz``, else in ``naive_zone`` (an update: the meeting's zone), else refused."""
    if not isinstance(value, str) or not value.strip():
        raise bad_request(f"{field} must be an ISO 8601 date and time.")
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise bad_request(f"{field} '{value}' is not an ISO 8601 date and time.") from None
    if "T" not in value and " " not in value.strip():
        raise bad_request(f"{field} '{value}' has no time of day.")
    if parsed.tzinfo is None:
        local = tz or naive_zone
        if local is None:
            raise bad_request(f"{field} '{value}' has no offset and no timezone was given.")
        parsed = parsed.replace(tzinfo=local)
    elif tz is not None:
        expected = parsed.replace(tzinfo=None).replace(tzinfo=tz).utcoffset()
        if parsed.utcoffset() != expected:
            raise bad_request(
                f"timezone {tz.key} and timezone offset {_offset(parsed.utcoffset())} "
                f"of {field} do not match."
            )
    return parsed.astimezone(UTC).replace(second=0, microsecond=0)


def _offset(delta: timedelta | None) -> str:
    seconds = int((delta or timedelta()).total_seconds())
    sign = "-" if seconds < 0 else "+"
    hours, minutes = divmod(abs(seconds) // 60, 60)
    return f"{sign}{hours:02d}:{minutes:02d}"


def render(moment: datetime, tz: ZoneInfo | None) -> str:
    if tz is None:
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    local = moment.astimezone(tz)
    return local.strftime("%Y-%m-%dT%H:%M:%S") + _offset(local.utcoffset())


def minute(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(second=0, microsecond=0)
