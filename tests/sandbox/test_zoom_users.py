"""Users and meeting_security settings of the Zoom simulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import quote

import pytest
from tests.sandbox.zoom_support import ALICE, BOB, INVITED, ZoomClient, client_for, started

from hybridcal.sandbox.zoom import ZoomSimulator

PASSWORD_RULES = {
    "length",
    "have_letter",
    "have_number",
    "have_special_character",
    "have_upper_and_lower_characters",
    "only_allow_numeric",
    "consecutive_characters_length",
    "weak_enhance_detection",
}


@pytest.fixture
async def zoom() -> AsyncIterator[ZoomSimulator]:
    async with started() as sim:
        yield sim


@pytest.fixture
async def client(zoom: ZoomSimulator) -> AsyncIterator[ZoomClient]:
    async with client_for(zoom, ["user:read:admin", "account:read:admin"]) as made:
        yield made


async def test_user_by_email_case_insensitive_or_id(
    zoom: ZoomSimulator, client: ZoomClient
) -> None:
    by_email = await client.call("GET", f"/users/{quote('Alice@Example.COM')}")
    assert by_email.status == 200
    user = by_email.body
    assert user["email"] == ALICE
    assert user["first_name"] == "Alice"
    assert user["last_name"] == "Liddell"
    assert user["type"] == 2
    assert user["status"] == "active"
    assert user["timezone"] == "Europe/Zurich"
    assert user["account_id"] == zoom.account_id
    by_id = await client.call("GET", f"/users/{user['id']}")
    assert by_id.body == user
    assert zoom.user(ALICE) == user


async def test_pending_user_is_visible_with_its_status(client: ZoomClient) -> None:
    answer = await client.call("GET", f"/users/{INVITED}")
    assert answer.body["status"] == "pending"


@pytest.mark.parametrize("ref", ["nobody@example.com", "me", "Zx9"])
async def test_unknown_user_is_404_code_1001(client: ZoomClient, ref: str) -> None:
    answer = await client.call("GET", f"/users/{ref}")
    assert answer.status == 404
    assert answer.body == {"code": 1001, "message": f"User does not exist: {ref}."}


async def test_user_settings_meeting_security_shape(client: ZoomClient) -> None:
    answer = await client.call(
        "GET", f"/users/{ALICE}/settings", params={"option": "meeting_security"}
    )
    assert answer.status == 200
    security = answer.body["meeting_security"]
    assert security["auto_security"] is True
    assert security["meeting_password"] is True
    assert security["require_password_for_scheduled_meeting"] is True
    assert security["waiting_room"] is False
    assert set(security["meeting_password_requirement"]) == PASSWORD_RULES
    assert security["meeting_password_requirement"]["length"] == 6


async def test_user_rules_override_the_account_only_for_that_user(
    zoom: ZoomSimulator, client: ZoomClient
) -> None:
    zoom.set_password_requirement(length=8, have_number=True)
    zoom.set_password_requirement(user=BOB, have_special_character=True)
    query = {"option": "meeting_security"}
    account = await client.call("GET", "/accounts/me/settings", params=query)
    alice = await client.call("GET", f"/users/{ALICE}/settings", params=query)
    bob = await client.call("GET", f"/users/{BOB}/settings", params=query)
    rules = [
        a.body["meeting_security"]["meeting_password_requirement"] for a in (account, alice, bob)
    ]
    assert rules[0] == rules[1]
    assert rules[0]["length"] == 8
    assert rules[0]["have_special_character"] is False
    assert rules[2]["have_special_character"] is True
    assert rules[2]["length"] == 8


async def test_settings_without_option_and_unmodelled_option(client: ZoomClient) -> None:
    full = await client.call("GET", f"/users/{ALICE}/settings")
    assert set(full.body) == {"schedule_meeting", "meeting_security"}
    other = await client.call("GET", f"/users/{ALICE}/settings", params={"option": "recording"})
    assert other.status == 400
    assert other.code == 300
    assert other.fields() == ["option"]


async def test_other_account_is_refused(client: ZoomClient) -> None:
    answer = await client.call("GET", "/accounts/elsewhere/settings")
    assert answer.status == 404


def test_python_api_validates_input(zoom: ZoomSimulator) -> None:
    with pytest.raises(ValueError, match="exists"):
        zoom.add_user(ALICE.upper())
    with pytest.raises(ValueError, match="type"):
        zoom.add_user("x@example.com", type=3)
    with pytest.raises(ValueError, match="time zone"):
        zoom.add_user("x@example.com", timezone="Mars/Olympus")
    with pytest.raises(ValueError, match="unknown passcode rule"):
        zoom.set_password_requirement(lenght=8)
    with pytest.raises(ValueError, match="only_allow_numeric"):
        zoom.set_password_requirement(only_allow_numeric=True, have_letter=True)
    with pytest.raises(ValueError, match="consecutive"):
        zoom.set_password_requirement(consecutive_characters_length=2)
    with pytest.raises(KeyError):
        zoom.set_password_requirement(user="nobody@example.com", length=7)
    with pytest.raises(KeyError):
        zoom.grant_scheduling_privilege(ALICE, "nobody@example.com")
    with pytest.raises(ValueError, match="dial-in"):
        zoom.set_dial_in_numbers([{"country": "CH"}])
