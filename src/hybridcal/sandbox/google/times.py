"""Event times as Google stores and shows them.

``{"date": "2024-05-01"}`` is an all-day value; ``{"dateTime", "timeZone"?}`` a moment. A
``dateTime`` needs an offset unless ``timeZone`` names the zone. Google answers every
``dateTime`` in the time zone of the response (the ``timeZone`` query parameter, else the
calendar's zone) and echoes the event's own ``timeZone`` when it has one, so clients must honour
offsets rather than assume a zone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hybridcal.sandbox.google.errors import bad_request


@dataclass(frozen=True)
class When:
    """An all-day ``day`` or a ``moment`` (aware, UTC) with the event's own zone if given."""

    day: date | None = None
    moment: datetime | None = None
    zone: str | None = None

    @property
    def all_day(self) -> bool:
        return self.day is not None

    def sort_key(self, view_zone: str) -> datetime:
        """A comparable instant: an all-day value starts at midnight in the viewer's zone."""
        if self.day is not None:
            return datetime(self.day.year, self.day.month, self.day.day, tzinfo=zone(view_zone))
        assert self.moment is not None
        return self.moment

    def render(self, view_zone: str) -> dict[str, str]:
        if self.day is not None:
            return {"date": self.day.isoformat()}
        assert self.moment is not None
        out = {"dateTime": format_moment(self.moment, view_zone)}
        if self.zone:
            out["timeZone"] = self.zone
        return out

    def shifted(self, delta: timedelta) -> When:
        if self.day is not None:
            return When(day=self.day + delta)
        assert self.moment is not None
        return When(moment=self.moment + delta, zone=self.zone)


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise bad_request(f"Invalid time zone: {name}", reason="invalid") from None


def format_moment(moment: datetime, view_zone: str) -> str:
    local = moment.astimezone(zone(view_zone))
    text = local.replace(microsecond=0).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") and view_zone == "UTC" else text


def rfc3339_utc(moment: datetime) -> str:
    """``updated``/``created`` style: UTC with milliseconds."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def parse_when(value: Any, field: str) -> When:
    if not isinstance(value, Mapping):
        raise bad_request(f"Missing {field} time.", reason="required", parameter=field)
    tz_name = value.get("timeZone")
    if tz_name is not None:
        zone(tz_name)
    if value.get("date"):
        if value.get("dateTime"):
            raise bad_request(f"Both date and dateTime set for {field}.", parameter=field)
        try:
            return When(day=date.fromisoformat(value["date"]))
        except (TypeError, ValueError):
            raise bad_request(f"Invalid {field} date.", parameter=field) from None
    raw = value.get("dateTime")
    if not raw:
        raise bad_request(f"Missing {field} time.", reason="required", parameter=field)
    try:
        parsed = datetime.fromisoformat(raw)
    except (TypeError, ValueError):
        raise bad_request(f"Invalid {field} time.", parameter=field) from None
    if parsed.tzinfo is None:
        if not tz_name:
            raise bad_request(
                f"Missing time zone definition for {field} time.",
                reason="required",
                parameter=field,
            )
        parsed = parsed.replace(tzinfo=zone(tz_name))
    return When(moment=parsed.astimezone(UTC), zone=tz_name)


def ms_epoch(moment: datetime) -> str:
    return str(int(moment.timestamp() * 1000))
