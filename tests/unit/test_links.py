"""Join-link detection in events and texts."""

from __future__ import annotations

import re
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hybridcal.core import links as links_module
from hybridcal.core.link_rules import DEFAULT_RULES, compile_rule
from hybridcal.core.links import (
    DEADLINE_EVERY,
    MAX_CANDIDATES,
    MAX_LABEL_CHARS,
    MAX_LINKS,
    MAX_SCAN_CHARS,
    Limits,
    TextScan,
    classify_url,
    dedupe_links,
    detect_links,
    find_links_in_text,
    scan_text,
    unwrap_url,
)
from hybridcal.core.model import Conference, EntryPoint, Event, EventStatus, JoinLink


def _event(
    location: str = "", description: str = "", conference: Conference | None = None
) -> Event:
    return Event(
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


@pytest.mark.parametrize(
    ("url", "provider", "meeting_id", "passcode"),
    [
        ("https://zoom.us/j/123456789", "zoom", "123456789", None),
        # the pwd= token is no passcode a person types: it stays in the URL only
        ("https://acme.zoom.us/j/81234567890?pwd=abc", "zoom", "81234567890", None),
        ("https://us06web.zoom.us/w/81234567890?tk=x", "zoom", "81234567890", None),
        ("https://agency.zoomgov.com/j/1609876543", "zoom", "1609876543", None),
        ("https://teams.microsoft.com/meet/31234567890123?p=Pw1", "teams", "31234567890123", "Pw1"),
        ("https://teams.live.com/meet/9876543210123?p=abc", "teams", "9876543210123", "abc"),
        ("https://meet.google.com/abc-defg-hij?authuser=1", "meet", "abc-defg-hij", None),
        ("https://site.webex.com/meet/jdoe", "webex", None, None),
        ("https://site.webex.com/site/j.php?MTID=m123abc", "webex", None, None),
        (
            "https://site.webex.com/wbxmjs/joinservice/sites/site/meeting/download/abc?siteurl=site",
            "webex",
            None,
            None,
        ),
        ("https://global.gotomeeting.com/join/123456789", "gotomeeting", "123456789", None),
        ("https://meet.goto.com/123456789", "gotomeeting", "123456789", None),
        ("https://bluejeans.com/1234567/8899", "bluejeans", "1234567", "8899"),
        ("https://chime.aws/1234567890", "chime", "1234567890", None),
        ("https://whereby.com/example-room", "whereby", None, None),
        ("https://meet.jit.si/ExampleRoom", "jitsi", None, None),
    ],
)
def test_classify_join_urls(
    url: str, provider: str, meeting_id: str | None, passcode: str | None
) -> None:
    link = classify_url(url)
    assert link is not None
    assert (link.provider, link.meeting_id, link.passcode) == (provider, meeting_id, passcode)


@pytest.mark.parametrize(
    "url",
    [
        "https://us02web.zoom.us/u/kAbCdEf",
        "https://zoom.us/zoomconference",
        "https://support.zoom.us/hc/en-us",
        "https://dialin.teams.microsoft.com/1234?id=5678",
        "https://aka.ms/JoinTeamsMeeting",
        "https://teams.microsoft.com/meetingOptions/?organizerId=x",
        "https://support.google.com/a/users/answer/9282720",
        "https://g.co/meet",
        "https://tel.meet/abc-defg-hij?pin=123",
        "https://meet.google.com/",
        "https://site.webex.com/cmp3300/webcomponents/widget/globalcallin/globalcallin.do",
        "https://example.com/j/123456789",
        "mailto:someone@example.com",
    ],
)
def test_non_join_pages_are_ignored(url: str) -> None:
    assert classify_url(url) is None


def test_zoom_start_url_loses_its_host_token() -> None:
    link = classify_url("https://acme.zoom.us/s/81234567890?zak=SECRET")
    assert link is not None
    assert link.url == "https://acme.zoom.us/j/81234567890"
    assert "SECRET" not in repr(link)


@pytest.mark.parametrize(
    ("wrapped", "original"),
    [
        (
            (
                "https://eur01.safelinks.protection.outlook.com/?url=https%3A%2F%2Fzoom.us%2Fj"
                "%2F123456789%3Fpwd%3Dx&data=05%7C01&reserved=0"
            ),
            "https://zoom.us/j/123456789?pwd=x",
        ),
        (
            "https://www.google.com/url?q=https://meet.google.com/abc-defg-hij&sa=D&ust=1",
            "https://meet.google.com/abc-defg-hij",
        ),
        (
            "https://urldefense.proofpoint.com/v2/url?u=https-3A__zoom.us_j_123456789-3Fpwd-3Dx&d=D",
            "https://zoom.us/j/123456789?pwd=x",
        ),
        (
            "https://urldefense.com/v3/__https://zoom.us/j/123456789__;!!abc$",
            "https://zoom.us/j/123456789",
        ),
        ("https://example.com/plain", "https://example.com/plain"),
    ],
)
def test_unwrap_mail_gateway_links(wrapped: str, original: str) -> None:
    assert unwrap_url(wrapped) == original


def test_safe_link_in_text_is_unwrapped_in_the_result() -> None:
    text = (
        "Join: https://nam02.safelinks.protection.outlook.com/?url=https%3A%2F%2Fteams.microsoft.com"
        "%2Fmeet%2F21234567890123%3Fp%3DsEcReT&data=x"
    )
    assert find_links_in_text(text) == [
        JoinLink(
            "teams",
            "https://teams.microsoft.com/meet/21234567890123?p=sEcReT",
            "21234567890123",
            "sEcReT",
        )
    ]


def test_link_glued_to_text_and_quoted_reply() -> None:
    text = (
        "> > Join Microsoft Teams Meeting<https://teams.microsoft.com/l/meetup-join/19%3ameeting_X"
        "%40thread.v2/0?context=%7b%7d>\n> > Meeting ID: 123 456 789 012\n> > Passcode: aB3dE\n"
    )
    (link,) = find_links_in_text(text)
    assert link.url.endswith("context=%7b%7d")
    assert (link.meeting_id, link.passcode) == ("123456789012", "aB3dE")


def test_labels_are_not_taken_across_another_meeting() -> None:
    text = (
        "Main: https://zoom.us/j/111111111\nMeeting ID: 111 111 111\n\n"
        "Backup: https://teams.microsoft.com/l/meetup-join/19%3aabc\nPasscode: teamsonly\n"
    )
    zoom, teams = find_links_in_text(text)
    assert (zoom.meeting_id, zoom.passcode) == ("111111111", None)
    assert teams.passcode == "teamsonly"


def test_html_description_hrefs_and_entities() -> None:
    html = (
        '<div>Plan &amp; review</div><div><a href="https://zoom.us/j/222222222?pwd=a&amp;b=1">'
        "Join</a></div><div><span>Passcode:</span> <span>xyz</span></div>"
    )
    (link,) = find_links_in_text(html)
    assert link.url == "https://zoom.us/j/222222222?pwd=a&b=1"
    assert link.passcode == "xyz"


def test_scheme_less_link_and_trailing_punctuation() -> None:
    links = find_links_in_text(
        "Use meet.google.com/abc-defg-hij. Or (https://zoom.us/j/333333333)."
    )
    assert [(link.provider, link.url) for link in links] == [
        ("meet", "https://meet.google.com/abc-defg-hij"),
        ("zoom", "https://zoom.us/j/333333333"),
    ]


def test_bare_address_needs_a_label() -> None:
    assert find_links_in_text("Contact bob@example.com for the agenda") == []
    (link,) = find_links_in_text("Video address: room7@vc.example.com")
    assert (link.provider, link.dial) == ("sip", "room7@vc.example.com")
    (link,) = find_links_in_text("dial sips:room8@vc.example.com now")
    assert link.url == "sips:room8@vc.example.com"


def test_zoom_sip_address_merges_with_the_zoom_link() -> None:
    text = "https://zoom.us/j/444444444\nPasscode: 9988\nJoin by SIP\n444444444@zoomcrc.com"
    (link,) = find_links_in_text(text)
    assert (link.provider, link.dial) == ("zoom", "444444444.9988@zoomcrc.com")


def test_structured_conference_first_then_location_then_description() -> None:
    conference = Conference(
        "hangoutsMeet",
        "abc-defg-hij",
        entry_points=(
            EntryPoint("video", "https://meet.google.com/abc-defg-hij"),
            EntryPoint("sip", "sip:123456@gmeet.example.com"),
        ),
    )
    event = _event(
        location="https://zoom.us/j/555555555",
        description="https://example.webex.com/meet/alice and https://meet.google.com/abc-defg-hij?hs=1",
        conference=conference,
    )
    links = detect_links(event)
    assert [link.provider for link in links] == ["meet", "zoom", "webex"]
    assert links[0].dial == "123456@gmeet.example.com"


def test_teams_conference_join_url() -> None:
    url = "https://teams.microsoft.com/l/meetup-join/19%3ameeting_Y%40thread.v2/0"
    event = _event(conference=Conference("teams", entry_points=(EntryPoint("video", url),)))
    assert detect_links(event) == (JoinLink("teams", url),)


def test_unknown_conference_system_keeps_its_link() -> None:
    conference = Conference(
        "addOn",
        "c-1",
        entry_points=(EntryPoint("video", "https://vc.example.com/r/1", passcode="p"),),
    )
    assert detect_links(_event(conference=conference)) == (
        JoinLink("addOn", "https://vc.example.com/r/1", meeting_id="c-1", passcode="p"),
    )


def test_nothing_found() -> None:
    assert detect_links(_event(location="Room 5", description="Agenda: budget")) == ()


def test_custom_rules_extend_the_defaults() -> None:
    rule = compile_rule(
        "pexip", "pexip", r"vc\.example\.com/webapp/\?conference=(?P<id>[\w.@-]+)", dial=("{id}",)
    )
    event = _event(location="https://vc.example.com/webapp/?conference=room42@vc.example.com")
    assert detect_links(event) == ()
    (link,) = detect_links(event, (*DEFAULT_RULES, rule))
    assert (link.provider, link.meeting_id, link.dial) == (
        "pexip",
        "room42@vc.example.com",
        "room42@vc.example.com",
    )


def test_ignore_rules_win_over_custom_rules() -> None:
    greedy = compile_rule("everything", "other", r".*")
    assert (
        detect_links(_event(location="https://aka.ms/JoinTeamsMeeting"), (*DEFAULT_RULES, greedy))
        == ()
    )


def test_dedupe_prefers_written_passcode_and_fuller_dial() -> None:
    a = JoinLink(
        "zoom",
        "https://zoom.us/j/123456789?pwd=TOKEN",
        "123456789",
        "TOKEN",
        "123456789@zoomcrc.com",
    )
    b = JoinLink(
        "zoom", "https://zoom.us/j/123456789", "123456789", "4711", "123456789.4711@zoomcrc.com"
    )
    assert dedupe_links([a, b]) == (
        JoinLink("zoom", a.url, "123456789", "4711", "123456789.4711@zoomcrc.com"),
    )


@given(st.text(max_size=400))
def test_find_links_never_raises(text: str) -> None:
    for link in find_links_in_text(text):
        assert link.provider
        assert link.url


@given(
    st.lists(
        st.sampled_from(
            ["https://zoom.us/j/123456789", "Meeting ID: 123 456 789", "x", "<br>", "> "]
        ),
        max_size=12,
    )
)
def test_find_links_in_noisy_text(parts: list[str]) -> None:
    links = find_links_in_text("\n".join(parts))
    assert len(links) == (1 if "https://zoom.us/j/123456789" in parts else 0)
    assert all(re.fullmatch(r"\d+", link.meeting_id or "0") for link in links)


# -- every URL form a person can type ---------------------------------------------------------

_ZOOM = ("zoom", "https://zoom.us/j/123456789", "123456789", None)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # full-width and other look-alike punctuation (CJK input methods, word processors)
        ("https://zoom.us\uff0fj/123456789", _ZOOM),
        (
            (
                "\uff48\uff54\uff54\uff50\uff53\uff1a\uff0f\uff0f\uff5a\uff4f\uff4f\uff4d\uff0e"
                "\uff55\uff53\uff0f\uff4a\uff0f\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18\uff19"
            ),
            _ZOOM,
        ),
        ("https://zoom.us\u2215j\u2215123456789", _ZOOM),  # division slash
        ("https://zoom.us\u2044j\u2044123456789", _ZOOM),  # fraction slash
        ("https://zoom\u3002us/j/123456789", _ZOOM),  # ideographic full stop in the host
        ("https://zoom\uff61us/j/123456789", _ZOOM),  # half-width ideographic full stop
        ("https\uff1a//zoom.us/j/123456789", _ZOOM),
        # invisible characters inside a URL
        ("https://zoom.us/j/123\u200b456789", _ZOOM),
        ("https://zo\u200dom.us/j/123456789", _ZOOM),
        ("ht\u200btps://zoom.us/j/123456789", _ZOOM),
        ("\u202ehttps://zoom.us/j/123456789\u202c", _ZOOM),
        ("https://zoom.us/j/123456789\u200e", _ZOOM),
        ("https://zoom.us/j/\ufeff123456789", _ZOOM),
        ("https://zoom.us/j/123\u2060456789", _ZOOM),
        ("https://zoom.us/j/123\u00ad456789", _ZOOM),  # soft hyphen
        # brackets and text glued to a URL
        ("(https://zoom.us/j/123456789)", _ZOOM),
        ("<https://zoom.us/j/123456789>", _ZOOM),
        ("[Join](https://zoom.us/j/123456789)", _ZOOM),
        ("[https://zoom.us/j/123456789](https://zoom.us/j/123456789)", _ZOOM),
        ("\uff08https://zoom.us/j/123456789\uff09", _ZOOM),
        ("\u300chttps://zoom.us/j/123456789\u300d", _ZOOM),
        ("\u201chttps://zoom.us/j/123456789\u201d", _ZOOM),
        ("https://zoom.us/j/123456789\u3067\u3059", _ZOOM),  # Japanese right after it
        ("\u4f1a\u8b70\uff1ahttps://zoom.us/j/123456789\u3002\u3088\u308d\u3057\u304f", _ZOOM),
        ("https://zoom.us/j/123456789Passcode:abc", (*_ZOOM[:3], "abc")),
        ("https://zoom.us/j/123456789Meeting ID: 123 456 789", _ZOOM),
        ("https://zoom.us/j/123456789,", _ZOOM),
        # broken percent-encoding: kept as written, never decoded into garbage
        ("https://zoom.us/j/123456789?pwd=%zz", ("zoom", f"{_ZOOM[1]}?pwd=%zz", _ZOOM[2], None)),
        ("https://zoom.us/j/123456789?pwd=ab%", ("zoom", f"{_ZOOM[1]}?pwd=ab%", _ZOOM[2], None)),
        (
            "https://zoom.us/j/123456789?pwd=%ff%fe",
            ("zoom", f"{_ZOOM[1]}?pwd=%ff%fe", _ZOOM[2], None),
        ),
        (
            (
                "https://eur01.safelinks.protection.outlook.com/?url=https%3A%2F%2Fzoom.us%2Fj"
                "%2F123456789%FF&data=x"
            ),
            _ZOOM,
        ),
        # internationalised hosts: compared in their xn-- form, lowercased
        (
            "https://m\u00fcnchen.zoom.us/j/123456789",
            ("zoom", "https://xn--mnchen-3ya.zoom.us/j/123456789", "123456789", None),
        ),
        (
            "https://XN--MNCHEN-3YA.zoom.us/j/123456789",
            ("zoom", "https://XN--MNCHEN-3YA.zoom.us/j/123456789", "123456789", None),
        ),
        (
            "meet.google.com\uff0fabc-defg-hij",
            ("meet", "https://meet.google.com/abc-defg-hij", "abc-defg-hij", None),
        ),
        # an IPv6 bracket that never closes: urlsplit refuses it; the bare host is still there
        ("https://[zoom.us/j/123456789", _ZOOM),
    ],
)
def test_url_forms_a_person_types(text: str, expected: tuple[str, str, str, str | None]) -> None:
    (link,) = find_links_in_text(text)
    assert (link.provider, link.url, link.meeting_id, link.passcode) == expected


@pytest.mark.parametrize(
    "text",
    [
        "https://z\u043e\u043em.us/j/123456789",  # Cyrillic o: not Zoom's host
        "https://b\u00fccher..zoom.us/j/123456789",  # empty label: IDNA refuses it
        "https://zoom.us]/j/123456789",
        "https://eur01.safelinks.protection.outlook.com/?url=%&data=x",
        "https://zoom.us/j/123456789%ZZ",
        "https://" + "a" * 70 + "\u00fc.zoom.us/j/123456789",  # label too long for IDNA
    ],
)
def test_url_forms_that_are_ignored(text: str) -> None:
    assert find_links_in_text(text) == []


@pytest.mark.parametrize(
    "url",
    [
        "https://zoom.us\uff0fj/123456789",
        "https://[zoom.us/j/123456789",
        "https://[::1/j/1",
        "http://\u2100/x",  # NFKC turns the host into a delimiter
        "https://x:99999999999/",
        "https://%zz",
        "",
        "\x00",
        "https://" + "\ufdfa" * 5000,
    ],
)
def test_urls_the_standard_library_refuses_never_raise(url: str) -> None:
    classify_url(url)
    assert isinstance(unwrap_url(url), str)
    find_links_in_text(url)


# -- caps and the deadline --------------------------------------------------------------------


def _distinct_zoom_links(count: int) -> str:
    return "".join(f"Join https://zoom.us/j/{100000000 + n}\n" for n in range(count))


def test_at_most_max_links_are_kept_and_the_scan_says_so() -> None:
    scan = scan_text(_distinct_zoom_links(MAX_LINKS + 20))
    assert len(scan.links) == MAX_LINKS
    assert scan.truncated
    assert scan.links[0].meeting_id == "100000000"
    assert not scan_text(_distinct_zoom_links(3)).truncated


def test_text_past_the_scan_cap_is_not_read() -> None:
    text = "x" * MAX_SCAN_CHARS + " https://zoom.us/j/123456789"
    assert scan_text(text) == TextScan((), truncated=True)
    assert find_links_in_text(text, limits=Limits(scan_chars=len(text))) != []


def test_expanding_normalisation_stays_within_the_cap() -> None:
    # one U+FDFA is 18 characters after NFKC: the scan still reads at most the cap
    scan = scan_text("\ufdfa" * MAX_SCAN_CHARS + " https://zoom.us/j/123456789")
    assert scan == TextScan((), truncated=True)


def test_candidate_cap_stops_the_scan() -> None:
    text = "https://example.com/a " * (MAX_CANDIDATES + 1) + "https://zoom.us/j/123456789"
    assert scan_text(text) == TextScan((), truncated=True)


def test_labels_far_along_a_line_are_not_read() -> None:
    near = "https://zoom.us/j/123456789 Passcode: near"
    far = "https://zoom.us/j/123456789 " + "x" * MAX_LABEL_CHARS + " Passcode: far"
    assert find_links_in_text(near)[0].passcode == "near"
    assert find_links_in_text(far)[0].passcode is None


def test_event_links_are_capped_too() -> None:
    event = _event(
        location=_distinct_zoom_links(MAX_LINKS),
        description=_distinct_zoom_links(MAX_LINKS * 2),
    )
    assert len(detect_links(event)) == MAX_LINKS


def test_a_passed_deadline_stops_before_scanning() -> None:
    deadline = time.monotonic() - 1
    assert find_links_in_text(_distinct_zoom_links(3), deadline=deadline) == []
    assert scan_text(_distinct_zoom_links(3), deadline=deadline).truncated
    conference = Conference(
        "hangoutsMeet", entry_points=(EntryPoint("video", "https://meet.google.com/abc-defg-hij"),)
    )
    event = _event(location=_distinct_zoom_links(2), conference=conference)
    # conference data costs nothing to read: it is kept even past the deadline
    assert [link.provider for link in detect_links(event, deadline=deadline)] == ["meet"]
    assert len(detect_links(event, deadline=time.monotonic() + 60)) == 3


class _Clock:
    """A monotonic clock that moves one second each time it is read."""

    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        self.now += 1.0
        return self.now


def test_the_deadline_returns_what_was_found_so_far(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = _Clock()
    monkeypatch.setattr(links_module, "time", clock)
    # read once on entry, then every DEADLINE_EVERY lines: the third read is past the deadline
    scan = scan_text(_distinct_zoom_links(DEADLINE_EVERY * 4), deadline=2.5)
    assert scan.truncated
    assert [link.meeting_id for link in scan.links] == [
        str(100000000 + n) for n in range(DEADLINE_EVERY)
    ]


# -- the linear merge gives what the pairwise one gave ----------------------------------------


def _pairwise_dedupe(links: list[JoinLink]) -> tuple[JoinLink, ...]:
    """The former quadratic merge, kept as the reference: each link is compared with every
    group before it."""
    merged: list[JoinLink] = []
    keys: list[set[tuple[str, ...]]] = []
    for link in links:
        own = links_module._keys(link)
        for index, seen in enumerate(keys):
            if seen & own:
                merged[index] = links_module._merge(merged[index], link)
                keys[index] = seen | links_module._keys(merged[index]) | own
                break
        else:
            merged.append(link)
            keys.append(own)
    return tuple(merged)


_LINK_PARTS = st.builds(
    JoinLink,
    provider=st.sampled_from(["zoom", "teams", "sip"]),
    url=st.sampled_from(
        ["https://zoom.us/j/1", "https://zoom.us/j/1/", "https://zoom.us/j/2?pwd=a", "sip:a@b"]
    ),
    meeting_id=st.sampled_from([None, "1", "2"]),
    passcode=st.sampled_from([None, "a", "4711"]),
    dial=st.sampled_from([None, "1@zoomcrc.com", "1.4711@zoomcrc.com", "a@b"]),
)


@given(st.lists(_LINK_PARTS, max_size=12))
def test_dedupe_matches_the_pairwise_merge(links: list[JoinLink]) -> None:
    assert dedupe_links(links) == _pairwise_dedupe(links)
