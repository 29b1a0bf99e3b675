"""An event's time and recurrence as the schedule of a Webex meeting.

Webex takes an RFC 2445 RRULE itself (webex.md §2), with limits the calendar does not have: no
start in the past, 10 minutes to 23 h 59 per occurrence, whole minutes, at most five years and
1826 daily / 261 weekly / 60 monthly / 5 yearly occurrences, and monthly or yearly rules keep only
the first day of a ``BYMONTHDAY`` list. So the calendar's own expansion (dateutil) decides:

- a series that has begun starts at its first occurrence still to come (``COUNT`` shrinks);
- a series longer than Webex allows is cut to the allowed number (later occurrences have no
  meeting; the log says so); an endless one gets the allowed ``COUNT``;
- ``UNTIL`` is sent in UTC, as Webex's examples do;
- EXDATEs are returned as occurrences to delete after the create, as for Zoom;
- what Webex cannot express (RDATE, EXRULE, several days of the month, hourly rules) raises
  :class:`NoWebexFormError`, which the connector turns into a refusal the admin can read.

Times are sent as local wall-clock time with the IANA zone: an offset that disagreed with the
zone would be refused.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import rrulestr

MIN_LENGTH = timedelta(minutes=10)
MAX_LENGTH = timedelta(hours=23, minutes=59)
MAX_SPAN = timedelta(days=5 * 365)
MAX_OCCURRENCES = {"DAILY": 1826, "WEEKLY": 261, "MONTHLY": 60, "YEARLY": 5}
_KNOWN_PARTS = {"FREQ", "INTERVAL", "COUNT", "UNTIL", "BYDAY", "BYMONTHDAY", "BYMONTH"}
_KNOWN_PARTS |= {"BYSETPOS", "WKST"}
_ICAL_TIME = re.compile(r"(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})(Z)?)?")
_LOCAL = "%Y-%m-%dT%H:%M:%S"


class NoWebexFormError(ValueError):
    """The event's schedule has no Webex equivalent; the message says why, for the admin."""


class EventOverError(NoWebexFormError):
    """Nothing of the event lies ahead: Webex schedules nothing in the past."""


@dataclass(frozen=True, slots=True)
class WebexSchedule:
    start: str  # local wall-clock time in ``timezone``, whole minutes
    end: str
    timezone: str
    recurrence: str | None  # the RRULE without its "RRULE:" prefix; None for one meeting
    first_start: datetime  # UTC: the (first) meeting's start as Webex will hold it
    first_end: datetime
    excluded: tuple[datetime, ...] = ()  # UTC starts of occurrences to delete (EXDATE)
    cut_after: int | None = None  # occurrences kept when Webex's limits cut the series

    def body(self, *, for_update: bool = False) -> dict[str, Any]:
        """The schedule fields of a create, or of a PATCH (which clears a series' rule)."""
        fields: dict[str, Any] = {"start": self.start, "end": self.end, "timezone": self.timezone}
        if self.recurrence is not None or for_update:
            fields["recurrence"] = self.recurrence
        return fields


def webex_schedule(
    start: datetime,
    end: datetime,
    *,
    timezone: str | None,
    now: datetime,
    all_day: bool = False,
    recurrence: Sequence[str] = (),
) -> WebexSchedule:
    """The Webex schedule of an event from ``start`` to ``end`` (aware) in the IANA
    ``timezone`` (None or unknown: UTC), with the event's recurrence lines."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be timezone-aware")
    zone = _zone(timezone)
    local_start, length = _span(start.astimezone(zone), end.astimezone(zone), all_day=all_day)
    names = [re.split(r"[:;]", line, maxsplit=1)[0].strip().upper() for line in recurrence]
    if not set(names) - {"EXDATE"}:
        return _single(local_start, length, zone, now)
    parts = _only_rule(recurrence, names)
    freq = parts["FREQ"]
    occurrences = _expand(parts, local_start)
    future = [o for o in occurrences if o.astimezone(UTC) > now]
    if not future:
        raise EventOverError("the series has no occurrence left in the future")
    first = future[0]
    limit = MAX_OCCURRENCES[freq]
    reachable = [o for o in future if o - first < MAX_SPAN][:limit]
    cut = len(reachable) if len(reachable) < len(future) or _endless(parts) else None
    rule = dict(parts)
    if "UNTIL" in rule:
        rule["UNTIL"] = _utc_until(rule["UNTIL"], zone)
    if cut is not None or "COUNT" in rule:  # the count of what Webex will really hold
        rule.pop("UNTIL", None)
        rule["COUNT"] = str(len(reachable))
    exdates = [line for line, name in zip(recurrence, names, strict=True) if name == "EXDATE"]
    kept = set(reachable)
    excluded = tuple(
        sorted(o.astimezone(UTC) for o in _exdates(exdates, zone) if o.astimezone(zone) in kept)
    )
    return WebexSchedule(
        start=first.strftime(_LOCAL),
        end=(first + length).strftime(_LOCAL),
        timezone=zone.key,
        recurrence=";".join(f"{key}={value}" for key, value in _ordered(rule)),
        first_start=first.astimezone(UTC),
        first_end=(first + length).astimezone(UTC),
        excluded=excluded,
        cut_after=cut if cut is not None and not _endless(parts) else None,
    )


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _span(start: datetime, end: datetime, *, all_day: bool) -> tuple[datetime, timedelta]:
    """Start at the whole minute and a length Webex accepts. A meeting stays joinable past its
    scheduled end, so a short event gets ten minutes and a long one 23 h 59."""
    if all_day:
        midnight = datetime.combine(start.date(), time(0), tzinfo=start.tzinfo)
        return midnight, MAX_LENGTH
    start = start.replace(second=0, microsecond=0)
    minutes = math.ceil((end - start) / timedelta(minutes=1))
    length = timedelta(minutes=minutes)
    return start, min(max(length, MIN_LENGTH), MAX_LENGTH)


def _single(start: datetime, length: timedelta, zone: ZoneInfo, now: datetime) -> WebexSchedule:
    end = start + length
    if start.astimezone(UTC) <= now:
        if end.astimezone(UTC) <= now:
            raise EventOverError("the event is over (Webex schedules no meeting in the past)")
        # under way: Webex refuses a start in the past, so the meeting starts at the next minute
        start = (now + timedelta(minutes=1)).astimezone(zone).replace(second=0, microsecond=0)
        end = max(end, start + MIN_LENGTH)
    return WebexSchedule(
        start=start.strftime(_LOCAL),
        end=end.strftime(_LOCAL),
        timezone=zone.key,
        recurrence=None,
        first_start=start.astimezone(UTC),
        first_end=end.astimezone(UTC),
    )


def _only_rule(lines: Sequence[str], names: Sequence[str]) -> dict[str, str]:
    extra = sorted({name for name in names if name not in {"RRULE", "EXDATE"}})
    if extra:
        raise NoWebexFormError(f"Webex recurrences cannot hold {', '.join(extra)}")
    rules = [line for line, name in zip(lines, names, strict=True) if name == "RRULE"]
    if len(rules) != 1:
        raise NoWebexFormError("Webex recurrences hold exactly one RRULE")
    body = rules[0].split(":", 1)[1] if ":" in rules[0] else rules[0]
    parts: dict[str, str] = {}
    for item in body.strip().split(";"):
        key, sep, value = item.partition("=")
        if not sep:
            raise NoWebexFormError(f"cannot read the rule part {item!r}")
        parts[key.strip().upper()] = value.strip().upper()
    unknown = sorted(set(parts) - _KNOWN_PARTS)
    if unknown:
        raise NoWebexFormError(f"Webex recurrences cannot hold {', '.join(unknown)}")
    freq = parts.get("FREQ")
    if freq not in MAX_OCCURRENCES:
        raise NoWebexFormError(f"Webex repeats daily, weekly, monthly or yearly, not {freq}")
    if freq in {"MONTHLY", "YEARLY"} and "," in parts.get("BYMONTHDAY", ""):
        raise NoWebexFormError("Webex keeps only the first of several days of the month")
    if freq == "YEARLY" and "," in parts.get("BYMONTH", ""):
        raise NoWebexFormError("Webex repeats a yearly meeting in one month only")
    return parts


def _endless(parts: dict[str, str]) -> bool:
    return "COUNT" not in parts and "UNTIL" not in parts


def _expand(parts: dict[str, str], local_start: datetime) -> list[datetime]:
    """The calendar's occurrences (RFC 5545, dateutil), up to Webex's horizon and a bit."""
    rule = ";".join(f"{k}={v}" for k, v in parts.items() if k != "UNTIL")
    until = parts.get("UNTIL")
    zone = local_start.tzinfo
    horizon = local_start + MAX_SPAN + timedelta(days=400)
    last = horizon
    if until is not None:
        end = _ical_time(until, zone)
        last = min(horizon, end if isinstance(end, datetime) else _day_end(end, zone))
    expanded = rrulestr(rule, dtstart=local_start, cache=False)
    out: list[datetime] = []
    for moment in expanded:
        if moment > last or len(out) > 2 * max(MAX_OCCURRENCES.values()):
            break
        out.append(moment)
    return out


def _ordered(rule: dict[str, str]) -> list[tuple[str, str]]:
    return sorted(rule.items(), key=lambda item: (item[0] != "FREQ", item[0]))


def _utc_until(value: str, zone: tzinfo) -> str:
    moment = _ical_time(value, zone)
    if not isinstance(moment, datetime):
        moment = _day_end(moment, zone)
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _day_end(day: date, zone: tzinfo | None) -> datetime:
    return datetime.combine(day, time(23, 59, 59), tzinfo=zone)


def _ical_time(value: str, zone: tzinfo | None) -> date | datetime:
    found = _ICAL_TIME.fullmatch(value.strip())
    if found is None:
        raise NoWebexFormError(f"cannot read the date {value!r}")
    year, month, day, hour, minute, second, utc = found.groups()
    if hour is None:
        return date(int(year), int(month), int(day))
    numbers = (int(year), int(month), int(day), int(hour), int(minute), int(second))
    return datetime(*numbers, tzinfo=UTC if utc else zone)


def _exdates(lines: Sequence[str], zone: ZoneInfo) -> list[datetime]:
    """The instants EXDATE lines name (``EXDATE;TZID=...:a,b`` or UTC ``...Z`` values)."""
    out: list[datetime] = []
    for line in lines:
        head, _, values = line.partition(":")
        tzid = re.search(r"TZID=([^;:]+)", head)
        value_zone: tzinfo = _zone(tzid.group(1)) if tzid else zone
        for value in values.split(","):
            if not value.strip():
                continue
            moment = _ical_time(value, value_zone)
            if isinstance(moment, datetime):
                out.append(moment)
    return out
