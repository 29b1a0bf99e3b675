"""Fuzzing join-link detection: no exception and a bounded time per input, whatever the text.

Inputs are built from what invitations are made of (URL pieces, provider hosts, labels, HTML
tags, Unicode look-alikes and invisible characters), glued in any order, some pieces repeated
thousands of times, mixed with arbitrary Unicode text.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, TypeVar

from hypothesis import given
from hypothesis import strategies as st
from tests.fuzz.fuzz_settings import fuzz

if TYPE_CHECKING:
    from collections.abc import Callable

from hybridcal.core.links import (
    MAX_LINKS,
    classify_url,
    detect_links,
    find_links_in_text,
    links_from_conference,
    unwrap_url,
)
from hybridcal.core.model import Conference, EntryPoint, Event, EventStatus

T = TypeVar("T")

PER_CALL = 0.5  # seconds for one text; a 256 KB field takes under 0.1 s

FRAGMENTS = [
    # URL pieces and provider hosts
    "https://", "http://", "www.", "zoom.us", "acme.zoom.us", "zoomgov.com", "/j/", "/s/",
    "/my/", "123456789", "81234567890", "?pwd=", "&", "=", "#", "teams.microsoft.com",
    "teams.live.com", "/l/meetup-join/", "19%3ameeting_", "%40thread.v2/0", "/meet/",
    "meet.google.com/", "abc-defg-hij", "example.webex.com", "/j.php?MTID=m1", "bluejeans.com/",
    "safelinks.protection.outlook.com/?url=", "https%3A%2F%2Fzoom.us%2Fj%2F123456789",
    "urldefense.com/v3/__", "__;!!", "urldefense.proofpoint.com/v2/url?u=", "www.google.com/url?q=",
    "sip:", "sips:", "h323:", "@", "zoomcrc.com", "vc.example.com", "xn--mnchen-3ya",
    "%", "%zz", "%ff", "%3A", "[::1", "]",
    # app deep links, launchers and wrappers, newer hosts and forms
    "zoommtg://", "zoomus://", "msteams:/", "msteams://", "/join?action=join&confno=",
    "confno=", "/start?confno=", "gov.teams.microsoft.us", "dod.", "teams.cloud.microsoft",
    "/dl/launcher/launcher.html?url=", "%2f_%23%2fl%2fmeetup-join%2f", "/_#/l/meetup-join/",
    "linkprotect.cudasvc.com/url?a=", "secure-web.cisco.com/1x/", "https%3a%2f%2f",
    "url.us.m.mimecastprotect.com/s/", "m.php?AT=JM&MK=", "&AT=JM", "2551112223", "/m/",
    "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "g.co/meet/", "/lookup/", "abcd-efgh-ijk",
    "zoom.com", "app.zoom.us/wc/", "/join", "chime.aws/", "meet.goto.com/",
    "&gt;", "&quot;", "&#62;", "%3E", "%3e", "%22", "Join", "Password", "\u0661\u0662",
    "Passcode: 123456", "Passcode: river7",
    # labels
    "Meeting ID:", "Meeting ID: 123 456 789", "Passcode:", "Passcode: abc", "Password: 1",
    "SIP:", "SIP address", "Video address:", "join by SIP", "H.323:", "VTC Conference ID: 1234",
    "<mailto:x@y.z>", "\u30df\u30fc\u30c6\u30a3\u30f3\u30b0ID\uff1a",
    "\u30d1\u30b9\u30b3\u30fc\u30c9\uff1a",
    # HTML
    "<", ">", "</", '<a href="', '">', "</a>", "<div>", "</div>", "<br>", "<p>", "<td>",
    "<!--", "-->", "<!", "<script>", "</script>", "<style>", "&amp;", "&nbsp;", "&#", "9", "&lt;",
    # look-alikes, invisible characters, text glued to links
    "\uff0f", "\uff1a", "\uff0e", "\u3002", "\uff61", "\u2215", "\u2044", "\u200b", "\u200f",
    "\u202e", "\u2060", "\ufeff", "\u00ad", "\ufdfa", "e\u0301", "\u3067\u3059", "\u300c",
    "\u300d", "(", ")", "[", "](", "\u201c", "\u201d", ",", ".", ";", "'", '"',
    # separators and quoting
    " ", "  ", "\t", "\n", "\r\n", "> ", ">> ", "\x00", "\\",
]  # fmt: skip

_PIECE = st.one_of(
    st.sampled_from(FRAGMENTS),
    st.text(max_size=16),
    st.tuples(st.sampled_from(FRAGMENTS), st.integers(1, 5000)).map(lambda t: t[0] * t[1]),
)
TEXT = st.lists(_PIECE, max_size=40).map("".join)


def _timed(call: Callable[..., T], *args: object) -> T:
    start = time.perf_counter()
    result = call(*args)
    elapsed = time.perf_counter() - start
    assert elapsed < PER_CALL, f"{elapsed:.2f} s for {len(str(args[0]))} characters"
    return result


@fuzz
@given(TEXT)
def test_find_links_in_text(text: str) -> None:
    links = _timed(find_links_in_text, text)
    assert isinstance(links, list)
    assert len(links) <= MAX_LINKS
    for link in links:
        assert link.provider
        assert link.url
        if link.provider not in {"sip", "h323"} and link.url.startswith("http"):
            # what we report is a URL we would recognise again as the same meeting system
            again = classify_url(link.url)
            assert again is not None
            assert again.provider == link.provider


@fuzz
@given(TEXT)
def test_classify_and_unwrap_url(text: str) -> None:
    for url in (text, f"https://{text}", f"https://zoom.us/j/123456789{text}"):
        link = _timed(classify_url, url)
        assert link is None or link.provider
        assert isinstance(_timed(unwrap_url, url), str)


_ENTRY = st.builds(
    EntryPoint,
    kind=st.sampled_from(["video", "sip", "phone", "more", ""]),
    uri=TEXT,
    label=st.none() | st.text(max_size=8),
    pin=st.none() | st.text(max_size=8),
    passcode=st.none() | st.text(max_size=8),
)
_CONFERENCE = st.none() | st.builds(
    Conference,
    system=st.sampled_from(["hangoutsMeet", "teamsForBusiness", "addOn", "", "zoom"]),
    conference_id=st.none() | st.text(max_size=12),
    entry_points=st.lists(_ENTRY, max_size=4).map(tuple),
)


@fuzz
@given(TEXT, TEXT, _CONFERENCE)
def test_detect_links(location: str, description: str, conference: Conference | None) -> None:
    event = Event(
        calendar_key="google:room@example.com",
        event_id="e1",
        etag=None,
        status=EventStatus.CONFIRMED,
        start=None,
        end=None,
        location=location,
        description=description,
        conference=conference,
    )
    links = _timed(detect_links, event)
    assert isinstance(links, tuple)
    assert len(links) <= MAX_LINKS
    assert isinstance(links_from_conference(conference), list)
