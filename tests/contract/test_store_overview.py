"""The store's bulk insert and status queries (``add_calendars``, ``calendar_overview``,
``calendar_reasons``, ``latest_faults``), on SQLite and on PostgreSQL (which shares the SQL)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
from tests.contract.store_contract import T0, calendar

from hybridcal.core.model import (
    SYNC_FAULT,
    CalendarKind,
    CalendarRecord,
    CalendarState,
    Channel,
    Fault,
    Provider,
    calendar_key,
)
from hybridcal.crypto import Keyring, RecordCipher
from hybridcal.store.base import CalendarOverview, Store, SyncResult
from hybridcal.store.sqlite import SQLiteStore

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

NOW = T0 + timedelta(hours=3)


@pytest.fixture(params=["sqlite", "postgresql"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    cipher = RecordCipher(Keyring.generate())
    if request.param == "sqlite":
        async with await SQLiteStore.open(tmp_path / "store.db", cipher) as sqlite:
            yield sqlite
        return
    from hybridcal.store.postgres import PostgreSQLStore  # noqa: PLC0415

    server = request.getfixturevalue("postgres_server")
    dsn = server.create_database()
    try:
        async with await PostgreSQLStore.connect(dsn, cipher) as pg:
            yield pg
    finally:
        server.drop_database(dsn)


def user(n: int, **changes: object) -> CalendarRecord:
    return calendar(calendar_key(Provider.GOOGLE, f"user{n}@example.com"), **changes)


async def overview(store: Store) -> CalendarOverview:
    return await store.calendar_overview(
        now=NOW,
        recent_since=NOW - timedelta(minutes=10),
        fresh_since=NOW - timedelta(hours=1),
        expiring_before=NOW + timedelta(days=1),
    )


async def test_add_calendars_inserts_new_and_returns_existing(store: Store) -> None:
    await store.add_calendar(calendar(display_name="Boardroom"))  # room-1, already there
    records = [user(n) for n in range(1200)] + [calendar(), user(3)]  # repeats: kept once
    existing = await store.add_calendars(records)
    assert existing == [calendar().key]
    stored = await store.list_calendars()
    assert len(stored) == 1201
    room = await store.get_calendar(calendar().key)
    assert room is not None
    assert room.display_name == "Boardroom"  # left as it was
    assert all(c.state is CalendarState.PENDING for c in stored)
    assert await store.add_calendars([]) == []


async def test_overview_counts_states_kinds_and_synced(store: Store) -> None:
    def channel(n: int, key: str, created: timedelta, expires: timedelta) -> Channel:
        return Channel(f"ch-{n}", key, "secret", f"res-{n}", NOW + expires, NOW - created)

    await store.add_calendars([user(n) for n in range(6)] + [calendar()])
    keys = [calendar_key(Provider.GOOGLE, f"user{n}@example.com") for n in range(6)]
    for key in keys[:5]:
        await store.set_calendar_state(key, CalendarState.ACTIVE)
    await store.set_calendar_state(keys[5], CalendarState.ERROR, "no such user")
    # 0: synced long ago (old channel), re-synced now: synced, not newly
    await store.put_channel(channel(0, keys[0], timedelta(days=3), timedelta(days=2)))
    # 1: new channel, synced now: newly synced; its channel expires within a day
    await store.put_channel(channel(1, keys[1], timedelta(minutes=20), timedelta(hours=5)))
    # 2: new channel, last synced 30 min ago: synced, not in the rate window
    await store.put_channel(channel(2, keys[2], timedelta(minutes=40), timedelta(days=2)))
    # 3: a cursor but only an expired channel: not synced
    await store.put_channel(channel(3, keys[3], timedelta(days=8), -timedelta(hours=1)))
    # 4: a live channel, no cursor yet: not synced
    await store.put_channel(channel(4, keys[4], timedelta(minutes=5), timedelta(days=2)))
    for key, ago in ((keys[0], 2), (keys[1], 4), (keys[2], 30), (keys[3], 2)):
        at = NOW - timedelta(minutes=ago)
        await store.apply_sync(SyncResult(key, {}, (), cursor="tok", synced_at=at))
    fault = Fault(keys[0], SYNC_FAULT, "TransientError", "503", NOW, NOW)
    await store.put_fault(fault)
    await store.put_fault(replace(fault, event_id="ev-1", error="ValueError"))
    await store.put_fault(replace(fault, event_id="ev-2", error="ValueError"))

    seen = await overview(store)
    assert seen.by_state == {
        CalendarState.ACTIVE: 5,
        CalendarState.ERROR: 1,
        CalendarState.PENDING: 1,
    }
    assert seen.by_kind == {CalendarKind.USER: 6, CalendarKind.ROOM: 1}
    assert (seen.synced, seen.newly_synced) == (3, 1)
    assert seen.first_newly_synced == NOW - timedelta(minutes=4)
    assert seen.channels_expiring == 1
    assert (seen.calendars_failing, seen.event_faults) == (1, 2)
    assert seen.total == 7
    assert seen.remaining == 3  # 7 - 1 in error - 3 synced


async def test_overview_of_an_empty_store(store: Store) -> None:
    seen = await overview(store)
    assert seen.by_state == {}
    assert (seen.synced, seen.newly_synced, seen.remaining) == (0, 0, 0)
    assert seen.first_newly_synced is None
    assert (seen.channels_expiring, seen.calendars_failing, seen.event_faults) == (0, 0, 0)


async def test_reasons_and_latest_faults(store: Store) -> None:
    await store.add_calendars([user(n) for n in range(3)])
    keys = [calendar_key(Provider.GOOGLE, f"user{n}@example.com") for n in range(3)]
    await store.set_calendar_state(keys[0], CalendarState.ERROR, "user0@example.com not found")
    await store.set_calendar_state(keys[1], CalendarState.ERROR, None)
    assert await store.calendar_reasons(CalendarState.ERROR) == [
        (keys[0], "user0@example.com not found"),
        (keys[1], None),
    ]
    for n, minutes in enumerate((30, 5, 60)):
        seen = NOW - timedelta(minutes=minutes)
        await store.put_fault(Fault(keys[n], f"ev-{n}", "ValueError", f"m{n}", seen, seen))
    latest = await store.latest_faults(2)
    assert [f.event_id for f in latest] == ["ev-1", "ev-0"]
    assert latest[0].message == "m1"
