"""The planner: from one event and what we stored about it, decide what to do next.

``plan`` is pure. It returns the next steps for the current state; the executor performs them,
stores the resulting binding and calls ``plan`` again until nothing is left to do. Every step is
durable before the next one starts, which is what makes the main path crash-safe:

- the intent (a fresh request id) is stored before any meeting system or calendar is called;
- the request id travels inside the event's marker and the meeting itself, so a crash between a
  call and the store write is repaired by *adopting* what is already there, never by creating
  a second meeting;
- our own patch comes back as a change notification; the planner sees its marker and block
  unchanged and answers with no write at all.

A meeting system may refuse for a while (the organiser has no account there, the daily limit is
reached): the binding then carries the problem and a time to try again, and the invitation
carries a short note in the organiser's language until the meeting exists. A refused update,
deletion or occurrence change of an existing meeting is recorded the same way (on the event's
or the occurrence's binding) and is not asked for again before its retry time.

A personal room (``@zoom:pmr``, or plain ``@zoom`` where the organisation chose the personal
room) is *read*, never made: its binding's system is ``"zoom:pmr"`` (so is the marker's), it
has no meeting id, and tearing it down removes the block and deletes nothing. The room is read
again when the organiser changes. Nothing is created on this path, so the only repeatable step
is the patch, which the marker makes harmless.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from uuid import uuid4

from hybridcal.core.keywords import KeywordMatch, find_keyword, wants_personal_room
from hybridcal.core.model import (
    Binding,
    BindingState,
    Event,
    JoinInfo,
    Marker,
    MeetingProblem,
    ProblemKind,
)
from hybridcal.core.patch import EventPatch
from hybridcal.core.render import (
    NoteKind,
    RenderedBlock,
    block_digest_of,
    render_join_block,
    render_note,
    replace_block,
)

NOTE = "note"  # Binding.system for an explanatory note instead of a meeting
CANCELLED_OCCURRENCE = "cancelled"  # fingerprint of an occurrence cancelled in the meeting too
# a native conference refused or failed (Meet turned off, no licence): tried again this much
# later, never on every edit
CONFERENCE_RETRY = timedelta(hours=1)
PERSONAL_ROOM = ":pmr"  # Binding.system / Marker.system suffix of a personal room's block


@dataclass(frozen=True, slots=True)
class Policy:
    """What the organisation allows for one calendar."""

    keywords: Mapping[str, str]  # keyword -> meeting system
    native_systems: frozenset[str]  # made by the calendar itself (Meet on Google)
    external_systems: frozenset[str]  # made through a meeting-system connector (Zoom, ...)
    locale: str
    # external systems whose plain keyword means the host's personal room (``:onetime`` still
    # makes a meeting); for the others only ``:pmr`` and its spellings do
    personal_room_default: frozenset[str] = frozenset()


# -- actions ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SaveBinding:
    binding: Binding
    fresh: bool = False  # a new intent: its request id has never been sent anywhere


@dataclass(frozen=True, slots=True)
class DropBinding:
    calendar_key: str
    event_id: str


@dataclass(frozen=True, slots=True)
class CreateMeeting:
    """Create a meeting in an external system; the result is stored as a CREATED binding."""

    binding: Binding  # the stored intent


@dataclass(frozen=True, slots=True)
class UpdateMeeting:
    binding: Binding
    fingerprint: str


@dataclass(frozen=True, slots=True)
class DeleteMeeting:
    """Delete the binding's meeting; an INTENT binding's meeting is looked up by its request id
    first (the creation may have reached the system before a crash)."""

    binding: Binding


@dataclass(frozen=True, slots=True)
class UpdateOccurrence:
    """Mirror one changed occurrence of a series into the series' meeting; store ``then``."""

    series: Binding
    occurrence: Event
    then: Binding


@dataclass(frozen=True, slots=True)
class DeleteOccurrence:
    series: Binding
    original_start: datetime
    then: Binding | None = None  # the occurrence's binding once it is cancelled there too


@dataclass(frozen=True, slots=True)
class UsePersonalRoom:
    """Read ``host``'s personal room; store the binding with its join details and ``host_key``
    (what tells a changed organiser). Nothing is made."""

    binding: Binding
    host: str | None
    host_key: str


@dataclass(frozen=True, slots=True)
class PatchEvent:
    """Patch the event; on success store ``then`` (or drop the binding when ``then`` is None)."""

    patch: EventPatch
    then: Binding | None


Action = (
    SaveBinding
    | DropBinding
    | CreateMeeting
    | UpdateMeeting
    | DeleteMeeting
    | UpdateOccurrence
    | DeleteOccurrence
    | UsePersonalRoom
    | PatchEvent
)


def new_request_id() -> str:
    return uuid4().hex


def meeting_fingerprint(event: Event) -> str:
    """The event fields a meeting mirrors: when they change, the meeting is updated."""
    parts = [
        event.start.isoformat() if event.start else "",
        event.end.isoformat() if event.end else "",
        event.timezone or "",
        event.summary,
        "|".join(event.recurrence),
    ]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]


def occurrence_fingerprint(event: Event) -> str:
    """What a changed occurrence mirrors into its series' meeting: its own start and end."""
    parts = [
        event.start.isoformat() if event.start else "",
        event.end.isoformat() if event.end else "",
    ]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]


def personal_room_system(system: str) -> str:
    """The binding system of ``system``'s personal room: ``"zoom"`` -> ``"zoom:pmr"``."""
    return system + PERSONAL_ROOM


def is_personal_room(system: str) -> bool:
    return system.endswith(PERSONAL_ROOM)


def meeting_system_of(system: str) -> str:
    """The meeting system behind a binding system: ``"zoom:pmr"`` -> ``"zoom"``."""
    return system.removesuffix(PERSONAL_ROOM)


def host_key(event: Event) -> str:
    """Whose personal room an event shows: the organiser, hashed like the fingerprints."""
    host = (event.organizer or "").strip().lower()
    return hashlib.sha256(host.encode()).hexdigest()[:16]


def needs_planning(
    event: Event, policy: Policy, *, has_binding: bool, series_bound: bool = False
) -> bool:
    """False for events the planner certainly leaves alone: no binding, and either a copy we do
    not organise or one with neither our marker nor a keyword. Lets a sync round skip the store
    for most events. ``series_bound``: the event's series has a binding (a cancelled
    occurrence of a series with an external meeting cancels that occurrence there)."""
    if has_binding:
        return True
    if event.is_cancelled:
        return series_bound and event.recurring_event_id is not None
    if not event.is_organizer_copy:
        return False
    return event.marker is not None or find_keyword(event.location, policy.keywords) is not None


def plan(
    event: Event,
    binding: Binding | None,
    policy: Policy,
    *,
    series_binding: Binding | None = None,
    now: datetime | None = None,
) -> list[Action]:
    """The next steps for one event copy. An empty list means the event is as it should be.

    ``now`` decides whether a refused call (a creation, an update, a deletion, an occurrence)
    is due to be tried again (None: not yet)."""
    if _shares_external_series_meeting(event, binding, series_binding, policy):
        assert series_binding is not None
        return _plan_occurrence(event, binding, series_binding, now)
    if event.is_cancelled:
        # cancelled copies arrive stripped of most fields: only the binding says it was ours
        return _cancelled(binding, policy, now) if binding else []
    if not event.is_organizer_copy:
        return []  # attendees' and rooms' copies only feed meeting lists

    if binding is None and _inherited(event, series_binding):
        return []  # an occurrence carrying its series' marker shares the series' meeting
    match = find_keyword(event.location, policy.keywords)
    if match is not None and _covered_by_series(event, match, series_binding):
        match = None
    if binding is None:
        return _start(event, match, policy)
    return _continue(event, match, binding, policy, now)


def _shares_external_series_meeting(
    event: Event, binding: Binding | None, series: Binding | None, policy: Policy
) -> bool:
    """A changed or cancelled occurrence of a series whose meeting an external system made."""
    if event.recurring_event_id is None or series is None or series.meeting_id is None:
        return False
    if series.system not in policy.external_systems or series.event_id != event.recurring_event_id:
        return False
    if binding is not None:
        return binding.series_id == series.event_id
    return event.is_cancelled or _inherited(event, series)


def _plan_occurrence(
    event: Event, binding: Binding | None, series: Binding, now: datetime | None = None
) -> list[Action]:
    """An occurrence binding remembers what was mirrored (its time, or that it was cancelled),
    so a changed occurrence costs one call however often it is seen again. A refused call is
    made again once its retry time has come, not before."""
    original = event.original_start
    if original is None:
        return []
    cancelled = event.is_cancelled or event.start is None or event.end is None
    fingerprint = CANCELLED_OCCURRENCE if cancelled else occurrence_fingerprint(event)
    if binding is not None and binding.fingerprint == fingerprint:
        if binding.problem is None:
            return []
        return [SaveBinding(replace(binding, problem=None, retry_at=None))]  # changed back
    if binding is not None and _waiting(binding, now):
        return []
    then = Binding(
        calendar_key=event.calendar_key,
        event_id=event.event_id,
        system=series.system,
        request_id=series.request_id,
        keyword=series.keyword,
        state=BindingState.PATCHED,
        meeting_id=series.meeting_id,
        fingerprint=fingerprint,
        series_id=series.event_id,
    )
    if cancelled:
        return [DeleteOccurrence(series, original, then), SaveBinding(then)]
    return [UpdateOccurrence(series, event, then)]


def _inherited(event: Event, series: Binding | None) -> bool:
    return (
        event.recurring_event_id is not None
        and series is not None
        and event.marker is not None
        and event.marker.request_id == series.request_id
    )


def _covered_by_series(event: Event, match: KeywordMatch, series: Binding | None) -> bool:
    """An occurrence that inherited its series' keyword shares the series' meeting."""
    return (
        event.recurring_event_id is not None
        and series is not None
        and meeting_system_of(series.system) == match.system
    )


def _start(event: Event, match: KeywordMatch | None, policy: Policy) -> list[Action]:
    if event.marker is not None:
        return [SaveBinding(_adopt(event, match, policy))]
    if match is None:
        return []
    if match.system in policy.native_systems:
        if event.conference is not None:
            return []  # the person already attached a conference of their own; keep it
        intent = _intent(event, match)
        return [SaveBinding(intent), *_native_create(intent)]
    if match.system in policy.external_systems:
        return _start_external(event, match, policy)
    note = _intent(event, match, system=NOTE)
    return [SaveBinding(note), *_note_patch(event, note, policy)]


def _start_external(event: Event, match: KeywordMatch, policy: Policy) -> list[Action]:
    """A meeting's intent (created by the next step), or the host's personal room (read at
    once: nothing is made, so there is no request id to keep for a retry)."""
    wanted = _wanted_system(match, policy)
    if wanted is not None and is_personal_room(wanted):
        intent = _intent(event, match, system=wanted)
        return [SaveBinding(intent), _read_room(event, intent)]
    return [SaveBinding(_intent(event, match), fresh=True)]


def _adopt(event: Event, match: KeywordMatch | None, policy: Policy) -> Binding:
    """A marker without a binding: we crashed after writing it, or the store was lost."""
    marker = event.marker
    assert marker is not None
    meeting_id = marker.meeting_id
    if marker.system in policy.native_systems and event.conference is not None:
        meeting_id = event.conference.conference_id or meeting_id
    # an external meeting that the marker does not name yet may still exist: look it up
    unfinished = marker.system in policy.external_systems and meeting_id is None
    return Binding(
        calendar_key=event.calendar_key,
        event_id=event.event_id,
        system=marker.system,
        request_id=marker.request_id,
        keyword=match.keyword if match else "",
        state=BindingState.INTENT if unfinished else BindingState.PATCHED,
        meeting_id=meeting_id,
        block_hash=marker.block_hash,
        fingerprint=meeting_fingerprint(event),
    )


def _intent(event: Event, match: KeywordMatch, *, system: str | None = None) -> Binding:
    return Binding(
        calendar_key=event.calendar_key,
        event_id=event.event_id,
        system=system or match.system,
        request_id=new_request_id(),
        keyword=match.keyword,
        state=BindingState.INTENT,
        fingerprint=meeting_fingerprint(event),
    )


def _native_create(intent: Binding) -> list[Action]:
    marker = Marker(system=intent.system, request_id=intent.request_id)
    patch = EventPatch(marker=marker, conference_request_id=intent.request_id)
    return [PatchEvent(patch, replace(intent, state=BindingState.PATCHED))]


def _continue(
    event: Event,
    match: KeywordMatch | None,
    binding: Binding,
    policy: Policy,
    now: datetime | None,
) -> list[Action]:
    wanted = _wanted_system(match, policy)
    if wanted is None or wanted != binding.system or _keyword_changed(match, binding):
        # keyword removed, or switched to another system: undo ours, then start afresh
        return _teardown(event, binding, policy, now)
    if binding.system == NOTE:
        return _keep_note(event, binding, policy)
    if is_personal_room(binding.system):
        return _keep_personal_room(event, binding, policy, now)
    if binding.system in policy.native_systems:
        return _keep_native(event, binding, policy, now)
    return _keep_external(event, binding, policy, now)


def _wanted_system(match: KeywordMatch | None, policy: Policy) -> str | None:
    if match is None:
        return None
    if match.system in policy.native_systems:
        return match.system
    if match.system in policy.external_systems:
        by_default = match.system in policy.personal_room_default
        if wants_personal_room(match, by_default=by_default):
            return personal_room_system(match.system)
        return match.system
    return NOTE


def _keyword_changed(match: KeywordMatch | None, binding: Binding) -> bool:
    # a note stays while the same unavailable keyword is there; another keyword replaces it
    return binding.system == NOTE and match is not None and match.keyword != binding.keyword


def _keep_native(
    event: Event, binding: Binding, policy: Policy, now: datetime | None
) -> list[Action]:
    if binding.problem is not None:
        return _native_problem(event, binding, policy, now)
    if binding.state is BindingState.INTENT:
        if event.marker is not None and event.marker.request_id == binding.request_id:
            # the patch landed but its answer was lost: record it, never send it again
            conference_id = event.conference.conference_id if event.conference else None
            return [
                SaveBinding(replace(binding, state=BindingState.PATCHED, meeting_id=conference_id))
            ]
        return _native_create(binding)  # crashed before the patch landed: same request id
    conference = event.conference
    if conference is None:
        # the person removed the conference but kept the keyword: make a new one
        fresh = replace(binding, request_id=new_request_id(), state=BindingState.INTENT)
        return [SaveBinding(fresh), *_native_create(fresh)]
    if conference.status == "failure" and conference.request_id == binding.request_id:
        return _conference_failed(binding, now)
    actions: list[Action] = []
    then = binding
    if conference.conference_id and conference.conference_id != binding.meeting_id:
        then = replace(binding, meeting_id=conference.conference_id)
        actions.append(SaveBinding(then))
    # a note from a refused or failed attempt goes once the conference exists
    stale_note = conference.status not in ("pending", "failure") and (
        block_digest_of(event.description) is not None
    )
    if stale_note or event.marker is None or event.marker.request_id != binding.request_id:
        marker = Marker(binding.system, binding.request_id, conference.conference_id)
        patch = EventPatch(
            description=_without_block(event.description) if stale_note else None, marker=marker
        )
        actions.append(PatchEvent(patch, replace(then, block_hash=None)))
    return actions


def _native_problem(
    event: Event, binding: Binding, policy: Policy, now: datetime | None
) -> list[Action]:
    assert binding.problem is not None
    if not _due(binding, now):
        # refused or failed: a note until the retry time, and no request on every edit
        note = _problem_note(binding.system, binding.problem, policy.locale)
        return _ensure_block(event, binding, note, state=BindingState.INTENT)
    # Google ignores a request id it has seen on the event: the retry needs a new one; the
    # note stays until the conference exists
    fresh = replace(
        binding, request_id=new_request_id(), state=BindingState.INTENT, problem=None, retry_at=None
    )
    return [SaveBinding(fresh), *_native_create(fresh)]


def _conference_failed(binding: Binding, now: datetime | None) -> list[Action]:
    """Google answered the create request with ``failure``: a note, and a retry later."""
    if now is None:
        return []  # no clock to schedule the retry by: the executor always passes one
    problem = MeetingProblem(
        ProblemKind.CONFERENCE_FAILED,
        "Google answered the conference request with statusCode 'failure' (Meet turned off "
        "for the organiser, no Meet licence, or a failure at Google)",
    )
    failed = replace(
        binding, state=BindingState.INTENT, problem=problem, retry_at=now + CONFERENCE_RETRY
    )
    return [SaveBinding(failed)]


def _keep_external(
    event: Event, binding: Binding, policy: Policy, now: datetime | None
) -> list[Action]:
    if binding.state is BindingState.INTENT:
        if binding.problem is not None and not _due(binding, now):
            note = _problem_note(binding.system, binding.problem, policy.locale)
            return _ensure_block(event, binding, note, state=BindingState.INTENT)
        return [CreateMeeting(binding)]
    intact = binding.block_hash is not None and (
        block_digest_of(event.description) == binding.block_hash
    )
    if binding.join is None and not intact:
        # adopted, but our block is gone (or the marker was stale): look the meeting up by its
        # request id, or make a new one, then write the block again
        return [SaveBinding(replace(binding, state=BindingState.INTENT))]
    changes = _mirror_changes(binding, meeting_fingerprint(event), now)
    if changes:
        return changes
    if binding.join is None:
        return []  # adopted from an intact marker and block: nothing to do
    block = render_join_block(binding.join, policy.locale)
    return _ensure_block(event, binding, block)


def _keep_personal_room(
    event: Event, binding: Binding, policy: Policy, now: datetime | None
) -> list[Action]:
    """The organiser's room, read once and again when the organiser changes; a refused read
    (no account, no personal room) shows a note until its retry time."""
    if binding.state is BindingState.INTENT:
        if binding.problem is not None and not _due(binding, now):
            system = meeting_system_of(binding.system)
            note = _problem_note(system, binding.problem, policy.locale)
            return _ensure_block(event, binding, note, state=BindingState.INTENT)
        return [_read_room(event, binding)]
    intact = binding.block_hash is not None and (
        block_digest_of(event.description) == binding.block_hash
    )
    if binding.fingerprint != host_key(event) or (binding.join is None and not intact):
        # another organiser's room, or adopted from a marker whose block is gone: read it
        return [_read_room(event, binding)]
    if binding.join is None:
        return []  # adopted from an intact marker and block
    return _ensure_block(event, binding, render_join_block(binding.join, policy.locale))


def _read_room(event: Event, binding: Binding) -> UsePersonalRoom:
    return UsePersonalRoom(binding, event.organizer, host_key(event))


def _due(binding: Binding, now: datetime | None) -> bool:
    return now is not None and (binding.retry_at is None or now >= binding.retry_at)


def _mirror_changes(binding: Binding, fingerprint: str, now: datetime | None) -> list[Action]:
    """An update when the event changed, unless a refused one waits for its retry time; a
    refusal is forgotten once its time has come and nothing is left to do."""
    if binding.fingerprint != fingerprint:
        if binding.state is BindingState.PATCHED and not _waiting(binding, now):
            return [UpdateMeeting(binding, fingerprint)]
        return []
    if binding.problem is not None and _due(binding, now):
        return [SaveBinding(replace(binding, problem=None, retry_at=None))]
    return []


def _cancelled(binding: Binding, policy: Policy, now: datetime | None) -> list[Action]:
    """The event is gone: its meeting goes and the binding with it; a deletion the meeting
    system refused for now waits for its retry time."""
    if _waiting(binding, now):
        return []
    return [*_delete_meeting(binding, policy), _drop(binding)]


def _waiting(binding: Binding, now: datetime | None) -> bool:
    """A call about an existing meeting (update, deletion, occurrence) was refused and its
    retry time has not come. (A refused creation is an INTENT with a problem: see
    ``_keep_external``.)"""
    return (
        binding.problem is not None
        and binding.state is not BindingState.INTENT
        and not _due(binding, now)
    )


def _problem_note(system: str, problem: MeetingProblem, locale: str) -> RenderedBlock:
    if problem.kind is ProblemKind.DAILY_LIMIT:
        return render_note(NoteKind.LIMIT_REACHED, locale, system=system)
    return render_note(NoteKind.FAILED, locale, system=system, reason_key=problem.kind.value)


def _keep_note(event: Event, binding: Binding, policy: Policy) -> list[Action]:
    return _note_patch(event, binding, policy)


def _note_patch(event: Event, binding: Binding, policy: Policy) -> list[Action]:
    match = find_keyword(event.location, policy.keywords)
    system = match.system if match else binding.keyword
    note = render_note(NoteKind.UNAVAILABLE, policy.locale, keyword=binding.keyword, system=system)
    return _ensure_block(event, binding, note)


def _ensure_block(
    event: Event,
    binding: Binding,
    block: RenderedBlock,
    *,
    state: BindingState = BindingState.PATCHED,
) -> list[Action]:
    """Write our block and marker unless the event already carries exactly them (an echo);
    the binding then moves to ``state``."""
    marker = Marker(binding.system, binding.request_id, binding.meeting_id, block.digest)
    in_place = block_digest_of(event.description) == block.digest
    then = replace(binding, state=state, block_hash=block.digest)
    if in_place and event.marker == marker:
        return [] if binding == then else [SaveBinding(then)]
    patch = EventPatch(
        description=None if in_place else replace_block(event.description, block),
        marker=marker,
    )
    return [PatchEvent(patch, then)]


def _teardown(
    event: Event, binding: Binding, policy: Policy, now: datetime | None = None
) -> list[Action]:
    """Remove our meeting, block and marker; everything the person wrote stays. While the
    meeting system refuses the deletion, the block goes and the binding stays."""
    waiting = _waiting(binding, now)
    delete = [] if waiting else _delete_meeting(binding, policy)
    patch = EventPatch(
        description=_without_block(event.description),
        clear_marker=event.marker is not None,
        clear_conference=binding.system != NOTE
        and event.conference is not None
        and _is_ours(event, binding),
    )
    if patch.is_empty:
        return [] if waiting else [*delete, _drop(binding)]
    if waiting:
        return [PatchEvent(patch, binding)]
    if not delete:
        return [PatchEvent(patch, None)]  # the binding is dropped once the patch landed
    # The block goes first: a 412 (the person put the keyword back) re-plans with the meeting
    # still alive. The binding outlives the patch, so a crash before the deletion is finished
    # on the next round.
    return [PatchEvent(patch, binding), *delete, _drop(binding)]


def _delete_meeting(binding: Binding, policy: Policy) -> list[Action]:
    """Meetings of external systems are deleted; native ones vanish with the event. A binding
    still in INTENT may have a meeting that the store never heard of: it is looked up."""
    if binding.system not in policy.external_systems or binding.series_id is not None:
        return []
    if binding.meeting_id is None and binding.state is not BindingState.INTENT:
        return []
    return [DeleteMeeting(binding)]


def _drop(binding: Binding) -> DropBinding:
    return DropBinding(binding.calendar_key, binding.event_id)


def _without_block(description: str) -> str | None:
    if block_digest_of(description) is None:
        return None
    return replace_block(description, None)


def _is_ours(event: Event, binding: Binding) -> bool:
    conference = event.conference
    return conference is not None and (
        conference.request_id == binding.request_id
        or (binding.meeting_id is not None and conference.conference_id == binding.meeting_id)
    )


def created(binding: Binding, join: JoinInfo) -> Binding:
    """The binding after an external meeting system made (or found) the meeting."""
    return replace(
        binding,
        state=BindingState.CREATED,
        meeting_id=join.meeting_id,
        join=join,
        problem=None,
        retry_at=None,
    )


def personal_room_read(binding: Binding, join: JoinInfo, key: str) -> Binding:
    """The binding after the host's personal room was read: its join details, no meeting id
    (there is nothing to delete), and whose room it is (``key``, see ``host_key``)."""
    return replace(
        binding,
        state=BindingState.CREATED,
        meeting_id=None,
        join=join,
        fingerprint=key,
        problem=None,
        retry_at=None,
    )


def refused(binding: Binding, problem: MeetingProblem, retry_at: datetime) -> Binding:
    """The binding after the meeting system refused for now: a note until ``retry_at``."""
    return replace(binding, problem=problem, retry_at=retry_at)
