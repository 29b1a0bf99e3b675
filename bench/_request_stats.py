"""Counting what the daemon asked the Google simulator, from its request log."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from hybridcal.sandbox.google.http import RequestRecord

LIST = "calendar.events.list"
WRITES = frozenset({"calendar.events.patch", "calendar.events.update"})
TOKEN = "oauth2.token"


@dataclass(frozen=True, slots=True)
class Target:
    calendar: str | None
    event_id: str | None


def target_of(record: RequestRecord) -> Target:
    """``/calendar/v3/calendars/{calendar}/events[/{event}[/instances]]`` -> its parts."""
    parts = record.path.split("/")
    try:
        at = parts.index("calendars")
    except ValueError:
        return Target(None, None)
    calendar = parts[at + 1] if len(parts) > at + 1 else None
    event = parts[at + 3] if len(parts) > at + 3 and parts[at + 2] == "events" else None
    if event == "watch":
        event = None
    return Target(calendar.lower() if calendar else None, event)


def by_method(records: Iterable[RequestRecord]) -> dict[str, int]:
    counts = Counter(record.method_id or record.path for record in records)
    return dict(sorted(counts.items()))


def list_calls(records: Iterable[RequestRecord]) -> Counter[str]:
    """events.list calls per calendar."""
    return Counter(
        calendar
        for record in records
        if record.method_id == LIST and (calendar := target_of(record).calendar)
    )


def writes_per_event(records: Iterable[RequestRecord]) -> Counter[str]:
    """Event writes (patch or update) per event id, whatever their answer."""
    return Counter(
        event
        for record in records
        if record.method_id in WRITES and (event := target_of(record).event_id)
    )


def lists_to_read_edits(
    records: Sequence[RequestRecord], calendar: str, last_edit_at: datetime
) -> int:
    """Listings of ``calendar`` up to and including the first one after the people's last edit:
    what reading the burst itself took. Later listings follow our own writes (their echoes) and
    the asynchronous completion of Meet conferences."""
    before = after = 0
    for record in records:
        if record.method_id != LIST or target_of(record).calendar != calendar:
            continue
        if record.at is not None and record.at <= last_edit_at:
            before += 1
        else:
            after += 1
    return before + min(after, 1)


def failed(records: Iterable[RequestRecord]) -> int:
    return sum(1 for record in records if record.status >= 400)


def span_seconds(records: Sequence[RequestRecord], since: datetime) -> float:
    """From ``since`` to the last request in ``records`` (0 when there are none)."""
    times = [record.at for record in records if record.at is not None]
    return max(0.0, (max(times) - since).total_seconds()) if times else 0.0
