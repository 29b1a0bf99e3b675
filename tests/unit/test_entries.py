"""Meeting-list rows: which events an endpoint shows, and what its Join button opens."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from hybridcal.core.entries import MAX_ATTENDEES, MAX_FIELD_CHARS, entries_in_window, entry_for
from hybridcal.core.model import (
    Attendee,
    Conference,
    EntryPoint,
    Event,
    EventStatus,
    Window,
)

ROOM = "c_1888abc@resource.calendar.google.com"
ROOM_KEY = f"google:{ROOM}"
T0 = datetime(2030, 5, 6, 8, 0, tzinfo=UTC)
WINDOW = Window(T0, T0 + timedelta(days=1))


def make_event(**changes: object) -> Event:
    base = Event(
        calendar_key=ROOM_KEY,
        event_id="evt1",
        etag='"1"',
        status=EventStatus.CONFIRMED,
        start=T0 + timedelta(hours=1),
        end=T0 + timedelta(hours=2),
        summary="Design review",
        location="Room Matterhorn",
        description="",
        organizer="alice@example.com",
        organizer_name="Alice",
        attendees=(
            Attendee("alice@example.com", organizer=True, response="accepted"),
            Attendee(ROOM, resource=True, response="accepted"),
        ),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def room_response(response: str) -> tuple[Attendee, ...]:
    return (
        Attendee("alice@example.com", organizer=True),
        Attendee(ROOM, resource=True, response=response),
    )


def test_row_mirrors_the_event() -> None:
    row = entry_for(make_event(private=True))
    assert row is not None
    assert (row.calendar_key, row.event_key, row.source_id) == (ROOM_KEY, "evt1", "evt1")
    assert (row.start, row.end) == (T0 + timedelta(hours=1), T0 + timedelta(hours=2))
    assert row.title == "Design review"
    assert (row.organizer, row.organizer_name) == ("alice@example.com", "Alice")
    assert row.attendees == ("alice@example.com", ROOM)
    assert row.location == "Room Matterhorn"
    assert row.private
    assert not row.tentative
    assert row.links == ()


def test_occurrence_row_names_its_series() -> None:
    row = entry_for(make_event(event_id="evt1_20300506T090000Z"), source_id="evt1")
    assert row is not None
    assert (row.event_key, row.source_id) == ("evt1_20300506T090000Z", "evt1")


@pytest.mark.parametrize(
    "event",
    [
        make_event(status=EventStatus.CANCELLED),
        make_event(start=None),
        make_event(end=None),
        make_event(attendees=room_response("declined")),
    ],
    ids=["cancelled", "no-start", "no-end", "room-declined"],
)
def test_events_without_a_place_in_the_list(event: Event) -> None:
    assert entry_for(event) is None


def test_someone_elses_decline_keeps_the_row() -> None:
    attendees = (*room_response("accepted"), Attendee("bob@example.com", response="declined"))
    assert entry_for(make_event(attendees=attendees)) is not None


@pytest.mark.parametrize(
    ("status", "response", "tentative"),
    [
        (EventStatus.TENTATIVE, "accepted", True),
        (EventStatus.CONFIRMED, "tentative", True),
        (EventStatus.CONFIRMED, "needsAction", False),
    ],
)
def test_tentative_rows(status: EventStatus, response: str, tentative: bool) -> None:
    row = entry_for(make_event(status=status, attendees=room_response(response)))
    assert row is not None
    assert row.tentative is tentative


def test_join_links_from_conference_come_first() -> None:
    conference = Conference(
        "meet",
        conference_id="abc-defg-hij",
        entry_points=(EntryPoint("video", "https://meet.google.com/abc-defg-hij"),),
    )
    zoom = "https://acme.zoom.us/j/93968804761?pwd=abc"
    row = entry_for(make_event(conference=conference, description=f"Backup: {zoom}"))
    assert row is not None
    assert [link.url for link in row.links][:2] == ["https://meet.google.com/abc-defg-hij", zoom]
    assert row.links[0].provider == "meet"
    assert row.links[1].provider == "zoom"


def test_window_keeps_overlapping_rows_sorted() -> None:
    events = [
        make_event(event_id="late", start=T0 + timedelta(hours=5), end=T0 + timedelta(hours=6)),
        make_event(event_id="b", start=T0 + timedelta(hours=1), end=T0 + timedelta(hours=2)),
        make_event(event_id="a", start=T0 + timedelta(hours=1), end=T0 + timedelta(hours=3)),
        # straddles the window's start: still on the list
        make_event(event_id="early", start=T0 - timedelta(hours=1), end=T0 + timedelta(minutes=5)),
        make_event(event_id="cancelled", status=EventStatus.CANCELLED),
    ]
    rows = entries_in_window(events, WINDOW)
    assert [r.event_key for r in rows] == ["early", "a", "b", "late"]


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (T0 - timedelta(hours=1), T0),  # ends where the window starts
        (WINDOW.end, WINDOW.end + timedelta(hours=1)),  # starts where the window ends
        (T0 + timedelta(days=3), T0 + timedelta(days=3, hours=1)),
    ],
)
def test_window_boundaries_are_half_open(start: datetime, end: datetime) -> None:
    assert entries_in_window([make_event(start=start, end=end)], WINDOW) == []


def test_window_rows_carry_the_series_source() -> None:
    occurrences = [
        make_event(
            event_id=f"s_{n}", start=T0 + timedelta(hours=n), end=T0 + timedelta(hours=n + 1)
        )
        for n in range(3)
    ]
    rows = entries_in_window(occurrences, WINDOW, source_id="s")
    assert {r.source_id for r in rows} == {"s"}
    assert [r.event_key for r in rows] == ["s_0", "s_1", "s_2"]


def test_huge_fields_are_clipped_for_meeting_lists() -> None:
    """A megabyte of location text or thousands of attendees must not travel to every device."""
    start = datetime(2026, 3, 2, 9, tzinfo=UTC)
    event = Event(
        calendar_key="google:room@example.com",
        event_id="big",
        etag=None,
        status=EventStatus.CONFIRMED,
        start=start,
        end=start + timedelta(hours=1),
        summary="T" * 100_000,
        location="L" * 1_000_000,
        attendees=tuple(Attendee(f"p{n}@example.com") for n in range(5_000)),
    )
    row = entry_for(event)
    assert row is not None
    assert len(row.title) == len(row.location) == MAX_FIELD_CHARS
    assert row.title.endswith("…")
    assert len(row.attendees) == MAX_ATTENDEES


def test_a_spent_detection_budget_keeps_the_row_and_what_was_found() -> None:
    """The daemon gives each event's join-link detection a time budget: when it is spent the
    row is still made, with the links found so far (here: none of the later ones)."""
    start = datetime(2026, 3, 2, 9, tzinfo=UTC)
    description = "\n".join(f"https://zoom.us/j/{100000000 + n}" for n in range(40))
    event = Event(
        calendar_key="google:room@example.com",
        event_id="slow",
        etag=None,
        status=EventStatus.CONFIRMED,
        start=start,
        end=start + timedelta(hours=1),
        description=description,
    )
    unhurried = entry_for(event)
    spent = entry_for(event, budget=0.0)
    assert unhurried is not None
    assert spent is not None
    assert len(unhurried.links) == 40
    assert len(spent.links) < 40
