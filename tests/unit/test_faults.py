"""The fault book: retry times, admin messages, and the index kept in step with the store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hybridcal.connectors.errors import TransientError
from hybridcal.core.model import SYNC_FAULT, CalendarKind, CalendarRecord, Provider
from hybridcal.crypto import Keyring, RecordCipher
from hybridcal.daemon.faults import MESSAGE_LIMIT, FaultBook, describe, retry_delay
from hybridcal.store.sqlite import SQLiteStore

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
KEY = "google:alice@example.com"


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    async with await SQLiteStore.open(
        tmp_path / "store.db", RecordCipher(Keyring.generate())
    ) as store:
        await store.add_calendar(
            CalendarRecord(KEY, Provider.GOOGLE, "alice@example.com", CalendarKind.USER)
        )
        yield store


def test_retry_delay_doubles_from_a_minute_up_to_six_hours() -> None:
    assert [retry_delay(n) for n in (1, 2, 3, 4)] == [timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert retry_delay(10) == timedelta(hours=6)
    assert retry_delay(10_000) == timedelta(hours=6)  # no overflow for a fault that never ends


def test_describe_says_what_failed_and_marks_bugs() -> None:
    assert describe(TransientError("events.list: 503")) == ("TransientError", "events.list: 503")
    error, message = describe(ValueError("x" * 10_000))
    assert error == "ValueError"
    assert len(message) == MESSAGE_LIMIT
    assert describe(KeyError())[1].startswith("KeyError (unexpected")


async def test_failures_count_up_and_clear(store: SQLiteStore) -> None:
    clock = Clock()
    book = FaultBook(store, clock)
    first = await book.failed(KEY, "e1", ValueError("bad"))
    assert (first.attempts, first.retry_at) == (1, T0 + timedelta(minutes=1))
    assert book.due_events(KEY) == []
    clock.now += timedelta(minutes=1)
    assert book.due_events(KEY) == ["e1"]
    assert book.due_calendars() == [KEY]
    second = await book.failed(KEY, "e1", ValueError("bad"))
    assert (second.attempts, second.first_seen, second.last_seen) == (2, T0, clock.now)
    await book.failed(KEY, SYNC_FAULT, TransientError("503"), retry_in=timedelta(seconds=30))
    assert (book.troubled_calendars(), book.event_faults()) == (1, 1)
    assert sorted(book.event_ids(KEY)) == ["e1"]

    reloaded = FaultBook(store, clock)
    await reloaded.load()  # faults outlive restarts
    assert reloaded.attempts(KEY, "e1") == 2
    assert reloaded.attempts(KEY, SYNC_FAULT) == 1

    await reloaded.handled(KEY, ["e1", "never-failed", SYNC_FAULT])
    assert not reloaded.has_faults(KEY)
    assert await store.list_faults() == []


async def test_an_event_that_cannot_be_read_again_waits_for_its_next_time(
    store: SQLiteStore,
) -> None:
    clock = Clock()
    book = FaultBook(store, clock)
    await book.failed(KEY, "e1", ValueError("bad"))
    clock.now += timedelta(minutes=5)
    assert book.due_events(KEY) == ["e1"]
    book.postpone(KEY, "e1")
    assert book.due_events(KEY) == []
