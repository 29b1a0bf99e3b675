"""Carries out the planner's steps for one event until the event is as it should be."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import replace
from typing import Protocol

import structlog

from hybridcal.connectors.calendars.base import CalendarConnector
from hybridcal.connectors.errors import ConflictError, ConnectorError, NotFoundError
from hybridcal.connectors.meetings.base import MeetingRequest, MeetingSystem
from hybridcal.core.model import Binding, CalendarRecord, Event, EventStatus
from hybridcal.core.planner import (
    Action,
    CreateMeeting,
    DeleteMeeting,
    DropBinding,
    PatchEvent,
    Policy,
    SaveBinding,
    UpdateMeeting,
    created,
    needs_planning,
    plan,
)
from hybridcal.store.base import Store

log = structlog.get_logger(__name__)

MAX_ROUNDS = 6  # plan -> execute -> re-plan; a healthy event settles in two or three


class ExecutorMetrics(Protocol):
    def patch(self, outcome: str) -> None: ...

    def meeting(self, system: str, operation: str) -> None: ...

    def echo_avoided(self) -> None: ...


class PlanDidNotSettleError(ConnectorError):
    pass


class EventExecutor:
    def __init__(
        self,
        store: Store,
        meetings: Mapping[str, MeetingSystem],
        metrics: ExecutorMetrics,
    ) -> None:
        self._store = store
        self._meetings = meetings
        self._metrics = metrics

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
        if not needs_planning(event, policy, has_binding=event.event_id in bound):
            return event
        series = None
        if event.recurring_event_id:
            series = await self._store.get_binding(calendar.key, event.recurring_event_id)
        for round_ in range(MAX_ROUNDS):
            binding = await self._store.get_binding(calendar.key, event.event_id)
            actions = plan(event, binding, policy, series_binding=series)
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
            if isinstance(action, PatchEvent):
                event, interrupted = await self._patch(calendar, connector, event, action)
                if interrupted:
                    break
            else:
                await self._step(event, action)
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
        self._metrics.patch("ok")
        if action.then is None:
            await self._store.delete_binding(calendar.key, event.event_id)
        else:
            await self._store.put_binding(action.then)
        return patched, False

    async def _step(self, event: Event, action: Action) -> None:
        match action:
            case SaveBinding(binding):
                await self._store.put_binding(binding)
            case DropBinding(calendar_key, event_id):
                await self._store.delete_binding(calendar_key, event_id)
            case CreateMeeting(binding):
                join = await self._system(binding).create(_request(event, binding))
                self._metrics.meeting(binding.system, "create")
                await self._store.put_binding(created(binding, join))
            case UpdateMeeting(binding, fingerprint):
                assert binding.meeting_id is not None
                join = await self._system(binding).update(
                    binding.meeting_id, _request(event, binding)
                )
                self._metrics.meeting(binding.system, "update")
                await self._store.put_binding(replace(binding, join=join, fingerprint=fingerprint))
            case DeleteMeeting(binding):
                assert binding.meeting_id is not None
                await self._system(binding).delete(binding.meeting_id)
                self._metrics.meeting(binding.system, "delete")

    def _system(self, binding: Binding) -> MeetingSystem:
        system = self._meetings.get(binding.system)
        if system is None:
            raise ConnectorError(f"meeting system {binding.system!r} is not configured")
        return system


def _request(event: Event, binding: Binding) -> MeetingRequest:
    return MeetingRequest(
        idempotency_key=binding.request_id,
        topic=event.summary,
        start=event.start,
        end=event.end,
        timezone=event.timezone,
        organizer=event.organizer,
        recurrence=event.recurrence,
    )
