"""Join links in real invitation e-mails (the shared corpus; skipped when it is absent), and in
the project's own fixtures for the link families the corpus lacks (always run).

The expected answers were read from the files by hand: the link a person would click, the
meeting ID and the passcode the invitation prints. Cancellations must offer no Join button.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hybridcal.core.model import JoinLink
from hybridcal.core.sources import analyse_bytes

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus" / "eml"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "invitations"
needs_corpus = pytest.mark.skipif(
    not CORPUS.is_dir(), reason="shared invitation corpus not available"
)

_TEAMS = (
    "https://teams.microsoft.com/l/meetup-join/19%3ameeting_{}%40thread.v2/0?context=%7b%22Tid%22"
    "%3a%2272f988bf-86f1-41af-91ab-2d7cd011db47%22%2c%22Oid%22%3a%221c29c2f7-d386-4c5a-a3bc-"
    "0ee13b48bc65%22%7d"
)
_TEAMS_2019 = _TEAMS.format("MDU1NDM2Y2EtOTZkYy00ZjI5LTkzMDctMjMxZDYyNzlhNjQy")
_ZOOM = "https://us02web.zoom.us/j/9396880476?pwd=a2gyYkVpRjhBZEthQUQzcEF2QjRXUT09"


def _meet(code: str) -> JoinLink:
    return JoinLink("meet", f"https://meet.google.com/{code}", meeting_id=code)


EXPECTED: dict[str, JoinLink | None] = {
    "gmeet_google_calendar_cancel_XDC2023_nouveau.eml": None,
    "gmeet_google_calendar_invitation_XDC2023_nouveau.eml": _meet("azn-uwfp-pgw"),
    "gmeet_google_calendar_invitation_openbmc_2020-02.eml": _meet("fzh-kuvi-wqo"),
    "gmeet_google_calendar_invitation_redfish_openbmc_2020-01.eml": _meet("bqh-ajec-bqy"),
    "gmeet_google_calendar_updated_invitation_openbmc_2020-01.eml": _meet("ioi-aqwe-wms"),
    "gmeet_link_in_plain_email_openbmc_2020-02.eml": _meet("fzh-kuvi-wqo"),
    "teams_cancelled_reforwarded_openbmc_2019-10.eml": None,
    "teams_outlook_cancel_openbmc_2020-02.eml": None,
    "teams_link_in_quoted_reply_openbmc_2019-07.eml": JoinLink("teams", _TEAMS_2019),
    "teams_outlook_invite_first_openbmc_2019-06.eml": JoinLink("teams", _TEAMS_2019),
    "teams_outlook_invite_pst_pm_openbmc_2019-07.eml": JoinLink("teams", _TEAMS_2019),
    "teams_outlook_invite_vtc_plcm_openbmc_2019-06.eml": JoinLink("teams", _TEAMS_2019),
    "teams_outlook_invite_biweekly_openbmc_2019-09.eml": JoinLink(
        "teams", _TEAMS.format("NjQ4OTFmNzYtNTlhOS00N2Q1LTlkYzUtNDBjYWQ0OGQ2OGJi")
    ),
    "teams_outlook_invite_openbmc_2020-01.eml": JoinLink(
        "teams", _TEAMS.format("MjFjZTE5ZjMtMzUxNy00ZmQ5LWE1MDItYWM2MTRhZTEyODhl")
    ),
    "webex_jphp_mtid_html_openbmc_2019-09.eml": JoinLink(
        "webex",
        "https://ibm.webex.com/ibm/j.php?MTID=ma668120f8b481aa631801a669078d463",
        meeting_id="922477725",
    ),
    "webex_minutes_forward_openbmc_2019-05.eml": JoinLink(
        "webex", "https://ibm.webex.com/meet/sivas.srr", meeting_id="928662307", passcode="sivas"
    ),
    "webex_personal_room_html_only_openbmc_2019-06.eml": JoinLink(
        "webex", "https://ibm.webex.com/meet/sivas.srr", meeting_id="928662307", passcode="sivas"
    ),
    "zoom_invite_quoted_reply_chevrons_openbmc_2020-09.eml": JoinLink(
        "zoom", _ZOOM, meeting_id="9396880476", passcode="openbmc"
    ),
    "zoom_invite_text_plus_ics_openbmc_2020-12.eml": JoinLink(
        "zoom", _ZOOM, meeting_id="9396880476", passcode="openbmc"
    ),
    "zoom_short_reply_openbmc_2020.eml": JoinLink(
        "zoom", _ZOOM, meeting_id="9396880476", passcode="openbmc"
    ),
}

# dial strings the invitations name: Zoom's room connector, Poly's Teams gateway, Webex sites
EXPECTED_DIAL = {
    "zoom_invite_text_plus_ics_openbmc_2020-12.eml": "9396880476.8592515@zoomcrc.com",
    "teams_outlook_invite_vtc_plcm_openbmc_2019-06.eml": "813878896.017920684@t.plcm.vc",
    "webex_jphp_mtid_html_openbmc_2019-09.eml": "922477725@ibm.webex.com",
}


@needs_corpus
def test_every_corpus_file_has_an_expectation() -> None:
    assert {p.name for p in CORPUS.glob("*.eml")} == set(EXPECTED)


@needs_corpus
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_first_link_is_the_one_a_person_would_click(name: str) -> None:
    report = analyse_bytes((CORPUS / name).read_bytes(), name)
    assert report.kind == "email"
    expected = EXPECTED[name]
    if expected is None:
        assert report.cancelled
        assert report.links == []
        return
    assert not report.cancelled
    assert report.links, "no join link found"
    first = report.links[0]
    assert (first.provider, first.url, first.meeting_id, first.passcode) == (
        expected.provider,
        expected.url,
        expected.meeting_id,
        expected.passcode,
    )


@needs_corpus
@pytest.mark.parametrize("name", sorted(EXPECTED_DIAL))
def test_dial_strings_for_video_systems(name: str) -> None:
    report = analyse_bytes((CORPUS / name).read_bytes(), name)
    assert report.links[0].dial == EXPECTED_DIAL[name]


@needs_corpus
def test_no_dial_in_or_options_page_becomes_a_link() -> None:
    for path in CORPUS.glob("*.eml"):
        for link in analyse_bytes(path.read_bytes(), path.name).links:
            assert "/u/" not in link.url, link
            assert "dialin" not in link.url, link
            assert "meetingOptions" not in link.url, link
            assert "tel.meet" not in link.url, link


# -- the families the corpus lacks: the project's own fixtures, modelled on documented forms ---

# (file, kind, the link a person would click first: provider, URL, meeting ID, passcode, dial)
FAMILIES: dict[str, tuple[str, JoinLink]] = {
    # a Zoom app deep link: meeting number only in confno=, passcode from the text
    "zoom_app_links.txt": (
        "text",
        JoinLink(
            "zoom",
            "https://us05web.zoom.us/j/83412345678?pwd=cGxhbm5pbmdUb2tlbjQy",
            "83412345678",
            "736204",
            "83412345678.736204@zoomcrc.com",
        ),
    ),
    # GCC High first, then DoD and the Teams app's msteams: link
    "teams_clouds.txt": (
        "text",
        JoinLink(
            "teams",
            "https://gov.teams.microsoft.us/l/meetup-join/19%3ameeting_R292SGlnaFJldmlldw"
            "%40thread.v2/0?context=%7b%22Tid%22%3a%2200000000-0000-0000-0000-000000000001%22%7d",
            "212334455667",
            "hG7kQ2",
        ),
    ),
    # a gateway around a launcher around the meeting link
    "teams_launcher_wrapped.eml": (
        "email",
        JoinLink(
            "teams",
            "https://teams.microsoft.com/l/meetup-join/19:meeting_U3VwcGxpZXJPbmJvYXJk"
            "@thread.v2/0?context=%7b%7d",
            "318442905117",
            "Qz4mW8",
        ),
    ),
    # the Webex URL API join command: meeting number in MK=
    "webex_url_api.txt": (
        "text",
        JoinLink(
            "webex",
            "https://example.webex.com/example/m.php?AT=JM&MK=2640011223&PW=Revi3w",
            "2640011223",
            "Revi3w",
            "2640011223@example.webex.com",
        ),
    ),
    # text glued to the end of a URL
    "glued_text.txt": (
        "text",
        JoinLink(
            "zoom",
            "https://example.zoom.us/j/84455566677",
            "84455566677",
            dial="84455566677@zoomcrc.com",
        ),
    ),
    # a Meet conference URL whose code is not abc-defg-hij is not offered; the nickname is
    "meet_codes.json": ("google-event", JoinLink("meet", "https://g.co/meet/reading-group")),
    # several events: the file's first link is the first event's that is not cancelled
    "series_with_exceptions.ics": (
        "ics",
        JoinLink(
            "zoom",
            "https://example.zoom.us/j/85512340000?pwd=b3BzV2Vla2x5VG9rZW4",
            "85512340000",
            "902214",
            "85512340000.902214@zoomcrc.com",
        ),
    ),
}


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_families_first_link_is_the_one_a_person_would_click(name: str) -> None:
    kind, expected = FAMILIES[name]
    report = analyse_bytes((FIXTURES / name).read_bytes(), name)
    assert (report.kind, report.cancelled) == (kind, False)
    assert report.links, "no join link found"
    assert report.links[0] == expected
    for link in report.links:  # a Zoom pwd= token is never shown as the passcode
        if link.provider == "zoom" and link.passcode:
            assert f"pwd={link.passcode}" not in link.url
