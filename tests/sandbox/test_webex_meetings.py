"""Meetings create/get/update/delete of the Webex simulator, and how strictly it checks them."""

from __future__ import annotations

from typing import Any

import pytest
from tests.sandbox.test_webex_support import (
    ALICE,
    BOB,
    NOLICENCE,
    STRANGER,
    WebexClient,
    wclient,
    webex,
)
from tests.sandbox.zoom_support import Clock

from hybridcal.sandbox.webex import WebexSimulator

__all__ = ["wclient", "webex"]  # fixtures


def _envelope(body: Any) -> None:
    assert set(body) >= {"message", "errors", "trackingId"}
    assert all(set(e) == {"description"} for e in body["errors"])


async def test_create_answers_200_with_join_details(
    webex: WebexSimulator, wclient: WebexClient
) -> None:
    answer = await wclient.create(agenda="Plans", integrationTags=["hc-1"], sendEmail=False)
    assert answer.status == 200, answer.body
    body = answer.body
    assert body["meetingType"] == "meetingSeries"
    assert body["state"] == "active"
    assert body["start"] == "2030-03-05T09:00:00Z"
    assert body["end"] == "2030-03-05T09:30:00Z"
    assert body["hostEmail"] == ALICE
    assert body["hostDisplayName"] == "Alice Liddell"
    assert body["siteUrl"] == "sandbox.webex.com"
    number = body["meetingNumber"]
    assert number.isdigit()
    assert body["sipAddress"] == f"{number}@sandbox.webex.com"
    assert body["webLink"].startswith("https://sandbox.webex.com/sandbox/j.php?MTID=m")
    assert body["phoneAndVideoSystemPassword"].isdigit()
    assert len(body["phoneAndVideoSystemPassword"]) == 8
    assert body["password"]
    assert body["telephony"]["accessCode"] == number
    assert body["telephony"]["callInNumbers"][0]["tollType"] == "toll"
    assert body["telephony"]["links"][0]["rel"] == "globalCallinNumbers"
    assert body["integrationTags"] == ["hc-1"]
    assert body["agenda"] == "Plans"
    assert "recurrence" not in body
    assert "trackingid" in answer.headers
    got = await wclient.call("GET", f"/meetings/{body['id']}", params={"hostEmail": ALICE})
    assert got.status == 200
    assert got.body == body
    assert webex.operations()["meetings.create"] == 1
    assert webex.meetings(ALICE)[0]["id"] == body["id"]
    assert webex.calls("POST", "/v1/meetings")[0].host == ALICE


@pytest.mark.parametrize("missing", ["title", "start", "end"])
async def test_create_requires_title_start_end(wclient: WebexClient, missing: str) -> None:
    body = {"title": "T", "start": "2030-03-05T09:00:00Z", "end": "2030-03-05T10:00:00Z"}
    del body[missing]
    answer = await wclient.call("POST", "/meetings", json={**body, "hostEmail": ALICE})
    assert answer.status == 400
    _envelope(answer.body)
    assert answer.body["message"] == "The input parameters contain invalid items."
    assert f"{missing} is required." in answer.descriptions()


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"start": "2030-03-05T09:00:00Z", "end": "2030-03-05T09:05:00Z"}, "at least 10 minutes"),
        ({"start": "2030-03-05T09:00:00Z", "end": "2030-03-06T09:00:00Z"}, "23 hours 59"),
        ({"start": "2030-03-04T07:00:00Z", "end": "2030-03-04T07:30:00Z"}, "before the current"),
        ({"start": "2041-03-05T09:00:00Z", "end": "2041-03-05T09:30:00Z"}, "10 years"),
        ({"start": "tomorrow"}, "ISO 8601"),
        ({"start": "2030-03-05T09:00:00"}, "no offset"),
        ({"timezone": "Europe/Zurich"}, "do not match"),
        ({"timezone": "Mars/Olympus"}, "not a valid time zone"),
        ({"title": "x" * 129}, "at most 128"),
        ({"agenda": "x" * 1301}, "at most 1300"),
        ({"title": "   "}, "must not be empty"),
        ({"joinBeforeHostMinutes": 7}, "joinBeforeHostMinutes"),
        ({"integrationTags": ["a", "b", "c", "d"]}, "at most 3"),
        ({"sendemail": False}, "Unknown field 'sendemail'"),
        ({"enabledAutoRecordMeeting": "yes"}, "true or false"),
        ({"invitees": [{"displayName": "x"}]}, "email"),
        ({"siteUrl": "other.webex.com"}, "siteUrl"),
        ({"recurrence": "FREQ=HOURLY;COUNT=3"}, "FREQ"),
        ({"recurrence": "RRULE:FREQ=DAILY;COUNT=3"}, "RRULE: prefix"),
        ({"recurrence": "FREQ=DAILY;COUNT=3;UNTIL=20300310"}, "not both"),
        ({"recurrence": "FREQ=DAILY;COUNT=1827"}, "1826"),
        ({"recurrence": "FREQ=WEEKLY;BYDAY=XX"}, "BYDAY"),
        ({"recurrence": "FREQ=DAILY;UNTIL=20360101"}, "5 years"),
        ({"recurrence": "FREQ=DAILY;INTERVAL=0"}, "INTERVAL"),
        ({"password": "abc"}, "password validation failed"),
        ({"password": "abcdefgh"}, "a digit"),
        ({"scheduledType": "personalRoomMeeting", "integrationTags": ["x"]}, "personal room"),
    ],
)
async def test_create_refuses_what_webex_refuses(
    wclient: WebexClient, change: dict[str, Any], fragment: str
) -> None:
    answer = await wclient.create(**change)
    assert answer.status == 400, answer.body
    _envelope(answer.body)
    assert any(fragment in d for d in answer.descriptions()), answer.descriptions()


async def test_local_time_with_timezone_and_seconds_dropped(wclient: WebexClient) -> None:
    answer = await wclient.create(
        start="2030-03-05T10:00:59", end="2030-03-05T10:30:30+01:00", timezone="Europe/Zurich"
    )
    assert answer.status == 200, answer.body
    assert answer.body["start"] == "2030-03-05T09:00:00Z"
    assert answer.body["end"] == "2030-03-05T09:30:00Z"
    assert answer.body["timezone"] == "Europe/Zurich"
    shown = await wclient.call(
        "GET",
        f"/meetings/{answer.body['id']}",
        params={"hostEmail": ALICE},
        headers={"timezone": "Europe/Zurich"},
    )
    assert shown.body["start"] == "2030-03-05T10:00:00+01:00"


async def test_every_problem_is_named_in_one_answer(wclient: WebexClient) -> None:
    answer = await wclient.call("POST", "/meetings", json={"hostEmail": ALICE, "colour": 1})
    assert answer.status == 400
    assert set(answer.descriptions()) == {
        "Unknown field 'colour'.",
        "title is required.",
        "start is required.",
        "end is required.",
    }


async def test_body_must_be_a_json_object(wclient: WebexClient) -> None:
    answer = await wclient.call("POST", "/meetings", json=["not", "an", "object"])
    assert answer.status == 400
    answer = await wclient.call(
        "POST", "/meetings", data="title=x", headers={"Content-Type": "text/plain"}
    )
    assert answer.status == 400


async def test_hosts_must_be_known_and_licensed(
    webex: WebexSimulator, wclient: WebexClient
) -> None:
    for host in (NOLICENCE, STRANGER):
        answer = await wclient.create(host=host)
        assert answer.status == 404
        _envelope(answer.body)
        assert answer.descriptions() == ["Cannot find the data"]
    answer = await wclient.create(host="")
    assert answer.status == 404  # a Service App hosts nothing itself
    assert webex.meetings() == []
    webex.set_licensed(NOLICENCE, licensed=True)
    assert (await wclient.create(host=NOLICENCE)).status == 200


async def test_generated_password_meets_the_site_rules(
    webex: WebexSimulator, wclient: WebexClient
) -> None:
    webex.set_password_rules(min_length=12, require_mixed_case=True, require_special=True)
    answer = await wclient.create()
    password = answer.body["password"]
    assert len(password) >= 12
    assert any(c.islower() for c in password)
    assert any(c.isupper() for c in password)
    refused = await wclient.create(password="Abcdefgh1234")
    assert refused.status == 400
    assert "a special character" in refused.descriptions()[0]


async def test_a_meeting_is_only_found_with_its_host(wclient: WebexClient) -> None:
    made = (await wclient.create()).body
    path = f"/meetings/{made['id']}"
    assert (await wclient.call("GET", path)).status == 404
    assert (await wclient.call("GET", path, params={"hostEmail": BOB})).status == 404
    assert (await wclient.call("GET", "/meetings/0123", params={"hostEmail": ALICE})).status == 404


async def test_delete_answers_204_then_404(webex: WebexSimulator, wclient: WebexClient) -> None:
    made = (await wclient.create()).body
    path = f"/meetings/{made['id']}"
    params = {"hostEmail": ALICE, "sendEmail": "false"}
    answer = await wclient.call("DELETE", path, params=params)
    assert answer.status == 204
    assert answer.text == ""
    assert (await wclient.call("DELETE", path, params=params)).status == 404
    assert (await wclient.call("GET", path, params={"hostEmail": ALICE})).status == 404
    assert webex.meetings() == []
    assert webex.meetings(include_deleted=True)[0]["deleted"] is True


async def test_put_replaces_the_whole_meeting(wclient: WebexClient) -> None:
    made = (
        await wclient.create(
            agenda="Keep?", enabledAutoRecordMeeting=True, integrationTags=["hc-1"]
        )
    ).body
    path = f"/meetings/{made['id']}"
    partial = await wclient.call("PUT", path, json={"hostEmail": ALICE, "title": "Only title"})
    assert partial.status == 400
    assert set(partial.descriptions()) == {
        "password is required.",
        "start is required.",
        "end is required.",
    }
    full = {
        "hostEmail": ALICE,
        "title": "Replaced",
        "password": made["password"],
        "start": "2030-03-06T09:00:00Z",
        "end": "2030-03-06T10:00:00Z",
    }
    answer = await wclient.call("PUT", path, json=full)
    assert answer.status == 200, answer.body
    body = answer.body
    assert body["id"] == made["id"]
    assert body["meetingNumber"] == made["meetingNumber"]
    assert body["title"] == "Replaced"
    assert body["agenda"] == ""  # not sent: back to the default
    assert body["enabledAutoRecordMeeting"] is False
    assert "integrationTags" not in body
    assert body["start"] == "2030-03-06T09:00:00Z"


async def test_patch_changes_only_what_is_sent(wclient: WebexClient) -> None:
    made = (await wclient.create(agenda="Keep", enabledAutoRecordMeeting=True)).body
    path = f"/meetings/{made['id']}"
    answer = await wclient.call("PATCH", path, json={"hostEmail": ALICE, "title": "New"})
    assert answer.status == 200, answer.body
    assert answer.body["title"] == "New"
    assert answer.body["agenda"] == "Keep"
    assert answer.body["enabledAutoRecordMeeting"] is True
    cleared = await wclient.call("PATCH", path, json={"hostEmail": ALICE, "agenda": None})
    assert cleared.body["agenda"] == ""
    refused = await wclient.call("PATCH", path, json={"hostEmail": ALICE, "title": None})
    assert refused.status == 400
    past = await wclient.call(
        "PATCH",
        path,
        json={"hostEmail": ALICE, "start": "2030-03-01T09:00:00Z", "end": "2030-03-01T10:00:00Z"},
    )
    assert past.status == 400


async def test_no_change_while_in_progress(webex: WebexSimulator, wclient: WebexClient) -> None:
    made = (await wclient.create()).body
    webex.set_in_progress(made["id"])
    path = f"/meetings/{made['id']}"
    answer = await wclient.call("PATCH", path, json={"hostEmail": ALICE, "title": "x"})
    assert answer.status == 409
    assert answer.descriptions() == ["Meeting is in progress."]
    assert (await wclient.call("DELETE", path, params={"hostEmail": ALICE})).status == 409


async def test_webinars_are_refused_and_personal_room_meetings_frozen(
    wclient: WebexClient,
) -> None:
    assert (await wclient.create(scheduledType="webinar")).status == 403
    made = (await wclient.create(scheduledType="personalRoomMeeting")).body
    answer = await wclient.call(
        "PATCH", f"/meetings/{made['id']}", json={"hostEmail": ALICE, "title": "x"}
    )
    assert answer.status == 400


async def test_unknown_routes_and_methods(wclient: WebexClient, clock: Clock) -> None:
    assert (await wclient.call("GET", "/nothing")).status == 404
    assert (await wclient.call("POST", "/meetings/abc", json={})).status == 405
