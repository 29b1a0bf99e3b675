"""Cheap local checks on recurrence rules; the provider's own expansion stays the truth."""

from __future__ import annotations

import re
from datetime import UTC
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import rrulestr

from hybridcal.core.model import Event, Window


def may_occur_in(master: Event, window: Window) -> bool:
    """False only when the series certainly has no occurrence overlapping the window, so that a
    full sync of a calendar with years of history does not expand every old series."""
    if master.start is None or master.end is None:
        return False
    if not master.recurrence:
        return window.contains(master.start, master.end)
    if master.start >= window.end:
        return False
    duration = master.end - master.start
    try:
        zone = ZoneInfo(master.timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    dtstart = master.start.astimezone(zone)
    lines = [
        _utc_until(line)
        for line in master.recurrence
        if line.upper().startswith(("RRULE", "RDATE"))
    ]
    try:
        rules = rrulestr("\n".join(lines), dtstart=dtstart, forceset=True, ignoretz=False)
        first = rules.after((window.start - duration).astimezone(zone), inc=True)
    except (ValueError, TypeError, OverflowError):
        return True  # a rule we cannot read: let the provider decide
    return first is not None and first.astimezone(UTC) < window.end


_FLOATING_UNTIL = re.compile(r"UNTIL=(\d{8})(T\d{6})?(?!Z)(?=;|$)", re.IGNORECASE)


def _utc_until(line: str) -> str:
    """dateutil wants a UTC UNTIL beside a zoned start; Google writes all-day (``UNTIL=20261231``)
    and floating ones. Widening them to the end of that day in UTC can only admit a series, never
    drop one, which is the safe direction for a pre-filter."""

    def widen(match: re.Match[str]) -> str:
        return f"UNTIL={match.group(1)}T235959Z"

    return _FLOATING_UNTIL.sub(widen, line) if line.upper().startswith("RRULE") else line
