"""The status document (``daemon.status``): states, the sweep's progress, rate and time left,
grouped error reasons and the latest problems, built from a real SQLite store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

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
from hybridcal.daemon.metrics import Metrics
from hybridcal.daemon.status import LiveFigures, status_document, sweep_progress, top_reasons
from hybridcal.store.base import CalendarOverview, SyncResult
from hybridcal.store.sqlite import SQLiteStore

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def key(n: int) -> str:
    return calendar_key(Provider.GOOGLE, f"user{n}@example.com")


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    async with await SQLiteStore.open(tmp_path / "s.db", RecordCipher(Keyring.generate())) as s:
        yield s


async def sync_one(store: SQLiteStore, n: int, at: datetime, *, channel_at: datetime) -> None:
    await store.set_calendar_state(key(n), CalendarState.ACTIVE)
    channel = Channel(f"ch-{n}", key(n), "s", f"r-{n}", NOW + timedelta(days=6), channel_at)
    await store.put_channel(channel)
    await store.apply_sync(SyncResult(key(n), {}, (), cursor="tok", synced_at=at))


async def test_a_sweep_in_progress(store: SQLiteStore) -> None:
    records = [
        CalendarRecord(key(n), Provider.GOOGLE, f"user{n}@example.com", CalendarKind.USER)
        for n in range(100)
    ]
    await store.add_calendars(records)
    # 40 synced over the last 5 minutes (the sweep started then): 8 a minute
    for n in range(40):
        at = NOW - timedelta(minutes=5) + timedelta(seconds=7.5 * n)
        await sync_one(store, n, at, channel_at=at - timedelta(seconds=3))
    for n in (40, 41, 42):
        await store.set_calendar_state(key(n), CalendarState.ERROR, f"user{n}@example.com: 404")
    await store.set_calendar_state(key(43), CalendarState.ERROR, "forbidden")
    await store.put_fault(Fault(key(1), SYNC_FAULT, "TransientError", "503 from Google", NOW, NOW))
    older = NOW - timedelta(hours=1)
    await store.put_fault(Fault(key(2), "ev-9", "ValueError", "x" * 400, older, older, 3, NOW))

    doc = await status_document(store, NOW)

    assert doc["calendars"] | {"top_error_reasons": None} == {
        "total": 100,
        "pending": 56,
        "active": 40,
        "error": 4,
        "rooms": 0,
        "users": 100,
        "top_error_reasons": None,
    }
    assert doc["calendars"]["top_error_reasons"] == [
        {"reason": "<address>: 404", "count": 3, "example": key(40)},
        {"reason": "forbidden", "count": 1, "example": key(43)},
    ]
    sweep = doc["sweep"]
    assert (sweep["synced"], sweep["total"], sweep["remaining"]) == (40, 96, 56)
    assert not sweep["done"]
    assert sweep["rate_per_minute"] == 8.0
    assert sweep["eta_seconds"] == 420  # 56 left at 8 a minute
    assert sweep["eta_at"] == (NOW + timedelta(minutes=7)).isoformat()
    assert doc["channels"] == {"expiring_within_a_day": 0}
    problems = doc["problems"]
    assert (problems["calendars_failing"], problems["event_faults"]) == (1, 1)
    first, second = problems["latest"]
    assert first["kind"] == "sync"
    assert first["event"] is None
    assert first["message"] == "503 from Google"
    assert (second["kind"], second["event"], second["attempts"]) == ("event", "ev-9", 3)
    assert len(second["message"]) == 300
    assert doc["daemon"] is None


async def test_live_figures_and_a_finished_sweep(store: SQLiteStore) -> None:
    record = CalendarRecord(key(1), Provider.GOOGLE, "user1@example.com", CalendarKind.USER)
    await store.add_calendar(record)
    long_ago = NOW - timedelta(days=2)
    await sync_one(store, 1, long_ago, channel_at=long_ago)
    live = LiveFigures(queue_depth=7, first_sweep_running=False, replica="a")
    doc = await status_document(store, NOW, live=live)
    assert doc["sweep"]["done"]
    assert doc["sweep"]["eta_seconds"] == 0
    assert doc["sweep"]["rate_per_minute"] is None
    assert doc["daemon"] == {"queue_depth": 7, "first_sweep_running": False, "replica": "a"}


def counts(**changes: object) -> CalendarOverview:
    values: dict[str, object] = {
        "by_state": {CalendarState.ACTIVE: 10, CalendarState.PENDING: 90},
        "synced": 10,
        "newly_synced": 10,
        "first_newly_synced": NOW - timedelta(minutes=30),  # before the window
        "channels_expiring": 0,
        "calendars_failing": 0,
        "event_faults": 0,
    }
    return CalendarOverview(**(values | changes))  # type: ignore[arg-type]


def test_rate_over_the_window_and_over_a_young_sweep() -> None:
    assert sweep_progress(counts(), NOW)["rate_per_minute"] == 1.0  # 10 in 10 minutes
    assert sweep_progress(counts(), NOW)["eta_seconds"] == 90 * 60
    young = counts(first_newly_synced=NOW - timedelta(minutes=2))
    assert sweep_progress(young, NOW)["rate_per_minute"] == 5.0
    # a few seconds of a sweep give no wild rate: at least a minute is measured
    just = counts(first_newly_synced=NOW - timedelta(seconds=5))
    assert sweep_progress(just, NOW)["rate_per_minute"] == 10.0
    idle = counts(newly_synced=0, first_newly_synced=None)
    assert sweep_progress(idle, NOW)["eta_seconds"] is None


def test_top_reasons_fold_addresses_and_cut_the_list() -> None:
    reasons: list[tuple[str, str | None]] = [
        ("google:a@x.org", "Calendar a@x.org not found"),
        ("google:b@x.org", "Calendar <b@x.org> not found"),
        ("google:c@x.org", None),
        ("google:d@x.org", "quota"),
        ("google:e@x.org", "quota"),
        ("google:f@x.org", "quota"),
    ]
    assert top_reasons(reasons, 2) == [
        {"reason": "quota", "count": 3, "example": "google:d@x.org"},
        {"reason": "Calendar <address> not found", "count": 2, "example": "google:a@x.org"},
    ]
    assert top_reasons(reasons, 10)[-1] == {
        "reason": "(no reason recorded)",
        "count": 1,
        "example": "google:c@x.org",
    }


def test_sweep_gauges() -> None:
    metrics = Metrics(process_metrics=False)
    metrics.set_sweep(synced=7412, remaining=2588)
    body = metrics.render()[0].decode()
    assert "hybridcal_sweep_calendars_synced 7412.0" in body
    assert "hybridcal_sweep_calendars_remaining 2588.0" in body
