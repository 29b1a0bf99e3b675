"""Cheap local checks on recurrence rules; the provider's own expansion stays the truth."""

from __future__ import annotations

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
    lines = [line for line in master.recurrence if line.upper().startswith(("RRULE", "RDATE"))]
    try:
        rules = rrulestr("\n".join(lines), dtstart=dtstart, forceset=True, ignoretz=False)
        first = rules.after((window.start - duration).astimezone(zone), inc=True)
    except (ValueError, TypeError, OverflowError):
        return True  # a rule we cannot read: let the provider decide
    return first is not None and first.astimezone(UTC) < window.end
