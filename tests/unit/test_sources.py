"""Input recognition for ``hybridcal links``: e-mail, iCalendar, provider JSON, plain text."""

from __future__ import annotations

from pathlib import Path

import pytest

from hybridcal.core.model import JoinLink
from hybridcal.core.sources import analyse_bytes, links_from_bytes

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "invitations"

CASES: dict[str, tuple[str, bool, list[JoinLink]]] = {
    "zoom_vanity_invite.eml": (
        "email",
        False,
        [
            JoinLink(
                "zoom",
                "https://acme.zoom.us/j/81234567890?pwd=QWxwaGFCZXRhR2FtbWEx",
                meeting_id="81234567890",
                passcode="plan42",
                dial="81234567890.445566@zoomcrc.com",
            )
        ],
    ),
    "teams_new_safelinks.eml": (
        "email",
        False,
        [
            JoinLink(
                "teams",
                "https://teams.microsoft.com/meet/31234567890123?p=AbCdEf12",
                meeting_id="31234567890123",
                passcode="AbCdEf12",
                dial="1187654321@vc.example.com",
            )
        ],
    ),
    "meet_invitation.ics": (
        "ics",
        False,
        [JoinLink("meet", "https://meet.google.com/xyz-abcd-efg", meeting_id="xyz-abcd-efg")],
    ),
    "meet_cancelled.ics": ("ics", True, []),
    "google_event.json": (
        "google-event",
        False,
        [
            JoinLink("meet", "https://meet.google.com/abc-defg-hij", meeting_id="abc-defg-hij"),
            JoinLink(
                "zoom",
                "https://acme.zoom.us/j/81111111111?pwd=abc",
                meeting_id="81111111111",
                passcode="abc",
                dial="81111111111@zoomcrc.com",
            ),
        ],
    ),
    "google_event_cancelled.json": ("google-event", True, []),
    "graph_event.json": (
        "graph-event",
        False,
        [
            JoinLink(
                "teams",
                "https://teams.microsoft.com/l/meetup-join/19%3ameeting_RmFrZVRocmVhZElk%40thread.v2"
                "/0?context=%7b%22Tid%22%3a%22fake%22%7d",
                meeting_id="39912345678",
                passcode="x7Y8z9",
            )
        ],
    ),
    "graph_event_cancelled.json": ("graph-event", True, []),
    "webex_redirect.eml": (
        "email",
        False,
        [
            JoinLink(
                "webex",
                "https://example.webex.com/example/j.php?MTID=m0123456789abcdef0123456789abcdef",
                meeting_id="2551112223",
                passcode="WkGrp24!",
                dial="2551112223@example.webex.com",
            )
        ],
    ),
    "video_addresses.txt": (
        "text",
        False,
        [
            JoinLink("sip", "sip:boardroom@vc.example.com", dial="boardroom@vc.example.com"),
            JoinLink("h323", "h323:192.0.2.10##4455", dial="192.0.2.10##4455"),
        ],
    ),
    "zoomgov_quoted_reply.txt": (
        "text",
        False,
        [
            JoinLink(
                "zoom",
                "https://agency.zoomgov.com/j/1609876543?pwd=ZmFrZXBhc3N3b3Jk",
                meeting_id="1609876543",
                passcode="771199",
            )
        ],
    ),
    "personal_links.txt": (
        "text",
        False,
        [
            JoinLink(
                "zoom",
                "https://acme.zoom.us/my/erika.example",
                meeting_id="5554443333",
                passcode="2468",
                dial="5554443333.2468@zoomcrc.com",
            ),
            JoinLink("meet", "https://meet.google.com/qrs-tuvw-xyz", meeting_id="qrs-tuvw-xyz"),
        ],
    ),
}


def test_every_fixture_is_checked() -> None:
    assert {p.name for p in FIXTURES.iterdir()} == set(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_fixture(name: str) -> None:
    kind, cancelled, links = CASES[name]
    report = analyse_bytes((FIXTURES / name).read_bytes(), name)
    assert (report.kind, report.cancelled) == (kind, cancelled)
    assert report.links == links
    assert links_from_bytes((FIXTURES / name).read_bytes(), name=name) == links


def test_ics_alarm_text_is_not_the_event() -> None:
    # the fixture's VALARM names another Zoom meeting: it must not appear
    links = links_from_bytes((FIXTURES / "zoom_vanity_invite.eml").read_bytes())
    assert all("89999999999" not in link.url for link in links)


def test_bare_ics_without_calendar_wrapper_and_crlf_folding() -> None:
    data = (
        b"BEGIN:VEVENT\r\nUID:x@example.com\r\nLOCATION:Room 1\\, 2nd floor\r\n"
        b"DESCRIPTION:Join: https://example.zoom.us/j/9876543210?pw\r\n d=abc\\nPasscode: 1234\r\n"
        b"END:VEVENT\r\n"
    )
    report = analyse_bytes(data)
    assert report.kind == "ics"
    assert report.links == [
        JoinLink(
            "zoom",
            "https://example.zoom.us/j/9876543210?pwd=abc",
            meeting_id="9876543210",
            passcode="1234",
            dial="9876543210.1234@zoomcrc.com",
        )
    ]


def test_ics_conference_property_is_structured_and_first() -> None:
    data = (
        b"BEGIN:VCALENDAR\nBEGIN:VEVENT\n"
        b"DESCRIPTION:Old link https://meet.google.com/old-link-abc\n"
        b"CONFERENCE;VALUE=URI;FEATURE=PHONE:tel:+1-555-0100\n"
        b"CONFERENCE;VALUE=URI;FEATURE=VIDEO;LABEL=Join:https://meet.jit.si/ExampleRoom\n"
        b"END:VEVENT\nEND:VCALENDAR\n"
    )
    links = links_from_bytes(data)
    assert [link.provider for link in links] == ["jitsi", "meet"]


def test_all_cancelled_events_in_a_calendar_cancel_it() -> None:
    data = (
        b"BEGIN:VCALENDAR\nMETHOD:PUBLISH\nBEGIN:VEVENT\nSTATUS:CANCELLED\n"
        b"LOCATION:https://meet.google.com/abc-defg-hij\nEND:VEVENT\nEND:VCALENDAR\n"
    )
    report = analyse_bytes(data)
    assert report.cancelled
    assert report.links == []


def test_plain_text_and_unknown_json_are_text() -> None:
    assert analyse_bytes(b"see https://meet.google.com/abc-defg-hij").kind == "text"
    report = analyse_bytes(b'{"note": "https://meet.google.com/abc-defg-hij"}')
    assert report.kind == "text"
    assert [link.meeting_id for link in report.links] == ["abc-defg-hij"]


def test_mbox_separator_line_and_latin1_body() -> None:
    data = (
        b"From someone@example.com Mon Sep  2 09:00:00 2024\n"
        b"From: someone@example.com\nSubject: Caf\xe9\n"
        b"Content-Type: text/plain; charset=latin-1\n\n"
        b"Caf\xe9 meeting https://example.webex.com/meet/someone\n"
    )
    report = analyse_bytes(data)
    assert report.kind == "email"
    assert report.links == [
        JoinLink(
            "webex", "https://example.webex.com/meet/someone", dial="someone@example.webex.com"
        )
    ]


def test_graph_event_list_and_google_list() -> None:
    data = (
        b'{"value": [{"isCancelled": true, "onlineMeeting": {"joinUrl": '
        b'"https://teams.microsoft.com/meet/11122233344?p=x"}}, {"isCancelled": false, "body": '
        b'{"contentType": "text", "content": "https://teams.live.com/meet/99988877766?p=y"}}]}'
    )
    report = analyse_bytes(data)
    assert report.kind == "graph-event"
    assert not report.cancelled
    assert [(link.meeting_id, link.passcode) for link in report.links] == [("99988877766", "y")]
