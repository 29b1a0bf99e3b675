"""Microsoft Graph event JSON <-> core types at the edge."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import rrulestr

from hybridcal.connectors.calendars.microsoft_wire import (
    MARKER_PROPERTY_ID,
    MARKER_TOMBSTONE,
    WINDOWS_ZONES,
    decode_marker,
    encode_marker,
    event_type,
    has_marker_property,
    iana_zone,
    is_removed,
    marker_after,
    merge_body,
    parse_event,
    patch_body,
    teams_block_start,
    teams_thread_id,
)
from hybridcal.connectors.errors import MalformedEventError
from hybridcal.core.model import Event, JoinInfo, Marker
from hybridcal.core.patch import EventPatch
from hybridcal.core.render import block_digest_of, render_join_block, replace_block

CAL = "microsoft:alice@example.com"
JOIN = (
    "https://teams.microsoft.com/l/meetup-join/19%3ameeting_NzQ5YjM4ZGEtOWU0%40thread.v2/0"
    "?context=%7b%22Tid%22%3a%22t-1%22%2c%22Oid%22%3a%22o-1%22%7d"
)
THREAD = "19:meeting_NzQ5YjM4ZGEtOWU0@thread.v2"


def item(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "@odata.etag": 'W/"DwAAABYAAAB1"',
        "id": "AAMkAD-evt1",
        "type": "singleInstance",
        "subject": "Planning",
        "isAllDay": False,
        "isCancelled": False,
        "isOrganizer": True,
        "sensitivity": "normal",
        "iCalUId": "040000008200E00074C5B7101A82E008",
        "lastModifiedDateTime": "2030-03-01T08:00:00.1234567Z",
        "originalStartTimeZone": "W. Europe Standard Time",
        "originalEndTimeZone": "W. Europe Standard Time",
        "start": {"dateTime": "2030-03-04T09:00:00.0000000", "timeZone": "UTC"},
        "end": {"dateTime": "2030-03-04T10:00:00.0000000", "timeZone": "UTC"},
        "body": {"contentType": "text", "content": "Agenda"},
        "location": {"displayName": "@zoom", "locationType": "default"},
        "locations": [{"displayName": "@zoom"}],
        "organizer": {"emailAddress": {"name": "Alice", "address": "Alice@Example.com"}},
        "attendees": [],
        "isOnlineMeeting": False,
        "onlineMeetingProvider": "unknown",
        "onlineMeeting": None,
    }
    base.update(fields)
    return base


# -- reading ----------------------------------------------------------------------------------


def test_single_event_in_utc_keeps_its_original_zone() -> None:
    event = parse_event(item(), CAL)
    assert (event.calendar_key, event.event_id, event.etag) == (
        CAL,
        "AAMkAD-evt1",
        'W/"DwAAABYAAAB1"',
    )
    assert event.start == datetime(2030, 3, 4, 9, tzinfo=UTC)
    assert event.end == datetime(2030, 3, 4, 10, tzinfo=UTC)
    assert event.timezone == "Europe/Berlin"
    assert (event.summary, event.location, event.description) == ("Planning", "@zoom", "Agenda")
    assert event.organizer == "alice@example.com"
    assert event.organizer_name == "Alice"
    assert event.is_organizer_copy
    assert not event.private
    assert not event.is_cancelled
    assert event.conference is None
    assert event.marker is None
    assert event.recurrence == ()
    assert event.recurring_event_id is None
    assert event.ical_uid == "040000008200E00074C5B7101A82E008"
    assert event.updated == datetime(2030, 3, 1, 8, 0, 0, 123456, tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "expected"),
    [
        ("W. Europe Standard Time", datetime(2030, 7, 1, 7, tzinfo=UTC)),
        ("Pacific Standard Time", datetime(2030, 7, 1, 16, tzinfo=UTC)),
        ("Tokyo Standard Time", datetime(2030, 7, 1, 0, tzinfo=UTC)),
        ("India Standard Time", datetime(2030, 7, 1, 3, 30, tzinfo=UTC)),
        ("Europe/Zurich", datetime(2030, 7, 1, 7, tzinfo=UTC)),
        ("UTC", datetime(2030, 7, 1, 9, tzinfo=UTC)),
    ],
)
def test_local_times_in_windows_and_iana_zones(zone: str, expected: datetime) -> None:
    data = item(
        start={"dateTime": "2030-07-01T09:00:00.0000000", "timeZone": zone},
        end={"dateTime": "2030-07-01T10:00:00.0000000", "timeZone": zone},
        originalStartTimeZone=zone,
    )
    event = parse_event(data, CAL)
    assert event.start == expected
    assert event.end == expected + timedelta(hours=1)


def test_every_windows_zone_maps_to_a_real_zone() -> None:
    for windows, iana in WINDOWS_ZONES.items():
        assert ZoneInfo(iana) is not None, windows
        assert iana_zone(windows.upper()) == iana


def test_unknown_zone_names() -> None:
    assert iana_zone("tzone://Microsoft/Utc") == "UTC"
    assert iana_zone("Customized Time Zone") is None
    assert iana_zone(None) is None
    assert iana_zone("America/New_York") == "America/New_York"
    data = item(
        start={"dateTime": "2030-07-01T09:00:00", "timeZone": "Customized Time Zone"},
        end={"dateTime": "2030-07-01T10:00:00", "timeZone": "Customized Time Zone"},
        originalStartTimeZone="Customized Time Zone",
    )
    event = parse_event(data, CAL, default_tz="Europe/Berlin")  # the calendar's zone decides
    assert event.start == datetime(2030, 7, 1, 7, tzinfo=UTC)
    assert event.timezone == "Europe/Berlin"


def test_all_day_event_starts_at_midnight_of_its_zone() -> None:
    data = item(
        isAllDay=True,
        start={"dateTime": "2030-03-04T00:00:00.0000000", "timeZone": "UTC"},
        end={"dateTime": "2030-03-05T00:00:00.0000000", "timeZone": "UTC"},
        originalStartTimeZone="W. Europe Standard Time",
    )
    event = parse_event(data, CAL)
    assert event.all_day
    assert event.start == datetime(2030, 3, 3, 23, tzinfo=UTC)
    assert event.end == datetime(2030, 3, 4, 23, tzinfo=UTC)


def test_occurrence_and_exception_name_their_series() -> None:
    occurrence = item(
        id="occ-1",
        type="occurrence",
        seriesMasterId="master-1",
        originalStart="2030-03-11T09:00:00Z",
        recurrence=None,
    )
    event = parse_event(occurrence, CAL)
    assert event.recurring_event_id == "master-1"
    assert event.original_start == datetime(2030, 3, 11, 9, tzinfo=UTC)
    assert not event.is_series_master
    assert event_type(occurrence) == "occurrence"
    exception = item(
        id="exc-1",
        type="exception",
        seriesMasterId="master-1",
        originalStart="2030-03-18T09:00:00Z",
        start={"dateTime": "2030-03-18T13:00:00.0000000", "timeZone": "UTC"},
        end={"dateTime": "2030-03-18T14:00:00.0000000", "timeZone": "UTC"},
    )
    moved = parse_event(exception, CAL)
    assert moved.recurring_event_id == "master-1"
    assert moved.start == datetime(2030, 3, 18, 13, tzinfo=UTC)
    assert moved.original_start == datetime(2030, 3, 18, 9, tzinfo=UTC)


def master(pattern: dict[str, Any], rng: dict[str, Any] | None = None, **fields: Any) -> Event:
    data = item(
        id="master-1",
        type="seriesMaster",
        recurrence={
            "pattern": {"interval": 1, "firstDayOfWeek": "sunday", "index": "first", **pattern},
            "range": rng
            or {"type": "noEnd", "startDate": "2030-03-04", "recurrenceTimeZone": "UTC"},
        },
        **fields,
    )
    return parse_event(data, CAL)


@pytest.mark.parametrize(
    ("pattern", "rule"),
    [
        ({"type": "daily", "interval": 2}, "RRULE:FREQ=DAILY;INTERVAL=2"),
        (
            {"type": "weekly", "daysOfWeek": ["monday", "wednesday"]},
            "RRULE:FREQ=WEEKLY;BYDAY=MO,WE",
        ),
        (
            {"type": "weekly", "interval": 2, "daysOfWeek": ["Monday"]},
            "RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=MO;WKST=SU",
        ),
        ({"type": "absoluteMonthly", "dayOfMonth": 4}, "RRULE:FREQ=MONTHLY;BYMONTHDAY=4"),
        (
            {"type": "relativeMonthly", "daysOfWeek": ["monday"], "index": "first"},
            "RRULE:FREQ=MONTHLY;BYDAY=1MO",
        ),
        (
            {"type": "relativeMonthly", "daysOfWeek": ["friday"], "index": "last"},
            "RRULE:FREQ=MONTHLY;BYDAY=-1FR",
        ),
        (
            {"type": "relativeMonthly", "daysOfWeek": ["monday", "tuesday"], "index": "second"},
            "RRULE:FREQ=MONTHLY;BYDAY=MO,TU;BYSETPOS=2",
        ),
        (
            {"type": "absoluteYearly", "month": 3, "dayOfMonth": 4},
            "RRULE:FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=4",
        ),
        (
            {"type": "relativeYearly", "month": 11, "daysOfWeek": ["thursday"], "index": "fourth"},
            "RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=4TH",
        ),
    ],
)
def test_recurrence_patterns_become_rrules(pattern: dict[str, Any], rule: str) -> None:
    event = master(pattern)
    assert event.recurrence == (rule,)
    assert event.is_series_master
    assert event.recurring_event_id is None
    rrulestr(rule.removeprefix("RRULE:"), dtstart=event.start)  # dateutil reads it


def test_recurrence_ranges() -> None:
    counted = master({"type": "daily"}, {"type": "numbered", "numberOfOccurrences": 10})
    assert counted.recurrence == ("RRULE:FREQ=DAILY;COUNT=10",)
    ending = master(
        {"type": "weekly", "daysOfWeek": ["monday"]},
        {"type": "endDate", "endDate": "2030-06-30", "recurrenceTimeZone": "Pacific Standard Time"},
    )
    # the last day ends at 23:59:59 in Los Angeles (UTC-7 in summer)
    assert ending.recurrence == ("RRULE:FREQ=WEEKLY;BYDAY=MO;UNTIL=20300701T065959Z",)
    all_day = master(
        {"type": "daily"},
        {"type": "endDate", "endDate": "2030-06-30"},
        isAllDay=True,
        start={"dateTime": "2030-03-04T00:00:00.0000000", "timeZone": "UTC"},
        end={"dateTime": "2030-03-05T00:00:00.0000000", "timeZone": "UTC"},
    )
    assert all_day.recurrence == ("RRULE:FREQ=DAILY;UNTIL=20300630",)


def test_weekly_without_days_repeats_on_the_local_start_day() -> None:
    # 2030-03-03 23:30 UTC is a Monday in Berlin
    event = master(
        {"type": "weekly"},
        start={"dateTime": "2030-03-03T23:30:00", "timeZone": "UTC"},
        end={"dateTime": "2030-03-04T00:30:00", "timeZone": "UTC"},
    )
    assert event.recurrence == ("RRULE:FREQ=WEEKLY;BYDAY=MO",)


def test_teams_meeting_becomes_a_conference() -> None:
    data = item(
        isOnlineMeeting=True,
        onlineMeetingProvider="teamsForBusiness",
        onlineMeeting={"joinUrl": JOIN, "conferenceId": "123456789"},
    )
    conference = parse_event(data, CAL).conference
    assert conference is not None
    assert conference.system == "teams"
    assert conference.conference_id == THREAD
    assert conference.join_url == JOIN
    assert conference.status == "success"
    assert teams_thread_id("https://example.com/x") is None


def test_teams_meeting_without_join_url_yet_is_pending() -> None:
    data = item(isOnlineMeeting=True, onlineMeetingProvider="teamsForBusiness")
    conference = parse_event(data, CAL).conference
    assert conference is not None
    assert (conference.system, conference.conference_id, conference.status) == (
        "teams",
        None,
        "pending",
    )
    assert conference.entry_points == ()


def test_online_meeting_flag_off_means_no_conference() -> None:
    data = item(onlineMeeting={"joinUrl": JOIN}, onlineMeetingProvider="teamsForBusiness")
    assert parse_event(data, CAL).conference is None


def test_private_and_room_attendee_and_responses() -> None:
    data = item(
        sensitivity="private",
        isOrganizer=False,
        attendees=[
            {
                "type": "required",
                "status": {"response": "accepted", "time": "2030-03-01T08:00:00Z"},
                "emailAddress": {"name": "Bob", "address": "Bob@example.com"},
            },
            {
                "type": "resource",
                "status": {"response": "tentativelyAccepted"},
                "emailAddress": {"name": "Room 1", "address": "room1@example.com"},
            },
            {"type": "optional", "status": {"response": "none"}, "emailAddress": {"name": "x"}},
            {
                "type": "required",
                "status": {"response": "organizer"},
                "emailAddress": {"address": "alice@example.com"},
            },
        ],
    )
    event = parse_event(data, CAL)
    assert event.private
    assert not event.is_organizer_copy
    bob, room, alice = event.attendees
    assert (bob.email, bob.name, bob.resource, bob.response) == (
        "bob@example.com",
        "Bob",
        False,
        "accepted",
    )
    assert (room.email, room.resource, room.response) == ("room1@example.com", True, "tentative")
    assert alice.organizer
    assert parse_event(item(sensitivity="confidential"), CAL).private
    assert not parse_event(item(sensitivity="personal"), CAL).private


def test_several_locations_without_a_display_name() -> None:
    data = item(location={}, locations=[{"displayName": "Room 1"}, {"displayName": "@teams"}])
    assert parse_event(data, CAL).location == "Room 1; @teams"


def test_removed_item_is_a_cancelled_stub() -> None:
    stub = {
        "@odata.type": "#microsoft.graph.event",
        "id": "gone-1",
        "@removed": {"reason": "deleted"},
    }
    assert is_removed(stub)
    event = parse_event(stub, CAL)
    assert event.is_cancelled
    assert (event.event_id, event.start, event.end, event.etag) == ("gone-1", None, None, None)
    assert parse_event(item(isCancelled=True), CAL).is_cancelled


def test_marker_round_trip_through_the_extended_property() -> None:
    marker = Marker("zoom", "req-1", "9396880476", "abcd1234abcd1234")
    value = encode_marker(marker)
    assert json.loads(value) == marker.to_properties()
    assert " " not in value  # compact
    prop = {"id": MARKER_PROPERTY_ID.upper(), "value": value}  # Graph may change the case
    other = {"id": "String {00020329-0000-0000-C000-000000000046} Name x", "value": "1"}
    event = parse_event(item(singleValueExtendedProperties=[other, prop]), CAL)
    assert event.marker == marker
    assert decode_marker(MARKER_TOMBSTONE) is None
    assert decode_marker("") is None
    assert decode_marker("not json") is None
    assert decode_marker("[1]") is None
    assert decode_marker('{"hybridcal.system":"zoom"}') is None  # no request id


@pytest.mark.parametrize(
    "broken",
    [
        {"subject": "no id"},
        item(id=""),
        item(start=None),
        item(start={"timeZone": "UTC"}),
        item(start={"dateTime": "yesterday", "timeZone": "UTC"}),
        item(end={"dateTime": "2030-03-04T08:00:00", "timeZone": "UTC"}),  # before start
        item(attendees="bob"),
        item(type="seriesMaster", recurrence={"pattern": {"type": "hourly"}}),
        item(type="seriesMaster", recurrence={"pattern": {"type": "weekly", "daysOfWeek": ["x"]}}),
        item(
            type="seriesMaster",
            recurrence={"pattern": {"type": "daily"}, "range": {"type": "endDate"}},
        ),
        {"id": "x", "@removed": "yes"},
    ],
)
def test_malformed_events_raise(broken: dict[str, Any]) -> None:
    with pytest.raises(MalformedEventError):
        parse_event(broken, CAL)


# -- writing ----------------------------------------------------------------------------------

INFO = JoinInfo("zoom", "9396880476", "https://zoom.us/j/9396880476?pwd=x", passcode="123456")
INFO2 = JoinInfo("zoom", "9396880476", "https://zoom.us/j/9396880476?pwd=y", passcode="654321")

# Modelled on the block Outlook adds for a Teams meeting (written for these tests).
TEAMS_HTML = (
    '<div style="width:100%;height:20px"><span style="white-space:nowrap;color:#5F5F5F;'
    'opacity:.36">________________________________________________________________________________'
    '</span></div>\r\n<div class="me-email-text" lang="en-US" style="color:#252424;'
    "font-family:'Segoe UI',Helvetica,Arial,sans-serif\">\r\n"
    '<div style="margin-top:24px;margin-bottom:20px"><span style="font-size:24px;'
    'color:#252424">Microsoft Teams meeting</span></div>\r\n<div style="margin-bottom:20px">'
    '<div style="margin-top:0px;margin-bottom:0px;font-weight:bold"><span style="font-size:14px;'
    'color:#252424">Join on your computer, mobile app or room device</span></div>\r\n'
    f'<a class="me-email-headline" href="{JOIN}" target="_blank" rel="noreferrer noopener">'
    "Click here to join the meeting</a></div>\r\n"
    '<div style="margin-bottom:4px"><span data-tid="meeting-code">Meeting ID: '
    "<span>123 456 789 012</span></span><br><span>Passcode: </span><span>Ab3cD4</span></div>\r\n"
    '<div><a href="https://aka.ms/JoinTeamsMeeting">Learn More</a> | '
    '<a href="https://teams.microsoft.com/meetingOptions/?x=1">Meeting options</a></div>\r\n'
    '</div>\r\n<div style="width:100%;height:20px"><span style="white-space:nowrap;'
    'color:#5F5F5F;opacity:.36">_____________________________________________________________'
    "___________________</span></div>\r\n"
)
HTML_BODY = (
    '<html>\r\n<head>\r\n<meta http-equiv="Content-Type" content="text/html; charset=utf-8">\r\n'
    '</head>\r\n<body>\r\n<div class="elementToProof">Agenda: budget</div>\r\n<br>\r\n'
    f"{TEAMS_HTML}</body>\r\n</html>\r\n"
)
TEAMS_TEXT = (
    "________________________________________________________________________________\r\n"
    "Microsoft Teams meeting\r\nJoin on your computer, mobile app or room device\r\n"
    f"Click here to join the meeting<{JOIN}>\r\nMeeting ID: 123 456 789 012\r\n"
    "Passcode: Ab3cD4\r\n"
    "________________________________________________________________________________\r\n"
)


def planned(current: str, info: JoinInfo | None) -> str:
    """What the planner sends as the new description: core's replace_block on what we read."""
    return replace_block(current, None if info is None else render_join_block(info, "en"))


def test_html_block_goes_before_the_teams_block_which_stays_identical() -> None:
    start = teams_block_start(HTML_BODY)
    assert start is not None
    assert HTML_BODY[start:].startswith('<div style="width:100%')
    inserted = merge_body(HTML_BODY, planned(HTML_BODY, INFO))
    assert TEAMS_HTML in inserted
    assert inserted.index("hybridcal:begin") < inserted.index(TEAMS_HTML)
    assert inserted.index("Agenda: budget") < inserted.index("hybridcal:begin")
    assert block_digest_of(inserted) == render_join_block(INFO, "en").digest
    assert "<a href=" in inserted  # the HTML variant of our block

    replaced = merge_body(inserted, planned(inserted, INFO2))
    assert TEAMS_HTML in replaced
    assert block_digest_of(replaced) == render_join_block(INFO2, "en").digest
    assert replaced.count("hybridcal:begin") == 1

    removed = merge_body(replaced, planned(replaced, None))
    assert removed == HTML_BODY  # byte for byte, Teams block included


def test_html_body_without_teams_block_gets_ours_before_body_end() -> None:
    body = '<html><head></head><body><div dir="ltr">Hello</div></body></html>'
    inserted = merge_body(body, planned(body, INFO))
    assert inserted.endswith("~~~ hybridcal:end ~~~</body></html>")
    assert merge_body(inserted, planned(inserted, None)) == body


def test_text_body_block_goes_before_the_teams_block() -> None:
    body = "Agenda\r\n\r\n" + TEAMS_TEXT
    inserted = merge_body(body, planned(body, INFO))
    assert inserted.endswith(TEAMS_TEXT)
    assert inserted.index("hybridcal:end") < inserted.index(TEAMS_TEXT)
    assert "<a href" not in inserted
    assert block_digest_of(inserted) == render_join_block(INFO, "en").digest
    assert merge_body(inserted, planned(inserted, None)) == body
    plain = merge_body("Agenda", planned("Agenda", INFO))
    assert plain.startswith("Agenda\n\n~~~ hybridcal:begin ~~~")
    assert merge_body("", planned("", INFO)).startswith("~~~ hybridcal:begin ~~~")


def test_unrelated_underscore_rule_is_not_a_teams_block() -> None:
    body = "Notes\n" + "_" * 40 + "\nSigned, Alice"
    assert teams_block_start(body) is None
    inserted = merge_body(body, planned(body, INFO))
    assert inserted.startswith(body)


def test_patch_body_for_block_marker_and_teams() -> None:
    event = parse_event(item(body={"contentType": "html", "content": HTML_BODY}), CAL)
    marker = Marker("zoom", "req-1", "9396880476", render_join_block(INFO, "en").digest)
    body = patch_body(event, EventPatch(description=planned(HTML_BODY, INFO), marker=marker))
    assert body["body"]["contentType"] == "html"
    assert TEAMS_HTML in body["body"]["content"]
    assert body["singleValueExtendedProperties"] == [
        {"id": MARKER_PROPERTY_ID, "value": encode_marker(marker)}
    ]
    assert set(body) == {"body", "singleValueExtendedProperties"}

    teams = patch_body(event, EventPatch(marker=Marker("teams", "r"), conference_request_id="r"))
    assert teams["isOnlineMeeting"] is True
    assert teams["onlineMeetingProvider"] == "teamsForBusiness"
    assert "body" not in teams

    cleared = patch_body(event, EventPatch(clear_marker=True, clear_conference=True))
    assert cleared == {
        "singleValueExtendedProperties": [{"id": MARKER_PROPERTY_ID, "value": MARKER_TOMBSTONE}],
        "isOnlineMeeting": False,
    }
    text_event = parse_event(item(), CAL)
    text_body = patch_body(text_event, EventPatch(description=planned("Agenda", INFO)))
    assert text_body["body"]["contentType"] == "text"
    assert patch_body(text_event, EventPatch(description="Agenda")) == {}  # nothing changed


def test_marker_after_a_patch() -> None:
    old = Marker("zoom", "req-1")
    event = parse_event(item(), CAL)
    with_marker = parse_event(
        item(
            singleValueExtendedProperties=[{"id": MARKER_PROPERTY_ID, "value": encode_marker(old)}]
        ),
        CAL,
    )
    new = Marker("zoom", "req-1", "m-1")
    assert marker_after(event, EventPatch(marker=new)) == new
    assert marker_after(with_marker, EventPatch(clear_marker=True)) is None
    assert marker_after(with_marker, EventPatch(description="x")) == old


def test_comment_marked_teams_block_is_left_whole() -> None:
    block = (
        "<!-- meeting-block --><div><span>" + "_" * 80 + "</span></div><div>Microsoft Teams</div>"
        f'<a href="{JOIN}">Join the meeting now</a><div>'
        + "_" * 80
        + "</div><!-- /meeting-block -->"
    )
    body = f"<html><head></head><body><div>Hi</div>{block}\r\n</body></html>"
    start = teams_block_start(body)
    assert start is not None
    assert body[start:].startswith("<!-- meeting-block -->")
    inserted = merge_body(body, planned(body, INFO))
    assert block in inserted
    assert inserted.index("hybridcal:end") < inserted.index("<!-- meeting-block -->")
    assert merge_body(inserted, planned(inserted, None)) == body


def test_text_teams_block_keeps_its_leading_line_breaks() -> None:
    teams = "\r\n" + "_" * 80 + "\r\nMicrosoft Teams\r\nJoin the meeting now <" + JOIN + ">\r\n"
    body = "Agenda\r\n" + teams
    inserted = merge_body(body, planned(body, INFO))
    assert inserted.endswith(teams)
    assert inserted.startswith("Agenda\n\n~~~ hybridcal:begin ~~~")
    assert merge_body(inserted, planned(inserted, None)) == body


def test_plain_occurrence_without_original_start_is_where_it_always_was() -> None:
    event = parse_event(item(type="occurrence", seriesMasterId="master-1"), CAL)
    assert event.original_start == event.start
    assert parse_event(item(), CAL).original_start is None


def test_marker_property_presence() -> None:
    tombstone = {"id": MARKER_PROPERTY_ID, "value": MARKER_TOMBSTONE}
    assert has_marker_property(item(singleValueExtendedProperties=[tombstone]))
    assert not has_marker_property(item())
    assert not has_marker_property(item(singleValueExtendedProperties=[{"id": "String 0x001A"}]))
