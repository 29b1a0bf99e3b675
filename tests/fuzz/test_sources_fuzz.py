"""Fuzzing ``analyse_bytes``: mutated e-mails and .ics files, event JSON of any shape, deep
nesting. Never an exception, a bounded time per input, a report that keeps its promises."""

from __future__ import annotations

import json
import time
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from tests.fuzz.fuzz_settings import fuzz

from hybridcal.core.links import MAX_LINKS
from hybridcal.core.sources import SourceReport, analyse_bytes

PER_INPUT = 2.0  # seconds; a real invitation takes milliseconds, 8 MiB of text well under 1 s

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "invitations"
SEEDS = sorted(p.read_bytes() for p in FIXTURES.iterdir())

INSERTS = [
    b"\x00", b"\xff\xfe", b"\r\n", b"\n\n", b"\n ", b"--", b"=", b";", b":", b'"', b"\\n",
    b'charset="\x00"', b"charset=rot13", b"charset*=x\x00y''%41;", b"filename*=\x00''a.ics",
    b"\nContent-Type: multipart/mixed; boundary=x\n\n--x\n",
    b"\nContent-Type: message/rfc822\n\n", b"\nContent-Transfer-Encoding: base64\n\n!!==",
    b"\nContent-Transfer-Encoding: quoted-printable\n\n=ZZ=\n",
    b"\nContent-Transfer-Encoding: x-uuencode\n\nbegin 644 x\n!!\n",
    b"=?utf-8?q?=FF?=", b"=?x\x00?b?QQ==?=", b"BEGIN:VEVENT\n", b"END:VEVENT\n",
    b"BEGIN:VCALENDAR\n", b"METHOD:CANCEL\n", b"STATUS:CANCELLED\n",
    b"CONFERENCE;VALUE=URI;FEATURE=VIDEO:", b"X-MICROSOFT-SKYPETEAMSMEETINGURL:",
    b'LOCATION;X="a:', b"https://zoom.us/j/123456789", b'<a href="https://zoom.us/j/1">',
    b"\xef\xbc\x8f", b"\xe2\x80\x8b", b"{", b"[", b'{"a":', b"}", b"]", b"x", b'; a="',
    b"\nContent-Type: multipart/mixed; boundary=", b"\nContent-Disposition: attachment; ",
    b"&#", b"9", b"&#" + b"9" * 5000 + b";",
    b"UID:x\n", b"SUMMARY:", b"DTSTART;TZID=Europe/Berlin:20260105T090000\n",
    b"RECURRENCE-ID:20260112T090000Z\n", b"STATUS:CONFIRMED\n",
    b"BEGIN:VEVENT\nUID:y\nLOCATION:zoommtg://zoom.us/join?confno=123456789\nEND:VEVENT\n",
    b"msteams:/l/meetup-join/19%3ameeting_x%40thread.v2/0",
]  # fmt: skip

_EDIT = st.tuples(
    st.floats(0, 1),
    st.integers(0, 40),  # bytes deleted at that place
    st.one_of(
        st.sampled_from(INSERTS),
        st.binary(max_size=24),
        st.tuples(st.sampled_from(INSERTS), st.integers(1, 3000)).map(lambda t: t[0] * t[1]),
    ),
)


@st.composite
def _mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for where, cut, insert in draw(st.lists(_EDIT, min_size=1, max_size=8)):
        at = int(where * len(data))
        data[at : at + cut] = insert
    return bytes(data)


def _analyse(data: bytes) -> SourceReport:
    start = time.perf_counter()
    report = analyse_bytes(data, "fuzz")
    elapsed = time.perf_counter() - start
    assert elapsed < PER_INPUT, f"{elapsed:.2f} s for {len(data)} bytes"
    assert isinstance(report, SourceReport)
    assert report.kind in {"email", "ics", "google-event", "graph-event", "text"}
    assert len(report.links) <= MAX_LINKS
    assert not (report.cancelled and report.links)
    for event in report.events:  # per-event answers keep the same promises
        assert len(event.links) <= MAX_LINKS
        assert not (event.cancelled and event.links)
    if report.events and not report.cancelled:
        assert not all(event.cancelled for event in report.events)
    return report


@fuzz
@given(_mutated())
def test_mutated_mails_and_calendars(data: bytes) -> None:
    _analyse(data)


_KEYS = st.sampled_from(
    [
        "kind", "id", "status", "summary", "description", "location", "locations", "hangoutLink",
        "conferenceData", "conferenceSolution", "key", "type", "conferenceId", "entryPoints",
        "entryPointType", "uri", "label", "pin", "accessCode", "passcode", "password", "body",
        "content", "contentType", "onlineMeeting", "joinUrl", "onlineMeetingUrl",
        "onlineMeetingProvider", "isCancelled", "displayName", "@odata.etag", "items", "value",
    ]
)  # fmt: skip
_SCALAR = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=20),
    st.sampled_from(
        [
            "calendar#event", "cancelled", "video", "sip", "https://zoom.us/j/123456789",
            "https://meet.google.com/abc-defg-hij", "sip:123@zoomcrc.com",
            "https://teams.microsoft.com/meet/11122233344?p=x", "<p>Passcode: 1</p>",
        ]
    ),
)  # fmt: skip
_JSON = st.recursive(
    _SCALAR,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(_KEYS, children, max_size=6),
    max_leaves=40,
)


@fuzz
@given(_JSON)
def test_event_json_of_any_shape(document: object) -> None:
    _analyse(json.dumps(document).encode())


@fuzz
@given(
    st.sampled_from(["[", '{"a":', '{"items":[', '{"kind":"calendar#event","x":[']),
    st.integers(1, 20_000),
)
def test_deeply_nested_json(opening: str, depth: int) -> None:
    _analyse((opening * depth).encode())


@fuzz
@given(st.integers(1, 3000), st.sampled_from([b"multipart/mixed", b"message/rfc822"]))
def test_deeply_nested_mail(depth: int, kind: bytes) -> None:
    parts = [b"From: a@example.com\nContent-Type: multipart/mixed; boundary=b0\n\n"]
    for level in range(depth):
        nested = b"Content-Type: " + kind + b"; boundary=b%d\n\n" % (level + 1)
        parts.append(b"--b%d\n" % level + nested)
    parts.append(b"https://zoom.us/j/123456789\n")
    _analyse(b"".join(parts))
