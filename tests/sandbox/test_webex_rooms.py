"""Personal rooms and sites in the Webex simulator (meeting preferences, admin callers)."""

from __future__ import annotations

from tests.sandbox.test_webex_support import (
    ALICE,
    NOLICENCE,
    NOROOM,
    STRANGER,
    WebexClient,
    wclient,
    webex,
)

from hybridcal.sandbox.webex import WebexSimulator

__all__ = ["wclient", "webex"]  # fixtures

ROOM = "/meetingPreferences/personalMeetingRoom"


async def test_personal_room_of_a_host(webex: WebexSimulator, wclient: WebexClient) -> None:
    answer = await wclient.call("GET", ROOM, params={"userEmail": ALICE})
    assert answer.status == 200, answer.body
    body = answer.body
    assert body["topic"] == "Alice Liddell's Personal Room"
    assert body["personalMeetingRoomLink"] == "https://sandbox.webex.com/meet/alice"
    assert body["sipAddress"] == ALICE  # read it; it is not built from the link
    pin = body["hostPin"]
    assert len(pin) == 4
    assert pin.isdigit()
    telephony = body["telephony"]
    assert telephony["accessCode"].isdigit()
    assert telephony["callInNumbers"]
    assert webex.meetings() == []  # nothing is created
    assert webex.operations()["preferences.personalMeetingRoom"] == 1


async def test_personal_room_refusals(wclient: WebexClient) -> None:
    for email in (NOROOM, NOLICENCE, STRANGER):
        answer = await wclient.call("GET", ROOM, params={"userEmail": email})
        assert answer.status == 404, email
    assert (await wclient.call("GET", ROOM)).status == 404  # the app has no room itself
    other_site = await wclient.call(
        "GET", ROOM, params={"userEmail": ALICE, "siteUrl": "elsewhere.webex.com"}
    )
    assert other_site.status == 404


async def test_call_in_numbers_follow_the_site(webex: WebexSimulator, wclient: WebexClient) -> None:
    webex.set_call_in_numbers([])
    answer = await wclient.call("GET", ROOM, params={"userEmail": ALICE})
    assert answer.body["telephony"]["callInNumbers"] == []
    made = await wclient.create()
    assert made.body["telephony"]["callInNumbers"] == []


async def test_sites_of_a_user(wclient: WebexClient) -> None:
    answer = await wclient.call("GET", "/meetingPreferences/sites", params={"userEmail": ALICE})
    assert answer.body == {"sites": [{"siteUrl": "sandbox.webex.com", "default": True}]}
