"""Carries out the planner's steps for one event until the event is as it should be.

Creating an external meeting is the one step that cannot be made idempotent by the provider:
an intent stored by *this* process and not yet sent is created directly (the hot path: one
call); any other intent (found after a restart, or after a call whose answer was lost) is first
looked up by its request id in the meeting system, so a crash never leaves two meetings.

With several replicas (``hybridcal.cluster``) every step is fenced: it is taken only while this
replica holds the calendar's lease, a create runs under a timeout of what is left of the lease,
and an intent stored by another replica is looked up only once the calendar has been held for
longer than any call can last (``settle_seconds``), so a create the previous owner had in flight
has ended, one way or the other, before we look.

A meeting system that refuses for now (MeetingRefusedError: the daily limit, no account) does
not fail the event, whichever call it refuses: the refusal and its retry time go into the
binding of the event (or of the occurrence) the call was for, the syncer is told when to look
again, and the planner asks for nothing more about that binding before then.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Collection, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Protocol

import structlog

from hybridcal.cluster.base import Coordinator, LeaseLostError
from hybridcal.cluster.solo import SoloCoordinator
from hybridcal.connectors.calendars.base import CalendarConnector
from hybridcal.connectors.errors import (
    ConferenceRefusedError,
    ConflictError,
    ConnectorError,
    NotFoundError,
    TransientError,
)
from hybridcal.connectors.meetings.base import MeetingRefusedError, MeetingRequest, MeetingSystem
from hybridcal.core.html_text import html_to_text, looks_like_html
from hybridcal.core.model import (
    Binding,
    BindingState,
    CalendarRecord,
    Event,
    EventStatus,
    JoinInfo,
    MeetingProblem,
    ProblemKind,
)
from hybridcal.core.planner import (
    CONFERENCE_RETRY,
    Action,
    CreateMeeting,
    DeleteMeeting,
    DeleteOccurrence,
    DropBinding,
    PatchEvent,
    Policy,
    SaveBinding,
    UpdateMeeting,
    UpdateOccurrence,
    UsePersonalRoom,
    created,
    meeting_system_of,
    needs_planning,
    new_request_id,
    personal_room_read,
    plan,
    refused,
)
from hybridcal.core.render import replace_block
from hybridcal.store.base import Store

log = structlog.get_logger(__name__)

MAX_ROUNDS = 6  # plan -> execute -> re-plan; a healthy event settles in two or three


class ExecutorMetrics(Protocol):
    def patch(self, outcome: str) -> None: ...

    def meeting(self, system: str, operation: str) -> None: ...

    def echo_avoided(self) -> None: ...


class PlanDidNotSettleError(ConnectorError):
    pass


class IntentSettlingError(TransientError):
    """An intent stored by the calendar's previous owner waits until any create that replica
    had in flight has ended; the round is tried again shortly."""

    def __init__(self, binding: Binding, wait_seconds: float) -> None:
        super().__init__(
            f"event {binding.event_id}: the previous owner's call may still be in flight;"
            f" looked up in {wait_seconds:.0f} s"
        )


Deferred = Callable[[Binding], None]  # told of every binding whose call waits for retry_at


class EventExecutor:
    def __init__(
        self,
        store: Store,
        meetings: Mapping[str, MeetingSystem],
        metrics: ExecutorMetrics,
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        on_deferred: Deferred | None = None,
        coordinator: Coordinator | None = None,
        settle_seconds: float = 0.0,
    ) -> None:
        self._store = store
        self._coordinator: Coordinator = coordinator or SoloCoordinator()
        self._settle_seconds = settle_seconds
        self._meetings = meetings
        self._metrics = metrics
        self._now = now
        self._on_deferred = on_deferred or (lambda _binding: None)
        # request ids of intents this process stored and has not yet sent: created directly
        self._unsent: set[str] = set()

    async def process(
        self,
        calendar: CalendarRecord,
        connector: CalendarConnector,
        event: Event,
        policy: Policy,
        *,
        bound: Collection[str],
    ) -> Event:
        """Run the plan to completion; returns the event as it now stands at the provider.

        ``bound`` holds the ids of the calendar's events that have a binding (read once per
        round), so that most events of a sync cost no store read at all."""
        series_bound = event.recurring_event_id is not None and event.recurring_event_id in bound
        if not needs_planning(
            event, policy, has_binding=event.event_id in bound, series_bound=series_bound
        ):
            return event
        series = None
        if event.recurring_event_id:
            series = await self._store.get_binding(calendar.key, event.recurring_event_id)
        for round_ in range(MAX_ROUNDS):
            binding = await self._store.get_binding(calendar.key, event.event_id)
            actions = plan(event, binding, policy, series_binding=series, now=self._now())
            if not actions:
                if round_ == 0 and event.marker is not None:
                    self._metrics.echo_avoided()  # our own write came back: nothing to do
                return event
            event = await self._run(calendar, connector, event, actions)
        raise PlanDidNotSettleError(f"event {event.event_id} did not settle; will retry")

    async def _run(
        self,
        calendar: CalendarRecord,
        connector: CalendarConnector,
        event: Event,
        actions: list[Action],
    ) -> Event:
        """Execute steps in order; stops early (for a re-plan) when the event changed under us."""
        for action in actions:
            self._coordinator.fence(calendar.key)
            if isinstance(action, PatchEvent):
                event, interrupted = await self._patch(calendar, connector, event, action)
                if interrupted:
                    break
            elif not await self._step(event, action):
                break  # refused for now and recorded: re-plan
        return event

    async def _patch(
        self,
        calendar: CalendarRecord,
        connector: CalendarConnector,
        event: Event,
        action: PatchEvent,
    ) -> tuple[Event, bool]:
        try:
            patched = await connector.patch_event(calendar, event, action.patch)
        except ConflictError:
            # a person edited the event since we read it: read it again and re-plan
            self._metrics.patch("conflict")
            fresh = await connector.get_event(calendar, event.event_id)
            return fresh or replace(event, status=EventStatus.CANCELLED), True
        except NotFoundError:
            self._metrics.patch("gone")
            return replace(event, status=EventStatus.CANCELLED), True
        except ConferenceRefusedError as exc:
            if action.patch.conference_request_id is None or action.then is None:
                raise
            # Meet is turned off for the organiser (or unlicensed): the binding carries the
            # problem and a retry time, and the re-plan writes the note instead
            self._metrics.patch("refused")
            await self._refused(
                replace(action.then, state=BindingState.INTENT),
                MeetingProblem(ProblemKind.CONFERENCE_NOT_ALLOWED, str(exc)),
                self._now() + CONFERENCE_RETRY,
            )
            return event, True
        self._metrics.patch("ok")
        if action.then is None:
            await self._store.delete_binding(calendar.key, event.event_id)
        else:
            await self._store.put_binding(action.then)
        return patched, False

    async def _step(self, event: Event, action: Action) -> bool:
        """Carry out one step; False when the meeting system refused it for now (recorded)."""
        try:
            await self._do(event, action)
        except _Refused:
            return False
        return True

    async def _do(self, event: Event, action: Action) -> None:
        match action:
            case SaveBinding(binding, fresh):
                await self._store.put_binding(binding)
                if fresh:
                    self._unsent.add(binding.request_id)
                if binding.problem is not None and binding.retry_at is not None:
                    self._on_deferred(binding)  # e.g. a conference that Google failed
            case DropBinding(calendar_key, event_id):
                await self._store.delete_binding(calendar_key, event_id)
            case UsePersonalRoom(binding, host, key):
                await self._use_personal_room(binding, host, key)
            case _:
                await self._do_meeting(event, action)

    async def _do_meeting(self, event: Event, action: Action) -> None:
        """The steps that create, change or delete a meeting in a meeting system."""
        match action:
            case CreateMeeting(binding):
                await self._create(event, binding)
            case UpdateMeeting(binding, fingerprint):
                await self._update(event, binding, fingerprint)
            case DeleteMeeting(binding):
                await self._delete(event, binding)
            case UpdateOccurrence(series, occurrence, then):
                await self._update_occurrence(series, occurrence, then)
            case DeleteOccurrence(series, original_start, then):
                await self._delete_occurrence(series, original_start, then)

    async def _create(self, event: Event, binding: Binding) -> None:
        system = self._system(binding)
        request = _request(event, binding)
        join: JoinInfo | None = None
        if binding.request_id in self._unsent:
            self._unsent.discard(binding.request_id)  # from now on it may have been sent
        else:
            held = self._coordinator.held_for(binding.calendar_key)
            if held < self._settle_seconds:
                raise IntentSettlingError(binding, self._settle_seconds - held)
            join = await system.find(request)
            self._metrics.meeting(binding.system, "find")
        if join is None:
            try:
                join = await self._bounded_create(system, request, binding.calendar_key)
            except MeetingRefusedError as exc:
                self._metrics.meeting(binding.system, "refused")
                if exc.made is not None:
                    # made, but not finished (e.g. excluded occurrences still there): keep the
                    # meeting; an update (the fingerprint is unknown) finishes it at the retry
                    self._metrics.meeting(binding.system, "create")
                    binding = replace(created(binding, exc.made), fingerprint=None)
                await self._refused(binding, exc.problem, exc.retry_at)
                return
            self._metrics.meeting(binding.system, "create")
        await self._store.put_binding(created(binding, join))

    async def _bounded_create(
        self, system: MeetingSystem, request: MeetingRequest, calendar_key: str
    ) -> JoinInfo:
        """The create, cut short when the lease would run out first: no attempt (a wait for
        Retry-After included) goes on after another replica may have taken over."""
        remaining = self._coordinator.fence(calendar_key)
        if math.isinf(remaining):
            return await system.create(request)
        deadline = asyncio.timeout(remaining)
        try:
            async with deadline:
                return await system.create(request)
        except TimeoutError:
            if deadline.expired():
                raise LeaseLostError(calendar_key) from None
            raise

    async def _use_personal_room(self, binding: Binding, host: str | None, key: str) -> None:
        """Read the host's personal room: nothing is made, so a crash at any point costs at
        most another read. A refusal leaves the binding an intent with a note, whatever room
        it showed before (that room was another organiser's, or is gone)."""
        name = meeting_system_of(binding.system)
        system = self._meetings.get(name)
        if system is None:
            raise ConnectorError(f"meeting system {name!r} is not configured")
        try:
            join = await system.personal_room(host or "")
        except MeetingRefusedError as exc:
            intent = replace(binding, state=BindingState.INTENT, join=None)
            await self._defer(intent, exc)
        self._metrics.meeting(binding.system, "personal_room")
        await self._store.put_binding(personal_room_read(binding, join, key))

    async def _refused(self, binding: Binding, problem: MeetingProblem, retry_at: datetime) -> None:
        later = refused(binding, problem, retry_at)
        log.warning(
            "meeting.refused",
            calendar=binding.calendar_key,
            event_id=binding.event_id,
            system=binding.system,
            problem=problem.kind.value,
            reason=problem.detail,
            retry_at=retry_at.isoformat(),
        )
        await self._store.put_binding(later)
        self._on_deferred(later)

    async def _update(self, event: Event, binding: Binding, fingerprint: str) -> None:
        system = self._system(binding)
        request = _request(event, binding)
        join = binding.join or await system.find(request)
        try:
            join = None if join is None else await system.update(join, request)
        except NotFoundError:
            join = None
        except MeetingRefusedError as exc:
            assert join is not None
            await self._defer(replace(binding, join=join), exc)
        if join is None:
            # someone deleted our meeting in the meeting system: make a new one
            log.info("meeting.vanished", calendar=binding.calendar_key, event_id=binding.event_id)
            fresh = replace(
                binding, request_id=new_request_id(), state=BindingState.INTENT, join=None
            )
            self._unsent.add(fresh.request_id)
            await self._store.put_binding(fresh)
            return
        self._metrics.meeting(binding.system, "update")
        done = replace(binding, join=join, fingerprint=fingerprint, problem=None, retry_at=None)
        await self._store.put_binding(done)

    async def _delete(self, event: Event, binding: Binding) -> None:
        system = self._system(binding)
        meeting_id = binding.meeting_id
        if meeting_id is None:  # an intent: the meeting may exist although we never heard
            found = await system.find(_request(event, binding))
            self._metrics.meeting(binding.system, "find")
            if found is None:
                return
            meeting_id = found.meeting_id
            binding = created(binding, found)  # what to remember if the deletion is refused
        try:
            await system.delete(meeting_id)
        except MeetingRefusedError as exc:
            await self._defer(binding, exc)
        self._metrics.meeting(binding.system, "delete")

    async def _update_occurrence(self, series: Binding, occurrence: Event, then: Binding) -> None:
        assert series.meeting_id is not None
        original, start, end = occurrence.original_start, occurrence.start, occurrence.end
        assert original is not None
        assert start is not None
        assert end is not None
        try:
            await self._system(series).update_occurrence(series.meeting_id, original, start, end)
        except MeetingRefusedError as exc:
            await self._occurrence_refused(then, exc)
        self._metrics.meeting(series.system, "update_occurrence")
        await self._store.put_binding(then)

    async def _delete_occurrence(
        self, series: Binding, original_start: datetime, then: Binding | None
    ) -> None:
        assert series.meeting_id is not None
        try:
            await self._system(series).delete_occurrence(series.meeting_id, original_start)
        except MeetingRefusedError as exc:
            if then is None:
                raise
            await self._occurrence_refused(then, exc)
        self._metrics.meeting(series.system, "delete_occurrence")

    async def _occurrence_refused(self, then: Binding, exc: MeetingRefusedError) -> None:
        """The occurrence keeps what was mirrored before (if anything) and learns the refusal."""
        known = await self._store.get_binding(then.calendar_key, then.event_id)
        await self._defer(known or replace(then, fingerprint=None), exc)

    async def _defer(self, binding: Binding, exc: MeetingRefusedError) -> None:
        """A call about an existing meeting was refused for now: record it in ``binding`` and
        stop the rest of the plan (it is planned again, from the binding, at the retry)."""
        self._metrics.meeting(binding.system, "refused")
        await self._refused(binding, exc.problem, exc.retry_at)
        raise _Refused

    def _system(self, binding: Binding) -> MeetingSystem:
        system = self._meetings.get(binding.system)
        if system is None:
            raise ConnectorError(f"meeting system {binding.system!r} is not configured")
        return system


class _Refused(Exception):  # noqa: N818 - a signal, not an error
    """A step was refused for now and recorded: the rest of its plan waits for a re-plan."""


def _request(event: Event, binding: Binding) -> MeetingRequest:
    return MeetingRequest(
        idempotency_key=binding.request_id,
        topic=event.summary,
        start=event.start,
        end=event.end,
        timezone=event.timezone,
        organizer=event.organizer,
        recurrence=event.recurrence,
        agenda=_agenda(event),
        organizer_name=event.organizer_name,
        all_day=event.all_day,
    )


def _agenda(event: Event) -> str:
    """The person's description, without our block, as plain text (private events: none)."""
    if event.private or not event.description:
        return ""
    text = replace_block(event.description, None)
    return html_to_text(text).text.strip() if looks_like_html(text) else text.strip()
