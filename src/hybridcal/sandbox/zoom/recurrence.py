"""Recurrence of fixed-time meetings (type 8) and their occurrences.

``type`` 1 daily (``repeat_interval`` 1-90), 2 weekly (1-12, ``weekly_days`` like ``"1,3"``,
1 = Sunday … 7 = Saturday, required), 3 monthly (1-3, either ``monthly_day`` 1-31 or
``monthly_week`` -1/1-4 with ``monthly_week_day`` 1-7). Exactly one of ``end_times`` (1-60) or
``end_date_time`` (UTC, ``...Z``) is required: the simulator refuses open-ended fixed-time
series (Zoom would pick a default end) so that a client always states how a series ends. An
``end_date_time`` that yields more than 60 occurrences is refused too (Zoom's maximum).

Occurrences are computed in the meeting's time zone at the local start time, so a weekly 10:00
meeting stays at 10:00 across daylight-saving changes. The first occurrence is the first
matching day on or after ``start_time``; weeks (for ``repeat_interval``) start on Sunday and
are counted from the week of ``start_time``, months from its month; a ``monthly_day`` a month
does not have (31 in April) skips that month. ``occurrence_id`` is the occurrence's original
start in epoch milliseconds.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from dateutil import rrule

from hybridcal.sandbox.zoom.errors import Problems, validation
from hybridcal.sandbox.zoom.times import parse_utc, utc_text

MAX_OCCURRENCES = 60
DAILY, WEEKLY, MONTHLY = 1, 2, 3
_INTERVAL_MAX = {DAILY: 90, WEEKLY: 12, MONTHLY: 3}
_NAMES = {DAILY: "daily", WEEKLY: "weekly", MONTHLY: "monthly"}
_MONTHLY_WEEKS = frozenset({-1, 1, 2, 3, 4})
_KEYS = frozenset(
    {
        "type", "repeat_interval", "weekly_days", "monthly_day", "monthly_week",
        "monthly_week_day", "end_times", "end_date_time",
    }
)  # fmt: skip
# Zoom numbers days 1 = Sunday … 7 = Saturday; dateutil 0 = Monday … 6 = Sunday.
_WEEKDAYS = {z: rrule.weekdays[(z - 2) % 7] for z in range(1, 8)}


@dataclass(frozen=True)
class Recurrence:
    type: int
    repeat_interval: int = 1
    weekly_days: tuple[int, ...] = ()
    monthly_day: int | None = None
    monthly_week: int | None = None
    monthly_week_day: int | None = None
    end_times: int | None = None
    end_date_time: datetime | None = None

    def render(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type, "repeat_interval": self.repeat_interval}
        if self.type == WEEKLY:
            out["weekly_days"] = ",".join(str(d) for d in self.weekly_days)
        if self.monthly_day is not None:
            out["monthly_day"] = self.monthly_day
        if self.monthly_week is not None:
            out["monthly_week"] = self.monthly_week
            out["monthly_week_day"] = self.monthly_week_day
        if self.end_times is not None:
            out["end_times"] = self.end_times
        if self.end_date_time is not None:
            out["end_date_time"] = utc_text(self.end_date_time)
        return out


def _int(raw: dict[str, Any], key: str) -> int | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(key)
    return value


def parse(raw: Any, problems: Problems) -> Recurrence | None:
    """The recurrence of a type-8 meeting; every problem is added to ``problems``."""
    if not isinstance(raw, dict):
        problems.add("recurrence", "Invalid field.")
        return None
    nulls = sorted(key for key in _KEYS if key in raw and raw[key] is None)
    for key in nulls:  # Zoom documents no null for these: an invalid field (see fields.py)
        problems.add(f"recurrence.{key}", "Invalid field.")
    if nulls:
        return None
    before = len(problems.items)

    def number(key: str) -> int | None:
        try:
            return _int(raw, key)
        except TypeError:
            problems.add(f"recurrence.{key}", "Must be an integer.")
            return None

    kind = number("type")
    if kind not in _INTERVAL_MAX:
        problems.add("recurrence.type", "Must be 1 (daily), 2 (weekly) or 3 (monthly).")
        return None
    interval = number("repeat_interval")
    interval = 1 if interval is None else interval
    if not 1 <= interval <= _INTERVAL_MAX[kind]:
        problems.add(
            "recurrence.repeat_interval",
            f"Must be between 1 and {_INTERVAL_MAX[kind]} for a {_NAMES[kind]} meeting.",
        )
    days: tuple[int, ...] = ()
    monthly_day = monthly_week = monthly_week_day = None
    if kind == WEEKLY:
        days = _weekly_days(raw.get("weekly_days"), problems)
    if kind == MONTHLY:
        monthly_day = number("monthly_day")
        monthly_week = number("monthly_week")
        monthly_week_day = number("monthly_week_day")
        _check_monthly(monthly_day, monthly_week, monthly_week_day, problems)
    end_times = number("end_times")
    end_raw = raw.get("end_date_time")
    end_date_time = None
    if end_times is not None and end_raw is not None:
        problems.add("recurrence", "Only one of end_times and end_date_time may be set.")
    elif end_times is None and end_raw is None:
        problems.add(
            "recurrence", "A recurring meeting with a fixed time needs end_times or end_date_time."
        )
    if end_times is not None and not 1 <= end_times <= MAX_OCCURRENCES:
        problems.add("recurrence.end_times", f"Must be between 1 and {MAX_OCCURRENCES}.")
    if end_raw is not None:
        end_date_time = parse_utc(end_raw) if isinstance(end_raw, str) else None
        if end_date_time is None:
            problems.add(
                "recurrence.end_date_time", "Must be UTC in the format yyyy-MM-ddTHH:mm:ssZ."
            )
    if len(problems.items) > before:
        return None
    return Recurrence(
        kind, interval, days, monthly_day, monthly_week, monthly_week_day, end_times, end_date_time
    )


def _weekly_days(value: Any, problems: Problems) -> tuple[int, ...]:
    if value is None:
        problems.add("recurrence.weekly_days", "Required for a weekly meeting.")
        return ()
    parts = value.split(",") if isinstance(value, str) else []
    if not parts or not all(len(p) == 1 and p in "1234567" for p in parts):
        problems.add("recurrence.weekly_days", 'Must be a list of days 1-7 like "1,3".')
        return ()
    if len(set(parts)) != len(parts):
        problems.add("recurrence.weekly_days", "A day is listed twice.")
        return ()
    return tuple(sorted(int(p) for p in parts))


def _check_monthly(
    day: int | None, week: int | None, week_day: int | None, problems: Problems
) -> None:
    if day is not None and (week is not None or week_day is not None):
        problems.add(
            "recurrence", "Use monthly_day or monthly_week with monthly_week_day, not both."
        )
    elif day is not None:
        if not 1 <= day <= 31:
            problems.add("recurrence.monthly_day", "Must be between 1 and 31.")
    elif week is None and week_day is None:
        problems.add(
            "recurrence",
            "A monthly meeting needs monthly_day or monthly_week and monthly_week_day.",
        )
    else:
        if week not in _MONTHLY_WEEKS:
            problems.add("recurrence.monthly_week", "Must be -1, 1, 2, 3 or 4.")
        if week_day is None or not 1 <= week_day <= 7:
            problems.add("recurrence.monthly_week_day", "Must be between 1 and 7.")


def expand(recurrence: Recurrence, start: datetime, zone_name: str) -> list[datetime]:
    """The occurrences' starts (aware, UTC) of a series whose first start is ``start``."""
    zone = ZoneInfo(zone_name)
    local = start.astimezone(zone).replace(tzinfo=None)
    options: dict[str, Any] = {"dtstart": local, "interval": recurrence.repeat_interval}
    if recurrence.type == WEEKLY:
        options["byweekday"] = [_WEEKDAYS[d] for d in recurrence.weekly_days]
        options["wkst"] = rrule.SU
    elif recurrence.type == MONTHLY and recurrence.monthly_day is not None:
        options["bymonthday"] = recurrence.monthly_day
    elif recurrence.type == MONTHLY:
        assert recurrence.monthly_week is not None
        assert recurrence.monthly_week_day is not None
        options["byweekday"] = _WEEKDAYS[recurrence.monthly_week_day](recurrence.monthly_week)
    if recurrence.end_times is not None:
        options["count"] = recurrence.end_times
    elif recurrence.end_date_time is not None:
        options["until"] = recurrence.end_date_time.astimezone(zone).replace(tzinfo=None)
    if recurrence.type == DAILY:
        rule = rrule.rrule(rrule.DAILY, **options)
    elif recurrence.type == WEEKLY:
        rule = rrule.rrule(rrule.WEEKLY, **options)
    else:
        rule = rrule.rrule(rrule.MONTHLY, **options)
    walls = list(itertools.islice(iter(rule), MAX_OCCURRENCES + 1))
    if len(walls) > MAX_OCCURRENCES:
        raise validation(
            "recurrence.end_date_time",
            f"The series would have more than {MAX_OCCURRENCES} occurrences.",
        )
    if not walls:
        raise validation("recurrence.end_date_time", "The series ends before its first occurrence.")
    return [wall.replace(tzinfo=zone).astimezone(UTC) for wall in walls]
