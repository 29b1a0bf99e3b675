"""Input recognition for ``hybridcal links``: e-mail, iCalendar, provider JSON, plain text."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from hybridcal.core.links import MAX_LINKS
from hybridcal.core.model import JoinLink
from hybridcal.core.sources import (
    MAX_EVENTS,
    MAX_INPUT_BYTES,
    MAX_JSON_BYTES,
    MAX_MIME_PARTS,
    analyse_bytes,
    links_from_bytes,
)

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
    # -- link families of 2023-2026 invitations (fixtures written from the documented forms) --
    "zoom_app_links.txt": (
        "text",
        False,
        [
            # zoommtg:// deep link: the meeting number only in confno=, the pwd= token kept in
            # the URL, the passcode a person types from the text
            JoinLink(
                "zoom",
                "https://us05web.zoom.us/j/83412345678?pwd=cGxhbm5pbmdUb2tlbjQy",
                meeting_id="83412345678",
                passcode="736204",
                dial="83412345678.736204@zoomcrc.com",
            ),
            # zoomus:// (mobile); the word passcode is shown, the numeric one dials
            JoinLink(
                "zoom",
                "https://zoom.us/j/86198765432?pwd=bW9iaWxlVG9rZW4x",
                meeting_id="86198765432",
                passcode="team-sync",
                dial="86198765432.55019283@zoomcrc.com",
            ),
        ],
    ),
    "teams_clouds.txt": (
        "text",
        False,
        [
            JoinLink(
                "teams",
                "https://gov.teams.microsoft.us/l/meetup-join/19%3ameeting_R292SGlnaFJldmlldw"
                "%40thread.v2/0?context=%7b%22Tid%22%3a%2200000000-0000-0000-0000-000000000001"
                "%22%7d",
                meeting_id="212334455667",
                passcode="hG7kQ2",
            ),
            # the GCC High passcode above belongs to the other meeting: not this one's
            JoinLink(
                "teams",
                "https://dod.teams.microsoft.us/meet/27712345678901?p=Dd9xVv3Lq",
                meeting_id="27712345678901",
                passcode="Dd9xVv3Lq",
            ),
            JoinLink(
                "teams",
                "https://teams.microsoft.com/l/meetup-join/19%3ameeting_QXBwTGlua01lZXRpbmc"
                "%40thread.v2/0?context=%7b%22Tid%22%3a%2200000000-0000-0000-0000-000000000002"
                "%22%7d",
                meeting_id="399812004556",
                passcode="Ap9Lk2",
            ),
        ],
    ),
    "teams_launcher_wrapped.eml": (
        "email",
        False,
        [
            # Barracuda Link Protection around the Teams launcher around the meeting link
            JoinLink(
                "teams",
                "https://teams.microsoft.com/l/meetup-join/19:meeting_U3VwcGxpZXJPbmJvYXJk"
                "@thread.v2/0?context=%7b%7d",
                meeting_id="318442905117",
                passcode="Qz4mW8",
            )
        ],
    ),
    "webex_url_api.txt": (
        "text",
        False,
        [
            JoinLink(
                "webex",
                "https://example.webex.com/example/m.php?AT=JM&MK=2640011223&PW=Revi3w",
                meeting_id="2640011223",
                passcode="Revi3w",
                dial="2640011223@example.webex.com",
            ),
            # the password above is the other meeting's
            JoinLink("webex", "https://example.webex.com/m/5f0c2a9e-7b1d-4c3e-9a8f-0123456789ab"),
        ],
    ),
    "glued_text.txt": (
        "text",
        False,
        [
            JoinLink(
                "zoom",
                "https://example.zoom.us/j/84455566677",
                meeting_id="84455566677",
                dial="84455566677@zoomcrc.com",
            ),
            JoinLink("meet", "https://meet.google.com/jkl-mnop-qrs", meeting_id="jkl-mnop-qrs"),
            JoinLink(
                "webex",
                "https://example.webex.com/example/j.php?MTID=m9f8e7d6c5b4a39281706f5e4d3c2b1a0",
            ),
            JoinLink("chime", "https://chime.aws/7712345678", meeting_id="7712345678"),
        ],
    ),
    "meet_codes.json": (
        "google-event",
        False,
        [
            # the conference's Meet URL has no abc-defg-hij code: not offered
            JoinLink("meet", "https://g.co/meet/reading-group"),
            JoinLink("meet", "https://meet.google.com/lookup/readinggroup"),
        ],
    ),
    "series_with_exceptions.ics": (
        "ics",
        False,
        [
            JoinLink(
                "zoom",
                "https://example.zoom.us/j/85512340000?pwd=b3BzV2Vla2x5VG9rZW4",
                meeting_id="85512340000",
                passcode="902214",
                dial="85512340000.902214@zoomcrc.com",
            ),
            JoinLink(
                "teams",
                "https://teams.cloud.microsoft/meet/36612345678901?p=Pr3pX9",
                meeting_id="36612345678901",
                passcode="Pr3pX9",
            ),
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


# -- hostile input: never an exception, bounded work ------------------------------------------

_TEAMS_URL = "https://teams.microsoft.com/meet/11122233344?p=x"


@pytest.mark.parametrize(
    "event",
    [
        {"body": "x", "isCancelled": False},
        {"location": 5, "isCancelled": False},
        {"locations": 5, "isCancelled": False},
        {"locations": [5, "x", None, {"displayName": 7}], "isCancelled": False},
        {"onlineMeeting": [], "isCancelled": False},
        {"onlineMeeting": {"joinUrl": 5}, "isCancelled": False},
        {"onlineMeeting": None, "onlineMeetingUrl": ["x"], "isCancelled": False},
        {"body": {"content": {"a": 1}}, "onlineMeetingProvider": 3, "isCancelled": "true"},
        {"@odata.etag": 1, "id": {"x": 1}, "body": {"content": None}},
    ],
)
def test_graph_event_fields_of_the_wrong_type_count_as_absent(event: dict[str, object]) -> None:
    report = analyse_bytes(json.dumps(event).encode())
    assert (report.kind, report.cancelled, report.links) == ("graph-event", False, [])


def test_graph_event_keeps_the_fields_of_the_right_type() -> None:
    event = {"location": 5, "onlineMeeting": {"joinUrl": _TEAMS_URL}, "body": "x"}
    report = analyse_bytes(json.dumps(event).encode())
    assert report.kind == "graph-event"
    assert [link.meeting_id for link in report.links] == ["11122233344"]


@pytest.mark.parametrize(
    "event",
    [
        {"kind": "calendar#event", "conferenceData": {"entryPoints": ["x", 5, None]}},
        {"kind": "calendar#event", "conferenceData": {"entryPoints": {"uri": "x"}}},
        {"kind": "calendar#event", "conferenceData": {"conferenceSolution": "x"}},
        {"kind": "calendar#event", "conferenceData": {"conferenceSolution": {"key": []}}},
        {
            "kind": "calendar#event",
            "conferenceData": {
                "conferenceId": 5,
                "entryPoints": [{"entryPointType": 1, "uri": ["x"], "pin": 4, "label": {}}],
            },
        },
        {"kind": "calendar#event", "hangoutLink": 5, "location": [], "description": {}},
        {"kind": "calendar#event", "status": ["cancelled"]},
    ],
)
def test_google_event_fields_of_the_wrong_type_count_as_absent(event: dict[str, object]) -> None:
    report = analyse_bytes(json.dumps(event).encode())
    assert (report.kind, report.cancelled, report.links) == ("google-event", False, [])


@pytest.mark.parametrize(
    "data",
    [b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 100_000 + b"1" + b"}" * 100_000],
)
def test_json_nested_beyond_the_parser_is_read_as_text(data: bytes) -> None:
    assert analyse_bytes(data).kind == "text"


def test_json_over_its_cap_is_read_as_text() -> None:
    padding = "x" * MAX_JSON_BYTES
    data = json.dumps({"summary": padding, "location": "https://meet.google.com/abc-defg-hij"})
    report = analyse_bytes(data.encode())
    assert (report.kind, report.truncated) == ("text", True)


def _mail(body: bytes, headers: bytes = b"Content-Type: text/plain\n") -> bytes:
    return b"From: a@example.com\nSubject: x\n" + headers + b"\n" + body


_ZOOM_TEXT = b"Join https://zoom.us/j/123456789\n"
_ICS = (
    b"BEGIN:VCALENDAR\nBEGIN:VEVENT\nLOCATION:https://zoom.us/j/123456789\nEND:VEVENT\n"
    b"END:VCALENDAR\n"
)


def _deep_multipart(depth: int) -> bytes:
    parts = [b"Content-Type: multipart/mixed; boundary=b0\n\n"]
    parts.extend(
        f"--b{level}\nContent-Type: multipart/mixed; boundary=b{level + 1}\n\n".encode()
        for level in range(depth)
    )
    parts.append(f"--b{depth}\nContent-Type: text/plain\n\n".encode() + _ZOOM_TEXT)
    return _mail(b"", b"".join(parts)[:-1])


def test_deep_multipart_mail_is_read_as_text() -> None:
    report = analyse_bytes(_deep_multipart(2000))
    assert (report.kind, report.truncated) == ("email", True)
    assert [link.meeting_id for link in report.links] == ["123456789"]


def test_moderately_nested_mail_is_walked() -> None:
    report = analyse_bytes(_deep_multipart(10))
    assert (report.kind, report.truncated) == ("email", False)
    assert [link.meeting_id for link in report.links] == ["123456789"]


def test_parts_past_the_cap_are_not_read() -> None:
    part = b"--b\nContent-Type: text/plain\n\nnothing here\n"
    last = b"--b\nContent-Type: text/plain\n\n" + _ZOOM_TEXT + b"--b--\n"
    data = _mail(part * MAX_MIME_PARTS + last, b"Content-Type: multipart/mixed; boundary=b\n")
    report = analyse_bytes(data)
    assert (report.links, report.truncated) == ([], True)


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        (b'text/plain; charset="ut\x00f-8"', _ZOOM_TEXT),
        (b'text/plain; charset="\x00"', b"Caf\xe9 " + _ZOOM_TEXT),  # 8-bit text, NUL charset
        (b"text/plain; charset=x-no-such-charset", _ZOOM_TEXT),
        (b"text/plain; charset=rot13", _ZOOM_TEXT),  # a codec, but not a text encoding
        (b"text/plain; charset*=x\x00y''%41", _ZOOM_TEXT),  # RFC 2231 with a NUL charset
        (b'text/calendar; charset="\x00"', _ICS),
        (b"application/octet-stream; name*=\x00''a.ics", _ICS),
    ],
)
def test_bad_charset_names_fall_back(content_type: bytes, body: bytes) -> None:
    report = analyse_bytes(_mail(body, b"Content-Type: " + content_type + b"\n"))
    assert [link.meeting_id for link in report.links] == ["123456789"]


def test_uuencoded_part_is_skipped() -> None:
    headers = b"Content-Type: text/plain\nContent-Transfer-Encoding: x-uuencode\n"
    report = analyse_bytes(_mail(b"begin 644 x\n!!!!\n\x00\nend\n", headers))
    assert (report.kind, report.links) == ("email", [])


def test_events_past_the_cap_are_not_read() -> None:
    empty = b"BEGIN:VEVENT\nSUMMARY:x\nEND:VEVENT\n"
    zoom = b"BEGIN:VEVENT\nLOCATION:https://zoom.us/j/123456789\nEND:VEVENT\n"
    report = analyse_bytes(b"BEGIN:VCALENDAR\n" + empty * MAX_EVENTS + zoom + b"END:VCALENDAR\n")
    assert (report.kind, report.links, report.truncated) == ("ics", [], True)


def test_ics_line_with_an_unclosed_quote() -> None:
    data = b'BEGIN:VEVENT\nLOCATION;X="a:b:https://zoom.us/j/123456789\nEND:VEVENT\n'
    assert analyse_bytes(data).links == []


def test_fifty_megabytes_of_link_dense_text_is_bounded() -> None:
    unit = b"Join https://zoom.us/j/123456789 or https://meet.google.com/abc-defg-hij\n"
    data = unit * (50 * 1024 * 1024 // len(unit))
    start = time.perf_counter()
    report = analyse_bytes(data)
    elapsed = time.perf_counter() - start
    assert (report.kind, report.truncated) == ("text", True)
    assert [link.provider for link in report.links] == ["zoom", "meet"]
    assert elapsed < 5, f"{elapsed:.1f} s"  # about 0.05 s: reads MAX_INPUT_BYTES at most


def test_links_kept_across_fields_are_capped() -> None:
    events = [
        {"kind": "calendar#event", "location": f"https://zoom.us/j/{10**9 + n}"}
        for n in range(MAX_LINKS * 2)
    ]
    report = analyse_bytes(json.dumps(events).encode())
    assert len(report.links) == MAX_LINKS
    assert report.truncated


def test_input_past_its_cap_is_not_read() -> None:
    data = b"x" * MAX_INPUT_BYTES + b" https://zoom.us/j/123456789"
    assert analyse_bytes(data).truncated
    assert not analyse_bytes(_ZOOM_TEXT).truncated


@pytest.mark.parametrize(
    "content_type",
    [
        b"text/plain" + b'; a="' * 20_000,  # the standard library parses parameters in O(n^2)
        b"multipart/mixed; boundary=" + b"x" * 100_000,  # each boundary becomes a regex
    ],
)
def test_oversized_mime_fields_are_read_as_text(content_type: bytes) -> None:
    start = time.perf_counter()
    report = analyse_bytes(_mail(_ZOOM_TEXT, b"Content-Type: " + content_type + b"\n"))
    assert time.perf_counter() - start < 1
    assert (report.kind, report.truncated) == ("email", True)
    assert [link.meeting_id for link in report.links] == ["123456789"]


# -- per-event answers for calendars with several events --------------------------------------


def test_each_event_of_a_calendar_has_its_own_answer() -> None:
    report = analyse_bytes((FIXTURES / "series_with_exceptions.ics").read_bytes())
    assert [
        (e.uid, e.start, e.tzid, e.recurrence_id, e.cancelled, [link.provider for link in e.links])
        for e in report.events
    ] == [
        ("fixture-series-1@example.com", "20260105T090000", "Europe/Berlin", "", False, ["zoom"]),
        (
            "fixture-series-1@example.com",
            "20260112T090000",
            "Europe/Berlin",
            "20260112T090000",
            True,
            [],
        ),
        ("fixture-offsite-2@example.com", "20260115T130000Z", "", "", False, ["teams"]),
    ]
    assert [e.summary for e in report.events] == ["Weekly ops", "Weekly ops", "Offsite prep"]


def test_a_cancelled_event_does_not_cancel_the_others_nor_lend_its_links() -> None:
    data = (
        b"BEGIN:VCALENDAR\nMETHOD:PUBLISH\n"
        b"BEGIN:VEVENT\nUID:a\nSTATUS:CANCELLED\nLOCATION:https://zoom.us/j/111111111\nEND:VEVENT\n"
        b"BEGIN:VEVENT\nUID:b\nLOCATION:https://meet.google.com/abc-defg-hij\nEND:VEVENT\n"
        b"END:VCALENDAR\n"
    )
    report = analyse_bytes(data)
    assert not report.cancelled
    assert [link.provider for link in report.links] == ["meet"]
    assert [(e.uid, e.cancelled) for e in report.events] == [("a", True), ("b", False)]


def test_method_cancel_cancels_every_event() -> None:
    data = (
        b"BEGIN:VCALENDAR\nMETHOD:CANCEL\n"
        b"BEGIN:VEVENT\nUID:a\nLOCATION:https://zoom.us/j/111111111\nEND:VEVENT\n"
        b"BEGIN:VEVENT\nUID:b\nLOCATION:https://meet.google.com/abc-defg-hij\nEND:VEVENT\n"
        b"END:VCALENDAR\n"
    )
    report = analyse_bytes(data)
    assert (report.cancelled, report.links) == (True, [])
    assert all(e.cancelled and e.links == [] for e in report.events)


def test_single_event_and_non_calendar_inputs_have_one_answer() -> None:
    assert len(analyse_bytes((FIXTURES / "meet_invitation.ics").read_bytes()).events) == 1
    assert analyse_bytes(b"https://zoom.us/j/123456789").events == []
