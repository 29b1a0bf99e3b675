"""Meeting-list rows from events: what an endpoint shows and what its Join button opens."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable, Mapping

from hybridcal.core.links import detect_links
from hybridcal.core.model import Event, EventStatus, JoinLink, MeetingEntry, Window

MAX_FIELD_CHARS = 1024  # title, organiser name and location as stored for meeting lists
MAX_ATTENDEES = 500  # attendees kept per row (a list shows a count and a few names)


def entry_for(
    event: Event,
    *,
    source_id: str | None = None,
    budget: float | None = None,
    detect: bool = True,
) -> MeetingEntry | None:
    """The row for one single event or one occurrence; None when it has no place in a list.

    ``budget`` bounds the seconds spent on join-link detection (hostile invitation text):
    what was found when it runs out is what the row shows. Without ``detect`` the row has no
    Join button (the fallback when detection failed: the meeting is still listed)."""
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
        title=_clip(event.summary),
        organizer=event.organizer,
        organizer_name=_clip(event.organizer_name) if event.organizer_name else None,
        attendees=tuple(a.email for a in event.attendees[:MAX_ATTENDEES]),
        location=_clip(event.location),
        private=event.private,
        tentative=event.status is EventStatus.TENTATIVE or _tentative_for_calendar(event),
        links=_links(event, budget) if detect else (),
    )


def entries_in_window(
    events: Iterable[Event],
    window: Window,
    *,
    source_id: str | None = None,
    budget: float | None = None,
    detect: bool = True,
) -> list[MeetingEntry]:
    """Rows of ``events`` in ``window``; ``budget`` is per event (see ``entry_for``)."""
    rows: list[MeetingEntry] = []
    for event in events:
        if not _may_show(event, window):
            continue
        row = entry_for(event, source_id=source_id, budget=budget, detect=detect)
        if row is not None and window.contains(row.start, row.end):
            rows.append(row)
    rows.sort(key=lambda r: (r.start, r.event_key))
    return rows


def _clip(text: str) -> str:
    """A field as a meeting list shows it: a device has one line for it, and a megabyte of
    location text must not travel to every endpoint on every poll."""
    return text if len(text) <= MAX_FIELD_CHARS else text[: MAX_FIELD_CHARS - 1] + "…"


def _links(event: Event, budget: float | None) -> tuple[JoinLink, ...]:
    return detect_links(event, deadline=None if budget is None else time.monotonic() + budget)


def _may_show(event: Event, window: Window) -> bool:
    """Cheap test before link detection: an event outside the window has no row."""
    if event.start is None or event.end is None:
        return False
    return window.contains(event.start, event.end)


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


Sources = Mapping[str, tuple[list[Event], str | None]]  # source id -> (events, row source id)


class RowsError(Exception):
    """Why one source's rows could not be built as they should; carries the original error's
    type name, so that it reads the same after crossing into another process."""

    def __init__(self, error: str, message: str) -> None:
        super().__init__(error, message)
        self.error = error
        self.message = message

    def __str__(self) -> str:
        return self.message


def rows_for_sources(
    sources: Sources, window: Window, budget: float | None
) -> tuple[dict[str, list[MeetingEntry]], dict[str, RowsError]]:
    """Rows per source, and the error of each source whose rows could not be built as they
    should. When join-link detection fails, the meeting is still listed, without a Join
    button; when even that fails, the source has no rows here (the caller keeps its old ones).
    Pure and picklable in and out: it may run in a worker thread or process."""
    rows: dict[str, list[MeetingEntry]] = {}
    errors: dict[str, RowsError] = {}
    for source_id, (events, row_source) in sources.items():
        try:
            rows[source_id] = entries_in_window(events, window, source_id=row_source, budget=budget)
        except Exception as exc:  # one source's rows; the others are built
            errors[source_id] = RowsError(type(exc).__name__, str(exc))
            with contextlib.suppress(Exception):
                rows[source_id] = entries_in_window(
                    events, window, source_id=row_source, detect=False
                )
    return rows, errors


def text_size(sources: Sources) -> int:
    """Characters of invitation text the sources hold (what detection may have to read)."""
    return sum(
        len(e.description) + len(e.location) for events, _ in sources.values() for e in events
    )
