"""Recurrence rules as the Meetings API takes them: an RFC 2445 RRULE value (webex.md §2).

Accepted: ``FREQ`` (DAILY, WEEKLY, MONTHLY, YEARLY; required), ``INTERVAL`` (≥ 1), ``COUNT``
or ``UNTIL`` (not both; ``UNTIL`` as ``YYYYMMDD`` or ``YYYYMMDDTHHMMSSZ``), ``BYDAY``,
``BYMONTHDAY``, ``BYMONTH``, ``BYSETPOS``, ``WKST``. Monthly and yearly rules keep only the first
day listed (webex.md §2). The series may reach at most 5 years beyond its start and hold at most
1826 daily, 261 weekly, 60 monthly or 5 yearly occurrences (webex.md §2); a rule without
``COUNT``/``UNTIL`` is expanded to those caps. Anything else → 400.

*Stricter*: an ``RRULE:`` prefix, ``EXDATE``/``RDATE`` and several weekly ``BYDAY`` with
``BYSETPOS`` are refused (webex.md marks them unverified), so a client sends only what Webex
documents. Expansion is done in the meeting's ``timezone`` (dateutil), so occurrences keep their
local time across daylight-saving changes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from dateutil import rrule

from hybridcal.sandbox.webex.errors import bad_request

_FREQS = {
    "DAILY": rrule.DAILY,
    "WEEKLY": rrule.WEEKLY,
    "MONTHLY": rrule.MONTHLY,
    "YEARLY": rrule.YEARLY,
}
MAX_COUNT = {"DAILY": 1826, "WEEKLY": 261, "MONTHLY": 60, "YEARLY": 5}
HORIZON = timedelta(days=5 * 365 + 1)
_DAYS = {
    "MO": rrule.MO,
    "TU": rrule.TU,
    "WE": rrule.WE,
    "TH": rrule.TH,
    "FR": rrule.FR,
    "SA": rrule.SA,
    "SU": rrule.SU,
}
_DAY = re.compile(r"^([+-]?[1-5])?(MO|TU|WE|TH|FR|SA|SU)$")
_KEYS = {"FREQ", "INTERVAL", "COUNT", "UNTIL", "BYDAY", "BYMONTHDAY", "BYMONTH", "BYSETPOS", "WKST"}


@dataclass(frozen=True)
class Rule:
    text: str
    freq: str
    parts: dict[str, str]


def parse(text: object) -> Rule:
    if not isinstance(text, str) or not text.strip():
        raise bad_request("recurrence must be an RFC 2445 RRULE string.")
    if text.upper().startswith(("RRULE:", "EXDATE", "RDATE")) or "\n" in text:
        raise bad_request(f"recurrence '{text}' must be a bare RRULE value (no RRULE: prefix).")
    parts: dict[str, str] = {}
    for item in text.strip().split(";"):
        key, eq, value = item.partition("=")
        key = key.strip().upper()
        if not eq or not value or key not in _KEYS or key in parts:
            raise bad_request(f"recurrence '{text}' is not a valid RRULE: '{item}'.")
        parts[key] = value.strip().upper()
    freq = parts.get("FREQ", "")
    if freq not in _FREQS:
        raise bad_request(f"recurrence '{text}': FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY.")
    if "COUNT" in parts and "UNTIL" in parts:
        raise bad_request(f"recurrence '{text}': COUNT and UNTIL must not both be given.")
    for key in ("INTERVAL", "COUNT"):
        if key in parts and not (parts[key].isdigit() and int(parts[key]) >= 1):
            raise bad_request(f"recurrence '{text}': {key} must be a positive integer.")
    if "COUNT" in parts and int(parts["COUNT"]) > MAX_COUNT[freq]:
        raise bad_request(
            f"recurrence '{text}': at most {MAX_COUNT[freq]} occurrences for FREQ={freq}."
        )
    if "UNTIL" in parts:
        _until(parts["UNTIL"], text)
    if "BYDAY" in parts:
        days = parts["BYDAY"].split(",")
        if not all(_DAY.match(d) for d in days):
            raise bad_request(f"recurrence '{text}': BYDAY '{parts['BYDAY']}' is not valid.")
        if freq in {"MONTHLY", "YEARLY"}:
            parts["BYDAY"] = days[0]
        if "BYSETPOS" in parts and len(days) > 1:
            raise bad_request(f"recurrence '{text}': BYSETPOS with several BYDAY is not supported.")
    for key, low, high in (("BYMONTHDAY", -31, 31), ("BYMONTH", 1, 12), ("BYSETPOS", -5, 5)):
        if key in parts:
            values = parts[key].split(",")
            if not all(re.fullmatch(r"[+-]?\d{1,2}", v) and low <= int(v) <= high for v in values):
                raise bad_request(f"recurrence '{text}': {key} '{parts[key]}' is not valid.")
            if int(values[0]) == 0:
                raise bad_request(f"recurrence '{text}': {key} must not be 0.")
            if key == "BYMONTHDAY" and freq in {"MONTHLY", "YEARLY"}:
                parts[key] = values[0]
    if "WKST" in parts and parts["WKST"] not in _DAYS:
        raise bad_request(f"recurrence '{text}': WKST '{parts['WKST']}' is not valid.")
    return Rule(text.strip(), freq, parts)


def _until(value: str, text: str) -> datetime:
    for fmt in ("%Y%m%dT%H%M%SZ", "%Y%m%d"):
        try:
            return datetime.strptime(value, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise bad_request(f"recurrence '{text}': UNTIL '{value}' is not a date or UTC time.")


def expand(rule: Rule, start: datetime, tz: ZoneInfo) -> list[datetime]:
    """The starts (UTC) of every occurrence; 400 if the rule yields none or reaches too far."""
    parts = rule.parts
    local = start.astimezone(tz).replace(tzinfo=None)
    kwargs: dict[str, object] = {"dtstart": local, "interval": int(parts.get("INTERVAL", "1"))}
    if "COUNT" in parts:
        kwargs["count"] = int(parts["COUNT"])
    if "UNTIL" in parts:
        until = _until(parts["UNTIL"], rule.text)
        if len(parts["UNTIL"]) == 8:
            until += timedelta(days=1) - timedelta(seconds=1)
            kwargs["until"] = until.replace(tzinfo=None)
        else:
            kwargs["until"] = until.astimezone(tz).replace(tzinfo=None)
    if "BYDAY" in parts:
        days = []
        for item in parts["BYDAY"].split(","):
            match = _DAY.match(item)
            assert match is not None
            day = _DAYS[match.group(2)]
            days.append(day(int(match.group(1))) if match.group(1) else day)
        kwargs["byweekday"] = days
    for key, arg in (
        ("BYMONTHDAY", "bymonthday"),
        ("BYMONTH", "bymonth"),
        ("BYSETPOS", "bysetpos"),
    ):
        if key in parts:
            kwargs[arg] = [int(v) for v in parts[key].split(",")]
    if "WKST" in parts:
        kwargs["wkst"] = _DAYS[parts["WKST"]]
    limit = local + HORIZON
    cap = MAX_COUNT[rule.freq]
    starts: list[datetime] = []
    for moment in rrule.rrule(_FREQS[rule.freq], **kwargs):  # type: ignore[arg-type]
        if moment > limit or len(starts) >= cap:
            if "COUNT" in parts or "UNTIL" in parts:
                raise bad_request(
                    f"recurrence '{rule.text}' reaches more than 5 years or {cap} occurrences."
                )
            break
        starts.append(moment.replace(tzinfo=tz).astimezone(UTC))
    if not starts:
        raise bad_request(f"recurrence '{rule.text}' yields no occurrence.")
    return starts
