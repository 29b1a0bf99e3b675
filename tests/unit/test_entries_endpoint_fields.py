"""What a meeting-list row carries for room systems: attendees, numeric passcodes, dial strings."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hybridcal.core.entries import (
    MAX_ATTENDEES,
    MAX_NAME_CHARS,
    entry_for,
    meet_gateway_dial,
    numeric_passcode,
)
from hybridcal.core.model import (
    Attendee,
    Conference,
    EntryPoint,
    Event,
    EventStatus,
    JoinInfo,
    JoinLink,
    Marker,
    MeetingEntry,
    PhoneNumber,
)
from hybridcal.core.render import EXTRA_MEETING_NUMBER, render_join_block, replace_block

FIXTURES = Path(__file__).parents[1] / "fixtures" / "endpoint"  # written for these tests
WEBEX_MADE = JoinInfo(
    system="webex",
    meeting_id="5c1e9a0d7b3f4e2a8d6c0b1a2f3e4d5c:alice@example.com",
    join_url="https://acme-corp.webex.com/acme-corp/j.php?MTID=m0a1b2c3d4e5f60718293a4b5c6d7e8f9",
    passcode="Kx7pQ2wz",
    phones=(PhoneNumber("+1 555 555 0199", "US"),),
    phone_passcode="59731846",
    sip="26345678901@acme-corp.webex.com",
    extra=((EXTRA_MEETING_NUMBER, "26345678901"),),
)
ROOM = "room-7@example.com"
T0 = datetime(2030, 5, 6, 8, 0, tzinfo=UTC)


def make_event(**changes: object) -> Event:
    base = Event(
        calendar_key=f"google:{ROOM}",
        event_id="evt1",
        etag='"1"',
        status=EventStatus.CONFIRMED,
        start=T0,
        end=T0 + timedelta(hours=1),
        summary="Supplier call",
        organizer="alice@example.com",
        organizer_name="Alice Example",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def row_of(event: Event) -> MeetingEntry:
    row = entry_for(event)
    assert row is not None
    return row


def invitation(name: str) -> Event:
    return make_event(description=(FIXTURES / name).read_text(encoding="utf-8"))


# -- attendees -------------------------------------------------------------------------------------
def test_people_are_counted_once_without_rooms_or_refusals() -> None:
    row = row_of(
        make_event(
            attendees=(
                Attendee("alice@example.com", "Alice (organiser copy)", organizer=True),
                Attendee("Bob@Example.com", "Bob Builder", response="accepted"),
                Attendee("carol@example.com"),  # no display name: the address stands in
                Attendee(ROOM, "Room 7", resource=True, response="accepted"),
                Attendee("projector@example.com", resource=True),
                Attendee("dave@example.com", "Dave", response="declined"),
                Attendee("bob@example.com", "Bob again"),
            )
        )
    )
    assert row.attendee_count == 3
    assert row.attendee_names == ("Alice Example", "Bob Builder", "carol@example.com")


def test_organiser_not_listed_as_attendee_is_counted() -> None:
    """Graph lists the organiser apart from the attendees; Google lists them in both."""
    row = row_of(make_event(attendees=(Attendee("bob@example.com", "Bob"),)))
    assert (row.attendee_count, row.attendee_names) == (2, ("Alice Example", "Bob"))
    alone = row_of(make_event(organizer=None, organizer_name=None))
    assert (alone.attendee_count, alone.attendee_names) == (0, ())


def test_names_are_bounded_and_the_count_is_not() -> None:
    crowd = tuple(Attendee(f"p{i}@example.com", "N" * 1000) for i in range(MAX_ATTENDEES + 20))
    row = row_of(make_event(organizer=None, attendees=crowd))
    assert row.attendee_count == MAX_ATTENDEES + 20
    assert len(row.attendee_names) == MAX_ATTENDEES
    assert all(len(name) == MAX_NAME_CHARS for name in row.attendee_names)


# -- numeric passcodes and dial strings, per provider ----------------------------------------------
def test_zoom_invitation_gives_the_numeric_passcode_and_room_connector_dial() -> None:
    """Zoom writes an alphanumeric passcode for people and a numeric one for phones."""
    row = row_of(invitation("zoom_numeric.txt"))
    (join,) = row.links
    assert (join.provider, join.meeting_id, join.passcode) == ("zoom", "84512345678", "Tide7k")
    assert join.dial == "84512345678.903215@zoomcrc.com"
    assert row.numeric_passcode == "903215"


def test_zoom_meeting_we_made_carries_the_room_passcode() -> None:
    info = JoinInfo(
        system="zoom",
        meeting_id="81234567890",
        join_url="https://example.zoom.us/j/81234567890?pwd=T29rZW5Ub2tlbg.1",
        passcode="aB3xY9kq",
        phones=(PhoneNumber("+1 555 555 0100", "US"),),
        phone_passcode="55129043",
        sip="81234567890.55129043@zoomcrc.com",
    )
    row = row_of(made_by_us(info))
    assert row.links[0].dial == "81234567890.55129043@zoomcrc.com"
    assert row.numeric_passcode == "55129043"


def test_webex_invitation_with_a_numeric_password() -> None:
    row = row_of(invitation("webex_numeric.txt"))
    (join,) = row.links
    assert join.dial == "26345678901@acme-corp.webex.com"
    assert row.numeric_passcode == "48213579"


@pytest.mark.parametrize("locale", ["en", "de", "fr", "ja", "zh-CN"])
def test_webex_meeting_we_made_gives_its_video_system_address_and_password(locale: str) -> None:
    """The video-system password (``phoneAndVideoSystemPassword``) and the SIP address come from
    the join block we wrote, in whatever language it is written; the meeting password people
    type is alphanumeric."""
    row = row_of(made_by_us(WEBEX_MADE, locale))
    assert row.links[0].provider == "webex"
    assert row.links[0].dial == "26345678901@acme-corp.webex.com"
    assert row.numeric_passcode == "59731846"


def test_our_block_is_read_only_for_a_meeting_we_made() -> None:
    """Without our marker a block-like text is not taken as ours."""
    row = row_of(replace(made_by_us(WEBEX_MADE, "fr"), marker=None))
    assert (row.links[0].dial, row.numeric_passcode) == (None, None)


def test_webex_alphanumeric_password_alone_gives_no_numeric_passcode() -> None:
    text = (FIXTURES / "webex_numeric.txt").read_text(encoding="utf-8")
    row = row_of(make_event(description=text.replace("48213579", "Sun7Rise")))
    assert row.links[0].dial == "26345678901@acme-corp.webex.com"
    assert row.numeric_passcode is None


@pytest.mark.parametrize(
    ("fixture", "dial"),
    [
        # a named gateway address: the gateway dials the VTC conference ID itself
        ("teams_cvi_pexip.txt", "1182047733@acme-corp.onpexip.com"),
        # a numeric tenant key: conference ID first, then the key
        ("teams_cvi_cisco.txt", "0265118734.204511937@m.webex.com"),
    ],
)
def test_teams_video_conference_id_becomes_the_cvi_dial_string(fixture: str, dial: str) -> None:
    row = row_of(invitation(fixture))
    (join,) = row.links
    assert join.provider == "teams"
    assert join.dial == dial
    assert row.numeric_passcode is None  # a CVI call needs no passcode


def test_meet_gets_a_gateway_dial_only_when_one_is_configured() -> None:
    meet = Conference(
        system="meet",
        conference_id="abc-defg-hij",
        entry_points=(EntryPoint("video", "https://meet.google.com/abc-defg-hij"),),
    )
    row = row_of(make_event(conference=meet))
    (join,) = row.links
    assert join.dial is None  # the row holds no gateway: the endpoint API adds its own
    assert meet_gateway_dial(join, "{code}@meet.example.com") == "abc-defg-hij@meet.example.com"
    assert meet_gateway_dial(join, "gw.{code}@vc.example.com") == "gw.abc-defg-hij@vc.example.com"
    nickname = JoinLink("meet", "https://meet.google.com/lookup/standup")
    assert meet_gateway_dial(nickname, "{code}@meet.example.com") is None
    zoom = JoinLink("zoom", "https://example.zoom.us/j/81234567890", "81234567890")
    assert meet_gateway_dial(zoom, "{code}@meet.example.com") is None


@pytest.mark.parametrize(
    ("link", "expected"),
    [
        (JoinLink("zoom", "u", "81234567890", "aB3x", "81234567890.424242@zoomcrc.com"), "424242"),
        (JoinLink("zoom", "u", "81234567890", "424242", None), "424242"),
        (JoinLink("zoom", "u", "81234567890", "aB3x", "81234567890@zoomcrc.com"), None),
        # another meeting's dial string does not lend its passcode
        (JoinLink("zoom", "u", "81234567890", None, "99999999999.1234@zoomcrc.com"), None),
        (JoinLink("webex", "u", "26345678901", "12345678", "26345678901@a.webex.com"), "12345678"),
        (JoinLink("teams", "u", None, "Hq3tR9", "1.2@m.webex.com"), None),
        (JoinLink("zoom", "u", "81234567890", "\uff14\uff12\uff14\uff12", None), None),
    ],
)
def test_numeric_passcode_of_a_link(link: JoinLink, expected: str | None) -> None:
    assert numeric_passcode(link) == expected


def made_by_us(info: JoinInfo, locale: str = "en") -> Event:
    block = render_join_block(info, locale)
    return make_event(
        description=replace_block("Agenda: numbers.", block),
        marker=Marker(info.system, "req-1", info.meeting_id, block.digest),
    )
