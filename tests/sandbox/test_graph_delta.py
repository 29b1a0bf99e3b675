"""calendarView delta: paging with Prefer maxpagesize, deltaLink rounds, @removed, 410."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph.generated.models.event_type import EventType
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.users.item.calendar_view.delta.delta_request_builder import (
    DeltaRequestBuilder,
)
from tests.sandbox.graph_support import ALICE, BOB, Env, graph_env, timed

WINDOW = {"startDateTime": "2026-12-01T00:00:00Z", "endDateTime": "2026-12-31T00:00:00Z"}
Query = DeltaRequestBuilder.DeltaRequestBuilderGetQueryParameters


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    async with graph_env() as found:
        yield found


def event(subject: str, day: int, **extra: Any) -> dict[str, Any]:
    return {
        "subject": subject,
        **timed(f"2026-12-{day:02d}T10:00:00", f"2026-12-{day:02d}T10:30:00"),
        **extra,
    }


def prefer(size: int) -> RequestConfiguration[Any]:
    config: RequestConfiguration[Any] = RequestConfiguration()
    config.headers.add("Prefer", f"odata.maxpagesize={size}")
    return config


async def sdk_round(env: Env, link: str | None, size: int = 2) -> tuple[list[Any], str, int]:
    """Follow one delta round with the SDK; returns (events, deltaLink, pages)."""
    delta = env.client.users.by_user_id(ALICE).calendar_view.delta
    config = prefer(size)
    if link is None:
        config.query_parameters = Query(
            start_date_time=WINDOW["startDateTime"], end_date_time=WINDOW["endDateTime"]
        )
        page = await delta.get(config)
    else:
        page = await delta.with_url(link).get(prefer(size))
    found, pages = [], 1
    while True:
        assert page is not None
        assert page.value is not None
        assert len(page.value) <= size
        found += page.value
        if page.odata_next_link:
            assert page.odata_delta_link is None
            page = await delta.with_url(page.odata_next_link).get(prefer(size))
            pages += 1
            continue
        assert page.odata_delta_link is not None
        return found, page.odata_delta_link, pages


async def test_first_round_pages_and_links_are_absolute(env: Env) -> None:
    for day in range(1, 6):
        env.sim.person_create(ALICE, event(f"E{day}", day))
    env.sim.person_create(
        ALICE, event("Outside", 1) | timed("2027-01-05T10:00:00", "2027-01-05T11:00:00")
    )
    found, link, pages = await sdk_round(env, None, size=2)
    assert sorted(e.subject for e in found) == ["E1", "E2", "E3", "E4", "E5"]
    assert pages == 3
    assert link.startswith(env.sim.graph_root + f"/users/{env.ids[ALICE]}/calendarView/delta?")
    assert "$deltatoken=" in link
    first = next(r for r in env.sim.request_log if r.operation == "calendarView.delta")
    assert first.path.endswith("/calendarView/delta()")  # the SDK's spelling
    status, body, headers = await env.raw(
        "GET", f"/users/{ALICE}/calendarView/delta?startDateTime=2026-12-01&endDateTime=2026-12-31"
    )
    assert status == 200
    assert len(body["value"]) == 5  # default page size 10
    assert "@odata.deltaLink" in body
    assert "Preference-Applied" not in headers


async def test_later_rounds_return_only_changes_and_removals(env: Env) -> None:
    keep = env.sim.person_create(ALICE, event("Keep", 2))
    edit = env.sim.person_create(ALICE, event("Edit", 3))
    gone = env.sim.person_create(ALICE, event("Gone", 4))
    moved = env.sim.person_create(ALICE, event("Moved", 5))
    _, link, _ = await sdk_round(env, None)
    found, link, _ = await sdk_round(env, link)
    assert found == []  # nothing changed
    env.sim.person_update(ALICE, edit["id"], {"subject": "Edited"})
    env.sim.person_delete(ALICE, gone["id"])
    env.sim.person_update(ALICE, moved["id"], timed("2027-02-01T10:00:00", "2027-02-01T11:00:00"))
    added = env.sim.person_create(ALICE, event("New", 6))
    found, link, _ = await sdk_round(env, link, size=10)
    changed = {e.id: e for e in found if "@removed" not in e.additional_data}
    removed = {
        e.id: e.additional_data["@removed"] for e in found if "@removed" in e.additional_data
    }
    assert {e.subject for e in changed.values()} == {"Edited", "New"}
    assert set(changed) == {edit["id"], added["id"]}
    assert removed == {gone["id"]: {"reason": "deleted"}, moved["id"]: {"reason": "deleted"}}
    assert keep["id"] not in changed
    status, body, _ = await env.raw("GET", link)
    assert (status, body["value"]) == (200, [])


async def test_own_writes_show_up_in_the_next_round(env: Env) -> None:
    created = env.sim.person_create(ALICE, event("Mine", 7))
    _, link, _ = await sdk_round(env, None)
    status, _, _ = await env.raw(
        "PATCH", f"/users/{ALICE}/events/{created['id']}", json={"categories": ["Blue"]}
    )
    assert status == 200
    found, _, _ = await sdk_round(env, link)
    assert [e.id for e in found] == [created["id"]]


async def test_delta_refuses_query_options_and_needs_a_window(env: Env) -> None:
    base = f"/users/{ALICE}/calendarView/delta"
    for extra in (
        "$select=subject",
        "$filter=subject eq 'x'",
        "$orderby=start",
        "$expand=x",
        "$top=5",
    ):
        status, body, _ = await env.raw(
            "GET", f"{base}?startDateTime=2026-12-01&endDateTime=2026-12-31&{extra}"
        )
        assert (status, body["error"]["code"]) == (400, "ErrorInvalidUrlQuery"), extra
    status, body, _ = await env.raw("GET", f"{base}?startDateTime=2026-12-01T00:00:00Z")
    assert (status, body["error"]["code"]) == (400, "ErrorInvalidParameter")
    status, body, _ = await env.raw("GET", base, headers={"Prefer": "odata.maxpagesize=zero"})
    assert status == 400


async def test_expired_and_forged_tokens_answer_410(env: Env) -> None:
    env.sim.person_create(ALICE, event("One", 8))
    _, link, _ = await sdk_round(env, None)
    env.sim.expire_delta_tokens(ALICE)
    with pytest.raises(ODataError) as caught:
        await sdk_round(env, link)
    assert caught.value.response_status_code == 410
    assert caught.value.error is not None
    assert caught.value.error.code == "syncStateNotFound"
    found, fresh, _ = await sdk_round(env, None)  # recovery: a fresh round
    assert [e.subject for e in found] == ["One"]
    token = parse_qs(urlsplit(fresh).query)["$deltatoken"][0]
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    status, body, _ = await env.raw("GET", fresh.replace(token, forged))
    assert (status, body["error"]["code"]) == (410, "syncStateInvalid")
    other = fresh.replace(env.ids[ALICE], env.ids[BOB])
    status, body, _ = await env.raw("GET", other)
    assert (status, body["error"]["code"]) == (410, "syncStateInvalid")


async def test_next_page_keeps_its_own_size_preference(env: Env) -> None:
    for day in range(1, 5):
        env.sim.person_create(ALICE, event(f"P{day}", day))
    status, body, headers = await env.raw(
        "GET",
        f"/users/{ALICE}/calendarView/delta?startDateTime=2026-12-01&endDateTime=2026-12-31",
        headers={"Prefer": "odata.maxpagesize=1"},
    )
    assert status == 200
    assert headers["Preference-Applied"] == "odata.maxpagesize=1"
    assert len(body["value"]) == 1
    status, body, _ = await env.raw("GET", body["@odata.nextLink"])  # no Prefer: default size
    assert len(body["value"]) == 3
    assert "@odata.deltaLink" in body


async def test_series_delta_lists_occurrences_not_the_master(env: Env) -> None:
    weekly = {
        "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["wednesday"]},
        "range": {"type": "endDate", "startDate": "2026-12-02", "endDate": "2026-12-23"},
    }
    master = env.sim.person_create(ALICE, event("Weekly", 2, recurrence=weekly))
    found, link, _ = await sdk_round(env, None, size=10)
    assert len(found) == 4
    assert {e.series_master_id for e in found} == {master["id"]}
    assert {e.type for e in found} == {EventType.Occurrence}
    second = found[1]
    env.sim.person_update(ALICE, str(second.id), {"subject": "Moved one"})
    changed, link, _ = await sdk_round(env, link, size=10)
    assert [(e.id, e.type) for e in changed] == [(second.id, EventType.Exception)]
    env.sim.person_cancel_occurrence(ALICE, str(found[2].id))
    changed, link, _ = await sdk_round(env, link, size=10)
    assert [(e.id, e.additional_data.get("@removed")) for e in changed] == [
        (found[2].id, {"reason": "deleted"})
    ]
    env.sim.person_update(ALICE, master["id"], {"subject": "Weekly v2"})
    changed, _, _ = await sdk_round(env, link, size=10)
    assert sorted(str(e.subject) for e in changed) == ["Moved one", "Weekly v2", "Weekly v2"]


async def test_changes_outside_the_window_come_back_as_removed(env: Env) -> None:
    inside = env.sim.person_create(ALICE, event("Inside", 3))
    series = {
        "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["monday"]},
        "range": {"type": "numbered", "startDate": "2026-12-07", "numberOfOccurrences": 3},
    }
    in_series = env.sim.person_create(
        ALICE, event("Weekly", 7, recurrence=series) | timed("2026-12-07T09:00", "2026-12-07T10:00")
    )
    _, link, _ = await sdk_round(env, None)

    far = env.sim.person_create(
        ALICE, event("Far", 1) | timed("2027-03-05T10:00:00", "2027-03-05T11:00:00")
    )
    env.sim.person_update(ALICE, in_series["id"], {"subject": "Weekly (renamed)"})
    found, link, _ = await sdk_round(env, link)
    removed = [e.id for e in found if "@removed" in (e.additional_data or {})]
    assert removed == [far["id"]]  # created outside the window: reported as removed
    assert far["id"] not in [e.id for e in found if "@removed" not in (e.additional_data or {})]
    # the series is in the window: its occurrences come back, not its master as removed
    assert {e.subject for e in found if e.subject} == {"Weekly (renamed)"}
    assert in_series["id"] not in removed

    env.sim.person_update(ALICE, far["id"], {"subject": "Far, renamed"})
    env.sim.person_update(ALICE, inside["id"], {"subject": "Inside, renamed"})
    found, link, _ = await sdk_round(env, link)
    assert [e.id for e in found if "@removed" in (e.additional_data or {})] == [far["id"]]
    assert [e.subject for e in found if e.subject] == ["Inside, renamed"]

    found, _, _ = await sdk_round(env, link)  # nothing changed since: nothing reported
    assert found == []
