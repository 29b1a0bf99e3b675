"""An event's time and recurrence as the schedule of a Zoom meeting.

Zoom's fixed-time series (type 8) expresses only regular daily, weekly and monthly rules with at
most 60 occurrences. Whatever it cannot express exactly becomes a recurring meeting with no fixed
time (type 3): one join link valid for every occurrence, which is the documented fallback. The
calendar's own expansion (dateutil, RFC 5545) decides what the occurrences are; a type-8 series
is only produced when Zoom's series has exactly those occurrences, except for EXDATEs, which are
returned as occurrences to delete after creation.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import rrulestr

MAX_OCCURRENCES = 60
SCHEDULED, RECURRING_NO_FIXED_TIME, RECURRING_FIXED_TIME = 2, 3, 8

_ZOOM_DAYS = {"SU": 1, "MO": 2, "TU": 3, "WE": 4, "TH": 5, "FR": 6, "SA": 7}
_ZOOM_TYPES = {"DAILY": 1, "WEEKLY": 2, "MONTHLY": 3}
_MAX_INTERVAL = {"DAILY": 90, "WEEKLY": 12, "MONTHLY": 3}
_UNSUPPORTED_PARTS = {
    "BYMONTH": "BYMONTH (only some months)",
    "BYYEARDAY": "BYYEARDAY (days of the year)",
    "BYWEEKNO": "BYWEEKNO (weeks of the year)",
    "BYHOUR": "BYHOUR (several times a day)",
    "BYMINUTE": "BYMINUTE (several times a day)",
    "BYSECOND": "BYSECOND (several times a day)",
}
_KNOWN_PARTS = {"FREQ", "INTERVAL", "COUNT", "UNTIL", "BYDAY", "BYMONTHDAY", "BYSETPOS", "WKST"}
_BYDAY = re.compile(r"([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)")
_ICAL_TIME = re.compile(r"(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})(Z)?)?")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class ZoomSchedule:
    type: int  # 2 scheduled, 3 recurring with no fixed time, 8 recurring with fixed time
    # type 2: "yyyy-MM-ddTHH:mm:ssZ" (UTC); type 8: local "yyyy-MM-ddTHH:mm:ss", so that the
    # series follows `timezone` across DST changes; type 3: None
    start_time: str | None
    timezone: str | None
    duration: int | None  # minutes, rounded up, at least 1; None for type 3
    recurrence: dict[str, Any] | None  # Zoom's recurrence object, type 8 only
    excluded: tuple[datetime, ...] = ()  # type 8: occurrence starts (UTC) to delete (EXDATE)
    fallback_reason: str | None = None  # type 3: why Zoom could not express the rule

    def body(self) -> dict[str, Any]:
        """The schedule fields of a Zoom create or PATCH body."""
        fields = {
            "type": self.type,
            "start_time": self.start_time,
            "duration": self.duration,
            "timezone": self.timezone,
            "recurrence": self.recurrence,
        }
        return {key: value for key, value in fields.items() if value is not None}


def zoom_schedule(
    start: datetime,
    end: datetime,
    *,
    timezone: str | None,
    all_day: bool = False,
    recurrence: Sequence[str] = (),
) -> ZoomSchedule:
    """The Zoom schedule of an event from ``start`` to ``end`` (aware) in the IANA ``timezone``
    (None or unknown: UTC), with the event's RRULE/EXRULE/RDATE/EXDATE lines."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be timezone-aware")
    if end < start:
        raise ValueError(f"the event ends ({end.isoformat()}) before it starts")
    zone = _zone(timezone)
    names = [re.split(r"[:;]", line, maxsplit=1)[0].strip().upper() for line in recurrence]
    if not set(names) - {"EXDATE"}:
        # EXDATEs without a rule can only remove the single occurrence; the meeting still stands
        return _single(start, end, zone, all_day=all_day)
    try:
        rule = _only_rule(recurrence, names, all_day=all_day)
        local_start = start.astimezone(zone)
        pattern, occurrences = _map_rule(rule, local_start)
        exdates = [line for line, name in zip(recurrence, names, strict=True) if name == "EXDATE"]
        excluded = _excluded(exdates, occurrences, zone)
    except _NoZoomFormError as unsupported:
        return ZoomSchedule(
            type=RECURRING_NO_FIXED_TIME,
            start_time=None,
            timezone=zone.key,
            duration=None,
            recurrence=None,
            fallback_reason=str(unsupported),
        )
    return ZoomSchedule(
        type=RECURRING_FIXED_TIME,
        start_time=local_start.strftime("%Y-%m-%dT%H:%M:%S"),
        timezone=zone.key,
        duration=_minutes(start, end),
        recurrence=pattern,
        excluded=excluded,
    )


def occurrence_id(occurrence_start: datetime) -> str:
    """Zoom's id of one occurrence of a series: its start as epoch milliseconds."""
    if occurrence_start.tzinfo is None:
        raise ValueError("occurrence_start must be timezone-aware")
    return str((occurrence_start - _EPOCH) // timedelta(milliseconds=1))


class _NoZoomFormError(Exception):
    """The rule has no exact Zoom equivalent; the message says why, for the admin."""


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _minutes(start: datetime, end: datetime) -> int:
    return max(1, math.ceil((end - start) / timedelta(minutes=1)))


def _single(start: datetime, end: datetime, zone: ZoneInfo, *, all_day: bool) -> ZoomSchedule:
    if all_day:
        # A Zoom meeting stays joinable after its scheduled end, so a multi-day event needs no
        # more than its first day: 00:00 local for 24 hours.
        midnight = datetime.combine(start.astimezone(zone).date(), time(0), zone)
        return ZoomSchedule(SCHEDULED, _utc_text(midnight), zone.key, 1440, None)
    return ZoomSchedule(SCHEDULED, _utc_text(start), zone.key, _minutes(start, end), None)


def _only_rule(lines: Sequence[str], names: Sequence[str], *, all_day: bool) -> dict[str, str]:
    """The parts of the single RRULE, or why the lines are beyond a fixed-time Zoom series."""
    if all_day:
        raise _NoZoomFormError(
            "all-day recurring event: a fixed-time Zoom series needs a start time"
        )
    if "EXRULE" in names:
        raise _NoZoomFormError("EXRULE (a rule of exceptions) cannot be expressed in Zoom")
    if "RDATE" in names:
        raise _NoZoomFormError("RDATE (extra irregular dates) cannot be expressed in Zoom")
    unknown = sorted(set(names) - {"RRULE", "EXDATE"})
    if unknown:
        raise _NoZoomFormError(f"unsupported recurrence line {unknown[0]}")
    rules = [line for line, name in zip(lines, names, strict=True) if name == "RRULE"]
    if len(rules) > 1:
        raise _NoZoomFormError("several RRULEs: a Zoom series follows a single rule")
    parts: dict[str, str] = {}
    for item in rules[0].split(":", 1)[-1].split(";"):
        key, _, value = item.strip().partition("=")
        key = key.upper()
        if not value or key in parts:
            raise _NoZoomFormError(f"unreadable RRULE part {item!r}")
        parts[key] = value.upper()
    return parts


def _map_rule(
    parts: dict[str, str], local_start: datetime
) -> tuple[dict[str, Any], list[datetime]]:
    """Zoom's recurrence object for the rule and the rule's occurrences (local starts)."""
    freq = _frequency(parts)
    interval = _integer(parts, "INTERVAL", 1)
    if not 1 <= interval <= _MAX_INTERVAL[freq]:
        raise _NoZoomFormError(
            f"interval {interval} is out of Zoom's range for {freq.lower()} series "
            f"(1..{_MAX_INTERVAL[freq]})"
        )
    if "COUNT" in parts and "UNTIL" in parts:
        raise _NoZoomFormError("RRULE with both COUNT and UNTIL is invalid")
    if "COUNT" not in parts and "UNTIL" not in parts:
        raise _NoZoomFormError("the series never ends; a fixed-time Zoom series must end")
    count = _integer(parts, "COUNT", 1)
    if count < 1:
        raise _NoZoomFormError(f"unreadable RRULE COUNT {count}")
    if count > MAX_OCCURRENCES:
        raise _NoZoomFormError(f"{count} occurrences; Zoom allows at most {MAX_OCCURRENCES}")

    pattern: dict[str, Any] = {"type": _ZOOM_TYPES[freq], "repeat_interval": interval}
    pattern |= _days(freq, interval, parts, local_start)
    occurrences = _expand(parts, local_start)
    if "monthly_day" in pattern:
        _check_months(occurrences, interval)
    if "UNTIL" in parts:
        # The last occurrence rather than UNTIL itself: whether Zoom compares dates or
        # instants, and in which zone, it then neither adds nor drops an occurrence.
        pattern["end_date_time"] = _utc_text(occurrences[-1])
    else:
        pattern["end_times"] = count
    return pattern, occurrences


def _frequency(parts: dict[str, str]) -> str:
    for key in parts:
        if key in _UNSUPPORTED_PARTS:
            raise _NoZoomFormError(f"{_UNSUPPORTED_PARTS[key]} cannot be expressed in Zoom")
        if key not in _KNOWN_PARTS:
            raise _NoZoomFormError(f"unsupported RRULE part {key}")
    freq = parts.get("FREQ", "")
    if freq == "YEARLY":
        raise _NoZoomFormError("yearly series cannot be expressed in Zoom")
    if freq in {"HOURLY", "MINUTELY", "SECONDLY"}:
        raise _NoZoomFormError(f"{freq.lower()} series cannot be expressed in Zoom")
    if freq not in _ZOOM_TYPES:
        raise _NoZoomFormError(f"unreadable RRULE frequency {freq!r}")
    return freq


def _days(freq: str, interval: int, parts: dict[str, str], local_start: datetime) -> dict[str, Any]:
    """The day fields of Zoom's recurrence object (a daily rule may become a weekly one)."""
    if freq == "MONTHLY":
        if "BYMONTHDAY" in parts or "BYDAY" not in parts:
            return _monthly_day(parts, local_start)
        return _monthly_week(parts)
    if "BYMONTHDAY" in parts or "BYSETPOS" in parts:
        raise _NoZoomFormError(f"days of the month in a {freq.lower()} rule have no Zoom form")
    if freq == "DAILY" and "BYDAY" not in parts:
        return {}
    if freq == "DAILY" and interval != 1:
        raise _NoZoomFormError("a daily rule with weekdays and an interval has no Zoom form")
    # a daily rule limited to some weekdays is the weekly rule on those days
    return {"type": _ZOOM_TYPES["WEEKLY"], "weekly_days": _weekly_days(parts, local_start)}


def _integer(parts: dict[str, str], key: str, default: int) -> int:
    try:
        return int(parts.get(key, default))
    except ValueError:
        raise _NoZoomFormError(f"unreadable RRULE {key} {parts[key]!r}") from None


def _weekdays(parts: dict[str, str]) -> list[tuple[int | None, str]]:
    days: list[tuple[int | None, str]] = []
    for item in parts["BYDAY"].split(","):
        match = _BYDAY.fullmatch(item.strip())
        if not match:
            raise _NoZoomFormError(f"unreadable BYDAY {item!r}")
        days.append((int(match[1]) if match[1] else None, match[2]))
    return days


def _weekly_days(parts: dict[str, str], local_start: datetime) -> str:
    if "BYDAY" not in parts:
        return str(local_start.isoweekday() % 7 + 1)  # ISO Monday=1 -> Zoom Monday=2
    days = _weekdays(parts)
    if any(ordinal is not None for ordinal, _ in days):
        raise _NoZoomFormError("numbered weekdays (like 2TU) in a weekly rule have no Zoom form")
    return ",".join(str(n) for n in sorted({_ZOOM_DAYS[day] for _, day in days}))


def _monthly_day(parts: dict[str, str], local_start: datetime) -> dict[str, int]:
    if "BYDAY" in parts or "BYSETPOS" in parts:
        raise _NoZoomFormError("BYMONTHDAY combined with BYDAY or BYSETPOS has no Zoom form")
    if "BYMONTHDAY" not in parts:
        return {"monthly_day": local_start.day}
    if "," in parts["BYMONTHDAY"]:
        raise _NoZoomFormError("several days of the month; Zoom repeats on one")
    day = _integer(parts, "BYMONTHDAY", 0)
    if day < 0:
        raise _NoZoomFormError("days counted from the end of the month have no Zoom form")
    if not 1 <= day <= 31:
        raise _NoZoomFormError(f"unreadable BYMONTHDAY {day}")
    return {"monthly_day": day}


def _monthly_week(parts: dict[str, str]) -> dict[str, int]:
    weekdays = _weekdays(parts)
    if len(weekdays) > 1:
        raise _NoZoomFormError("several weekdays in a monthly rule; Zoom repeats on one")
    ordinal, day = weekdays[0]
    if "BYSETPOS" in parts:
        if ordinal is not None or "," in parts["BYSETPOS"]:
            raise _NoZoomFormError("this BYSETPOS combination has no Zoom form")
        ordinal = _integer(parts, "BYSETPOS", 0)
    if ordinal is None:
        raise _NoZoomFormError("every such weekday of the month cannot be expressed in Zoom")
    if ordinal >= 5:
        raise _NoZoomFormError(f"weekday number {ordinal} in the month; Zoom counts up to 4")
    if ordinal == 0 or ordinal < -1:
        raise _NoZoomFormError(f"weekday number {ordinal} in the month; Zoom knows 1..4 and -1")
    return {"monthly_week": ordinal, "monthly_week_day": _ZOOM_DAYS[day]}


def _expand(parts: dict[str, str], local_start: datetime) -> list[datetime]:
    """The rule's first occurrences, at most one past Zoom's limit, by RFC 5545 (dateutil)."""
    text = ";".join(
        f"UNTIL={_utc_until(value, local_start.tzinfo)}" if key == "UNTIL" else f"{key}={value}"
        for key, value in parts.items()
    )
    try:
        rule = rrulestr(text, dtstart=local_start, ignoretz=False)
        occurrences = list(itertools.islice(rule, MAX_OCCURRENCES + 1))
    except (ValueError, TypeError, OverflowError) as error:
        raise _NoZoomFormError(f"unreadable RRULE ({error})") from None
    if len(occurrences) > MAX_OCCURRENCES:
        raise _NoZoomFormError(f"more than {MAX_OCCURRENCES} occurrences before UNTIL")
    # dateutil, like Zoom, only yields matching dates; RFC 5545 and the calendar also count a
    # DTSTART that does not match the rule, which Zoom's series would lack.
    if not occurrences or occurrences[0] != local_start:
        raise _NoZoomFormError(
            "the event's start is not an occurrence of its rule: the calendar counts it anyway, "
            "a Zoom series would not"
        )
    return occurrences


def _utc_until(value: str, zone: tzinfo | None) -> str:
    """UNTIL in UTC, as dateutil wants beside a zoned start. Google writes UTC ("...Z"),
    floating local times and plain dates; a date ends the series after that local day."""
    moment = _ical_time(value, zone)
    if isinstance(moment, date) and not isinstance(moment, datetime):
        moment = datetime.combine(moment, time(23, 59, 59), zone)
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _ical_time(value: str, zone: tzinfo | None) -> date | datetime:
    """An iCalendar DATE or DATE-TIME; floating times are read in ``zone``."""
    match = _ICAL_TIME.fullmatch(value.strip())
    if not match:
        raise _NoZoomFormError(f"unreadable date {value!r}")
    year, month, day = (int(n) for n in match.group(1, 2, 3))
    try:
        if match[4] is None:
            return date(year, month, day)
        hour, minute, second = (int(n) for n in match.group(4, 5, 6))
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC if match[7] else zone)
    except ValueError:
        raise _NoZoomFormError(f"unreadable date {value!r}") from None


def _check_months(occurrences: list[datetime], interval: int) -> None:
    """RFC 5545 skips months without the day (a 31st in April); Zoom does not document what it
    does then, so such series are left to the fallback."""
    months = [o.year * 12 + o.month for o in occurrences]
    if any(later - earlier != interval for earlier, later in itertools.pairwise(months)):
        raise _NoZoomFormError(
            f"the series skips months without day {occurrences[0].day}, "
            "and Zoom does not document how it treats them"
        )


def _excluded(
    lines: Sequence[str], occurrences: list[datetime], zone: ZoneInfo
) -> tuple[datetime, ...]:
    """The occurrences (UTC) that EXDATE lines remove; an EXDATE matching none has no effect."""
    starts = {o.astimezone(UTC) for o in occurrences}
    excluded: set[datetime] = set()
    for line in lines:
        head, _, values = line.partition(":")
        params = {}
        for param in head.split(";")[1:]:
            key, _, value = param.partition("=")
            params[key.strip().upper()] = value.strip().strip('"')
        value_zone: tzinfo = zone
        if "TZID" in params:
            try:
                value_zone = ZoneInfo(params["TZID"])
            except (ZoneInfoNotFoundError, ValueError):
                raise _NoZoomFormError(f"unknown EXDATE time zone {params['TZID']!r}") from None
        for value in values.split(","):
            moment = _ical_time(value, value_zone)
            if isinstance(moment, datetime):
                excluded |= {moment.astimezone(UTC)} & starts
            else:
                excluded |= {s for s in starts if s.astimezone(zone).date() == moment}
    if excluded == starts:
        raise _NoZoomFormError("EXDATE removes every occurrence of the series")
    return tuple(sorted(excluded))
