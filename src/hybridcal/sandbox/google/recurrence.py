"""Recurring series: RRULE/EXRULE/RDATE/EXDATE expansion and instance ids.

Google takes DTSTART from the event's ``start`` (the ``recurrence`` lines must not carry it) and
expands in the zone of ``start.timeZone`` — required for timed recurring events — so a weekly
10:00 meeting stays at 10:00 wall time across daylight-saving changes. Instance ids are
``{masterId}_{YYYYMMDDTHHMMSSZ}`` (original start in UTC) or ``{masterId}_{YYYYMMDD}`` for
all-day series. An open-ended series is expanded up to a cap (Google does not document its own).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from dateutil.rrule import rruleset, rrulestr

from hybridcal.sandbox.google.errors import bad_request
from hybridcal.sandbox.google.times import When, zone

MAX_INSTANCES = 730
_LINE = re.compile(r"^(RRULE|EXRULE|RDATE|EXDATE)[:;]", re.IGNORECASE)
_SUFFIX = re.compile(r"^(\d{8})(T\d{6}Z)?$")


@dataclass(frozen=True)
class Occurrence:
    original: When
    start: When
    end: When
    suffix: str


def validate(lines: Sequence[str], start: When) -> None:
    """400 for what Google refuses: unknown lines, unparsable rules, zone-less timed series."""
    if not lines:
        return
    if start.moment is not None and not start.zone:
        raise bad_request(
            "Missing time zone definition for start time.", reason="required", parameter="start"
        )
    for line in lines:
        if not isinstance(line, str) or not _LINE.match(line):
            raise bad_request("Invalid recurrence rule.", parameter="recurrence")
    next(iter(_iterate(lines, start)), None)


def _ruleset(lines: Sequence[str], start: When) -> rruleset:
    if start.day is not None:
        dtstart = datetime(start.day.year, start.day.month, start.day.day)  # noqa: DTZ001 - floating all-day
    else:
        assert start.moment is not None
        assert start.zone is not None
        dtstart = start.moment.astimezone(zone(start.zone))
    try:
        parsed = rrulestr("\n".join(lines), dtstart=dtstart, forceset=True, tzids=zone)
    except (ValueError, TypeError, KeyError):
        raise bad_request("Invalid recurrence rule.", parameter="recurrence") from None
    assert isinstance(parsed, rruleset)
    return parsed


def _iterate(lines: Sequence[str], start: When) -> Iterator[datetime]:
    rules = _ruleset(lines, start)
    try:
        yield from rules
    except TypeError:  # naive EXDATE mixed with an aware DTSTART, and the like
        raise bad_request("Invalid recurrence rule.", parameter="recurrence") from None


def expand(
    start: When,
    end: When,
    lines: Sequence[str],
    *,
    until: datetime | None = None,
    limit: int = MAX_INSTANCES,
) -> list[Occurrence]:
    """Occurrences starting before ``until`` (aware), at most ``limit`` of them."""
    found: list[Occurrence] = []
    for value in _iterate(lines, start):
        original = _when_from(value, start)
        if until is not None and original.sort_key("UTC") >= until:
            break
        delta = _offset(original, start)
        found.append(
            Occurrence(original, start.shifted(delta), end.shifted(delta), suffix(original))
        )
        if len(found) >= limit:
            break
    return found


def _when_from(value: datetime, start: When) -> When:
    if start.day is not None:
        return When(day=value.date())
    return When(moment=value.astimezone(UTC), zone=start.zone)


def _offset(original: When, start: When) -> timedelta:
    if original.day is not None and start.day is not None:
        return original.day - start.day
    assert original.moment is not None
    assert start.moment is not None
    return original.moment - start.moment


def suffix(original: When) -> str:
    if original.day is not None:
        return original.day.strftime("%Y%m%d")
    assert original.moment is not None
    return original.moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def split_instance_id(event_id: str) -> tuple[str, str] | None:
    master, sep, tail = event_id.rpartition("_")
    if not sep or not master or not _SUFFIX.match(tail):
        return None
    return master, tail


def original_from_suffix(tail: str) -> When:
    match = _SUFFIX.match(tail)
    if match is None:
        raise bad_request("Invalid instance id.")
    if match.group(2) is None:
        return When(day=date(int(tail[:4]), int(tail[4:6]), int(tail[6:8])))
    moment = datetime.strptime(tail, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    return When(moment=moment)


def find_occurrence(start: When, end: When, lines: Sequence[str], tail: str) -> Occurrence | None:
    """The occurrence whose id suffix is ``tail``, if the series has it."""
    target = original_from_suffix(tail)
    bound = target.sort_key("UTC") + timedelta(days=2)
    for occ in expand(start, end, lines, until=bound, limit=100_000):
        if occ.suffix == tail:
            return occ
    return None
