"""Create, get, update and delete meetings on the Zoom simulator, with its strict checks."""

from __future__ import annotations

import re
from typing import Any

import pytest
from tests.sandbox.zoom_support import (
    ALICE,
    BASIC,
    BOB,
    CAROL,
    GONE,
    INVITED,
    ZoomClient,
)

from hybridcal.sandbox.zoom import ZoomSimulator


async def test_create_answers_201_with_the_full_meeting(
    zoom: ZoomSimulator, client: ZoomClient
) -> None:
    answer = await client.create(agenda="notes", password="Ab3xyz", recurrence={"type": 1})
    assert answer.status == 201
    m = answer.body
    assert isinstance(m["id"], int)
    assert 10 <= len(str(m["id"])) <= 11
    assert len(m["uuid"]) == 24
    assert m["uuid"].endswith("==")
    alice = zoom.user(ALICE)
    assert alice is not None
    assert m["host_id"] == alice["id"]
    assert m["host_email"] == ALICE
    assert "assistant_id" not in m
    assert (m["topic"], m["type"], m["status"]) == ("Weekly sync", 2, "waiting")
    assert (m["start_time"], m["duration"], m["timezone"]) == (
        "2030-03-05T09:00:00Z",
        30,
        "Europe/Zurich",
    )
    assert m["agenda"] == "notes"
    assert m["created_at"] == "2030-03-04T08:00:00Z"
    assert re.fullmatch(rf"https://sandbox\.zoom\.us/s/{m['id']}\?zak=\S+", m["start_url"])
    assert m["join_url"] == f"https://sandbox.zoom.us/j/{m['id']}?pwd={m['encrypted_password']}"
    assert m["password"] == "Ab3xyz"
    assert m["h323_password"].isdigit()
    assert m["pstn_password"] == m["h323_password"]
    assert m["pre_schedule"] is False
    assert "occurrences" not in m  # recurrence is ignored for type 2
    assert "recurrence" not in m
    settings = m["settings"]
    assert settings["join_before_host"] is False
    assert settings["waiting_room"] is False
    assert settings["alternative_hosts"] == ""
    assert settings["global_dial_in_countries"] == ["CH", "DE", "US"]
    assert settings["global_dial_in_numbers"][0]["number"] == "+41 43 210 71 08"
    fetched = await client.call("GET", f"/meetings/{m['id']}")
    assert fetched.body == m
    assert zoom.meeting(m["id"]) == m
    assert zoom.calls("POST", "/v2/users")[0].user == ALICE


async def test_numeric_passcode_is_its_own_pstn_passcode(client: ZoomClient) -> None:
    answer = await client.create(password="739164")
    assert answer.body["h323_password"] == "739164"


async def test_ids_are_unique(client: ZoomClient) -> None:
    made = [await client.create() for _ in range(15)]
    assert len({a.body["id"] for a in made}) == 15
    assert len({a.body["uuid"] for a in made}) == 15


async def test_local_start_time_uses_timezone_or_the_host_zone(client: ZoomClient) -> None:
    zurich = await client.create(start_time="2030-03-05T10:00:00", timezone="Europe/Zurich")
    assert zurich.body["start_time"] == "2030-03-05T09:00:00Z"
    bob = await client.create(BOB, start_time="2030-03-05T10:00:00")
    assert bob.body["start_time"] == "2030-03-05T15:00:00Z"
    assert bob.body["timezone"] == "America/New_York"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"topic": "x" * 201}, "topic"),
        ({"topic": 5}, "topic"),
        ({"agenda": "x" * 2001}, "agenda"),
        ({"type": 5}, "type"),
        ({"type": "2"}, "type"),
        ({"duration": 0}, "duration"),
        ({"duration": "30"}, "duration"),
        ({"duration": True}, "duration"),
        ({"duration": 1441}, "duration"),
        ({"start_time": "2030-03-05 09:00"}, "start_time"),
        ({"start_time": "2030-03-05T09:00:00+01:00"}, "start_time"),
        ({"start_time": "2030-02-30T09:00:00Z"}, "start_time"),
        ({"timezone": "Mars/Base"}, "timezone"),
        ({"settings": []}, "settings"),
        ({"settings": {"audio": "loud"}}, "settings.audio"),
        ({"settings": {"join_before_host": "yes"}}, "settings.join_before_host"),
        ({"settings": {"approval_type": [1]}}, "settings.approval_type"),
        ({"schedule_for": 7}, "schedule_for"),
    ],
)
async def test_bad_fields_are_300_naming_the_field(
    zoom: ZoomSimulator, client: ZoomClient, body: dict[str, Any], field: str
) -> None:
    answer = await client.create(**body)
    assert answer.status == 400
    assert answer.body["code"] == 300
    assert answer.body["message"] == "Validation Failed."
    assert answer.fields() == [field]
    assert zoom.meetings() == []


async def test_every_bad_field_is_reported_at_once(client: ZoomClient) -> None:
    answer = await client.create(topic=1, duration=-1, timezone="x")
    assert sorted(answer.fields()) == ["duration", "timezone", "topic"]


async def test_unknown_fields_are_ignored(client: ZoomClient) -> None:
    answer = await client.create(colour="blue", settings={"sparkles": True})
    assert answer.status == 201
    assert "sparkles" not in answer.body["settings"]


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (b"not json", "application/json"),
        (b"[1, 2]", "application/json"),
        (b"", "application/json"),
        (b'{"topic": "x"}', "text/plain"),
    ],
)
async def test_body_must_be_a_json_object(
    client: ZoomClient, data: bytes, content_type: str
) -> None:
    answer = await client.call(
        "POST", f"/users/{ALICE}/meetings", data=data, headers={"Content-Type": content_type}
    )
    assert answer.status == 400
    assert answer.body == {"code": 300, "message": "Request Body should be a valid JSON object."}


async def test_start_time_is_required_for_scheduled_meetings(client: ZoomClient) -> None:
    answer = await client.call("POST", f"/users/{ALICE}/meetings", json={"type": 2, "topic": "t"})
    assert answer.fields() == ["start_time"]
    floating = await client.call("POST", f"/users/{ALICE}/meetings", json={"type": 3})
    assert floating.status == 201
    assert "start_time" not in floating.body
    assert "occurrences" not in floating.body


async def test_get_unknown_or_malformed_meeting_is_404_code_3001(client: ZoomClient) -> None:
    for ref in ("81234567890", "abc", "99999999999999999999999"):
        answer = await client.call("GET", f"/meetings/{ref}")
        assert answer.status == 404
        assert answer.body == {"code": 3001, "message": f"Meeting does not exist: {ref}."}


async def test_patch_answers_204_with_an_empty_body(
    zoom: ZoomSimulator, client: ZoomClient
) -> None:
    created = (await client.create(settings={"join_before_host": True})).body
    answer = await client.call(
        "PATCH",
        f"/meetings/{created['id']}",
        json={
            "topic": "Renamed",
            "agenda": "new agenda",
            "start_time": "2030-03-06T12:00:00",
            "duration": 45,
            "settings": {"waiting_room": True},
        },
    )
    assert answer.status == 204
    assert answer.raw == b""
    assert "Content-Type" not in answer.headers
    after = zoom.meeting(created["id"])
    assert after is not None
    assert (after["topic"], after["agenda"], after["duration"]) == ("Renamed", "new agenda", 45)
    assert after["start_time"] == "2030-03-06T11:00:00Z"
    assert after["settings"]["waiting_room"] is True
    assert after["settings"]["join_before_host"] is True  # settings merge
    assert after["password"] == created["password"]
    assert after["join_url"] == created["join_url"]


async def test_patch_validates_like_create(zoom: ZoomSimulator, client: ZoomClient) -> None:
    created = (await client.create()).body
    answer = await client.call("PATCH", f"/meetings/{created['id']}", json={"duration": "long"})
    assert answer.fields() == ["duration"]
    instant = await client.call("PATCH", f"/meetings/{created['id']}", json={"type": 1})
    assert instant.fields() == ["type"]
    to_series = await client.call("PATCH", f"/meetings/{created['id']}", json={"type": 8})
    assert to_series.fields() == ["recurrence"]
    assert zoom.meeting(created["id"]) == created


async def test_delete_answers_204_then_the_meeting_is_gone(
    zoom: ZoomSimulator, client: ZoomClient
) -> None:
    created = (await client.create()).body
    path = f"/meetings/{created['id']}"
    answer = await client.call("DELETE", path, params={"schedule_for_reminder": "false"})
    assert answer.status == 204
    assert answer.raw == b""
    for method, body in (("GET", None), ("PATCH", {"topic": "x"}), ("DELETE", None)):
        again = await client.call(method, path, json=body)
        assert again.status == 404
        assert again.code == 3001
    assert zoom.meeting(created["id"]) is None
    assert zoom.meetings(ALICE) == []
    gone = zoom.meetings(ALICE, include_deleted=True)
    assert [m["status"] for m in gone] == ["deleted"]


async def test_delete_flags_must_be_booleans(client: ZoomClient) -> None:
    created = (await client.create()).body
    answer = await client.call(
        "DELETE", f"/meetings/{created['id']}", params={"schedule_for_reminder": "maybe"}
    )
    assert answer.fields() == ["schedule_for_reminder"]


async def test_schedule_for_needs_privilege(zoom: ZoomSimulator, client: ZoomClient) -> None:
    refused = await client.create(ALICE, schedule_for=BOB)
    assert refused.status == 400
    assert refused.body == {
        "code": 1133,
        "message": f"No scheduling privilege. {ALICE} cannot schedule meetings for {BOB}.",
    }
    assert zoom.daily_count(BOB) == 0
    zoom.grant_scheduling_privilege(ALICE, BOB)
    made = await client.create(ALICE, schedule_for=BOB)
    assert made.status == 201
    alice, bob = zoom.user(ALICE), zoom.user(BOB)
    assert alice is not None
    assert bob is not None
    assert made.body["host_email"] == BOB
    assert made.body["host_id"] == bob["id"]
    assert made.body["assistant_id"] == alice["id"]
    assert made.body["timezone"] == "America/New_York"
    assert (zoom.daily_count(BOB), zoom.daily_count(ALICE)) == (1, 0)
    assert [m["id"] for m in zoom.meetings(BOB)] == [made.body["id"]]


@pytest.mark.parametrize(
    ("path_user", "schedule_for", "status", "code"),
    [
        ("nobody@example.com", None, 404, 1001),
        (GONE, None, 400, 1120),
        (INVITED, None, 400, 1120),
        (BASIC, None, 400, 1122),
        (ALICE, "nobody@example.com", 404, 1001),
        (ALICE, GONE, 400, 1120),
    ],
)
async def test_hosts_must_be_active_licensed_users(
    zoom: ZoomSimulator,
    client: ZoomClient,
    path_user: str,
    schedule_for: str | None,
    status: int,
    code: int,
) -> None:
    extra = {} if schedule_for is None else {"schedule_for": schedule_for}
    answer = await client.create(path_user, **extra)
    assert (answer.status, answer.code) == (status, code)
    assert zoom.meetings() == []


async def test_patch_schedule_for_moves_the_meeting(
    zoom: ZoomSimulator, client: ZoomClient
) -> None:
    created = (await client.create()).body
    path = f"/meetings/{created['id']}"
    refused = await client.call("PATCH", path, json={"schedule_for": CAROL})
    assert refused.code == 1133
    zoom.grant_scheduling_privilege(ALICE, CAROL)
    assert (await client.call("PATCH", path, json={"schedule_for": CAROL})).status == 204
    moved = zoom.meeting(created["id"])
    assert moved is not None
    assert moved["host_email"] == CAROL
    assert moved["assistant_id"] == created["host_id"]


async def test_alternative_hosts_must_be_licensed_users(client: ZoomClient) -> None:
    ok = await client.create(settings={"alternative_hosts": "Bob@example.com; carol@example.com"})
    assert ok.status == 201
    assert ok.body["settings"]["alternative_hosts"] == f"{BOB};{CAROL}"
    comma = await client.create(settings={"alternative_hosts": f"{BOB},{CAROL}"})
    assert comma.body["settings"]["alternative_hosts"] == f"{BOB};{CAROL}"
    for bad in ("nobody@example.com", BASIC, GONE):
        answer = await client.create(settings={"alternative_hosts": f"{BOB};{bad}"})
        assert answer.status == 400
        assert answer.body == {"code": 1114, "message": f"Invalid alternative host: {bad}"}


async def test_dial_in_numbers_follow_the_account_and_audio(
    zoom: ZoomSimulator, client: ZoomClient
) -> None:
    only_ch = await client.create(settings={"global_dial_in_countries": ["CH"]})
    assert [n["country"] for n in only_ch.body["settings"]["global_dial_in_numbers"]] == ["CH"]
    voip = await client.create(settings={"audio": "voip"})
    assert voip.body["settings"]["global_dial_in_numbers"] == []
    zoom.set_dial_in_numbers([])
    none = await client.create()
    assert none.body["settings"]["global_dial_in_numbers"] == []
    assert none.body["settings"]["global_dial_in_countries"] == []


async def test_join_url_without_embedded_passcode(zoom: ZoomSimulator, client: ZoomClient) -> None:
    zoom.set_meeting_security(embed_password_in_join_link=False)
    answer = await client.create()
    assert answer.body["join_url"] == f"https://sandbox.zoom.us/j/{answer.body['id']}"
    assert answer.body["password"]


async def test_instant_meeting_starts_now(client: ZoomClient) -> None:
    answer = await client.call("POST", f"/users/{ALICE}/meetings", json={"type": 1})
    assert answer.status == 201
    assert answer.body["start_time"] == "2030-03-04T08:00:00Z"
