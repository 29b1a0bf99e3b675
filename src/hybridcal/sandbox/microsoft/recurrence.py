"""Graph's ``patternedRecurrence``: validation, normalisation and expansion.

``pattern``: ``daily``, ``weekly`` (``daysOfWeek``, ``firstDayOfWeek``), ``absoluteMonthly``
(``dayOfMonth``), ``relativeMonthly`` (``daysOfWeek`` + ``index``), ``absoluteYearly``
(``month`` + ``dayOfMonth``), ``relativeYearly`` (``month`` + ``daysOfWeek`` + ``index``), each with
``interval`` >= 1. ``range``: ``endDate`` (inclusive), ``noEnd`` or ``numbered``, from
``startDate``, in ``recurrenceTimeZone`` (default: the start's zone).

Occurrences keep the wall time of the event's start in the recurrence zone (so a weekly 10:00
meeting stays at 10:00 across daylight-saving changes) and the event's duration. Like Outlook, a
``dayOfMonth`` the month lacks falls on its last day, and the master's start is moved to the
first occurrence. Expansion stops after ``MAX_STEPS`` candidates (an open-ended series is
expanded only as far as a query needs).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from dateutil import rrule

from hybridcal.sandbox.microsoft.errors import bad_request, bad_value
from hybridcal.sandbox.microsoft.times import When, zone

PATTERN_TYPES = (
    "daily",
    "weekly",
    "absoluteMonthly",
    "relativeMonthly",
    "absoluteYearly",
    "relativeYearly",
)
RANGE_TYPES = ("endDate", "noEnd", "numbered")
DAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
INDEXES = {"first": 1, "second": 2, "third": 3, "fourth": 4, "last": -1}
MAX_STEPS = 20_000
_RR_DAYS = {
    "sunday": rrule.SU,
    "monday": rrule.MO,
    "tuesday": rrule.TU,
    "wednesday": rrule.WE,
    "thursday": rrule.TH,
    "friday": rrule.FR,
    "saturday": rrule.SA,
}
_NO_DATE = "0001-01-01"
_PATTERN_KEYS = {"type", "interval", "month", "dayOfMonth", "daysOfWeek", "firstDayOfWeek", "index"}
_RANGE_KEYS = {"type", "startDate", "endDate", "recurrenceTimeZone", "numberOfOccurrences"}


def _object(value: Any, name: str, allowed: set[str]) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise bad_request(f"The property '{name}' must be an object.")
    for key in value:
        if key not in allowed and key != "@odata.type":
            raise bad_request(
                f"The property '{key}' does not exist on type 'microsoft.graph.{name}'.",
                "RequestBodyRead",
            )
    return value


def _int(value: Any, name: str, low: int, high: int, *, required: bool) -> int:
    if value is None and not required:
        return 0
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise bad_request(f"The recurrence property '{name}' must be between {low} and {high}.")
    return value


def _date(value: Any, name: str) -> date:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise bad_value(name, value) from None


def normalize(value: Any, start_zone: str) -> dict[str, Any]:
    """The recurrence as Graph stores and returns it; 400 for what Graph refuses."""
    outer = _object(value, "patternedRecurrence", {"pattern", "range"})
    pattern = _object(outer.get("pattern"), "recurrencePattern", _PATTERN_KEYS)
    span = _object(outer.get("range"), "recurrenceRange", _RANGE_KEYS)
    kind = pattern.get("type")
    if kind not in PATTERN_TYPES:
        raise bad_value("pattern.type", kind)
    days = pattern.get("daysOfWeek") or []
    if not isinstance(days, list) or any(d not in DAYS for d in days):
        raise bad_value("pattern.daysOfWeek", days)
    first_day = pattern.get("firstDayOfWeek") or "sunday"
    if first_day not in DAYS:
        raise bad_value("pattern.firstDayOfWeek", first_day)
    index = pattern.get("index") or "first"
    if index not in INDEXES:
        raise bad_value("pattern.index", index)
    out_pattern: dict[str, Any] = {
        "type": kind,
        "interval": _int(pattern.get("interval"), "interval", 1, 99, required=True),
        "month": _int(pattern.get("month"), "month", 0, 12, required=False),
        "dayOfMonth": _int(pattern.get("dayOfMonth"), "dayOfMonth", 0, 31, required=False),
        "daysOfWeek": list(dict.fromkeys(days)),
        "firstDayOfWeek": first_day,
        "index": index,
    }
    if kind in {"weekly", "relativeMonthly", "relativeYearly"} and not days:
        raise bad_request(f"A {kind} recurrence pattern needs daysOfWeek.")
    if kind in {"absoluteMonthly", "absoluteYearly"} and out_pattern["dayOfMonth"] < 1:
        raise bad_request(f"A {kind} recurrence pattern needs dayOfMonth.")
    if kind in {"absoluteYearly", "relativeYearly"} and out_pattern["month"] < 1:
        raise bad_request(f"A {kind} recurrence pattern needs month.")
    range_type = span.get("type")
    if range_type not in RANGE_TYPES:
        raise bad_value("range.type", range_type)
    if not span.get("startDate"):
        raise bad_request("The recurrence range needs a startDate.")
    start_date = _date(span.get("startDate"), "range.startDate")
    end_text = _NO_DATE
    if range_type == "endDate":
        end_date = _date(span.get("endDate"), "range.endDate")
        if end_date < start_date:
            raise bad_request("The recurrence range's endDate is before its startDate.")
        end_text = end_date.isoformat()
    count = 0
    if range_type == "numbered":
        count = _int(span.get("numberOfOccurrences"), "numberOfOccurrences", 1, 999, required=True)
    tz_name = span.get("recurrenceTimeZone") or start_zone
    zone(tz_name)
    return {
        "pattern": out_pattern,
        "range": {
            "type": range_type,
            "startDate": start_date.isoformat(),
            "endDate": end_text,
            "recurrenceTimeZone": tz_name,
            "numberOfOccurrences": count,
        },
    }


def _month_days(day: int) -> list[int]:
    """``dayOfMonth`` 29-31 falls on the month's last day when the month is shorter."""
    return [day] if day <= 28 else list(range(28, day + 1))


def _rule(recurrence: Mapping[str, Any], dtstart: datetime) -> rrule.rrule:
    pattern, span = recurrence["pattern"], recurrence["range"]
    kind = pattern["type"]
    options: dict[str, Any] = {"dtstart": dtstart, "interval": pattern["interval"]}
    days = [_RR_DAYS[d] for d in pattern["daysOfWeek"]]
    freq: Literal[0, 1, 2, 3, 4, 5, 6]
    if kind == "daily":
        freq = rrule.DAILY
    elif kind == "weekly":
        freq = rrule.WEEKLY
        options.update(byweekday=days, wkst=_RR_DAYS[pattern["firstDayOfWeek"]])
    elif kind in {"absoluteMonthly", "absoluteYearly"}:
        freq = rrule.MONTHLY if kind == "absoluteMonthly" else rrule.YEARLY
        options["bymonthday"] = _month_days(pattern["dayOfMonth"])
        if pattern["dayOfMonth"] > 28:
            options["bysetpos"] = -1
    else:
        freq = rrule.MONTHLY if kind == "relativeMonthly" else rrule.YEARLY
        options.update(byweekday=days, bysetpos=INDEXES[pattern["index"]])
    if kind in {"absoluteYearly", "relativeYearly"}:
        options["bymonth"] = pattern["month"]
    if span["type"] == "endDate":
        end = date.fromisoformat(span["endDate"])
        options["until"] = datetime(end.year, end.month, end.day, 23, 59, 59)  # noqa: DTZ001 - wall
    elif span["type"] == "numbered":
        options["count"] = span["numberOfOccurrences"]
    return rrule.rrule(freq, **options)


def expand(
    recurrence: Mapping[str, Any],
    start: When,
    end: When,
    *,
    until: datetime | None = None,
) -> Iterator[tuple[datetime, When, When]]:
    """``(original UTC, start, end)`` for each occurrence starting before ``until``."""
    span = recurrence["range"]
    rec_zone = span["recurrenceTimeZone"]
    first = date.fromisoformat(span["startDate"])
    if start.day is not None:
        duration = end.day - start.day if end.day is not None else timedelta(days=1)
        dtstart = datetime(first.year, first.month, first.day)  # noqa: DTZ001 - floating
    else:
        assert start.moment is not None
        assert end.moment is not None
        duration = end.moment - start.moment
        wall = start.moment.astimezone(zone(rec_zone)).replace(tzinfo=None)
        dtstart = datetime.combine(first, wall.time())
    tz = zone(rec_zone)
    for steps, local in enumerate(_rule(recurrence, dtstart)):
        if steps >= MAX_STEPS:
            return
        if start.day is not None:
            original = datetime(local.year, local.month, local.day, tzinfo=UTC)
            when = When(start.zone_name, day=local.date())
            occ_end = When(end.zone_name, day=local.date() + duration)
            if until is not None and when.instant() >= until + timedelta(days=1):
                return
        else:
            moment = local.replace(tzinfo=tz).astimezone(UTC)
            original = moment
            when = When(start.zone_name, moment=moment)
            occ_end = When(end.zone_name, moment=moment + duration)
            if until is not None and moment >= until:
                return
        yield original, when, occ_end


def first(recurrence: Mapping[str, Any], start: When, end: When) -> tuple[When, When] | None:
    for _original, occ_start, occ_end in expand(recurrence, start, end):
        return occ_start, occ_end
    return None


def find(
    recurrence: Mapping[str, Any], start: When, end: When, original: datetime
) -> tuple[When, When] | None:
    """The occurrence whose original start is ``original``, if the series has it."""
    for found, occ_start, occ_end in expand(
        recurrence, start, end, until=original + timedelta(seconds=1)
    ):
        if found == original:
            return occ_start, occ_end
    return None
