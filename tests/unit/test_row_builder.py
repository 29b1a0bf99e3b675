"""Rows built in a worker process for big text: the same rows as in a thread, and a worker that
dies or hangs costs its round a fault, never the daemon."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hybridcal.core.entries import Sources, rows_for_sources
from hybridcal.core.model import Event, EventStatus, Window
from hybridcal.daemon.row_builder import RowBuilder

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
WINDOW = Window(T0 - timedelta(days=7), T0 + timedelta(days=31))


def _event(event_id: str, description: str) -> Event:
    return Event(
        calendar_key="google:room@example.com",
        event_id=event_id,
        etag=None,
        status=EventStatus.CONFIRMED,
        start=T0,
        end=T0 + timedelta(hours=1),
        summary=f"Meeting {event_id}",
        description=description,
    )


def _sources(size: int) -> Sources:
    body = "Join https://zoom.us/j/123456789?pwd=abc Passcode: 424242\n" + "x" * size
    return {
        "a": ([_event("a", body)], None),
        "b": ([_event("b", "https://meet.google.com/abc-defg-hij")], None),
    }


async def test_big_text_goes_to_the_worker_process_with_the_same_rows() -> None:
    builder = RowBuilder(process_threshold=10_000)
    try:
        small = await builder.build(_sources(100), WINDOW, 1.0)
        assert builder.process_rounds == 0  # little text: a thread is cheaper
        big = _sources(50_000)
        rows, errors = await builder.build(big, WINDOW, 1.0)
        assert builder.process_rounds == 1
        assert (rows, errors) == rows_for_sources(big, WINDOW, 1.0)
        assert [row.links[0].url for row in rows["a"]] == [
            link.url for row in small[0]["a"] for link in row.links
        ]
        assert errors == {}
    finally:
        await builder.close()


async def test_a_stuck_worker_costs_its_round_a_fault_and_is_replaced() -> None:
    builder = RowBuilder(process_threshold=10_000, hard_timeout=0.000_1)
    try:
        rows, errors = await builder.build(_sources(50_000), WINDOW, 1.0)
        assert rows == {}
        assert set(errors) == {"a", "b"}
        assert errors["a"].error == "TimeoutError"
        builder._hard_timeout = 60.0  # the next round gets a fresh worker
        rows, errors = await builder.build(_sources(50_000), WINDOW, 1.0)
        assert errors == {}
        assert set(rows) == {"a", "b"}
    finally:
        await builder.close()
