"""Only documented operations: a field sent as ``null`` is an invalid field (Zoom documents no
null value for any meeting field), and a series becomes a single meeting by the documented
``"type": 2`` — never by ``"recurrence": null``."""

from __future__ import annotations

from typing import Any

import pytest
from tests.sandbox.zoom_support import ALICE, ZoomClient, weekly

from hybridcal.sandbox.zoom import ZoomSimulator
from hybridcal.sandbox.zoom.fields import BODY_FIELDS

INVALID = {"code": 300, "message": "Validation Failed."}


async def series(client: ZoomClient, **body: Any) -> dict[str, Any]:
    body.setdefault("start_time", "2030-03-05T10:00:00")
    body.setdefault("timezone", "Europe/Zurich")
    answer = await client.create(type=8, recurrence=weekly("3", end_times=4), **body)
    assert answer.status == 201, answer.body
    made: dict[str, Any] = answer.body
    return made


def refused_as_invalid(answer: Any, *fields: str) -> None:
    assert answer.status == 400
    assert {k: answer.body[k] for k in ("code", "message")} == INVALID
    assert answer.body["errors"] == [{"field": f, "message": "Invalid field."} for f in fields]


@pytest.mark.parametrize("field", sorted(BODY_FIELDS))
async def test_a_null_field_is_refused_on_create_and_not_charged(
    zoom: ZoomSimulator, client: ZoomClient, field: str
) -> None:
    body: dict[str, Any] = {field: None}
    answer = await client.create(**body)
    refused_as_invalid(answer, field)
    assert zoom.meetings() == []
    assert zoom.daily_count(ALICE) == 0  # malformed: Zoom never got to the host's budget


@pytest.mark.parametrize("field", sorted(BODY_FIELDS))
async def test_a_null_field_is_refused_on_update_and_changes_nothing(
    zoom: ZoomSimulator, client: ZoomClient, field: str
) -> None:
    made = await series(client)
    before = zoom.meeting(made["id"])
    answer = await client.call("PATCH", f"/meetings/{made['id']}", json={field: None})
    refused_as_invalid(answer, field)
    assert zoom.meeting(made["id"]) == before
    assert zoom.daily_count(ALICE) == 1  # the create only


async def test_recurrence_null_never_turns_a_series_into_a_meeting(
    zoom: ZoomSimulator, client: ZoomClient
) -> None:
    made = await series(client)
    path = f"/meetings/{made['id']}"
    answer = await client.call(
        "PATCH",
        path,
        json={"type": 2, "start_time": "2030-03-05T09:00:00Z", "duration": 30, "recurrence": None},
    )
    refused_as_invalid(answer, "recurrence")
    still = zoom.meeting(made["id"])
    assert still is not None
    assert still["type"] == 8
    assert len(still["occurrences"]) == 4


async def test_nulls_inside_settings_and_recurrence_are_invalid_too(
    zoom: ZoomSimulator, client: ZoomClient
) -> None:
    answer = await client.create(settings={"waiting_room": None, "audio": None})
    refused_as_invalid(answer, "settings.waiting_room", "settings.audio")
    answer = await client.create(
        type=8, recurrence={"type": 1, "repeat_interval": None, "end_times": 3}
    )
    refused_as_invalid(answer, "recurrence.repeat_interval")
    assert zoom.meetings() == []


async def test_unknown_fields_stay_ignored_even_when_null(client: ZoomClient) -> None:
    answer = await client.create(colour=None, settings={"sparkles": None})
    assert answer.status == 201


async def test_type_2_turns_a_series_into_one_meeting_in_place(
    zoom: ZoomSimulator, client: ZoomClient
) -> None:
    """The documented change: ``type`` is a field of the update body (1, 2, 3 or 8) and
    ``recurrence`` is only read for type 8."""
    made = await series(client)
    path = f"/meetings/{made['id']}"
    answer = await client.call(
        "PATCH",
        path,
        json={
            "type": 2,
            "start_time": "2030-03-06T14:00:00Z",
            "duration": 45,
            "timezone": "Europe/Zurich",
        },
    )
    assert answer.status == 204, answer.body
    single = (await client.call("GET", path)).body
    assert single["type"] == 2
    assert (single["start_time"], single["duration"]) == ("2030-03-06T14:00:00Z", 45)
    assert "occurrences" not in single
    assert "recurrence" not in single
    assert (single["join_url"], single["password"]) == (made["join_url"], made["password"])
    assert len(zoom.meetings(ALICE)) == 1


async def test_type_3_and_back_to_8_are_documented_changes_too(
    zoom: ZoomSimulator, client: ZoomClient
) -> None:
    made = await series(client)
    path = f"/meetings/{made['id']}"
    floating = await client.call("PATCH", path, json={"type": 3, "timezone": "Europe/Zurich"})
    assert floating.status == 204, floating.body
    shown = (await client.call("GET", path)).body
    assert shown["type"] == 3
    assert "occurrences" not in shown
    again = await client.call(
        "PATCH",
        path,
        json={
            "type": 8,
            "start_time": "2030-03-05T10:00:00",
            "timezone": "Europe/Zurich",
            "recurrence": weekly("3", end_times=2),
        },
    )
    assert again.status == 204, again.body
    assert len((await client.call("GET", path)).body["occurrences"]) == 2
