"""Webex JSON at the edge (recorded-shape answers written from Webex's reference), the schedule
of an event as Webex takes it, and the Webex join block."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hybridcal.connectors.errors import (
    AuthError,
    ConnectorError,
    NotFoundError,
    ThrottledError,
    TransientError,
)
from hybridcal.connectors.meetings import webex_wire as wire
from hybridcal.connectors.meetings.base import MeetingRefusedError, MeetingRequest
from hybridcal.connectors.meetings.webex_schedule import NoWebexFormError, webex_schedule
from hybridcal.core.locales import LOCALES
from hybridcal.core.model import ProblemKind
from hybridcal.core.render import render_join_block

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
HOST = "alice@example.com"
KEY = "0f" * 16

# the shape of a create answer in Webex's reference (values invented)
MEETING: dict[str, Any] = {
    "id": "870f51ff287b41be84648412901e0402",
    "meetingNumber": "25512345678",
    "title": "Weekly sync",
    "agenda": f"hybridcal-ref: {KEY}\n\nNotes",
    "password": "BgJep@43",
    "phoneAndVideoSystemPassword": "22375092",
    "meetingType": "meetingSeries",
    "state": "active",
    "timezone": "Europe/Zurich",
    "start": "2026-12-07T09:00:00Z",
    "end": "2026-12-07T09:30:00Z",
    "hostEmail": HOST,
    "hostKey": "918273",
    "siteUrl": "example.webex.com",
    "webLink": "https://example.webex.com/example/j.php?MTID=m0123456789abcdef",
    "sipAddress": "25512345678@example.webex.com",
    "dialInIpAddress": "173.243.2.68",
    "telephony": {
        "accessCode": "25512345678",
        "callInNumbers": [
            {"label": "US Toll", "callInNumber": "+1-415-655-0001", "tollType": "toll"},
            {"label": "US Toll Free", "callInNumber": "+1-855-244-8681", "tollType": "tollFree"},
            {"label": "Switzerland", "callInNumber": "+41 44 555 01 00", "tollType": "tollFree"},
        ],
        "links": [{"rel": "globalCallinNumbers", "href": "/v1/meetings/x/globalCallinNumbers"}],
    },
    "integrationTags": [f"hybridcal-{KEY}"],
}


def request(**changes: Any) -> MeetingRequest:
    values: dict[str, Any] = {
        "idempotency_key": KEY,
        "topic": "Weekly sync",
        "start": datetime(2026, 12, 7, 9, tzinfo=UTC),
        "end": datetime(2026, 12, 7, 9, 30, tzinfo=UTC),
        "timezone": "Europe/Zurich",
        "organizer": HOST,
        "agenda": "Notes",
    }
    return MeetingRequest(**(values | changes))


# -- meetings ----------------------------------------------------------------------------------


def test_join_info_reads_every_join_detail_and_never_the_host_key() -> None:
    join = wire.join_info(MEETING, HOST)
    assert join.system == "webex"
    assert join.meeting_id == f"{MEETING['id']}:{HOST}"
    assert wire.split_ref(join.meeting_id) == (MEETING["id"], HOST)
    assert join.join_url == MEETING["webLink"]
    assert join.passcode == "BgJep@43"
    assert join.phone_passcode == "22375092"  # numeric: phones and video-system keypads
    assert join.sip == "25512345678@example.webex.com"
    assert wire.meeting_number(join) == "25512345678"
    assert dict(join.extra)[wire.EXTRA_VIDEO_ADDRESS] == "173.243.2.68"
    assert [(p.number, p.label) for p in join.phones] == [
        ("+1-415-655-0001", "US Toll"),
        ("+1-855-244-8681", "US Toll Free"),
        ("+41 44 555 01 00", "Switzerland, toll free"),
    ]
    assert "918273" not in repr(join)


def test_a_meeting_without_telephony_or_sip_has_a_link_still() -> None:
    bare = {"id": "abc", "webLink": "https://example.webex.com/j", "meetingNumber": 1234567890}
    join = wire.join_info(bare, HOST)
    assert (join.phones, join.sip, join.passcode, join.phone_passcode) == ((), None, None, None)
    assert wire.meeting_number(join) == "1234567890"


def test_an_answer_without_id_or_link_is_refused() -> None:
    with pytest.raises(ConnectorError):
        wire.join_info({"id": "abc"}, HOST)


def test_a_ref_without_host_is_the_id_alone() -> None:
    assert wire.split_ref("abc") == ("abc", None)
    assert wire.meeting_ref("abc", None) == "abc"


def test_personal_room_reads_link_number_and_sip_never_the_pin() -> None:
    room = {
        "topic": "Alice's Personal Room",
        "hostPin": "4321",
        "personalMeetingRoomLink": "https://example.webex.com/meet/alice",
        "sipAddress": "alice@example.webex.com",
        "dialInIpAddress": "173.243.2.68",
        "telephony": {"accessCode": "25598765432", "callInNumbers": []},
    }
    join = wire.personal_room_info(room, "Alice@Example.com")
    assert join.join_url == "https://example.webex.com/meet/alice"
    assert join.meeting_id == "25598765432:alice@example.com"
    assert join.sip == "alice@example.webex.com"
    assert wire.meeting_number(join) == "25598765432"
    assert "4321" not in repr(join)


# -- what the meeting carries ------------------------------------------------------------------


def test_the_key_travels_as_a_tag_and_on_the_agenda() -> None:
    assert wire.tag(KEY) == f"hybridcal-{KEY}"
    assert len(wire.tag(KEY)) <= 64  # Webex's limit per tag
    text = wire.agenda(request(agenda="x" * 5000))
    assert text.startswith(f"hybridcal-ref: {KEY}\n\n")
    assert len(text) <= wire.MAX_AGENDA
    assert wire.carries_key(MEETING, KEY)
    assert wire.carries_key({"agenda": text}, KEY)  # a site that dropped the tags
    assert not wire.carries_key(MEETING, "1" * 32)


def test_the_title_fits_webex() -> None:
    assert wire.title(request(topic="  a\n b  ")) == "a b"
    assert wire.title(request(topic="")) == "Meeting"
    assert len(wire.title(request(topic="x" * 300))) == wire.MAX_TITLE


# -- errors --------------------------------------------------------------------------------------


def answer(status: int, *descriptions: str, retry_after: str | None = None) -> wire.WebexAnswer:
    body = {
        "message": "The input parameters contain invalid items.",
        "errors": [{"description": d} for d in descriptions],
        "trackingId": "ROUTER_0123",
    }
    return wire.WebexAnswer(status, body, retry_after)


def test_429_and_423_are_throttling_with_retry_after() -> None:
    err = wire.error("webex meetings.create", answer(429, retry_after="3600"), host=HOST, now=NOW)
    assert isinstance(err, ThrottledError)
    assert err.retry_after == 3600
    locked = wire.error("webex meetings.update", answer(423, retry_after="5"), host=HOST, now=NOW)
    assert isinstance(locked, ThrottledError)
    assert locked.retry_after == 5
    html = wire.WebexAnswer(429, wire.parse_body("<html>slow down</html>"), None)
    assert isinstance(wire.error("webex meetings.list", html, host=HOST, now=NOW), ThrottledError)


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_is_transient(status: int) -> None:
    err = wire.error("webex meetings.create", answer(status), host=HOST, now=NOW)
    assert isinstance(err, TransientError)
    assert not isinstance(err, ThrottledError)


def test_an_unlicensed_host_is_host_not_found_with_a_retry_time() -> None:
    err = wire.error(
        "webex meetings.create", answer(404, "Cannot find the data"), host=HOST, now=NOW
    )
    assert isinstance(err, MeetingRefusedError)
    assert err.problem.kind is ProblemKind.HOST_NOT_FOUND
    assert HOST in err.problem.detail
    assert "Control Hub" in err.problem.detail
    assert err.retry_at == NOW + wire.RETRY_HOST_PROBLEM
    licence = answer(403, "The user is missing required roles or licenses.")
    forbidden = wire.error("webex meetings.create", licence, host=HOST, now=NOW)
    assert isinstance(forbidden, MeetingRefusedError)


def test_a_missing_scope_is_an_auth_error_naming_the_scopes() -> None:
    err = wire.error("webex meetings.create", answer(403, "Missing scope"), host=HOST, now=NOW)
    assert isinstance(err, AuthError)
    assert "meeting:admin_schedule_write" in str(err)


def test_404_on_a_meeting_is_not_found() -> None:
    err = wire.error("webex meetings.delete", answer(404), host=HOST, now=NOW)
    assert isinstance(err, NotFoundError)
    assert "ROUTER_0123" in str(err)  # the tracking id, for Cisco's support


def test_401_says_how_to_authorise_again() -> None:
    err = wire.error("webex meetings.get", answer(401), host=HOST, now=NOW)
    assert isinstance(err, AuthError)
    assert "Control Hub" in str(err)


def test_refusals_of_a_setting_and_of_the_token_retry_later() -> None:
    setting = wire.refused(ConnectorError("HTTP 400 password too weak"), NOW)
    assert setting.problem.kind is ProblemKind.REFUSED
    assert setting.retry_at == NOW + wire.RETRY_REFUSED
    token = wire.refused(AuthError("revoked"), NOW)
    assert token.retry_at == NOW + wire.RETRY_NOT_AUTHORIZED


# -- schedules -----------------------------------------------------------------------------------


def schedule(*lines: str, start: datetime | None = None, minutes: int = 30) -> Any:
    first = start or datetime(2026, 12, 7, 9, tzinfo=UTC)
    return webex_schedule(
        first,
        first + timedelta(minutes=minutes),
        timezone="Europe/Zurich",
        now=NOW,
        recurrence=lines,
    )


def test_a_single_meeting_is_local_time_and_zone() -> None:
    s = schedule()
    assert s.body() == {
        "start": "2026-12-07T10:00:00",
        "end": "2026-12-07T10:30:00",
        "timezone": "Europe/Zurich",
    }
    assert s.body(for_update=True)["recurrence"] is None  # a PATCH clears a former series


def test_short_and_long_events_fit_webex_lengths() -> None:
    assert schedule(minutes=5).end == "2026-12-07T10:10:00"
    assert schedule(minutes=48 * 60).end == "2026-12-08T09:59:00"


def test_an_event_under_way_starts_at_the_next_minute_and_one_over_is_refused() -> None:
    s = schedule(start=NOW - timedelta(minutes=10), minutes=60)
    assert s.first_start == NOW + timedelta(minutes=1)
    assert s.first_end == NOW + timedelta(minutes=50)
    with pytest.raises(NoWebexFormError):
        schedule(start=NOW - timedelta(hours=2))


def test_rules_go_through_with_until_in_utc() -> None:
    assert schedule("RRULE:FREQ=WEEKLY;BYDAY=MO,WE;COUNT=6").recurrence == (
        "FREQ=WEEKLY;BYDAY=MO,WE;COUNT=6"
    )
    assert schedule("RRULE:FREQ=DAILY;UNTIL=20261210").recurrence == (
        "FREQ=DAILY;UNTIL=20261210T225959Z"
    )


def test_endless_and_too_long_series_are_cut_to_webex_limits() -> None:
    assert schedule("RRULE:FREQ=MONTHLY").recurrence == "FREQ=MONTHLY;COUNT=60"
    assert schedule("RRULE:FREQ=YEARLY;COUNT=10").recurrence == "FREQ=YEARLY;COUNT=5"
    assert schedule("RRULE:FREQ=YEARLY;COUNT=10").cut_after == 5


def test_exdates_are_occurrences_to_delete() -> None:
    s = schedule("RRULE:FREQ=DAILY;COUNT=5", "EXDATE;TZID=Europe/Zurich:20261209T100000")
    assert s.excluded == (datetime(2026, 12, 9, 9, tzinfo=UTC),)


@pytest.mark.parametrize(
    "lines",
    [
        ("RRULE:FREQ=HOURLY;COUNT=3",),
        ("RRULE:FREQ=MONTHLY;BYMONTHDAY=1,15",),
        ("RRULE:FREQ=DAILY;COUNT=3", "RDATE:20261220T090000Z"),
        ("RRULE:FREQ=DAILY;COUNT=3", "RRULE:FREQ=WEEKLY;COUNT=3"),
    ],
)
def test_what_webex_cannot_express_is_said(lines: tuple[str, ...]) -> None:
    with pytest.raises(NoWebexFormError):
        schedule(*lines)


# -- the join block ------------------------------------------------------------------------------


def test_the_webex_block_shows_what_people_and_room_systems_need() -> None:
    block = render_join_block(wire.join_info(MEETING, HOST), "en")
    lines = block.text.splitlines()
    assert "Join Webex meeting" in lines
    assert MEETING["webLink"] in lines
    assert "Meeting ID: 2551 234 5678" in lines
    assert "Passcode: BgJep@43" in lines
    assert "+1-855-244-8681 (US Toll Free)" in lines
    assert "Phone passcode: 22375092" in lines
    assert "Join from a video system" in lines
    assert "25512345678@example.webex.com" in lines
    assert "Video system passcode: 22375092" in lines
    assert "918273" not in block.text  # the host key never
    assert MEETING["id"] not in block.text  # our API id is not for people
    assert "video_ip" not in block.text


@pytest.mark.parametrize("tag", sorted(LOCALES))
def test_the_webex_block_renders_in_every_language(tag: str) -> None:
    block = render_join_block(wire.join_info(MEETING, HOST), tag)
    assert f"{LOCALES[tag]['video_passcode']}: 22375092" in block.text
    if tag != "en":
        assert "Video system passcode" not in block.text
