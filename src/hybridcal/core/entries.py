"""Meeting-list rows from events: what an endpoint shows and what its Join button opens."""

from __future__ import annotations

from collections.abc import Iterable

from hybridcal.core.links import detect_links
from hybridcal.core.model import Event, EventStatus, MeetingEntry, Window


def entry_for(event: Event, *, source_id: str | None = None) -> MeetingEntry | None:
    """The row for one single event or one occurrence; None when it has no place in a list."""
    if event.is_cancelled or event.start is None or event.end is None:
        return None
    if _declined_by_calendar(event):
        return None
    return MeetingEntry(
        calendar_key=event.calendar_key,
        event_key=event.event_id,
        source_id=source_id or event.event_id,
        start=event.start,
        end=event.end,
        all_day=event.all_day,
        title=event.summary,
        organizer=event.organizer,
        organizer_name=event.organizer_name,
        attendees=tuple(a.email for a in event.attendees),
        location=event.location,
        private=event.private,
        tentative=event.status is EventStatus.TENTATIVE or _tentative_for_calendar(event),
        links=detect_links(event),
    )


def entries_in_window(
    events: Iterable[Event], window: Window, *, source_id: str | None = None
) -> list[MeetingEntry]:
    rows: list[MeetingEntry] = []
    for event in events:
        row = entry_for(event, source_id=source_id)
        if row is not None and window.contains(row.start, row.end):
            rows.append(row)
    rows.sort(key=lambda r: (r.start, r.event_key))
    return rows


def _self_response(event: Event) -> str | None:
    """How this calendar's owner answered (a room that declined is not booked)."""
    address = event.calendar_key.split(":", 1)[-1]
    for attendee in event.attendees:
        if attendee.email.lower() == address:
            return attendee.response
    return None


def _declined_by_calendar(event: Event) -> bool:
    return _self_response(event) == "declined"


def _tentative_for_calendar(event: Event) -> bool:
    return _self_response(event) == "tentative"
