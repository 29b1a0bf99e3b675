"""Link families of 2023-2026 invitations, one table row per documented form.

Each row names where the form is documented (see docs/links.md, "Where each form is
documented"); the URLs are written for these tests, modelled on those forms.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest

from hybridcal.core.link_rules import DEFAULT_RULES, compile_rule
from hybridcal.core.links import classify_url, detect_links, find_links_in_text, unwrap_url
from hybridcal.core.model import Conference, EntryPoint, Event, EventStatus, JoinLink

_TEAMS_THREAD = "19%3ameeting_RmFtaWx5VGVzdA%40thread.v2/0?context=%7b%7d"


def _event(description: str = "", conference: Conference | None = None) -> Event:
    return Event(
        calendar_key="google:room@example.com",
        event_id="e1",
        etag=None,
        status=EventStatus.CONFIRMED,
        start=None,
        end=None,
        location="",
        description=description,
        conference=conference,
    )


# (written, provider, URL offered, meeting ID)
JOIN_FORMS: list[tuple[str, str, str, str | None]] = [
    # Zoom client URL schemes (Zoom developer docs, "Client URL schemes"): the meeting number
    # only in confno=, offered as the web join link on the same host
    (
        "zoommtg://us06web.zoom.us/join?action=join&confno=84012345678&pwd=dG9rZW4",
        "zoom",
        "https://us06web.zoom.us/j/84012345678?pwd=dG9rZW4",
        "84012345678",
    ),
    (
        "zoomus://zoom.us/join?confno=84012345678",
        "zoom",
        "https://zoom.us/j/84012345678",
        "84012345678",
    ),
    # a start link keeps only the meeting number: its other parameters are the host's secrets
    (
        "zoommtg://zoom.us/start?confno=84012345678&stype=100&token=SECRET",
        "zoom",
        "https://zoom.us/j/84012345678",
        "84012345678",
    ),
    ("https://zoom.com/j/84012345678", "zoom", "https://zoom.com/j/84012345678", "84012345678"),
    (
        "https://app.zoom.us/wc/84012345678/join",
        "zoom",
        "https://app.zoom.us/wc/84012345678/join",
        "84012345678",
    ),
    (
        "https://agency.zoomgov.com/w/1612345678",
        "zoom",
        "https://agency.zoomgov.com/w/1612345678",
        "1612345678",
    ),
    ("https://agency.zoomgov.com/my/j.doe", "zoom", "https://agency.zoomgov.com/my/j.doe", None),
    # Teams: GCC High and DoD hosts, the cloud.microsoft domain, the short /meet/ form
    (
        f"https://gov.teams.microsoft.us/l/meetup-join/{_TEAMS_THREAD}",
        "teams",
        f"https://gov.teams.microsoft.us/l/meetup-join/{_TEAMS_THREAD}",
        None,
    ),
    (
        "https://dod.teams.microsoft.us/meet/2771234567890?p=x1",
        "teams",
        "https://dod.teams.microsoft.us/meet/2771234567890?p=x1",
        "2771234567890",
    ),
    (
        "https://teams.cloud.microsoft/meet/3661234567890?p=x2",
        "teams",
        "https://teams.cloud.microsoft/meet/3661234567890?p=x2",
        "3661234567890",
    ),
    (
        f"https://teams.microsoftonline.cn/l/meetup-join/{_TEAMS_THREAD}",
        "teams",
        f"https://teams.microsoftonline.cn/l/meetup-join/{_TEAMS_THREAD}",
        None,
    ),
    # the Teams app's protocol handler (Teams deep links: msteams:)
    (
        f"msteams:/l/meetup-join/{_TEAMS_THREAD}",
        "teams",
        f"https://teams.microsoft.com/l/meetup-join/{_TEAMS_THREAD}",
        None,
    ),
    (
        f"msteams://teams.microsoft.com/l/meetup-join/{_TEAMS_THREAD}",
        "teams",
        f"https://teams.microsoft.com/l/meetup-join/{_TEAMS_THREAD}",
        None,
    ),
    # the Teams launcher page carries the meeting route in its url= parameter
    (
        "https://teams.microsoft.com/dl/launcher/launcher.html?url="
        + quote("/_#/l/meetup-join/19:meeting_TGF1bmNo@thread.v2/0", safe="")
        + "&type=meetup-join&directDl=true",
        "teams",
        "https://teams.microsoft.com/l/meetup-join/19:meeting_TGF1bmNo@thread.v2/0",
        None,
    ),
    # Meet: the documented code form, and meeting nicknames
    (
        "https://meet.google.com/abc-defg-hij",
        "meet",
        "https://meet.google.com/abc-defg-hij",
        "abc-defg-hij",
    ),
    ("https://g.co/meet/team-sync", "meet", "https://g.co/meet/team-sync", None),
    (
        "https://meet.google.com/lookup/teamsync",
        "meet",
        "https://meet.google.com/lookup/teamsync",
        None,
    ),
    # Webex: URL API join command (MK = meeting number), a space's meeting link
    (
        "https://acme.webex.com/acme/m.php?AT=JM&MK=2551112223",
        "webex",
        "https://acme.webex.com/acme/m.php?AT=JM&MK=2551112223",
        "2551112223",
    ),
    (
        "https://acme.webex.com/acme/m.php?MK=2551112223&AT=JM&PW=x",
        "webex",
        "https://acme.webex.com/acme/m.php?MK=2551112223&AT=JM&PW=x",
        "2551112223",
    ),
    (
        "https://acme.webex.com/m/0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
        "webex",
        "https://acme.webex.com/m/0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
        None,
    ),
    (
        "https://meet.goto.com/512345678",
        "gotomeeting",
        "https://meet.goto.com/512345678",
        "512345678",
    ),
    ("https://chime.aws/5123456789", "chime", "https://chime.aws/5123456789", "5123456789"),
]


@pytest.mark.parametrize(("written", "provider", "url", "meeting_id"), JOIN_FORMS)
def test_join_forms(written: str, provider: str, url: str, meeting_id: str | None) -> None:
    (link,) = find_links_in_text(f"Join: {written}\n")
    assert (link.provider, link.url, link.meeting_id) == (provider, url, meeting_id)
    assert "SECRET" not in repr(link)


NOT_JOIN_LINKS = [
    "https://meet.google.com/abcd-efgh-ijk",  # not a Meet code of the documented form
    "https://meet.google.com/abc-defg-hijk",
    "https://meet.google.com/abc-defg",
    "https://g.co/meet",  # Google's help page
    "https://zoom.us/meeting/84012345678",  # the host's page in the web portal
    "https://zoom.us/meeting/84012345678/edit",
    "zoommtg://evil.example.com/join?confno=84012345678",  # not a Zoom host
    "zoommtg://zoom.us/join?action=join",  # no meeting number
    "zoommtg://zoom.us/join?confno=12345",
    "msteams:/l/chat/0/0?users=someone@example.com",  # a chat, not a meeting
    "https://teams.microsoft.com/dl/launcher/launcher.html?url=%2f_%23%2fl%2fchat%2f0%2f0",
    "https://acme.webex.com/acme/m.php?AT=HM&MK=2551112223",  # host a meeting
    "https://acme.webex.com/acme/m.php?AT=SM&MK=2551112223",  # schedule a meeting
    "https://chime.aws/51234567890",  # 11 digits: no Chime meeting ID
    "https://meet.goto.com/5123456789",
    "https://url.us.m.mimecastprotect.com/s/AbCdEfGhIj?domain=zoom.us",  # cannot be unwrapped
    "https://secure-web.cisco.com/1AbCdEf/not-a-url",
]


@pytest.mark.parametrize("url", NOT_JOIN_LINKS)
def test_not_join_links(url: str) -> None:
    assert find_links_in_text(url) == []
    assert classify_url(url) is None


@pytest.mark.parametrize(
    ("wrapped", "original"),
    [
        # Barracuda Link Protection (Barracuda: "Understanding Link Protection")
        (
            (
                "https://linkprotect.cudasvc.com/url?a=https%3a%2f%2fzoom.us%2fj%2f84012345678"
                "&c=E,1,AbCdEf&typo=1"
            ),
            "https://zoom.us/j/84012345678",
        ),
        # Cisco Secure Email: /<token>/<the original, percent-encoded>
        (
            "https://secure-web.cisco.com/1AbC-dEf_GhI/"
            + quote("https://acme.webex.com/meet/jdoe", safe=""),
            "https://acme.webex.com/meet/jdoe",
        ),
        # Safe Links around the Teams launcher
        (
            "https://nam12.safelinks.protection.outlook.com/?url="
            + quote(
                "https://teams.microsoft.com/dl/launcher/launcher.html?url="
                + quote("/_#/l/meetup-join/19:meeting_X@thread.v2/0", safe=""),
                safe="",
            )
            + "&data=05",
            "https://teams.microsoft.com/l/meetup-join/19:meeting_X@thread.v2/0",
        ),
    ],
)
def test_wrappers_are_undone(wrapped: str, original: str) -> None:
    assert unwrap_url(wrapped) == original
    (link,) = find_links_in_text(wrapped)
    assert link.url == original


# -- the Zoom pwd= token is no passcode -----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "passcode", "dial"),
    [
        # the token only: no passcode shown, none in the dial string
        ("https://zoom.us/j/84012345678?pwd=MTIzNDU2", None, "84012345678@zoomcrc.com"),
        # a token of digits is still a token
        ("https://zoom.us/j/84012345678?pwd=123456", None, "84012345678@zoomcrc.com"),
        # the passcode the invitation prints
        (
            (
                "https://zoom.us/j/84012345678?pwd=MTIzNDU2\nMeeting ID: 840 1234 5678\n"
                "Passcode: 271828"
            ),
            "271828",
            "84012345678.271828@zoomcrc.com",
        ),
        # a word passcode is shown but never dialled; the numeric phone passcode dials
        (
            (
                "https://zoom.us/j/84012345678?pwd=MTIzNDU2\nPasscode: river7\n"
                "Dial by your location\nPasscode: 606060"
            ),
            "river7",
            "84012345678.606060@zoomcrc.com",
        ),
        # digits of another script are no passcode a room system can dial
        (
            "https://zoom.us/j/84012345678\nPasscode: \u0661\u0662\u0663\u0664",
            "\u0661\u0662\u0663\u0664",
            "84012345678@zoomcrc.com",
        ),
    ],
)
def test_zoom_passcode_comes_from_the_text(text: str, passcode: str | None, dial: str) -> None:
    (link,) = find_links_in_text(text)
    assert (link.passcode, link.dial) == (passcode, dial)
    assert ("pwd=" in link.url) == ("pwd=" in text)  # the token stays in the URL


def test_a_passcode_before_the_link_belongs_to_the_meeting_before() -> None:
    text = (
        "https://zoom.us/j/84012345678\nPasscode: 111111\n\n"
        "Second meeting\nhttps://zoom.us/j/85012345678\n"
    )
    first, second = find_links_in_text(text)
    assert (first.passcode, first.dial) == ("111111", "84012345678.111111@zoomcrc.com")
    assert (second.passcode, second.dial) == (None, "85012345678@zoomcrc.com")


# -- Meet conference data ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "offered"),
    [
        ("https://meet.google.com/abc-defg-hij", True),
        ("https://meet.google.com/abcd-efgh-ijk", False),
        ("https://meet.google.com/ABC", False),
        ("https://meet.google.com/lookup/teamsync", True),
        ("https://zoom.us/j/1", False),  # a provider's host, no join form of it
        ("https://vc.example.com/room/7", True),  # an unknown add-on keeps its link
    ],
)
def test_conference_links_of_no_documented_form_are_not_offered(uri: str, offered: bool) -> None:
    conference = Conference("hangoutsMeet", entry_points=(EntryPoint("video", uri),))
    links = detect_links(_event(conference=conference))
    assert [link.url for link in links] == ([uri] if offered else [])


# -- meeting numbers in a parameter, text glued to a URL ---------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "https://example.zoom.us/j/84012345678.Please be on time",
            JoinLink("zoom", "https://example.zoom.us/j/84012345678", "84012345678"),
        ),
        (
            "https://meet.google.com/jkl-mnop-qrsJoin by phone",
            JoinLink("meet", "https://meet.google.com/jkl-mnop-qrs", "jkl-mnop-qrs"),
        ),
        (
            "https://acme.webex.com/acme/m.php?AT=JM&MK=2551112223Password: x",
            JoinLink(
                "webex", "https://acme.webex.com/acme/m.php?AT=JM&MK=2551112223", "2551112223", "x"
            ),
        ),
        (
            "zoommtg://zoom.us/join?confno=84012345678Passcode: 4711",
            JoinLink("zoom", "https://zoom.us/j/84012345678", "84012345678", "4711"),
        ),
        (
            "https://acme.webex.com/acme/j.php?MTID=m0a1b2c3d4e5f60718293a4b5c6d7e8f9%3E",
            JoinLink(
                "webex", "https://acme.webex.com/acme/j.php?MTID=m0a1b2c3d4e5f60718293a4b5c6d7e8f9"
            ),
        ),
        (
            "Join https://chime.aws/5123456789&gt; now",
            JoinLink("chime", "https://chime.aws/5123456789", "5123456789"),
        ),
        (
            "https://teams.microsoft.com/meet/2771234567890?p=Ab1&quot;",
            JoinLink(
                "teams",
                "https://teams.microsoft.com/meet/2771234567890?p=Ab1",
                "2771234567890",
                "Ab1",
            ),
        ),
    ],
)
def test_glued_text_and_parameter_meeting_numbers(text: str, expected: JoinLink) -> None:
    (link,) = find_links_in_text(text)
    assert (link.provider, link.url, link.meeting_id, link.passcode) == (
        expected.provider,
        expected.url,
        expected.meeting_id,
        expected.passcode,
    )


def test_a_custom_rule_reads_the_meeting_number_from_a_parameter() -> None:
    rule = compile_rule(
        "pexip-webapp",
        "pexip",
        r"vc\.example\.com/webapp/\?",
        id_param="conference",
        dial=("{id}@vc.example.com",),
    )
    url = "https://vc.example.com/webapp/?conference=4711234&pin=1"
    assert classify_url(url) is None
    (link,) = find_links_in_text(url, (*DEFAULT_RULES, rule))
    assert (link.provider, link.meeting_id, link.dial) == (
        "pexip",
        "4711234",
        "4711234@vc.example.com",
    )
