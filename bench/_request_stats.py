"""Counting what the daemon asked a provider's simulator, from its request log.

Each simulator keeps its own kind of record; :func:`google_call` (and the Graph workload's
``graph_call``) turn them into :class:`Call`, which is what the counts below read.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from hybridcal.sandbox.google.http import RequestRecord

LIST = "calendar.events.list"
WRITES = frozenset({"calendar.events.patch", "calendar.events.update"})
TOKEN = "oauth2.token"

Kind = Literal["list", "write", "other"]


@dataclass(frozen=True, slots=True)
class Call:
    """One request: its method name, what it is for the benchmark (a listing of changes, an
    event write, anything else), the calendar and event it names, its answer and its time."""

    name: str
    kind: Kind
    calendar: str | None
    event_id: str | None
    status: int
    at: datetime | None


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


def google_call(record: RequestRecord) -> Call:
    target = target_of(record)
    kind: Kind = "list" if record.method_id == LIST else "other"
    if record.method_id in WRITES:
        kind = "write"
    return Call(
        record.method_id or record.path,
        kind,
        target.calendar,
        target.event_id,
        record.status,
        record.at,
    )


def by_method(calls: Iterable[Call]) -> dict[str, int]:
    return dict(sorted(Counter(call.name for call in calls).items()))


def list_calls(calls: Iterable[Call]) -> Counter[str]:
    """Listings of changes per calendar."""
    return Counter(call.calendar for call in calls if call.kind == "list" and call.calendar)


def writes_per_event(calls: Iterable[Call]) -> Counter[str]:
    """Event writes per event id, whatever their answer."""
    return Counter(call.event_id for call in calls if call.kind == "write" and call.event_id)


def lists_to_read_edits(calls: Sequence[Call], calendar: str, last_edit_at: datetime) -> int:
    """Listings of ``calendar`` up to and including the first one after the people's last edit:
    what reading the burst itself took. Later listings follow our own writes (their echoes) and
    the asynchronous completion of conferences."""
    before = after = 0
    for call in calls:
        if call.kind != "list" or call.calendar != calendar:
            continue
        if call.at is not None and call.at <= last_edit_at:
            before += 1
        else:
            after += 1
    return before + min(after, 1)


def failed(calls: Iterable[Call]) -> int:
    return sum(1 for call in calls if call.status >= 400)


def throttled(calls: Iterable[Call]) -> int:
    return sum(1 for call in calls if call.status == 429)


def span_seconds(calls: Sequence[Call], since: datetime) -> float:
    """From ``since`` to the last request in ``calls`` (0 when there are none)."""
    times = [call.at for call in calls if call.at is not None]
    return max(0.0, (max(times) - since).total_seconds()) if times else 0.0
