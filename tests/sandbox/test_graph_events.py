"""Events: a person's meeting and its copies, GET/$select/$expand, PATCH with If-Match, DELETE."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph.generated.models.body_type import BodyType
from msgraph.generated.models.event import Event
from msgraph.generated.models.item_body import ItemBody
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.single_value_legacy_extended_property import (
    SingleValueLegacyExtendedProperty,
)
from msgraph.generated.users.item.events.item.event_item_request_builder import (
    EventItemRequestBuilder,
)
from tests.sandbox.graph_support import (
    ALICE,
    BOB,
    CAROL,
    PROP_EXPAND,
    PROP_ID,
    ROOM,
    Env,
    graph_env,
    timed,
)

Query = EventItemRequestBuilder.EventItemRequestBuilderGetQueryParameters


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    async with graph_env() as found:
        yield found


def meeting(**extra: Any) -> dict[str, Any]:
    return {
        "subject": "Planning",
        "body": {"contentType": "html", "content": "<p>Agenda</p>"},
        "location": {"displayName": "@teams"},
        "attendees": [
            {"type": "required", "emailAddress": {"address": BOB, "name": "Bob"}},
            {"type": "resource", "emailAddress": {"address": ROOM, "name": "Room Matterhorn"}},
            {"emailAddress": {"address": "guest@fabrikam.example"}},
        ],
        **timed("2026-12-02T10:00:00", "2026-12-02T11:00:00"),
        **extra,
    }


def copy_in(env: Env, mailbox: str, subject: str = "Planning") -> dict[str, Any]:
    found = [e for e in env.sim.list_events(mailbox) if e["subject"].endswith(subject)]
    assert len(found) == 1, found
    return found[0]


def if_match(etag: str) -> RequestConfiguration[Any]:
    config: RequestConfiguration[Any] = RequestConfiguration()
    config.headers.add("If-Match", etag)
    return config


async def test_person_creates_and_everyone_gets_a_copy(env: Env) -> None:
    created = env.sim.person_create(ALICE, meeting())
    assert created["isOrganizer"] is True
    assert created["type"] == "singleInstance"
    assert created["start"] == {"dateTime": "2026-12-02T09:00:00.0000000", "timeZone": "UTC"}
    assert created["originalStartTimeZone"] == "W. Europe Standard Time"
    assert created["@odata.etag"] == f'W/"{created["changeKey"]}"'
    assert created["body"]["content"].startswith("<html>")
    assert created["bodyPreview"] == "Agenda"
    bob, room = copy_in(env, BOB), copy_in(env, ROOM)
    assert len({created["id"], bob["id"], room["id"]}) == 3
    assert bob["iCalUId"] == created["iCalUId"] == room["iCalUId"]
    assert bob["isOrganizer"] is False
    assert bob["responseStatus"]["response"] == "notResponded"
    assert room["responseStatus"]["response"] == "accepted"
    statuses = {a["emailAddress"]["address"]: a["status"]["response"] for a in created["attendees"]}
    assert statuses == {BOB: "none", ROOM: "accepted", "guest@fabrikam.example": "none"}
    assert env.sim.list_events(CAROL) == []
    assert created["id"].startswith("AAMk")


async def test_get_through_the_sdk_with_select_and_timezone(env: Env) -> None:
    created = env.sim.person_create(ALICE, meeting())
    config = RequestConfiguration(query_parameters=Query(select=["subject", "start"]))
    config.headers.add("Prefer", 'outlook.timezone="Pacific Standard Time"')
    event = await env.client.users.by_user_id(ALICE).events.by_event_id(created["id"]).get(config)
    assert event is not None
    assert event.subject == "Planning"
    assert event.start is not None
    assert event.start.date_time == "2026-12-02T01:00:00.0000000"
    assert event.start.time_zone == "Pacific Standard Time"
    assert event.body is None  # not selected
    assert event.additional_data["@odata.etag"] == created["@odata.etag"]
    status, body, _ = await env.raw(
        "GET", f"/users/{ALICE}/events/{created['id']}?$select=subject,nonsense"
    )
    assert (status, body["error"]["code"]) == (400, "RequestBroker--ParseUri")


async def test_extended_property_write_and_expand_read(env: Env) -> None:
    created = env.sim.person_create(ALICE, meeting())
    events = env.client.users.by_user_id(ALICE).events
    config = RequestConfiguration(query_parameters=Query(expand=[PROP_EXPAND]))
    before = await events.by_event_id(created["id"]).get(config)
    assert before is not None
    assert before.single_value_extended_properties is None  # omitted when not set
    patch = Event(
        single_value_extended_properties=[
            SingleValueLegacyExtendedProperty(id=PROP_ID, value="v1;meeting=42")
        ]
    )
    await events.by_event_id(created["id"]).patch(patch)
    after = await events.by_event_id(created["id"]).get(config)
    assert after is not None
    props = after.single_value_extended_properties
    assert props is not None
    assert [(p.id, p.value) for p in props] == [(PROP_ID, "v1;meeting=42")]
    bob = copy_in(env, BOB)  # extended properties are per copy
    status, body, _ = await env.raw("GET", f"/users/{BOB}/events/{bob['id']}?$expand={PROP_EXPAND}")
    assert status == 200
    assert "singleValueExtendedProperties" not in body
    status, body, _ = await env.raw(
        "PATCH",
        f"/users/{ALICE}/events/{created['id']}",
        json={"singleValueExtendedProperties": [{"id": "hybridcal", "value": "x"}]},
    )
    assert (status, body["error"]["code"]) == (400, "ErrorInvalidExtendedProperty")
    status, body, _ = await env.raw(
        "GET", f"/users/{ALICE}/events/{created['id']}?$expand=singleValueExtendedProperties"
    )
    assert status == 400


async def test_patch_with_if_match_200_then_412(env: Env) -> None:
    created = env.sim.person_create(ALICE, meeting())
    item = env.client.users.by_user_id(ALICE).events.by_event_id(created["id"])
    body = ItemBody(content_type=BodyType.Html, content="<p>New agenda</p>")
    updated = await item.patch(
        Event(body=body), request_configuration=if_match(created["@odata.etag"])
    )
    assert updated is not None
    new_etag = updated.additional_data["@odata.etag"]
    assert new_etag != created["@odata.etag"]
    assert updated.body is not None
    assert updated.body.content is not None
    assert "New agenda" in updated.body.content
    assert "Agenda</p>" not in updated.body.content.replace("New agenda", "")  # replaced whole
    with pytest.raises(ODataError) as caught:
        await item.patch(
            Event(subject="Stale"), request_configuration=if_match(created["@odata.etag"])
        )
    assert caught.value.response_status_code == 412
    assert caught.value.error is not None
    assert caught.value.error.code == "ErrorIrresolvableConflict"
    assert env.sim.get_event(ALICE, created["id"])["subject"] == "Planning"  # type: ignore[index]
    await item.patch(Event(subject="Last writer wins"))  # no If-Match
    assert copy_in(env, BOB, "Last writer wins")["subject"] == "Last writer wins"
    record = next(r for r in env.sim.request_log if r.operation == "event.update")
    assert record.if_match == created["@odata.etag"]
    assert record.body["@odata.type"] == "#microsoft.graph.event"


async def test_a_concurrent_save_answers_409_and_moves_the_change_key(env: Env) -> None:
    created = env.sim.person_create(ALICE, meeting())
    item = env.client.users.by_user_id(ALICE).events.by_event_id(created["id"])
    env.sim.conflicts.arm(ALICE, created["id"])
    with pytest.raises(ODataError) as caught:
        await item.patch(
            Event(subject="Ours"), request_configuration=if_match(created["@odata.etag"])
        )
    assert caught.value.response_status_code == 409
    assert caught.value.error is not None
    assert caught.value.error.code == "ErrorIrresolvableConflict"
    now = env.sim.get_event(ALICE, created["id"])
    assert now is not None
    assert now["subject"] == "Planning"  # ours was not applied
    assert now["@odata.etag"] != created["@odata.etag"]  # the other save was
    with pytest.raises(ODataError) as stale:  # retrying with the same etag cannot work
        await item.patch(
            Event(subject="Ours"), request_configuration=if_match(created["@odata.etag"])
        )
    assert stale.value.response_status_code == 412
    done = await item.patch(
        Event(subject="Ours"), request_configuration=if_match(now["@odata.etag"])
    )
    assert done is not None
    assert done.subject == "Ours"
    assert env.sim.conflicts.struck == 1


async def test_a_stale_etag_is_412_even_when_a_save_would_collide(env: Env) -> None:
    created = env.sim.person_create(ALICE, meeting())
    env.sim.person_update(ALICE, created["id"], {"subject": "Moved on"})
    env.sim.conflicts.rate = 1.0
    item = env.client.users.by_user_id(ALICE).events.by_event_id(created["id"])
    with pytest.raises(ODataError) as caught:
        await item.patch(
            Event(subject="Ours"), request_configuration=if_match(created["@odata.etag"])
        )
    assert caught.value.response_status_code == 412  # If-Match is checked first
    assert env.sim.conflicts.struck == 0


async def test_every_write_changes_the_etag_of_each_copy(env: Env) -> None:
    created = env.sim.person_create(ALICE, meeting())
    bob_before = copy_in(env, BOB)
    env.sim.person_update(ALICE, created["id"], {"location": {"displayName": "Room 2"}})
    bob_after = copy_in(env, BOB)
    assert bob_after["@odata.etag"] != bob_before["@odata.etag"]
    assert bob_after["location"]["displayName"] == "Room 2"
    assert bob_after["locations"][0]["displayName"] == "Room 2"
    status, body, _ = await env.raw("PATCH", f"/users/{ALICE}/events/{created['id']}", json={})
    assert status == 200
    assert body["@odata.etag"] != env.sim.get_event(BOB, bob_after["id"])["@odata.etag"]  # type: ignore[index]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"id": "x"}, "ErrorInvalidPropertyUpdateSentToServer"),
        ({"iCalUId": "x"}, "ErrorInvalidPropertyUpdateSentToServer"),
        ({"type": "occurrence"}, "ErrorInvalidPropertyUpdateSentToServer"),
        ({"isOrganizer": False}, "ErrorInvalidPropertyUpdateSentToServer"),
        ({"subjekt": "typo"}, "RequestBodyRead"),
        ({"sensitivity": "secret"}, "RequestBodyRead"),
        ({"isOnlineMeeting": "yes"}, "RequestBodyRead"),
        (
            {"start": {"dateTime": "2026-12-02T10:00:00", "timeZone": "Mars/Olympus"}},
            "TimeZoneNotSupportedException",
        ),
        (
            {"end": {"dateTime": "2026-12-01T10:00:00", "timeZone": "UTC"}},
            "ErrorPropertyValidationFailure",
        ),
        ({"@odata.type": "#microsoft.graph.message"}, "RequestBodyRead"),
    ],
)
async def test_patch_refuses_what_graph_refuses(env: Env, body: dict[str, Any], code: str) -> None:
    created = env.sim.person_create(ALICE, meeting())
    status, answer, _ = await env.raw("PATCH", f"/users/{ALICE}/events/{created['id']}", json=body)
    assert (status, answer["error"]["code"]) == (400, code)
    assert env.sim.get_event(ALICE, created["id"])["@odata.etag"] == created["@odata.etag"]  # type: ignore[index]


async def test_attendee_copy_accepts_only_its_own_fields(env: Env) -> None:
    env.sim.person_create(ALICE, meeting())
    bob = copy_in(env, BOB)
    path = f"/users/{BOB}/events/{bob['id']}"
    for body in (
        {"subject": "Mine"},
        {"body": {"contentType": "text", "content": "x"}},
        {"isOnlineMeeting": True},
    ):
        status, answer, _ = await env.raw("PATCH", path, json=body)
        assert (status, answer["error"]["code"]) == (403, "ErrorAccessDenied")
    status, answer, _ = await env.raw(
        "PATCH",
        path,
        json={
            "categories": ["Red"],
            "singleValueExtendedProperties": [{"id": PROP_ID, "value": "attendee"}],
        },
    )
    assert status == 200
    assert answer["categories"] == ["Red"]


async def test_ids_are_checked(env: Env) -> None:
    created = env.sim.person_create(ALICE, meeting())
    status, body, _ = await env.raw("GET", f"/users/{ALICE}/events/not-an-id")
    assert (status, body["error"]["code"]) == (400, "ErrorInvalidIdMalformed")
    status, body, _ = await env.raw("GET", f"/users/{CAROL}/events/{created['id']}")
    assert (status, body["error"]["code"]) == (404, "ErrorItemNotFound")


async def test_organizer_delete_cancels_for_attendees_and_frees_the_room(env: Env) -> None:
    created = env.sim.person_create(ALICE, meeting())
    bob = copy_in(env, BOB)
    with pytest.raises(ODataError) as caught:
        await (
            env.client.users.by_user_id(ALICE)
            .events.by_event_id(created["id"])
            .delete(request_configuration=if_match('W/"stale"'))
        )
    assert caught.value.response_status_code == 412
    await env.client.users.by_user_id(ALICE).events.by_event_id(created["id"]).delete()
    assert env.sim.get_event(ALICE, created["id"]) is None
    assert env.sim.list_events(ROOM) == []
    cancelled = env.sim.get_event(BOB, bob["id"])
    assert cancelled is not None
    assert cancelled["isCancelled"] is True
    assert cancelled["subject"] == "Canceled: Planning"
    env.sim.person_delete(BOB, bob["id"])
    assert env.sim.list_events(BOB) == []


async def test_attendee_delete_removes_only_their_copy(env: Env) -> None:
    created = env.sim.person_create(ALICE, meeting())
    bob = copy_in(env, BOB)
    status, _, _ = await env.raw("DELETE", f"/users/{BOB}/events/{bob['id']}")
    assert status == 204
    assert env.sim.list_events(BOB) == []
    assert env.sim.get_event(ALICE, created["id"]) is not None


async def test_attendee_changes_create_and_cancel_copies(env: Env) -> None:
    created = env.sim.person_create(ALICE, meeting())
    attendees = [
        {"type": "required", "emailAddress": {"address": CAROL}},
        {"type": "resource", "emailAddress": {"address": ROOM}},
    ]
    status, body, _ = await env.raw(
        "PATCH", f"/users/{ALICE}/events/{created['id']}", json={"attendees": attendees}
    )
    assert status == 200
    assert [a["status"]["response"] for a in body["attendees"]] == ["none", "accepted"]
    assert copy_in(env, CAROL)["isCancelled"] is False
    assert copy_in(env, BOB)["isCancelled"] is True


async def test_api_create_list_and_respond(env: Env) -> None:
    status, created, _ = await env.raw(
        "POST",
        f"/users/{BOB}/events",
        json=meeting(subject="From API", attendees=[{"emailAddress": {"address": CAROL}}]),
    )
    assert status == 201
    assert created["isOrganizer"] is True
    status, listing, _ = await env.raw("GET", f"/users/{BOB}/events?$top=1")
    assert status == 200
    assert [e["id"] for e in listing["value"]] == [created["id"]]
    carol = copy_in(env, CAROL, "From API")
    status, _, _ = await env.raw(
        "POST", f"/users/{CAROL}/events/{carol['id']}/accept", json={"sendResponse": True}
    )
    assert status == 202
    organizer = env.sim.get_event(BOB, created["id"])
    assert organizer is not None
    assert organizer["attendees"][0]["status"]["response"] == "accepted"
    status, _, _ = await env.raw("POST", f"/users/{BOB}/events", json={"subject": "no times"})
    assert status == 400


async def test_body_content_type_preference_and_view_paging(env: Env) -> None:
    created = env.sim.person_create(ALICE, meeting())
    status, body, headers = await env.raw(
        "GET",
        f"/users/{ALICE}/events/{created['id']}",
        headers={"Prefer": 'outlook.body-content-type="text"'},
    )
    assert status == 200
    assert body["body"] == {"contentType": "text", "content": "Agenda"}
    assert headers["Preference-Applied"] == 'outlook.body-content-type="text"'
    for hour in (12, 13, 14):
        env.sim.person_create(
            ALICE, meeting(**timed(f"2026-12-02T{hour}:00:00", f"2026-12-02T{hour}:30:00"))
        )
    status, page, _ = await env.raw(
        "GET",
        f"/users/{ALICE}/calendarView?startDateTime=2026-12-02T00:00:00Z"
        "&endDateTime=2026-12-03T00:00:00Z&$top=3",
    )
    assert status == 200
    assert len(page["value"]) == 3
    status, rest, _ = await env.raw("GET", page["@odata.nextLink"])
    assert status == 200
    assert len(rest["value"]) == 1
    assert "@odata.nextLink" not in rest
    status, body, _ = await env.raw("POST", "/$batch", json={"requests": []})
    assert (status, body["error"]["code"]) == (501, "NotImplemented")
