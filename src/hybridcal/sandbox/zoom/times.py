"""Times as Zoom reads and writes them.

``start_time`` is ``yyyy-MM-ddTHH:mm:ss`` followed by ``Z`` (UTC) or by nothing (local time in
the meeting's ``timezone``, else the host's). Zoom's documented formats are the only ones
accepted here: no offsets, no fractions. Answers always carry UTC with ``Z``. Any IANA zone
known to the system (or to ``tzdata``) is accepted; Zoom's own list is a large subset of it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_START = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(Z?)$")


@dataclass(frozen=True)
class StartTime:
    """A parsed ``start_time``: a wall-clock value, UTC when ``utc`` is set."""

    wall: datetime  # naive
    utc: bool

    def resolve(self, zone_name: str) -> datetime:
        """The instant (aware, UTC) this value names when local times are in ``zone_name``."""
        if self.utc:
            return self.wall.replace(tzinfo=UTC)
        return self.wall.replace(tzinfo=ZoneInfo(zone_name)).astimezone(UTC)


def valid_zone(name: str) -> bool:
    if not name or name.startswith("/") or ".." in name:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def parse_start(value: str) -> StartTime | None:
    match = _START.match(value)
    if match is None:
        return None
    try:
        year, month, day, hour, minute, second = (int(p) for p in match.groups()[:6])
        wall = datetime(year, month, day, hour, minute, second)  # noqa: DTZ001 - wall time
    except ValueError:
        return None
    return StartTime(wall, utc=bool(match.group(7)))


def parse_utc(value: str) -> datetime | None:
    """A ``...Z`` value (as ``end_date_time`` must be), else None."""
    parsed = parse_start(value)
    if parsed is None or not parsed.utc:
        return None
    return parsed.wall.replace(tzinfo=UTC)


def utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def epoch_ms(moment: datetime) -> str:
    return str(int(moment.timestamp() * 1000))


def utc_day_end(moment: datetime) -> datetime:
    day = moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return day + timedelta(days=1)
