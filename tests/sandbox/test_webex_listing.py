"""Listing meetings in the Webex simulator: filters, the default window, pages, and hosts."""

from __future__ import annotations

from typing import Any

from tests.sandbox.test_webex_support import ALICE, BOB, NOLICENCE, WebexClient, wclient, webex
from tests.sandbox.zoom_support import Clock

__all__ = ["wclient", "webex"]  # fixtures


async def _day(wclient: WebexClient, day: int, **extra: Any) -> dict[str, Any]:
    answer = await wclient.create(
        title=f"Day {day}",
        start=f"2030-03-{day:02d}T09:00:00Z",
        end=f"2030-03-{day:02d}T09:30:00Z",
        **extra,
    )
    assert answer.status == 200, answer.body
    return dict(answer.body)


async def test_pages_follow_the_link_header(wclient: WebexClient) -> None:
    made = [await _day(wclient, day) for day in range(5, 10)]
    params = {"hostEmail": ALICE, "max": "2"}
    seen: list[str] = []
    answer = await wclient.call("GET", "/meetings", params=params)
    pages = 1
    while True:
        assert answer.status == 200, answer.body
        seen.extend(item["id"] for item in answer.body["items"])
        link = answer.headers.get("Link")
        if link is None:
            break
        url, _, rel = link.partition(";")
        assert rel.strip() == 'rel="next"'
        answer = await wclient.call("GET", url.strip("<> "))
        pages += 1
    assert pages == 3
    assert seen == [m["id"] for m in made]


async def test_default_window_is_the_next_seven_days(wclient: WebexClient) -> None:
    near = await _day(wclient, 6)
    await _day(wclient, 20)
    answer = await wclient.call("GET", "/meetings", params={"hostEmail": ALICE})
    assert [i["id"] for i in answer.body["items"]] == [near["id"]]
    wide = await wclient.call(
        "GET",
        "/meetings",
        params={"hostEmail": ALICE, "from": "2030-03-01T00:00:00Z", "to": "2030-04-01T00:00:00Z"},
    )
    assert len(wide.body["items"]) == 2


async def test_without_host_email_a_service_app_sees_nothing(wclient: WebexClient) -> None:
    await _day(wclient, 6)
    answer = await wclient.call("GET", "/meetings")
    assert answer.status == 200
    assert answer.body == {"items": []}
    other = await wclient.call("GET", "/meetings", params={"hostEmail": BOB})
    assert other.body == {"items": []}
    assert (await wclient.call("GET", "/meetings", params={"hostEmail": NOLICENCE})).status == 404


async def test_filters(wclient: WebexClient) -> None:
    tagged = await _day(wclient, 6, integrationTags=["hc-abc"])
    other = await _day(wclient, 7)
    by_tag = await wclient.call(
        "GET", "/meetings", params={"hostEmail": ALICE, "integrationTag": "hc-abc"}
    )
    assert [i["id"] for i in by_tag.body["items"]] == [tagged["id"]]
    by_number = await wclient.call(
        "GET", "/meetings", params={"hostEmail": ALICE, "meetingNumber": other["meetingNumber"]}
    )
    assert [i["id"] for i in by_number.body["items"]] == [other["id"]]
    by_link = await wclient.call(
        "GET", "/meetings", params={"hostEmail": ALICE, "webLink": tagged["webLink"]}
    )
    assert [i["id"] for i in by_link.body["items"]] == [tagged["id"]]
    instances = await wclient.call(
        "GET", "/meetings", params={"hostEmail": ALICE, "meetingType": "meeting"}
    )
    assert instances.body == {"items": []}


async def test_current_makes_a_series_show_its_next_occurrence(
    wclient: WebexClient, clock: Clock
) -> None:
    await _day(wclient, 5, recurrence="FREQ=DAILY;COUNT=5")
    clock.advance(days=2, hours=2)  # 2030-03-06 10:00: the 6 March occurrence is over
    current = await wclient.call("GET", "/meetings", params={"hostEmail": ALICE})
    assert current.body["items"][0]["start"] == "2030-03-07T09:00:00Z"
    first = await wclient.call("GET", "/meetings", params={"hostEmail": ALICE, "current": "false"})
    assert first.body["items"][0]["start"] == "2030-03-05T09:00:00Z"


async def test_list_parameters_are_checked(wclient: WebexClient) -> None:
    bad = [
        {"max": "0"},
        {"max": "101"},
        {"max": "ten"},
        {"meetingType": "everything"},
        {"meetingSeriesId": "abc"},
        {"from": "2030-03-10T00:00:00Z", "to": "2030-03-09T00:00:00Z"},
        {"from": "soon"},
        {"cursor": "not-ours"},
        {"current": "maybe"},
    ]
    for params in bad:
        answer = await wclient.call("GET", "/meetings", params={"hostEmail": ALICE, **params})
        assert answer.status == 400, params
        assert answer.body["message"] == "The input parameters contain invalid items."
