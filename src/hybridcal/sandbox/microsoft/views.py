"""What a mailbox's calendar shows in a time window: single events, occurrences, exceptions.

A calendar view (``calendarView``, its delta, ``instances``) lists singleInstance events,
computed occurrences and exceptions that overlap ``[start, end)``; series masters are not part
of a view. Each entry has a *version* that changes exactly when what Graph would return for it
changes (a new changeKey of its copy, or of the master for a computed occurrence); delta sync
compares versions between rounds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hybridcal.sandbox.microsoft import recurrence
from hybridcal.sandbox.microsoft.directory import Directory
from hybridcal.sandbox.microsoft.events import EventStore
from hybridcal.sandbox.microsoft.model import Copy, Item, occurrence_id
from hybridcal.sandbox.microsoft.render import View, render
from hybridcal.sandbox.microsoft.times import When


@dataclass(frozen=True)
class Entry:
    id: str
    version: str
    start: datetime
    item: Item
    copy: Copy
    occurrence: tuple[datetime, When, When] | None = None

    def render(self, directory: Directory, view: View) -> dict[str, Any]:
        return render(self.item, self.copy, directory, view, occurrence=self.occurrence)


def _overlaps(start: When, end: When, zone_name: str, low: datetime, high: datetime) -> bool:
    begin, finish = start.instant(zone_name), end.instant(zone_name)
    if finish == begin:
        return low <= begin < high
    return begin < high and finish > low


def window(
    store: EventStore,
    directory: Directory,
    mailbox: str,
    low: datetime,
    high: datetime,
    *,
    only: Item | None = None,
) -> list[Entry]:
    """The entries of ``mailbox`` overlapping ``[low, high)``, in start order."""
    zone_name = directory.mailbox(mailbox).timezone
    out: list[Entry] = []
    items = [only] if only is not None else store.in_mailbox(mailbox)
    for item in items:
        copy = item.copy_of(mailbox)
        if copy is None:
            continue
        if item.kind == "single":
            if _overlaps(item.start, item.end, zone_name, low, high):
                out.append(_entry(item, copy, zone_name))
            continue
        out += _series(item, copy, zone_name, low, high)
    out.sort(key=lambda e: (e.start, e.id))
    return out


def _entry(item: Item, copy: Copy, zone_name: str) -> Entry:
    version = f"{copy.change_key}|{int(copy.cancelled)}"
    return Entry(copy.id, version, item.start.instant(zone_name), item, copy)


def _series(item: Item, copy: Copy, zone_name: str, low: datetime, high: datetime) -> list[Entry]:
    rec = item.fields.get("recurrence")
    if rec is None:
        return []
    out = []
    skipped = item.cancelled_occurrences | copy.hidden
    for original, start, end in recurrence.expand(rec, item.start, item.end, until=high):
        if original in skipped or original in item.exceptions:
            continue
        if not _overlaps(start, end, zone_name, low, high):
            continue
        version = f"{copy.change_key}|{int(copy.cancelled)}|{original.isoformat()}"
        out.append(
            Entry(
                occurrence_id(copy.id, original),
                version,
                start.instant(zone_name),
                item,
                copy,
                (original, start, end),
            )
        )
    for original, exception in item.exceptions.items():
        ex_copy = exception.copy_of(copy.mailbox)
        if ex_copy is None or original in skipped:
            continue
        if _overlaps(exception.start, exception.end, zone_name, low, high):
            out.append(_entry(exception, ex_copy, zone_name))
    return out
