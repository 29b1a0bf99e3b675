"""Google Calendar v3 event JSON -> core.Event at the edge."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from hybridcal.connectors.calendars.google_wire import parse_event
from hybridcal.connectors.errors import MalformedEventError
from hybridcal.core.model import Attendee, EntryPoint, EventStatus, Marker

CAL = "google:alice@example.com"


def item(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "kind": "calendar#event",
        "id": "evt1",
        "etag": '"3181161784712000"',
        "status": "confirmed",
        "summary": "Planning",
        "start": {"dateTime": "2030-03-04T10:00:00+01:00", "timeZone": "Europe/Zurich"},
        "end": {"dateTime": "2030-03-04T11:00:00+01:00", "timeZone": "Europe/Zurich"},
    }
    base.update(fields)
    return base


def test_timed_event_becomes_utc_instants_with_its_zone() -> None:
    event = parse_event(item(location="@meet", description="Agenda"), CAL)
    assert event.calendar_key == CAL
    assert (event.event_id, event.etag) == ("evt1", '"3181161784712000"')
    assert event.status is EventStatus.CONFIRMED
    assert event.start == datetime(2030, 3, 4, 9, tzinfo=UTC)
    assert event.end == datetime(2030, 3, 4, 10, tzinfo=UTC)
    assert event.start is not None
    assert event.start.utcoffset() is not None
    assert event.timezone == "Europe/Zurich"
    assert not event.all_day
    assert (event.summary, event.location, event.description) == ("Planning", "@meet", "Agenda")
    assert event.conference is None
    assert event.marker is None
    assert not event.private


def test_floating_time_takes_the_calendar_zone() -> None:
    data = item(start={"dateTime": "2030-07-01T09:00:00"}, end={"dateTime": "2030-07-01T10:00:00"})
    event = parse_event(data, CAL, default_tz="Europe/Berlin")
    assert event.start == datetime(2030, 7, 1, 7, tzinfo=UTC)
    assert event.end == datetime(2030, 7, 1, 8, tzinfo=UTC)


def test_all_day_event_starts_at_local_midnight() -> None:
    data = item(start={"date": "2030-03-04"}, end={"date": "2030-03-05"})
    event = parse_event(data, CAL, default_tz="Europe/Zurich")
    assert event.all_day
    assert event.start == datetime(2030, 3, 3, 23, tzinfo=UTC)
    assert event.end == datetime(2030, 3, 4, 23, tzinfo=UTC)


def test_all_day_event_without_any_zone_is_utc_midnight() -> None:
    event = parse_event(item(start={"date": "2030-03-04"}, end={"date": "2030-03-05"}), CAL)
    assert event.start == datetime(2030, 3, 4, tzinfo=UTC)


def test_unknown_zone_falls_back_to_utc() -> None:
    data = item(
        start={"dateTime": "2030-07-01T09:00:00", "timeZone": "Mars/Olympus"},
        end={"dateTime": "2030-07-01T10:00:00", "timeZone": "Mars/Olympus"},
    )
    event = parse_event(data, CAL)
    assert event.start == datetime(2030, 7, 1, 9, tzinfo=UTC)


def test_organizer_copy_and_people() -> None:
    data = item(
        organizer={"email": "Alice@Example.com", "displayName": "Alice", "self": True},
        attendees=[
            {"email": "Alice@Example.com", "organizer": True, "responseStatus": "accepted"},
            {"email": "bob@example.com", "displayName": "Bob", "optional": True},
            {
                "email": "room@resource.calendar.google.com",
                "resource": True,
                "responseStatus": "declined",
            },
            {"displayName": "no address"},
        ],
    )
    event = parse_event(data, CAL)
    assert event.is_organizer_copy
    assert (event.organizer, event.organizer_name) == ("alice@example.com", "Alice")
    assert event.attendees == (
        Attendee("alice@example.com", organizer=True, response="accepted"),
        Attendee("bob@example.com", name="Bob", optional=True),
        Attendee("room@resource.calendar.google.com", resource=True, response="declined"),
    )


def test_attendee_copy_is_not_the_organizer_copy() -> None:
    event = parse_event(item(organizer={"email": "bob@example.com"}), CAL)
    assert not event.is_organizer_copy
    assert event.organizer == "bob@example.com"
    assert event.organizer_name is None


@pytest.mark.parametrize(
    ("visibility", "private"),
    [("private", True), ("confidential", True), ("public", False), ("default", False)],
)
def test_visibility(visibility: str, private: bool) -> None:
    assert parse_event(item(visibility=visibility), CAL).private is private


def test_meet_conference_data() -> None:
    data = item(
        conferenceData={
            "conferenceId": "abc-defg-hij",
            "conferenceSolution": {"key": {"type": "hangoutsMeet"}, "name": "Google Meet"},
            "createRequest": {"requestId": "req-1", "status": {"statusCode": "success"}},
            "entryPoints": [
                {
                    "entryPointType": "video",
                    "uri": "https://meet.google.com/abc-defg-hij",
                    "label": "meet.google.com/abc-defg-hij",
                },
                {
                    "entryPointType": "phone",
                    "uri": "tel:+1-555-0100",
                    "pin": "123456",
                    "regionCode": "US",
                },
            ],
        }
    )
    conference = parse_event(data, CAL).conference
    assert conference is not None
    assert conference.system == "meet"
    assert (conference.conference_id, conference.request_id, conference.status) == (
        "abc-defg-hij",
        "req-1",
        "success",
    )
    assert conference.join_url == "https://meet.google.com/abc-defg-hij"
    assert conference.entry_points[1] == EntryPoint(
        "phone", "tel:+1-555-0100", pin="123456", region="US"
    )


def test_pending_create_request_without_solution_is_meet() -> None:
    data = item(
        conferenceData={
            "createRequest": {"requestId": "req-1", "status": {"statusCode": "pending"}}
        }
    )
    conference = parse_event(data, CAL).conference
    assert conference is not None
    assert (conference.system, conference.status, conference.conference_id) == (
        "meet",
        "pending",
        None,
    )
    assert conference.join_url is None


@pytest.mark.parametrize(("solution", "system"), [("addOn", "addOn"), (None, "unknown")])
def test_other_conference_solutions_keep_their_name(solution: str | None, system: str) -> None:
    data = item(
        conferenceData={"conferenceSolution": {"key": {"type": solution}}, "conferenceId": "x"}
    )
    conference = parse_event(data, CAL).conference
    assert conference is not None
    assert conference.system == system


def test_our_marker_is_read_from_private_properties_only() -> None:
    ours = Marker("zoom", "req-1", "93968804761", "0123456789abcdef")
    data = item(extendedProperties={"private": {**ours.to_properties(), "other.app": "x"}})
    assert parse_event(data, CAL).marker == ours
    shared = item(extendedProperties={"shared": ours.to_properties()})
    assert parse_event(shared, CAL).marker is None
    half = item(extendedProperties={"private": {"hybridcal.system": "zoom"}})
    assert parse_event(half, CAL).marker is None


def test_series_master_and_occurrence() -> None:
    rules = ["RRULE:FREQ=WEEKLY;BYDAY=MO", "EXDATE;TZID=Europe/Zurich:20300311T100000"]
    master = parse_event(item(recurrence=rules), CAL)
    assert master.is_series_master
    assert master.recurrence == tuple(rules)
    occurrence = parse_event(
        item(
            id="evt1_20300311T090000Z",
            recurringEventId="evt1",
            originalStartTime={
                "dateTime": "2030-03-11T10:00:00+01:00",
                "timeZone": "Europe/Zurich",
            },
        ),
        CAL,
    )
    assert occurrence.recurring_event_id == "evt1"
    assert occurrence.original_start == datetime(2030, 3, 11, 9, tzinfo=UTC)
    assert not occurrence.is_series_master


def test_updated_and_ical_uid() -> None:
    event = parse_event(item(updated="2030-03-01T08:15:30.123Z", iCalUID="evt1@google.com"), CAL)
    assert event.updated == datetime(2030, 3, 1, 8, 15, 30, 123000, tzinfo=UTC)
    assert event.ical_uid == "evt1@google.com"


@pytest.mark.parametrize(
    ("status", "expected"),
    [("tentative", EventStatus.TENTATIVE), ("someday", EventStatus.CONFIRMED)],
)
def test_status(status: str, expected: EventStatus) -> None:
    assert parse_event(item(status=status), CAL).status is expected


def test_cancelled_occurrence_with_only_an_id_is_read() -> None:
    event = parse_event(
        {"id": "evt1_20300311T090000Z", "status": "cancelled", "recurringEventId": "evt1"}, CAL
    )
    assert event.is_cancelled
    assert (event.start, event.end) == (None, None)
    assert event.recurring_event_id == "evt1"


def test_cancelled_event_may_end_before_it_starts() -> None:
    data = item(status="cancelled", end={"dateTime": "2030-03-04T08:00:00+01:00"})
    assert parse_event(data, CAL).is_cancelled


def test_unknown_fields_are_ignored() -> None:
    event = parse_event(
        item(hangoutLink="https://meet.google.com/x", colorId="5", reminders={"useDefault": True}),
        CAL,
    )
    assert event.event_id == "evt1"


@pytest.mark.parametrize(
    ("data", "names"),
    [
        (item(end={"dateTime": "2030-03-04T08:00:00+01:00"}), ("'evt1'", "end before start")),
        (item(start={"dateTime": "2030-13-04T10:00:00Z"}), ("'evt1'",)),
        (item(start={"date": "tomorrow"}), ("'evt1'",)),
        (item(attendees="everyone"), ("'evt1'", "attendees")),
        (item(summary=["not", "text"]), ("'evt1'", "summary")),
        ({"summary": "no id"}, ("None", "id")),
    ],
    ids=["end-before-start", "bad-month", "bad-date", "attendees-type", "summary-type", "no-id"],
)
def test_malformed_events_name_the_event_and_the_problem(
    data: dict[str, Any], names: tuple[str, ...]
) -> None:
    with pytest.raises(MalformedEventError) as info:
        parse_event(data, CAL)
    for name in names:
        assert name in str(info.value)


def test_non_object_items_are_malformed() -> None:
    with pytest.raises(MalformedEventError):
        parse_event(["not", "an", "event"], CAL)  # type: ignore[arg-type]
