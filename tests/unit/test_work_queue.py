"""CalendarQueue: one sync at a time per calendar, bursts coalesced, failures backed off."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from hybridcal.connectors.errors import ThrottledError, TransientError
from hybridcal.daemon.work_queue import CalendarQueue

A = "google:alice@example.com"
B = "google:bob@example.com"


class Handler:
    """Records calls; each call may be held until released, or fail with a scripted error."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, bool, float]] = []
        self.failures: list[Exception] = []
        self.gate: asyncio.Event | None = None
        self.started = asyncio.Event()
        self.running = 0
        self.most_running = 0

    async def __call__(self, key: str, full: bool) -> None:
        self.calls.append((key, full, asyncio.get_running_loop().time()))
        self.running += 1
        self.most_running = max(self.most_running, self.running)
        self.started.set()
        try:
            if self.gate is not None:
                await self.gate.wait()
            if self.failures:
                raise self.failures.pop(0)
        finally:
            self.running -= 1

    def keys(self) -> list[str]:
        return [key for key, _, _ in self.calls]


@pytest.fixture
async def handler() -> Handler:
    return Handler()


@pytest.fixture
async def make_queue(handler: Handler) -> AsyncIterator[Callable[..., CalendarQueue]]:
    queues: list[CalendarQueue] = []

    def make(**options: float) -> CalendarQueue:
        queue = CalendarQueue(handler, **options)  # type: ignore[arg-type]
        queue.start()
        queues.append(queue)
        return queue

    yield make
    for queue in queues:
        await queue.stop()


async def test_enqueues_during_a_running_sync_make_exactly_one_follow_up(
    handler: Handler, make_queue: Callable[..., CalendarQueue]
) -> None:
    queue = make_queue()
    handler.gate = asyncio.Event()
    queue.enqueue(A)
    await handler.started.wait()
    for _ in range(25):
        queue.enqueue(A)
    assert queue.depth == 1  # the running one; the burst is one "dirty" mark
    handler.gate.set()
    await asyncio.wait_for(queue.wait_idle(), 2)
    assert handler.keys() == [A, A]
    assert queue.completed == 2


async def test_enqueues_while_queued_are_one_sync(
    handler: Handler, make_queue: Callable[..., CalendarQueue]
) -> None:
    queue = make_queue()
    for _ in range(10):
        queue.enqueue(A)
    queue.enqueue(B)
    await asyncio.wait_for(queue.wait_idle(), 2)
    assert sorted(handler.keys()) == [A, B]


async def test_one_calendar_never_runs_twice_at_once(
    handler: Handler, make_queue: Callable[..., CalendarQueue]
) -> None:
    queue = make_queue(concurrency=4)
    for _ in range(5):
        queue.enqueue(A)
        await asyncio.sleep(0)
    await asyncio.wait_for(queue.wait_idle(), 2)
    assert handler.most_running == 1


async def test_calendars_run_side_by_side(
    handler: Handler, make_queue: Callable[..., CalendarQueue]
) -> None:
    queue = make_queue(concurrency=2)
    handler.gate = asyncio.Event()
    queue.enqueue(A)
    queue.enqueue(B)
    for _ in range(20):
        await asyncio.sleep(0)
    assert handler.running == 2
    handler.gate.set()
    await asyncio.wait_for(queue.wait_idle(), 2)


async def test_full_resync_request_reaches_the_follow_up(
    handler: Handler, make_queue: Callable[..., CalendarQueue]
) -> None:
    queue = make_queue()
    handler.gate = asyncio.Event()
    queue.enqueue(A)
    await handler.started.wait()
    queue.enqueue(A, full=True)
    handler.gate.set()
    await asyncio.wait_for(queue.wait_idle(), 2)
    assert [full for _, full, _ in handler.calls] == [False, True]


async def test_failures_back_off_then_succeed(
    handler: Handler, make_queue: Callable[..., CalendarQueue]
) -> None:
    queue = make_queue(max_backoff=0.02)
    handler.failures = [TransientError("down"), TransientError("still down")]
    queue.enqueue(A, full=True)
    for _ in range(200):
        if queue.completed:
            break
        await asyncio.sleep(0.01)
    assert handler.keys() == [A, A, A]
    assert [full for _, full, _ in handler.calls] == [True, True, True]  # the retry keeps "full"
    assert (queue.failed, queue.completed) == (2, 1)


async def test_throttled_retry_waits_for_retry_after(
    handler: Handler, make_queue: Callable[..., CalendarQueue]
) -> None:
    queue = make_queue(max_backoff=0.01)
    handler.failures = [ThrottledError("slow down", retry_after=0.3)]
    queue.enqueue(A)
    await asyncio.wait_for(queue.wait_idle(), 2)  # a retry waiting on its timer is not work
    assert queue.failed == 1
    for _ in range(100):
        if queue.completed:
            break
        await asyncio.sleep(0.01)
    assert len(handler.calls) == 2
    assert handler.calls[1][2] - handler.calls[0][2] >= 0.29


async def test_a_fresh_notification_cuts_an_ordinary_backoff_short(
    handler: Handler, make_queue: Callable[..., CalendarQueue]
) -> None:
    queue = make_queue(max_backoff=60)
    handler.failures = [TransientError("blip")]
    queue.enqueue(A)
    await asyncio.wait_for(queue.wait_idle(), 2)
    queue.enqueue(A)
    await asyncio.wait_for(queue.wait_idle(), 2)
    assert len(handler.calls) == 2
    assert queue.completed == 1


async def test_notification_does_not_override_retry_after(
    handler: Handler, make_queue: Callable[..., CalendarQueue]
) -> None:
    queue = make_queue(max_backoff=0.01)
    handler.failures = [ThrottledError("slow down", retry_after=0.3)]
    queue.enqueue(A)
    await asyncio.wait_for(queue.wait_idle(), 2)
    queue.enqueue(A)  # a change notification arrives while throttled
    await asyncio.wait_for(queue.wait_idle(), 2)  # it neither runs now ...
    assert len(handler.calls) == 1
    for _ in range(200):  # ... nor gets lost: the scheduled retry reads it
        if queue.completed:
            break
        await asyncio.sleep(0.01)
    assert len(handler.calls) == 2
    assert handler.calls[1][2] - handler.calls[0][2] >= 0.29


async def test_wait_idle_times_out_while_work_runs(
    handler: Handler, make_queue: Callable[..., CalendarQueue]
) -> None:
    queue = make_queue()
    await asyncio.wait_for(queue.wait_idle(), 0.1)  # idle from the start
    handler.gate = asyncio.Event()
    queue.enqueue(A)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(queue.wait_idle(), 0.05)
    assert queue.depth == 1
    handler.gate.set()
    await asyncio.wait_for(queue.wait_idle(), 2)
    assert not queue.busy
    assert queue.depth == 0


async def test_healthy_until_work_stalls(
    handler: Handler, make_queue: Callable[..., CalendarQueue]
) -> None:
    queue = make_queue()
    assert queue.healthy(stall_after=0.0)  # nothing to do is healthy
    handler.gate = asyncio.Event()
    queue.enqueue(A)
    await handler.started.wait()
    assert queue.healthy(stall_after=60)
    await asyncio.sleep(0.05)
    assert not queue.healthy(stall_after=0.04)
    handler.gate.set()
    await asyncio.wait_for(queue.wait_idle(), 2)
    assert queue.healthy(stall_after=0.0)


async def test_new_work_after_a_quiet_spell_is_not_a_stall(
    handler: Handler, make_queue: Callable[..., CalendarQueue]
) -> None:
    queue = make_queue()
    await asyncio.sleep(0.3)  # quiet
    handler.gate = asyncio.Event()
    queue.enqueue(A)
    await handler.started.wait()
    try:
        assert queue.healthy(stall_after=0.25)
    finally:
        handler.gate.set()


async def test_debounce_reads_a_burst_with_one_sync(
    handler: Handler, make_queue: Callable[..., CalendarQueue]
) -> None:
    queue = make_queue(debounce=0.3)
    loop = asyncio.get_running_loop()
    first = loop.time()
    for _ in range(5):
        queue.enqueue(A)
        await asyncio.sleep(0.01)
    assert handler.calls == []  # still gathering the burst
    await asyncio.wait_for(queue.wait_idle(), 2)
    assert handler.keys() == [A]
    assert handler.calls[0][2] - first >= 0.29


async def test_stop_cancels_a_debounced_sync(handler: Handler) -> None:
    queue = CalendarQueue(handler, debounce=0.05)
    queue.start()
    queue.enqueue(A)
    await queue.stop()
    await asyncio.sleep(0.1)
    assert handler.calls == []


async def test_depth_is_reported(handler: Handler) -> None:
    depths: list[int] = []
    queue = CalendarQueue(handler, on_depth=depths.append)
    queue.enqueue(A)
    queue.enqueue(B)
    assert depths == [1, 2]
    queue.start()
    try:
        await asyncio.wait_for(queue.wait_idle(), 2)
    finally:
        await queue.stop()
    assert depths[-1] == 0


async def test_stop_cancels_workers_and_pending_retries(handler: Handler) -> None:
    queue = CalendarQueue(handler, max_backoff=0.05)
    queue.start()
    handler.failures = [TransientError("down")]
    queue.enqueue(A)
    await asyncio.wait_for(queue.wait_idle(), 2)
    await queue.stop()
    await asyncio.sleep(0.1)  # the retry timer would have fired by now
    assert len(handler.calls) == 1


async def test_failures_and_recoveries_are_reported(handler: Handler) -> None:
    retries: list[tuple[str, str, float]] = []
    successes: list[str] = []
    queue = CalendarQueue(
        handler,
        max_backoff=0.05,
        on_retry=lambda key, exc, delay: retries.append((key, str(exc), delay)),
        on_success=successes.append,
    )
    queue.start()
    try:
        handler.failures = [TransientError("503 from events.list")]
        queue.enqueue(A)
        for _ in range(200):
            if successes:
                break
            await asyncio.sleep(0.01)
        [(key, message, delay)] = retries
        assert (key, message) == (A, "503 from events.list")
        assert 0 < delay <= 0.05
        assert successes == [A]  # the retry went through: the daemon clears the sync fault
    finally:
        await queue.stop()


async def test_enqueue_from_another_thread_fails_without_wedging_the_calendar(
    handler: Handler,
) -> None:
    queue = CalendarQueue(handler, debounce=0.01)
    queue.start()
    try:
        with pytest.raises(RuntimeError):
            await asyncio.to_thread(queue.enqueue, A)
        queue.enqueue(A)  # on the loop: still works
        for _ in range(200):
            if handler.calls:
                break
            await asyncio.sleep(0.01)
        assert handler.keys() == [A]
        await asyncio.wait_for(queue.wait_idle(), 2)
        assert queue.depth == 0  # nothing left marked pending by the failed call
    finally:
        await queue.stop()


async def test_forget_drops_waiting_work_and_returns_when_the_running_sync_ends(
    handler: Handler, make_queue: Callable[..., CalendarQueue]
) -> None:
    """A calendar handed over to another replica: nothing more runs for it here, and the
    hand-over waits for the sync in flight (its writes must land before the new owner's)."""
    queue = make_queue(concurrency=1)
    handler.gate = asyncio.Event()
    queue.enqueue(A)
    await handler.started.wait()
    queue.enqueue(A)  # dirty: a follow-up would run after the gate
    queue.enqueue(B)  # queued behind A
    forgetting = asyncio.create_task(queue.forget([A, B]))
    await asyncio.sleep(0.05)
    assert not forgetting.done()  # A's sync is still running
    handler.gate.set()
    await asyncio.wait_for(forgetting, 2)
    await asyncio.wait_for(queue.wait_idle(), 2)
    assert handler.keys() == [A]  # no follow-up for A, nothing for B
    queue.enqueue(B)  # taken back later: it runs again
    await asyncio.wait_for(queue.wait_idle(), 2)
    assert handler.keys() == [A, B]
