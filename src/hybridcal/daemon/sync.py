"""One sync round of one calendar: list changes, act on them, refresh the meeting cache.

The cursor is saved in the same store transaction as the cache rows. An event that fails is
caught at the event: its fault is recorded (``daemon.faults``), the rest of the round is applied
and the cursor moves on, and the event is read again at its retry time. Only a transient failure
(a provider hiccup) holds the cursor back, so that the next round replays the same changes —
harmless, every step is idempotent — and only for a while (``TRANSIENT_GRACE``): an event that
keeps failing transiently is then treated like any other failing event.

Meeting-list rows are built off the event loop (``daemon.row_builder``: a worker thread, or a
worker process for big text), with a time budget per event: join-link detection reads text that
anyone who can invite a user or a room wrote.

Events whose meeting a meeting system refused for now (daily limit, no account) are not in
any listing when their retry time comes: the syncer keeps the earliest retry time per
calendar and, once it has passed, reads those events again in the calendar's next round.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Protocol

import structlog

from hybridcal.cluster.base import LeaseLostError
from hybridcal.connectors.calendars.base import CalendarConnector, ChangeBatch
from hybridcal.connectors.errors import (
    AuthError,
    ConnectorError,
    CursorExpiredError,
    NotFoundError,
    TransientError,
)
from hybridcal.core.model import (
    Binding,
    CalendarRecord,
    CalendarState,
    Event,
    EventStatus,
    Fault,
    MeetingEntry,
    Provider,
    Window,
)
from hybridcal.core.planner import Policy
from hybridcal.core.recurrence import may_occur_in
from hybridcal.daemon.executor import EventExecutor
from hybridcal.daemon.faults import TRANSIENT_GRACE, FaultBook
from hybridcal.daemon.row_builder import RowBuilder
from hybridcal.store.base import Store, SyncResult

log = structlog.get_logger(__name__)


VERIFY_EMPTY = 3  # held events checked one by one before an empty full listing is obeyed
DETECTION_BUDGET = 1.0  # seconds of join-link detection per event; the rest of its text is skipped


class SyncMetrics(Protocol):
    def sync(self, provider: str, outcome: str, seconds: float) -> None: ...

    def events(self, provider: str, count: int = 1) -> None: ...


@dataclass(frozen=True, slots=True)
class WindowPolicy:
    past: timedelta = timedelta(days=7)
    future: timedelta = timedelta(days=31)

    def at(self, now: datetime) -> Window:
        return Window(now - self.past, now + self.future)


class CalendarSyncer:
    def __init__(
        self,
        *,
        store: Store,
        connectors: Mapping[Provider, CalendarConnector],
        executor: EventExecutor,
        policy_for: Callable[[CalendarRecord], Policy],
        window: WindowPolicy,
        metrics: SyncMetrics,
        now: Callable[[], datetime],
        faults: FaultBook | None = None,
        rows: RowBuilder | None = None,
    ) -> None:
        self._store = store
        self._connectors = connectors
        self._executor = executor
        self._policy_for = policy_for
        self._window = window
        self._metrics = metrics
        self._now = now
        self._deferred: dict[str, datetime] = {}  # calendar -> earliest retry of a refusal
        self.faults = faults or FaultBook(store, now)
        self._rows = rows or RowBuilder()
        self._repair: set[str] = set()  # calendars with rows that failed to decrypt

    def note_deferred(self, binding: Binding) -> None:
        """A meeting system refused ``binding``'s meeting until ``binding.retry_at``."""
        if binding.retry_at is None:
            return
        current = self._deferred.get(binding.calendar_key)
        if current is None or binding.retry_at < current:
            self._deferred[binding.calendar_key] = binding.retry_at

    def due_calendars(self) -> list[str]:
        """Calendars with a refused meeting or a failed event whose retry time has passed."""
        now = self._now()
        due = [key for key, at in self._deferred.items() if at <= now]
        return list(dict.fromkeys([*due, *self.faults.due_calendars()]))

    def needs_repair(self, key: str) -> None:
        """A row of ``key`` failed to decrypt: its next round quarantines the calendar's
        unreadable rows and lists it in full, so that they are rebuilt from the provider."""
        self._repair.add(key)

    async def load_deferred(self, key: str) -> None:
        """Fill the retry index from the store (at start: refusals outlive restarts)."""
        for binding in await self._store.list_bindings(key):
            if binding.problem is not None:
                self.note_deferred(binding)

    async def sync(self, key: str, full: bool = False) -> None:
        calendar = await self._store.get_calendar(key)
        if calendar is None or calendar.state is not CalendarState.ACTIVE:
            return
        if key in self._repair:
            self._repair.discard(key)
            moved = await self._store.quarantine_unreadable(key)
            log.warning("store.quarantined", calendar=key, rows=moved)
            full = True
        if full:
            calendar = replace(calendar, cursor=None)
        connector = self._connectors[calendar.provider]
        started = time.perf_counter()
        outcome = "error"
        events = 0
        try:
            batch = await self._with_due_retries(
                connector, calendar, await self._list(connector, calendar)
            )
            events = len(batch.events)
            await self._apply(calendar, connector, batch)
            outcome = "ok"
        except (AuthError, NotFoundError) as exc:
            # delegation revoked, user deleted or suspended: retrying cannot help, the admin can
            await self._store.set_calendar_state(key, CalendarState.ERROR, str(exc))
            log.warning("calendar.unreachable", calendar=key, reason=str(exc))
        finally:
            provider = calendar.provider.value
            self._metrics.sync(provider, outcome, time.perf_counter() - started)
            self._metrics.events(provider, events)

    async def _list(self, connector: CalendarConnector, calendar: CalendarRecord) -> ChangeBatch:
        try:
            return await connector.list_changes(calendar)
        except CursorExpiredError:
            log.info("sync.cursor_expired", calendar=calendar.key)
            return await connector.list_changes(replace(calendar, cursor=None))

    async def _with_due_retries(
        self, connector: CalendarConnector, calendar: CalendarRecord, batch: ChangeBatch
    ) -> ChangeBatch:
        """The batch plus the events whose refused meeting or whose fault is due to be tried
        again."""
        listed = {event.event_id for event in batch.events}
        extra = await self._due_faulted(connector, calendar, listed)
        at = self._deferred.get(calendar.key)
        if at is None or at > self._now():
            return replace(batch, events=[*batch.events, *extra]) if extra else batch
        del self._deferred[calendar.key]
        listed |= {event.event_id for event in extra}
        for binding in await self._store.list_bindings(calendar.key):
            if binding.problem is None or binding.event_id in listed:
                continue
            if binding.retry_at is not None and binding.retry_at > self._now():
                self.note_deferred(binding)
                continue
            try:
                event = await connector.get_event(calendar, binding.event_id)
            except TransientError:
                self.note_deferred(binding)  # the next round tries again
                continue
            if event is not None:
                extra.append(event)
        return replace(batch, events=[*batch.events, *extra]) if extra else batch

    async def _due_faulted(
        self, connector: CalendarConnector, calendar: CalendarRecord, listed: set[str]
    ) -> list[Event]:
        """Events whose fault is due, read again (those the listing did not bring anyway)."""
        extra: list[Event] = []
        for event_id in self.faults.due_events(calendar.key):
            if event_id in listed:
                continue
            try:
                event = await connector.get_event(calendar, event_id)
            except Exception:
                self.faults.postpone(calendar.key, event_id)
                continue
            if event is None:  # gone: nothing left to fail
                await self.faults.handled(calendar.key, [event_id])
            else:
                extra.append(event)
        return extra

    async def _apply(
        self, calendar: CalendarRecord, connector: CalendarConnector, batch: ChangeBatch
    ) -> None:
        policy = self._policy_for(calendar)
        window = self._window.at(self._now())
        plan = _CachePlan()
        bound = await self._store.binding_ids(calendar.key)
        # series masters first, so their occurrences see the series' binding
        for event in sorted(batch.events, key=lambda e: e.recurring_event_id is not None):
            current = await self._process(
                calendar, connector, event, policy, bound=bound, plan=plan
            )
            try:
                plan.add(current, window, full=batch.full)
            except Exception as exc:  # a malformed event must not stop the round
                await self._event_failed(calendar, event.event_id, exc, plan)
        await self._expand_series(calendar, connector, window, plan)
        await self._cancel_vanished_series(calendar, connector, policy, plan, bound)
        await self._build_rows(calendar, window, plan)
        await self._store.apply_sync(
            SyncResult(
                calendar_key=calendar.key,
                replace={k: tuple(v) for k, v in plan.rows.items()},
                remove=tuple(plan.removed),
                cursor=calendar.cursor if plan.retry_later else batch.cursor,
                full=await self._trust_full_listing(calendar, connector, batch, plan, window),
                synced_at=self._now(),
            )
        )
        await self.faults.handled(calendar.key, plan.handled - plan.failed)
        if plan.retry_later:
            raise plan.retry_later[0]

    async def _process(
        self,
        calendar: CalendarRecord,
        connector: CalendarConnector,
        event: Event,
        policy: Policy,
        *,
        bound: set[str],
        plan: _CachePlan,
    ) -> Event:
        """The event as it now stands; whatever goes wrong is recorded as the event's fault."""
        try:
            current = await self._executor.process(calendar, connector, event, policy, bound=bound)
        except LeaseLostError:
            raise  # another replica acts on this calendar now: not a fault of the event
        except TransientError as exc:
            fault = await self._event_failed(calendar, event.event_id, exc, plan)
            if self._now() - fault.first_seen < TRANSIENT_GRACE:
                plan.retry_later.append(exc)  # replay the round: most hiccups pass
            return event
        except Exception as exc:  # anything else: this event only, never the calendar
            await self._event_failed(calendar, event.event_id, exc, plan)
            return event
        plan.handled.add(event.event_id)
        return current

    async def _event_failed(
        self, calendar: CalendarRecord, event_id: str, exc: Exception, plan: _CachePlan
    ) -> Fault:
        plan.failed.add(event_id)
        fault = await self.faults.failed(calendar.key, event_id, exc)
        log.warning(
            "sync.event_failed",
            calendar=calendar.key,
            event_id=event_id,
            error=fault.error,
            reason=fault.message,
            attempts=fault.attempts,
            retry_at=fault.retry_at.isoformat() if fault.retry_at else None,
            exc_info=not isinstance(exc, ConnectorError) and fault.attempts == 1,
        )
        return fault

    async def _build_rows(self, calendar: CalendarRecord, window: Window, plan: _CachePlan) -> None:
        """Meeting-list rows of the round, built off the event loop: join-link detection reads
        invitation text, which must not hold up webhooks, the endpoint API or the watchdog."""
        if not plan.sources:
            return
        built, errors = await self._rows.build(plan.sources, window, DETECTION_BUDGET)
        plan.rows.update(built)
        for source_id, exc in errors.items():
            await self._event_failed(calendar, source_id, exc, plan)

    async def _expand_series(
        self,
        calendar: CalendarRecord,
        connector: CalendarConnector,
        window: Window,
        plan: _CachePlan,
    ) -> None:
        """Occurrences come from the provider's own expansion, exceptions applied."""
        for master_id in plan.series - plan.cancelled:
            try:
                occurrences = await connector.list_instances(calendar, master_id, window)
            except NotFoundError:
                plan.removed.append(master_id)
                plan.vanished.add(master_id)
                plan.lone_occurrences(master_id)
                continue
            except TransientError as exc:
                plan.retry_later.append(exc)
                continue
            except Exception as exc:  # the series keeps its rows; the fault says why
                await self._event_failed(calendar, master_id, exc, plan)
                continue
            plan.sources[master_id] = (occurrences, master_id)

    async def _cancel_vanished_series(
        self,
        calendar: CalendarRecord,
        connector: CalendarConnector,
        policy: Policy,
        plan: _CachePlan,
        bound: set[str],
    ) -> None:
        """A series we made a meeting for that the provider no longer knows, although no
        listing said it was cancelled (Graph's delta lists occurrences only): it is treated
        as cancelled, so that its meeting is deleted too."""
        for master_id in sorted(plan.vanished & bound - plan.cancelled):
            gone = Event(
                calendar_key=calendar.key,
                event_id=master_id,
                etag=None,
                status=EventStatus.CANCELLED,
                start=None,
                end=None,
            )
            try:
                await self._executor.process(calendar, connector, gone, policy, bound=bound)
            except LeaseLostError:
                raise
            except TransientError as exc:
                plan.retry_later.append(exc)
            except Exception as exc:
                await self._event_failed(calendar, master_id, exc, plan)

    async def _trust_full_listing(
        self,
        calendar: CalendarRecord,
        connector: CalendarConnector,
        batch: ChangeBatch,
        plan: _CachePlan,
        window: Window,
    ) -> bool:
        """A full listing removes rows it did not mention, unless it looks like a glitch.

        An empty listing of a calendar we hold rows for is suspicious (vdirsyncer's
        StorageEmpty): a provider glitch must not wipe a room's list. It is obeyed only when a
        few of the events we hold are confirmed gone one by one."""
        if not batch.full or plan.retry_later:
            return False
        if batch.events:
            return True
        held = await self._store.list_entries(calendar.key, window.start, window.end)
        for source_id in list(dict.fromkeys(row.source_id for row in held))[:VERIFY_EMPTY]:
            try:
                event = await connector.get_event(calendar, source_id)
            except ConnectorError:
                log.warning("sync.empty_listing_unverified", calendar=calendar.key)
                return False  # cannot tell: keep the rows, the next full listing decides
            if event is not None and not event.is_cancelled:
                log.warning("sync.empty_listing_ignored", calendar=calendar.key, rows=len(held))
                return False
        return True


@dataclass
class _CachePlan:
    """How one round changes the meeting cache, filled event by event."""

    rows: dict[str, list[MeetingEntry]] = field(default_factory=dict)
    # source id -> (events, source id for their rows): rows built later, off the event loop
    sources: dict[str, tuple[list[Event], str | None]] = field(default_factory=dict)
    removed: list[str] = field(default_factory=list)
    series: set[str] = field(default_factory=set)  # masters whose occurrences to refresh
    # occurrences listed this round, by master: the rows of a calendar invited to single
    # occurrences only, whose series it cannot read (Google answers 404 for the master)
    occurrences: dict[str, list[Event]] = field(default_factory=dict)
    cancelled: set[str] = field(default_factory=set)
    vanished: set[str] = field(default_factory=set)  # masters whose instances answered 404
    retry_later: list[Exception] = field(default_factory=list)
    handled: set[str] = field(default_factory=set)  # events that went through
    failed: set[str] = field(default_factory=set)  # events (or series) recorded as faults

    def lone_occurrences(self, master_id: str) -> None:
        """The series cannot be read (gone, or this calendar was invited to some occurrences
        only): each occurrence listed this round stands for itself."""
        for occurrence in self.occurrences.get(master_id, []):
            if occurrence.is_cancelled:
                self.removed.append(occurrence.event_id)
            else:
                self.sources[occurrence.event_id] = ([occurrence], None)

    def add(self, event: Event, window: Window, *, full: bool) -> None:
        if event.recurring_event_id:
            self.series.add(event.recurring_event_id)
            self.occurrences.setdefault(event.recurring_event_id, []).append(event)
        elif event.is_series_master and not event.is_cancelled:
            # a full listing holds every old series: expand only those that can reach the window
            if not full or may_occur_in(event, window):
                self.series.add(event.event_id)
        elif event.is_cancelled:
            self.removed.append(event.event_id)
            self.cancelled.add(event.event_id)
        else:
            self.sources[event.event_id] = ([event], None)
