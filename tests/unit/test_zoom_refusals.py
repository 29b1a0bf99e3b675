"""Refusals of calls about an existing Zoom meeting (the daily create/update/delete limit) through
the planner and the executor: recorded in the binding they concern, asked for again only from
their retry time, and then carried out — nothing lost, nothing retried in between."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from tests.unit.test_executor import POLICY, START, FakeZoom, Rig, make_event

from hybridcal.connectors.meetings.base import MeetingRefusedError, MeetingRequest
from hybridcal.core.model import (
    Binding,
    BindingState,
    Event,
    EventStatus,
    JoinInfo,
    MeetingProblem,
    ProblemKind,
)
from hybridcal.core.planner import CANCELLED_OCCURRENCE, plan

MEETING = "93968804761"
DAILY = ("RRULE:FREQ=DAILY;COUNT=5",)


class LimitedZoom(FakeZoom):
    """A FakeZoom whose host is over Zoom's daily limit until ``until``: every create, update
    and delete (occurrences included) is refused until then, as the connector refuses them."""

    def __init__(self, now: datetime) -> None:
        super().__init__()
        self.now = now
        self.until: datetime | None = None
        self.refusals: list[str] = []

    def _limit(self, operation: str) -> None:
        if self.until is not None and self.now < self.until:
            self.refusals.append(operation)
            problem = MeetingProblem(ProblemKind.DAILY_LIMIT, "daily limit of 100 reached")
            raise MeetingRefusedError(problem, self.until)

    async def create(self, request: MeetingRequest) -> JoinInfo:
        self._limit("create")
        return await super().create(request)

    async def update(self, join: JoinInfo, request: MeetingRequest) -> JoinInfo:
        self._limit("update")
        return await super().update(join, request)

    async def delete(self, meeting_id: str) -> None:
        self._limit("delete")
        await super().delete(meeting_id)

    async def update_occurrence(
        self, meeting_id: str, original_start: datetime, start: datetime, end: datetime
    ) -> None:
        self._limit("update_occurrence")
        await super().update_occurrence(meeting_id, original_start, start, end)

    async def delete_occurrence(self, meeting_id: str, original_start: datetime) -> None:
        self._limit("delete_occurrence")
        await super().delete_occurrence(meeting_id, original_start)


class LimitRig(Rig):
    zoom: LimitedZoom

    def __init__(self, event: Event) -> None:
        super().__init__(event)
        self.zoom = LimitedZoom(self.now)
        self.executor._meetings = {"zoom": self.zoom}

    def advance_to(self, moment: datetime) -> None:
        self.now = self.zoom.now = moment

    def limit_until(self, moment: datetime) -> None:
        self.zoom.until = moment


def reset_after(now: datetime) -> datetime:
    """00:01 UTC after ``now``, as the connector says for Zoom's daily limit."""
    return now.replace(hour=0, minute=1, second=0, microsecond=0) + timedelta(days=1)


async def series_rig() -> tuple[LimitRig, Event]:
    rig = LimitRig(make_event(location="@zoom", recurrence=DAILY))
    master = await rig.process(make_event(location="@zoom", recurrence=DAILY))
    series = rig.store.get()
    assert series is not None
    assert series.meeting_id == MEETING
    return rig, master


def occurrence(master: Event, day: int, **changes: object) -> Event:
    original = START + timedelta(days=day)
    base = make_event(
        event_id=f"evt1_{original:%Y%m%dT%H%M%SZ}",
        recurring_event_id="evt1",
        original_start=original,
        start=original,
        end=original + timedelta(hours=1),
        marker=master.marker,
        description=master.description,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def cancelled(master: Event, day: int) -> Event:
    return occurrence(master, day, status=EventStatus.CANCELLED, is_organizer_copy=False)


async def test_a_cancelled_occurrence_refused_by_the_daily_limit_is_deleted_at_the_reset() -> None:
    rig, master = await series_rig()
    reset = reset_after(rig.now)
    rig.limit_until(reset)
    gone = cancelled(master, 3)

    await rig.process(gone)
    assert rig.zoom.refusals == ["delete_occurrence"]
    waiting = rig.store.get(gone.event_id)
    assert waiting is not None
    assert waiting.problem is not None
    assert waiting.problem.kind is ProblemKind.DAILY_LIMIT
    assert (waiting.retry_at, waiting.series_id, waiting.fingerprint) == (reset, "evt1", None)
    assert [b.event_id for b in rig.deferred] == [gone.event_id]  # the syncer wakes at reset

    for _ in range(3):  # seen again before the reset (echoes, full listings): no call at all
        await rig.process(gone)
    rig.advance_to(reset - timedelta(seconds=1))
    await rig.process(gone)
    assert rig.zoom.refusals == ["delete_occurrence"]
    assert rig.zoom.occurrences == []

    rig.advance_to(reset)
    await rig.process(gone)
    assert rig.zoom.occurrences == [("delete", MEETING, START + timedelta(days=3))]
    done = rig.store.get(gone.event_id)
    assert done is not None
    assert (done.fingerprint, done.problem, done.retry_at) == (CANCELLED_OCCURRENCE, None, None)
    await rig.process(gone)
    assert len(rig.zoom.occurrences) == 1
    assert rig.zoom.deleted == []  # the series' meeting stays


async def test_a_moved_occurrence_refused_keeps_what_was_mirrored_and_sends_the_latest() -> None:
    rig, master = await series_rig()
    first_move = occurrence(
        master, 2, start=START + timedelta(days=2, hours=2), end=START + timedelta(days=2, hours=3)
    )
    await rig.process(first_move)
    mirrored = rig.store.get(first_move.event_id)
    assert mirrored is not None
    reset = reset_after(rig.now)
    rig.limit_until(reset)
    second_move = replace(
        first_move,
        start=START + timedelta(days=2, hours=5),
        end=START + timedelta(days=2, hours=6),
    )
    await rig.process(second_move)
    waiting = rig.store.get(first_move.event_id)
    assert waiting is not None
    assert waiting.fingerprint == mirrored.fingerprint  # what Zoom has is still the first move
    assert waiting.retry_at == reset
    third_move = replace(
        second_move,
        start=START + timedelta(days=2, hours=7),
        end=START + timedelta(days=2, hours=8),
    )
    await rig.process(third_move)  # changed again meanwhile: still waits, no call
    assert rig.zoom.refusals == ["update_occurrence"]

    rig.advance_to(reset)
    await rig.process(third_move)
    assert rig.zoom.occurrences[-1] == ("update", MEETING, START + timedelta(days=2, hours=7))
    assert len(rig.zoom.occurrences) == 2
    done = rig.store.get(first_move.event_id)
    assert done is not None
    assert done.problem is None


async def test_an_occurrence_moved_back_before_the_reset_forgets_the_refusal() -> None:
    rig, master = await series_rig()
    moved = occurrence(
        master, 1, start=START + timedelta(days=1, hours=2), end=START + timedelta(days=1, hours=3)
    )
    await rig.process(moved)
    rig.limit_until(reset_after(rig.now))
    await rig.process(replace(moved, start=START + timedelta(days=1, hours=4)))
    waiting = rig.store.get(moved.event_id)
    assert waiting is not None
    assert waiting.problem is not None
    await rig.process(moved)  # back where Zoom already has it
    settled = rig.store.get(moved.event_id)
    assert settled is not None
    assert (settled.problem, settled.retry_at) == (None, None)
    assert len(rig.zoom.occurrences) == 1


async def test_a_refused_update_waits_and_is_made_at_the_reset() -> None:
    rig = LimitRig(make_event(location="@zoom"))
    await rig.process(make_event(location="@zoom"))
    before = rig.store.get()
    assert before is not None
    reset = reset_after(rig.now)
    rig.limit_until(reset)
    rig.calendar.edit(start=START + timedelta(hours=4), end=START + timedelta(hours=5))
    assert rig.calendar.current is not None
    patches = len(rig.calendar.patches)
    await rig.process(rig.calendar.current)
    waiting = rig.store.get()
    assert waiting is not None
    assert waiting.fingerprint == before.fingerprint
    assert (waiting.retry_at, waiting.join) == (reset, before.join)
    await rig.process(rig.calendar.current)
    assert rig.zoom.refusals == ["update"]
    assert len(rig.calendar.patches) == patches  # the invitation keeps its link

    rig.advance_to(reset)
    await rig.process(rig.calendar.current)
    ((_, request),) = rig.zoom.updated
    assert request.start == START + timedelta(hours=4)
    done = rig.store.get()
    assert done is not None
    assert (done.problem, done.retry_at) == (None, None)
    assert done.fingerprint != before.fingerprint


async def test_a_refused_deletion_of_a_cancelled_event_keeps_the_binding_until_the_reset() -> None:
    rig = LimitRig(make_event(location="@zoom"))
    made = await rig.process(make_event(location="@zoom"))
    reset = reset_after(rig.now)
    rig.limit_until(reset)
    gone = replace(made, status=EventStatus.CANCELLED)
    await rig.process(gone)
    await rig.process(gone)
    assert rig.zoom.refusals == ["delete"]
    waiting = rig.store.get()
    assert waiting is not None
    assert waiting.retry_at == reset
    rig.advance_to(reset)
    await rig.process(gone)
    assert rig.zoom.deleted == [MEETING]
    assert rig.store.bindings == {}


async def test_a_refused_deletion_after_the_keyword_went_removes_the_block_first() -> None:
    rig = LimitRig(make_event(location="@zoom"))
    await rig.process(make_event(location="@zoom"))
    reset = reset_after(rig.now)
    rig.limit_until(reset)
    rig.calendar.edit(location="Room 4")
    assert rig.calendar.current is not None
    after = await rig.process(rig.calendar.current)
    assert MEETING not in after.description  # the block went
    assert after.marker is None
    waiting = rig.store.get()
    assert waiting is not None
    assert waiting.problem is not None
    await rig.process(after)
    assert rig.zoom.refusals == ["delete"]
    rig.advance_to(reset)
    await rig.process(after)
    assert rig.zoom.deleted == [MEETING]
    assert rig.store.bindings == {}


async def test_a_meeting_made_but_not_finished_is_kept_and_finished_at_the_reset() -> None:
    rig = LimitRig(make_event(location="@zoom", recurrence=DAILY))
    reset = reset_after(rig.now)
    join = JoinInfo("zoom", MEETING, f"https://acme.zoom.us/j/{MEETING}?pwd=x", "4242")
    problem = MeetingProblem(ProblemKind.DAILY_LIMIT, "daily limit of 100 reached")
    rig.zoom.failures = [MeetingRefusedError(problem, reset, made=join)]
    after = await rig.process(make_event(location="@zoom", recurrence=DAILY))
    assert join.join_url in after.description  # the link is good now
    assert "does not allow" not in after.description
    binding = rig.store.get()
    assert binding is not None
    assert binding.state is BindingState.PATCHED
    assert (binding.fingerprint, binding.retry_at, binding.join) == (None, reset, join)
    await rig.process(after)
    assert rig.zoom.updated == []

    rig.advance_to(reset)
    await rig.process(after)
    assert [meeting for meeting, _ in rig.zoom.updated] == [MEETING]
    done = rig.store.get()
    assert done is not None
    assert done.problem is None
    assert done.fingerprint is not None
    await rig.process(after)
    assert len(rig.zoom.updated) == 1


def test_a_refused_creation_is_not_waiting_like_a_refused_deletion() -> None:
    """An INTENT with a problem (a refused creation) of a cancelled event needs no waiting: the
    lookup that may find a meeting is not limited, and nothing may be left behind."""
    problem = MeetingProblem(ProblemKind.DAILY_LIMIT, "daily limit")
    intent = Binding(
        make_event().calendar_key,
        "evt1",
        "zoom",
        "req-1",
        "@zoom",
        BindingState.INTENT,
        problem=problem,
        retry_at=START + timedelta(days=1),
    )
    gone = make_event(status=EventStatus.CANCELLED, location="@zoom")
    actions = plan(gone, intent, POLICY, now=START)
    assert [type(a).__name__ for a in actions] == ["DeleteMeeting", "DropBinding"]
    refused_delete = replace(intent, state=BindingState.PATCHED, meeting_id=MEETING)
    assert plan(gone, refused_delete, POLICY, now=START) == []
    due = plan(gone, refused_delete, POLICY, now=START + timedelta(days=1))
    assert [type(a).__name__ for a in due] == ["DeleteMeeting", "DropBinding"]
