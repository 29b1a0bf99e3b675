"""Meeting-list rows from events: what an endpoint shows and what its Join button opens."""

from __future__ import annotations

import contextlib
import functools
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import replace

from hybridcal.core.links import detect_links
from hybridcal.core.locales import LOCALES
from hybridcal.core.model import Event, EventStatus, JoinLink, MeetingEntry, Window
from hybridcal.core.render import extract_block

MAX_FIELD_CHARS = 1024  # title, organiser name and location as stored for meeting lists
MAX_ATTENDEES = 500  # attendees kept per row (a list shows a count and a few names)
MAX_NAME_CHARS = 256  # one attendee's name as a meeting list shows it
MEET_CODE = "{code}"  # the placeholder of a Meet interop gateway's dial-string template

# A passcode a keypad can type: ASCII digits, as long as providers make them (Zoom at most 10,
# Webex's video-system password 8; a little room for others).
_KEYPAD = re.compile(r"[0-9]{1,16}")
# Zoom's room connector: <meeting id>.<numeric passcode>@zoomcrc.com (zoom.md)
_ZOOM_CRC = re.compile(r"(?P<id>[0-9]{9,11})\.(?P<code>[0-9]{1,16})@zoomcrc\.com", re.IGNORECASE)
_MEET_CODE = re.compile(r"[a-z]{3}-[a-z]{4}-[a-z]{3}")
# the lines of our own join block that carry the numeric passcode (core/render.py)
_OUR_NUMERIC_LABELS = ("video_passcode", "phone_passcode")
# the video-system address our join block writes under its "video" heading
_ADDRESS = re.compile(r"[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,8}")


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
    links = _links(event, budget) if detect else ()
    numeric = None
    if links:
        join, numeric = _join_details(event, links[0])
        links = (join, *links[1:])
    people = _people(event)
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
        links=links,
        attendee_count=len(people),
        attendee_names=tuple(_clip(name, MAX_NAME_CHARS) for name in people[:MAX_ATTENDEES]),
        numeric_passcode=numeric,
    )


def numeric_passcode(link: JoinLink) -> str | None:
    """The passcode of ``link`` as a keypad types it, when the invitation gives one: the
    passcode itself when it is digits, else the numeric passcode in a Zoom room-connector dial
    string (Zoom writes an alphanumeric passcode for people and a numeric one for phones and
    room systems)."""
    if link.passcode and _KEYPAD.fullmatch(link.passcode):
        return link.passcode
    if link.provider == "zoom" and link.dial:
        found = _ZOOM_CRC.fullmatch(link.dial)
        if found and link.meeting_id in (None, found.group("id")):
            return found.group("code")
    return None


def meet_gateway_dial(link: JoinLink, template: str) -> str | None:
    """The dial string of a Meet meeting through an interop gateway: ``template`` with the
    meeting code (``aaa-bbbb-ccc``) in place of ``{code}``; None for other links and for Meet
    links without a meeting code (nicknames)."""
    if link.provider != "meet" or link.meeting_id is None:
        return None
    code = link.meeting_id.lower()
    if _MEET_CODE.fullmatch(code) is None:
        return None
    return template.replace(MEET_CODE, code)


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


def _clip(text: str, limit: int = MAX_FIELD_CHARS) -> str:
    """A field as a meeting list shows it: a device has one line for it, and a megabyte of
    location text must not travel to every endpoint on every poll."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _people(event: Event) -> list[str]:
    """The people invited, each by display name, else address: the organiser first, then the
    attendees in invitation order; once each, without rooms and other resources and without
    those who declined."""
    seen: set[str] = set()
    names: list[str] = []
    resources = {a.email.lower() for a in event.attendees if a.resource}

    def add(address: str, name: str | None) -> None:
        folded = address.lower()
        if folded in seen or folded in resources:
            return
        seen.add(folded)
        names.append((name or "").strip() or address)

    declined_organizer = any(
        a.response == "declined"
        for a in event.attendees
        if event.organizer and a.email.lower() == event.organizer.lower()
    )
    if event.organizer and not declined_organizer:
        add(event.organizer, event.organizer_name)
    for attendee in event.attendees:
        if not attendee.resource and attendee.response != "declined":
            add(attendee.email, attendee.name)
    return names


def _join_details(event: Event, join: JoinLink) -> tuple[JoinLink, str | None]:
    """The Join target with its dial string, and its numeric passcode: from the detected join
    details, else, for a meeting we made, from our own join block — the video-system address
    and the phone/video-system passcode the meeting system gave (Zoom's ``pstn_password``,
    Webex's ``sipAddress`` and ``phoneAndVideoSystemPassword``), which detection misses where
    it does not read the block's language (a meeting number written in French, Chinese...)."""
    numeric = numeric_passcode(join)
    ours = event.marker is not None and event.marker.system == join.provider
    if not ours or (numeric is not None and join.dial is not None):
        return join, numeric
    block = extract_block(event.description)
    if block is None:
        return join, numeric
    numeric_labels, video_headings = _our_labels()
    lines = [line.strip() for line in block.split("\n")]
    for at, line in enumerate(lines):
        label, sep, value = line.rpartition(":")
        if numeric is None and sep and label.strip() in numeric_labels:
            numeric = value.strip() if _KEYPAD.fullmatch(value.strip()) else None
        following = lines[at + 1] if at + 1 < len(lines) else ""
        if join.dial is None and line in video_headings and _ADDRESS.fullmatch(following):
            join = replace(join, dial=following)
    return join, numeric


@functools.cache
def _our_labels() -> tuple[frozenset[str], frozenset[str]]:
    """Our join block's numeric-passcode labels and video-system headings, in every language."""
    numeric = {w[key] for w in LOCALES.values() for key in _OUR_NUMERIC_LABELS if key in w}
    return frozenset(numeric), frozenset(w["video"] for w in LOCALES.values() if "video" in w)


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
