"""EventExecutor with fakes: conflicts are re-read and re-planned, deleted events cancel."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import cast

import pytest

from hybridcal.connectors.calendars.base import CalendarConnector
from hybridcal.connectors.errors import (
    ConferenceRefusedError,
    ConflictError,
    ConnectorError,
    NotFoundError,
    TransientError,
)
from hybridcal.connectors.meetings.base import MeetingRefusedError, MeetingRequest, MeetingSystem
from hybridcal.core.model import (
    Binding,
    BindingState,
    CalendarKind,
    CalendarRecord,
    CalendarState,
    Conference,
    EntryPoint,
    Event,
    EventStatus,
    JoinInfo,
    MeetingProblem,
    ProblemKind,
    Provider,
    calendar_key,
)
from hybridcal.core.patch import EventPatch
from hybridcal.core.planner import CONFERENCE_RETRY, Policy, created
from hybridcal.daemon.executor import MAX_ROUNDS, EventExecutor, PlanDidNotSettleError
from hybridcal.store.base import Store

CALENDAR = CalendarRecord(
    calendar_key(Provider.GOOGLE, "alice@example.com"),
    Provider.GOOGLE,
    "alice@example.com",
    CalendarKind.USER,
    CalendarState.ACTIVE,
)
START = datetime(2030, 3, 4, 9, tzinfo=UTC)
POLICY = Policy(
    keywords={"@meet": "meet", "@zoom": "zoom"},
    native_systems=frozenset({"meet"}),
    external_systems=frozenset({"zoom"}),
    locale="en",
)


def make_event(**changes: object) -> Event:
    base = Event(
        calendar_key=CALENDAR.key,
        event_id="evt1",
        etag='"1"',
        status=EventStatus.CONFIRMED,
        start=START,
        end=START + timedelta(hours=1),
        summary="Planning",
        location="@meet",
        description="Agenda",
        organizer="alice@example.com",
        is_organizer_copy=True,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


class FakeStore:
    def __init__(self) -> None:
        self.bindings: dict[tuple[str, str], Binding] = {}

    async def get_binding(self, calendar_key: str, event_id: str) -> Binding | None:
        return self.bindings.get((calendar_key, event_id))

    async def put_binding(self, binding: Binding) -> None:
        self.bindings[(binding.calendar_key, binding.event_id)] = binding

    async def delete_binding(self, calendar_key: str, event_id: str) -> None:
        self.bindings.pop((calendar_key, event_id), None)

    def get(self, event_id: str = "evt1") -> Binding | None:
        return self.bindings.get((CALENDAR.key, event_id))


class FakeCalendar:
    """The provider's copy of the event, patched with If-Match like Google does."""

    def __init__(self, event: Event) -> None:
        self.current: Event | None = event
        self.patches: list[tuple[str | None, EventPatch]] = []  # (If-Match, patch)
        self.applies_patches = True

    def edit(self, **changes: object) -> None:
        """A person edits the event in their calendar client."""
        assert self.current is not None
        self.current = replace(self._bumped(self.current), **changes)  # type: ignore[arg-type]

    async def patch_event(self, calendar: CalendarRecord, event: Event, patch: EventPatch) -> Event:
        self.patches.append((event.etag, patch))
        if self.current is None:
            raise NotFoundError("events.patch: 404 notFound")
        if event.etag != self.current.etag:
            raise ConflictError("events.patch: 412 conditionNotMet")
        if self.applies_patches:
            self.current = _apply(self._bumped(self.current), patch)
        return self.current

    async def get_event(self, calendar: CalendarRecord, event_id: str) -> Event | None:
        return self.current

    @staticmethod
    def _bumped(event: Event) -> Event:
        return replace(event, etag=f'"{int((event.etag or "0").strip(chr(34))) + 1}"')


def _apply(event: Event, patch: EventPatch) -> Event:
    if patch.description is not None:
        event = replace(event, description=patch.description)
    if patch.marker is not None or patch.clear_marker:
        event = replace(event, marker=patch.marker)
    if patch.conference_request_id is not None:
        video = EntryPoint("video", "https://meet.google.com/abc-defg-hij")
        conference = Conference(
            "meet", "abc-defg-hij", "success", patch.conference_request_id, (video,)
        )
        event = replace(event, conference=conference)
    elif patch.clear_conference:
        event = replace(event, conference=None)
    return event


class FakeZoom:
    """Remembers its meetings by idempotency key, as the real connector finds them again."""

    name = "zoom"

    def __init__(self) -> None:
        self.created: list[MeetingRequest] = []
        self.found: list[str] = []
        self.updated: list[tuple[str, MeetingRequest]] = []
        self.deleted: list[str] = []
        self.occurrences: list[tuple[str, str, datetime | None]] = []  # (op, meeting, start)
        self.failures: list[Exception] = []
        self.by_key: dict[str, JoinInfo] = {}
        self.rooms_read: list[str] = []  # hosts whose personal room was read
        self.room_failures: list[Exception] = []

    async def create(self, request: MeetingRequest) -> JoinInfo:
        if self.failures:
            raise self.failures.pop(0)
        self.created.append(request)
        join = JoinInfo("zoom", "93968804761", "https://acme.zoom.us/j/93968804761?pwd=x", "4242")
        self.by_key[request.idempotency_key] = join
        return join

    async def find(self, request: MeetingRequest) -> JoinInfo | None:
        self.found.append(request.idempotency_key)
        join = self.by_key.get(request.idempotency_key)
        return None if join is None or join.meeting_id in self.deleted else join

    async def update(self, join: JoinInfo, request: MeetingRequest) -> JoinInfo:
        self.updated.append((join.meeting_id, request))
        return join

    async def delete(self, meeting_id: str) -> None:
        self.deleted.append(meeting_id)

    async def update_occurrence(
        self, meeting_id: str, original_start: datetime, start: datetime, end: datetime
    ) -> None:
        self.occurrences.append(("update", meeting_id, start))

    async def delete_occurrence(self, meeting_id: str, original_start: datetime) -> None:
        self.occurrences.append(("delete", meeting_id, original_start))

    async def personal_room(self, host: str) -> JoinInfo:
        self.rooms_read.append(host)
        if self.room_failures:
            raise self.room_failures.pop(0)
        pmi = "5550001111" if host.startswith("alice") else "5550002222"
        return JoinInfo("zoom", pmi, f"https://acme.zoom.us/j/{pmi}?pwd=p", "7777")

    async def close(self) -> None:
        pass


class Metrics:
    def __init__(self) -> None:
        self.patches: list[str] = []
        self.meetings: list[tuple[str, str]] = []
        self.echoes = 0

    def patch(self, outcome: str) -> None:
        self.patches.append(outcome)

    def meeting(self, system: str, operation: str) -> None:
        self.meetings.append((system, operation))

    def echo_avoided(self) -> None:
        self.echoes += 1


class Rig:
    def __init__(self, event: Event, *, zoom: bool = True) -> None:
        self.store = FakeStore()
        self.calendar = FakeCalendar(event)
        self.zoom = FakeZoom()
        self.metrics = Metrics()
        self.now = START - timedelta(days=1)
        self.deferred: list[Binding] = []
        meetings = {"zoom": cast("MeetingSystem", self.zoom)} if zoom else {}
        self.executor = EventExecutor(
            cast("Store", self.store),
            meetings,
            self.metrics,
            now=lambda: self.now,
            on_deferred=self.deferred.append,
        )

    async def process(self, event: Event) -> Event:
        connector = cast("CalendarConnector", self.calendar)
        bound = {event_id for (_key, event_id) in self.store.bindings}
        return await self.executor.process(CALENDAR, connector, event, POLICY, bound=bound)


async def test_meet_keyword_is_patched_once_and_its_echo_is_quiet() -> None:
    rig = Rig(make_event())
    after = await rig.process(make_event())
    assert len(rig.calendar.patches) == 1
    etag, patch = rig.calendar.patches[0]
    assert etag == '"1"'
    assert patch.conference_request_id is not None
    binding = rig.store.get()
    assert binding is not None
    assert (binding.state, binding.meeting_id) == (BindingState.PATCHED, "abc-defg-hij")
    assert after == rig.calendar.current
    assert await rig.process(after) == after
    assert len(rig.calendar.patches) == 1
    assert rig.metrics.echoes == 1


async def test_conflict_rereads_and_replans_with_the_same_request_id() -> None:
    stale = make_event()
    rig = Rig(stale)
    rig.calendar.edit(description="Agenda, edited by Alice")  # between our read and our patch
    after = await rig.process(stale)
    assert rig.metrics.patches == ["conflict", "ok"]
    (first_etag, first), (second_etag, second) = rig.calendar.patches
    assert (first_etag, second_etag) == ('"1"', '"2"')
    assert first.conference_request_id == second.conference_request_id  # no second conference
    assert after.description == "Agenda, edited by Alice"
    assert after.conference is not None


async def test_conflict_after_the_keyword_was_removed_makes_nothing() -> None:
    stale = make_event()
    rig = Rig(stale)
    rig.calendar.edit(location="Room 4")
    after = await rig.process(stale)
    assert rig.metrics.patches == ["conflict"]
    assert rig.store.bindings == {}
    assert after.location == "Room 4"
    assert after.conference is None


async def test_patch_on_a_deleted_event_counts_as_cancelled() -> None:
    event = make_event(location="@zoom")
    rig = Rig(event)
    rig.calendar.current = None
    intent = Binding(CALENDAR.key, "evt1", "zoom", "req-1", "@zoom", BindingState.INTENT)
    await rig.store.put_binding(intent)
    after = await rig.process(event)
    assert after.is_cancelled
    assert rig.metrics.patches == ["gone"]
    assert len(rig.zoom.created) == 1
    assert rig.zoom.deleted == ["93968804761"]  # the meeting made for it goes too
    assert rig.store.bindings == {}


async def test_conflict_on_an_event_deleted_meanwhile_counts_as_cancelled() -> None:
    stale = make_event()
    rig = Rig(stale)
    rig.calendar.edit()
    real_get = rig.calendar.get_event

    async def vanished(calendar: CalendarRecord, event_id: str) -> Event | None:
        await real_get(calendar, event_id)
        return None

    rig.calendar.get_event = vanished  # type: ignore[method-assign]
    after = await rig.process(stale)
    assert after.is_cancelled
    assert rig.store.bindings == {}


async def test_external_meeting_is_created_once_and_settles() -> None:
    rig = Rig(make_event(location="@zoom"))
    after = await rig.process(make_event(location="@zoom"))
    assert len(rig.zoom.created) == 1
    binding = rig.store.get()
    assert binding is not None
    assert rig.zoom.created[0].idempotency_key == binding.request_id
    assert binding.state is BindingState.PATCHED
    assert len(rig.calendar.patches) == 1
    assert "93968804761" in after.description
    await rig.process(after)
    assert len(rig.zoom.created) == 1
    assert len(rig.calendar.patches) == 1


async def test_moved_event_updates_its_meeting_without_patching() -> None:
    rig = Rig(make_event(location="@zoom"))
    after = await rig.process(make_event(location="@zoom"))
    rig.calendar.edit(start=START + timedelta(days=1), end=START + timedelta(days=1, hours=1))
    assert rig.calendar.current is not None
    await rig.process(rig.calendar.current)
    ((meeting_id, request),) = rig.zoom.updated
    assert (meeting_id, request.start) == ("93968804761", START + timedelta(days=1))
    assert len(rig.calendar.patches) == 1
    assert after.marker is not None


async def test_failed_create_keeps_the_intent_for_the_retry() -> None:
    rig = Rig(make_event(location="@zoom"))
    rig.zoom.failures = [TransientError("zoom down")]
    with pytest.raises(TransientError):
        await rig.process(make_event(location="@zoom"))
    intent = rig.store.get()
    assert intent is not None
    assert intent.state is BindingState.INTENT
    await rig.process(make_event(location="@zoom"))
    assert [r.idempotency_key for r in rig.zoom.created] == [intent.request_id]


async def test_unconfigured_meeting_system_is_an_error() -> None:
    rig = Rig(make_event(location="@zoom"), zoom=False)
    with pytest.raises(ConnectorError, match="zoom"):
        await rig.process(make_event(location="@zoom"))


async def test_occurrence_of_a_series_with_a_meeting_needs_nothing() -> None:
    rig = Rig(make_event())
    series = Binding(
        CALENDAR.key, "evt1", "meet", "req-1", "@meet", BindingState.PATCHED, "abc-defg-hij"
    )
    await rig.store.put_binding(series)
    occurrence = make_event(event_id="evt1_20300304T090000Z", recurring_event_id="evt1")
    assert await rig.process(occurrence) == occurrence
    assert rig.calendar.patches == []


async def test_a_plan_that_never_settles_gives_up_after_max_rounds() -> None:
    rig = Rig(make_event())
    rig.calendar.applies_patches = False  # the provider accepts our patches but drops them
    with pytest.raises(PlanDidNotSettleError, match="evt1"):
        await rig.process(make_event())
    assert len(rig.calendar.patches) == MAX_ROUNDS


async def test_keyword_put_back_during_teardown_never_leaves_a_dead_link() -> None:
    rig = Rig(make_event(location="@zoom"))
    settled = await rig.process(make_event(location="@zoom"))
    removed = replace(settled, location="Room 4")  # what we read: the keyword is gone ...
    rig.calendar.edit(location="Room 4 @zoom")  # ... and before our patch it is back
    after = await rig.process(removed)
    binding = rig.store.get()
    assert binding is not None
    assert binding.meeting_id is not None
    assert binding.meeting_id in after.description
    assert binding.meeting_id not in rig.zoom.deleted


async def test_keyword_removed_before_the_patch_landed_deletes_the_meeting() -> None:
    rig = Rig(make_event(location="Room 4"))
    join = await rig.zoom.create(MeetingRequest("req-1", "Planning", START, None, None, None))
    intent = Binding(CALENDAR.key, "evt1", "zoom", "req-1", "@zoom", BindingState.INTENT)
    await rig.store.put_binding(created(intent, join))  # then the patch failed (5xx, crash)
    await rig.process(make_event(location="Room 4"))  # and the person removed the keyword
    assert rig.zoom.deleted == [join.meeting_id]
    assert rig.store.bindings == {}


async def test_a_fresh_intent_is_created_without_a_lookup() -> None:
    rig = Rig(make_event(location="@zoom"))
    await rig.process(make_event(location="@zoom"))
    assert rig.zoom.found == []  # the hot path: exactly one create, no read
    assert [op for _, op in rig.metrics.meetings] == ["create"]


async def test_an_intent_left_by_a_crash_adopts_the_meeting_made_before_it() -> None:
    rig = Rig(make_event(location="@zoom"))
    intent = Binding(CALENDAR.key, "evt1", "zoom", "req-1", "@zoom", BindingState.INTENT)
    await rig.store.put_binding(intent)
    # the previous process created the meeting, then died before storing the answer
    await rig.zoom.create(MeetingRequest("req-1", "Planning", START, None, None, None))
    after = await rig.process(make_event(location="@zoom"))
    assert rig.zoom.found == ["req-1"]
    assert len(rig.zoom.created) == 1
    assert "93968804761" in after.description
    binding = rig.store.get()
    assert binding is not None
    assert binding.state is BindingState.PATCHED


async def test_refusal_leaves_a_note_and_retries_when_due() -> None:
    rig = Rig(make_event(location="@zoom", description="Bring slides"))
    problem = MeetingProblem(ProblemKind.DAILY_LIMIT, "daily limit of 100 reached for alice")
    retry_at = rig.now + timedelta(hours=3)
    rig.zoom.failures = [MeetingRefusedError(problem, retry_at)]
    after = await rig.process(make_event(location="@zoom", description="Bring slides"))
    assert after.description.startswith("Bring slides")
    assert "does not allow more meetings" in after.description
    binding = rig.store.get()
    assert binding is not None
    assert binding.state is BindingState.INTENT
    assert (binding.problem, binding.retry_at) == (problem, retry_at)
    assert [(b.problem, b.retry_at) for b in rig.deferred] == [(problem, retry_at)]
    # its echo, before the retry is due: no write, no call
    patches = len(rig.calendar.patches)
    await rig.process(after)
    assert len(rig.calendar.patches) == patches
    assert rig.zoom.created == []
    # once due: the meeting replaces the note, the person's text stays
    rig.now = retry_at
    final = await rig.process(after)
    assert len(rig.zoom.created) == 1
    assert "does not allow" not in final.description
    assert "93968804761" in final.description
    assert final.description.startswith("Bring slides")
    settled = rig.store.get()
    assert settled is not None
    assert settled.problem is None


async def test_keyword_removed_from_an_unfinished_intent_deletes_what_was_made() -> None:
    rig = Rig(make_event(location="Room 4"))
    await rig.zoom.create(MeetingRequest("req-1", "Planning", START, None, None, None))
    intent = Binding(CALENDAR.key, "evt1", "zoom", "req-1", "@zoom", BindingState.INTENT)
    await rig.store.put_binding(intent)
    await rig.process(make_event(location="Room 4"))
    assert rig.zoom.found == ["req-1"]
    assert rig.zoom.deleted == ["93968804761"]
    assert rig.store.bindings == {}


async def test_changed_and_cancelled_occurrences_reach_the_series_meeting() -> None:
    rig = Rig(make_event(location="@zoom"))
    master = await rig.process(
        make_event(location="@zoom", recurrence=("RRULE:FREQ=DAILY;COUNT=5",))
    )
    series = rig.store.get()
    assert series is not None
    assert series.meeting_id == "93968804761"
    original = START + timedelta(days=2)
    moved = make_event(
        event_id="evt1_20300306T090000Z",
        recurring_event_id="evt1",
        original_start=original,
        start=original + timedelta(hours=2),
        end=original + timedelta(hours=3),
        marker=master.marker,
        description=master.description,
    )
    await rig.process(moved)
    await rig.process(moved)  # seen again (an echo, a full listing): no second update
    assert rig.zoom.occurrences == [("update", "93968804761", original + timedelta(hours=2))]
    cancelled = make_event(
        event_id="evt1_20300307T090000Z",
        recurring_event_id="evt1",
        original_start=START + timedelta(days=3),
        status=EventStatus.CANCELLED,
        is_organizer_copy=False,
    )
    await rig.process(cancelled)
    assert rig.zoom.occurrences[-1] == ("delete", "93968804761", START + timedelta(days=3))
    assert rig.zoom.deleted == []  # the series' meeting itself stays


async def test_a_refused_meet_becomes_a_note_and_a_deferred_retry() -> None:
    rig = Rig(make_event())
    refusals = [ConferenceRefusedError("events.patch: 400 invalid Invalid conference type value.")]
    real_patch = rig.calendar.patch_event

    async def refusing(calendar: CalendarRecord, event: Event, patch: EventPatch) -> Event:
        if patch.conference_request_id is not None and refusals:
            rig.calendar.patches.append((event.etag, patch))
            raise refusals.pop(0)
        return await real_patch(calendar, event, patch)

    rig.calendar.patch_event = refusing  # type: ignore[method-assign]
    after = await rig.process(make_event())
    binding = rig.store.get()
    assert binding is not None
    assert binding.state is BindingState.INTENT
    assert binding.problem is not None
    assert binding.problem.kind is ProblemKind.CONFERENCE_NOT_ALLOWED
    assert "Invalid conference type value." in binding.problem.detail
    assert binding.retry_at == rig.now + CONFERENCE_RETRY
    assert [b.retry_at for b in rig.deferred] == [binding.retry_at]
    assert after.conference is None
    assert "Google Meet meeting could not be created" in after.description
    assert rig.metrics.patches == ["refused", "ok"]
    # edits before the retry time send nothing
    rig.calendar.edit(summary="Planning v2")
    assert rig.calendar.current is not None
    await rig.process(rig.calendar.current)
    assert len(rig.calendar.patches) == 2
    # once due: a new request id, the conference, and the note goes
    rig.now = binding.retry_at
    final = await rig.process(rig.calendar.current)
    assert final.conference is not None
    assert final.conference.request_id != binding.request_id
    assert final.description == "Agenda"
    settled = rig.store.get()
    assert settled is not None
    assert settled.problem is None
