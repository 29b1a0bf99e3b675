"""The device API's fields for room systems: attendees where allowed, keypad passcodes, dial
strings (Meet through a gateway), and the old fields exactly as before."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
from tests.unit.test_endpoint_api import (
    NOW,
    OTHER,
    ROOM,
    TEAMS,
    ZOOM,
    Clock,
    Harness,
    entry,
    make_harness,
)

from hybridcal.core.model import JoinLink
from hybridcal.daemon.devices import issue_device
from hybridcal.daemon.endpoint_api import PRIVATE_TITLE, EndpointApi
from hybridcal.daemon.metrics import Metrics

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

START = NOW + timedelta(hours=1)
PEOPLE: dict[str, Any] = {"attendee_count": 2, "attendee_names": ("Alice", "bob@example.com")}
MEET = JoinLink("meet", "https://meet.google.com/abc-defg-hij", "abc-defg-hij")
# every key a client of representation 1 knew, meeting and join target
OLD_MEETING_KEYS = {
    "id",
    "title",
    "start",
    "end",
    "all_day",
    "organizer",
    "location",
    "private",
    "status",
    "join",
    "links",
    "obtp",
}
OLD_JOIN_KEYS = {"provider", "url", "meeting_id", "passcode", "dial"}


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def metrics() -> Metrics:
    return Metrics(process_metrics=False)


@pytest.fixture
async def harness(tmp_path: Path, clock: Clock, metrics: Metrics) -> AsyncIterator[Harness]:
    h = await make_harness(tmp_path / "store.db", clock, metrics)
    try:
        yield h
    finally:
        await h.close()


async def only_meeting(h: Harness, calendar: str = ROOM) -> dict[str, Any]:
    _, token = await h.register(calendar)
    status, data, _ = await h.get(token)
    assert status == 200
    assert data is not None
    (meeting,) = data["meetings"]
    assert isinstance(meeting, dict)
    return meeting


async def test_count_and_keypad_passcode_by_default_names_off(harness: Harness) -> None:
    zoom = JoinLink("zoom", ZOOM.url, ZOOM.meeting_id, "aB3xY9", ZOOM.dial)
    await harness.sync(
        ROOM, entry("m", START, links=(zoom, TEAMS), numeric_passcode="424242", **PEOPLE)
    )
    meeting = await only_meeting(harness)
    assert meeting["attendee_count"] == 2
    assert meeting["attendee_names"] is None
    assert meeting["join"] == {**zoom.to_json(), "numeric_passcode": "424242"}
    assert meeting["join"]["dial"] == "123456789.424242@zoomcrc.com"
    # the list of every link repeats no passcode, numeric or not
    assert [set(link) for link in meeting["links"]] == [OLD_JOIN_KEYS - {"passcode"}] * 2


async def test_old_fields_are_unchanged(harness: Harness) -> None:
    """A client of the first representation finds every field it knew, with the same value."""
    await harness.sync(ROOM, entry("m", START, links=(ZOOM, TEAMS), **PEOPLE))
    meeting = await only_meeting(harness)
    assert set(meeting) == OLD_MEETING_KEYS | {"attendee_count", "attendee_names"}
    assert set(meeting["join"]) == OLD_JOIN_KEYS | {"numeric_passcode"}
    assert {k: meeting["join"][k] for k in OLD_JOIN_KEYS} == ZOOM.to_json()
    assert meeting["organizer"] == {"email": "alice@example.com", "name": "Alice"}
    assert meeting["links"][1] == {
        "provider": "teams",
        "url": TEAMS.url,
        "meeting_id": None,
        "dial": None,
    }
    assert (meeting["title"], meeting["location"]) == ("Meeting m", "Room 1")


@pytest.mark.parametrize(
    ("settings", "room_sees", "other_sees"),
    [
        ({"attendee_names": "off"}, False, False),
        ({"attendee_names": "all"}, True, True),
        (
            {"attendee_names": "rooms_listed", "attendee_name_rooms": ["ROOM-1@example.com"]},
            True,
            False,
        ),
    ],
)
async def test_names_only_where_the_admin_allows(
    tmp_path: Path,
    clock: Clock,
    metrics: Metrics,
    settings: dict[str, Any],
    room_sees: bool,
    other_sees: bool,
) -> None:
    h = await make_harness(tmp_path / "s.db", clock, metrics, **settings)
    try:
        await h.sync(ROOM, entry("m", START, **PEOPLE))
        await h.sync(OTHER, entry("o", START, calendar=OTHER, **PEOPLE))
        for calendar, sees in ((ROOM, room_sees), (OTHER, other_sees)):
            meeting = await only_meeting(h, calendar)
            assert meeting["attendee_count"] == 2
            assert meeting["attendee_names"] == (["Alice", "bob@example.com"] if sees else None)
    finally:
        await h.close()


async def test_private_meeting_hides_names_with_its_title(
    tmp_path: Path, clock: Clock, metrics: Metrics
) -> None:
    for hide in (True, False):
        h = await make_harness(
            tmp_path / f"{hide}.db", clock, metrics, attendee_names="all", hide_private_titles=hide
        )
        try:
            await h.sync(ROOM, entry("p", START, private=True, title="Board", **PEOPLE))
            meeting = await only_meeting(h)
            assert meeting["title"] == (PRIVATE_TITLE if hide else "Board")
            assert meeting["attendee_count"] == 2  # a number names nobody
            assert meeting["attendee_names"] == (None if hide else ["Alice", "bob@example.com"])
            assert meeting["join"]["numeric_passcode"] == "424242"  # the room can still join
        finally:
            await h.close()


async def test_row_stored_before_the_fields_existed(
    tmp_path: Path, clock: Clock, metrics: Metrics
) -> None:
    """No count and no names are known; the keypad passcode is what the join link tells."""
    h = await make_harness(tmp_path / "s.db", clock, metrics, attendee_names="all")
    try:
        await h.sync(ROOM, entry("m", START))
        meeting = await only_meeting(h)
        assert (meeting["attendee_count"], meeting["attendee_names"]) == (None, None)
        assert meeting["join"]["numeric_passcode"] == "424242"
    finally:
        await h.close()


async def test_meet_dial_through_the_configured_gateway(
    tmp_path: Path, clock: Clock, metrics: Metrics
) -> None:
    for gateway, dial in (
        (None, None),
        ("{code}@meet.example.com", "abc-defg-hij@meet.example.com"),
    ):
        h = await make_harness(tmp_path / f"{dial}.db", clock, metrics, meet_sip_gateway=gateway)
        try:
            await h.sync(ROOM, entry("m", START, links=(MEET, ZOOM)))
            meeting = await only_meeting(h)
            assert meeting["join"]["dial"] == dial
            assert meeting["join"]["numeric_passcode"] is None
            assert [link["dial"] for link in meeting["links"]] == [dial, ZOOM.dial]
        finally:
            await h.close()


async def test_etag_follows_the_new_fields(tmp_path: Path, clock: Clock, metrics: Metrics) -> None:
    h = await make_harness(tmp_path / "s.db", clock, metrics, attendee_names="all")
    try:
        _, token = await h.register(ROOM)
        await h.sync(ROOM, entry("m", START, **PEOPLE))
        _, _, first = await h.get(token)
        more: dict[str, Any] = {
            "attendee_count": 3,
            "attendee_names": ("Alice", "bob@example.com", "Carol"),
        }
        await h.sync(ROOM, entry("m", START, **more))
        status, data, second = await h.get(token, headers={"If-None-Match": first["ETag"]})
        assert status == 200
        assert data is not None
        assert data["meetings"][0]["attendee_names"] == ["Alice", "bob@example.com", "Carol"]
        assert second["ETag"] != first["ETag"]
        status, _, _ = await h.get(token, headers={"If-None-Match": second["ETag"]})
        assert status == 304
    finally:
        await h.close()


async def test_other_settings_give_other_etags(
    tmp_path: Path, clock: Clock, metrics: Metrics
) -> None:
    """The same rows for the same device under other name or gateway settings (after a
    restart) must not match a tag the device remembers from before; the same settings do."""
    issued = issue_device(ROOM, "panel", now=NOW)
    tags: list[str] = []
    settings: dict[str, Any]
    for settings in (
        {},
        {},
        {"attendee_names": "all"},
        {"attendee_names": "rooms_listed", "attendee_name_rooms": ["room-2@example.com"]},
        {"meet_sip_gateway": "{code}@meet.example.com"},
    ):
        h = await make_harness(tmp_path / f"{len(tags)}.db", clock, metrics, **settings)
        try:
            await h.store.add_device(issued.device)
            await h.sync(ROOM, entry("m", START, links=(MEET,), **PEOPLE))
            _, _, headers = await h.get(issued.token)
            tags.append(headers["ETag"])
        finally:
            await h.close()
    unchanged, same, names, not_listed, gateway = tags
    assert same == unchanged
    assert not_listed == unchanged  # names allowed elsewhere only: this answer is the same
    assert len({unchanged, names, gateway}) == 3


def test_constructor_rejects_bad_new_settings(clock: Clock, metrics: Metrics) -> None:
    base: dict[str, Any] = {
        "now": clock,
        "obtp_lead_minutes": 5,
        "hide_tentative": False,
        "hide_private_titles": True,
        "max_window_days": 14,
    }
    with pytest.raises(ValueError, match="attendee_names"):
        EndpointApi(None, metrics, **base, attendee_names="some")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="meet_sip_gateway"):
        EndpointApi(None, metrics, **base, meet_sip_gateway="gw.example.com")  # type: ignore[arg-type]
