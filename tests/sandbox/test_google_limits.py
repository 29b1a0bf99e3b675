"""The simulator's usage limits: short rate limits per user, and Calendar's usage limits that
refuse one user's writes for hours while their reads and everyone else go on."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from googleapiclient.errors import HttpError
from tests.sandbox.google_support import ALICE, BOB, CalendarFactory, run, timed

from hybridcal.sandbox.google import GoogleSimulator
from hybridcal.sandbox.google.limits import ShortLimit

BODY = {"summary": "Sync", **timed("2030-05-06T09:00:00", "2030-05-06T09:30:00")}


def reason_of(error: HttpError) -> tuple[int, str, str, str]:
    body = json.loads(error.content)["error"]
    first = body["errors"][0]
    return error.status_code, first["reason"], first["domain"], body["message"]


@pytest.mark.parametrize(
    ("limit", "expected"),
    [
        ("userRateLimitExceeded", (403, "userRateLimitExceeded", "User Rate Limit Exceeded")),
        ("rateLimitExceeded", (403, "rateLimitExceeded", "Rate Limit Exceeded")),
        ("rateLimitExceeded429", (429, "rateLimitExceeded", "Rate Limit Exceeded")),
    ],
)
async def test_short_rate_limits_answer_that_users_next_requests(
    sim: GoogleSimulator,
    calendar: CalendarFactory,
    limit: ShortLimit,
    expected: tuple[int, str, str],
) -> None:
    alice, bob = calendar(ALICE), calendar(BOB)
    sim.rate_limit(ALICE, limit, times=2)
    for _ in range(2):
        with pytest.raises(HttpError) as info:
            await run(alice.events().list(calendarId="primary"))
        status, reason, domain, message = reason_of(info.value)
        assert (status, reason, message) == expected
        assert domain == "usageLimits"
    await run(bob.events().list(calendarId="primary"))  # others are not limited
    await run(alice.events().list(calendarId="primary"))  # and it passes


async def test_usage_limits_refuse_writes_only_until_lifted(
    sim: GoogleSimulator, calendar: CalendarFactory
) -> None:
    alice, bob = calendar(ALICE), calendar(BOB)
    event = await run(alice.events().insert(calendarId="primary", body=BODY))
    sim.limit_writes(ALICE, datetime.now(UTC) + timedelta(hours=3))
    with pytest.raises(HttpError) as info:
        await run(alice.events().patch(calendarId="primary", eventId=event["id"], body={}))
    assert reason_of(info.value) == (
        403,
        "quotaExceeded",
        "usageLimits",
        "Calendar usage limits exceeded.",
    )
    with pytest.raises(HttpError):
        await run(alice.events().insert(calendarId="primary", body=BODY))
    await run(alice.events().get(calendarId="primary", eventId=event["id"]))  # reads go on
    await run(alice.events().list(calendarId="primary"))
    await run(bob.events().insert(calendarId="primary", body=BODY))  # others write on
    sim.limit_writes(ALICE, datetime.now(UTC))
    await run(alice.events().patch(calendarId="primary", eventId=event["id"], body={}))
