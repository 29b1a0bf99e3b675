"""The planner: one event and what we stored about it -> the next steps, with no I/O.

The tests feed the planner's own patches back into it the way the calendar would (our write
comes back as a change notification), so that echoes, crashes and a person's edits are covered.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hybridcal.core.model import (
    Binding,
    BindingState,
    Conference,
    EntryPoint,
    Event,
    EventStatus,
    JoinInfo,
    Marker,
    MeetingProblem,
    ProblemKind,
)
from hybridcal.core.patch import EventPatch
from hybridcal.core.planner import (
    CONFERENCE_RETRY,
    NOTE,
    Action,
    CreateMeeting,
    DeleteMeeting,
    DropBinding,
    PatchEvent,
    Policy,
    SaveBinding,
    UpdateMeeting,
    created,
    meeting_fingerprint,
    needs_planning,
    plan,
)
from hybridcal.core.render import (
    NoteKind,
    block_digest_of,
    render_join_block,
    render_note,
    replace_block,
)

CAL = "google:alice@example.com"
START = datetime(2030, 3, 4, 9, 0, tzinfo=UTC)
KEYWORDS = {"@meet": "meet", "@zoom": "zoom", "@teams": "teams", "@webex": "webex"}
MEET_ONLY = Policy(
    keywords=KEYWORDS,
    native_systems=frozenset({"meet"}),
    external_systems=frozenset(),
    locale="en",
)
WITH_ZOOM = replace(MEET_ONLY, external_systems=frozenset({"zoom"}))
ZOOM_JOIN = JoinInfo(
    system="zoom",
    meeting_id="93968804761",
    join_url="https://acme.zoom.us/j/93968804761?pwd=s3cret",
    passcode="424242",
)


def make_event(**changes: object) -> Event:
    base = Event(
        calendar_key=CAL,
        event_id="evt1",
        etag='"1"',
        status=EventStatus.CONFIRMED,
        start=START,
        end=START + timedelta(hours=1),
        timezone="Europe/Zurich",
        summary="Planning",
        location="@meet",
        description="Agenda: budget",
        organizer="alice@example.com",
        is_organizer_copy=True,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def meet_conference(
    request_id: str | None, conference_id: str | None = "abc-defg-hij"
) -> Conference:
    return Conference(
        system="meet",
        conference_id=conference_id,
        status="success",
        request_id=request_id,
        entry_points=(EntryPoint("video", f"https://meet.google.com/{conference_id}"),),
    )


def apply_patch(event: Event, patch: EventPatch) -> Event:
    """What the calendar does with our patch; Meet conferences are completed at once."""
    changed = replace(event, etag=f'"{int((event.etag or "0").strip(chr(34))) + 1}"')
    if patch.description is not None:
        changed = replace(changed, description=patch.description)
    if patch.marker is not None:
        changed = replace(changed, marker=patch.marker)
    elif patch.clear_marker:
        changed = replace(changed, marker=None)
    if patch.conference_request_id is not None:
        conference_id = f"cnf-{patch.conference_request_id[:8]}"
        changed = replace(
            changed, conference=meet_conference(patch.conference_request_id, conference_id)
        )
    elif patch.clear_conference:
        changed = replace(changed, conference=None)
    return changed


@dataclass
class World:
    """The calendar's copy of one event, our stored bindings and the meetings we made."""

    event: Event
    bindings: dict[str, Binding] = field(default_factory=dict)
    created: int = 0
    deleted: list[str] = field(default_factory=list)
    updated: int = 0

    def plan(self, policy: Policy, series: Binding | None = None) -> list[Action]:
        return plan(
            self.event, self.bindings.get(self.event.event_id), policy, series_binding=series
        )

    def execute(self, actions: list[Action]) -> None:
        for action in actions:
            match action:
                case SaveBinding(binding):
                    self.bindings[binding.event_id] = binding
                case DropBinding(_, event_id):
                    self.bindings.pop(event_id, None)
                case PatchEvent(patch, then):
                    self.event = apply_patch(self.event, patch)
                    if then is None:
                        self.bindings.pop(self.event.event_id, None)
                    else:
                        self.bindings[then.event_id] = then
                case CreateMeeting(binding):
                    self.created += 1
                    join = replace(ZOOM_JOIN, meeting_id=f"{93968804760 + self.created}")
                    self.bindings[binding.event_id] = created(binding, join)
                case UpdateMeeting(binding, fingerprint):
                    self.updated += 1
                    self.bindings[binding.event_id] = replace(binding, fingerprint=fingerprint)
                case DeleteMeeting(binding):
                    assert binding.meeting_id is not None
                    self.deleted.append(binding.meeting_id)

    def settle(self, policy: Policy, max_rounds: int = 3) -> int:
        """Plan and execute until nothing is left; the number of rounds that did something."""
        for rounds in range(max_rounds + 1):
            actions = self.plan(policy)
            if not actions:
                return rounds
            self.execute(actions)
        pytest.fail(f"did not settle within {max_rounds} rounds: {self.plan(policy)}")


def binding_for(event: Event, system: str, **changes: object) -> Binding:
    base = Binding(
        calendar_key=CAL,
        event_id=event.event_id,
        system=system,
        request_id="req-1",
        keyword=f"@{system}",
        state=BindingState.PATCHED,
        fingerprint=meeting_fingerprint(event),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


# -- copies and keywords that need nothing ------------------------------------------------------


def test_attendee_copy_needs_nothing() -> None:
    assert plan(make_event(is_organizer_copy=False), None, MEET_ONLY) == []


def test_attendee_copy_with_our_marker_is_not_adopted() -> None:
    event = make_event(is_organizer_copy=False, marker=Marker("meet", "req-9"))
    assert plan(event, None, MEET_ONLY) == []


@pytest.mark.parametrize("location", ["", "Room 4", "bob@meet.example.com", "www.x.com/@meet"])
def test_no_keyword_needs_nothing(location: str) -> None:
    assert plan(make_event(location=location), None, MEET_ONLY) == []


def test_cancelled_event_without_binding_needs_nothing() -> None:
    assert plan(make_event(status=EventStatus.CANCELLED), None, WITH_ZOOM) == []


@pytest.mark.parametrize(
    ("event", "needed"),
    [
        (make_event(status=EventStatus.CANCELLED, location="", is_organizer_copy=False), False),
        (make_event(is_organizer_copy=False), False),
        (make_event(location="Room 4"), False),
        (make_event(location="Room 4", marker=Marker("meet", "req-1")), True),
        (make_event(location="Room 4 @zoom"), True),
    ],
    ids=["cancelled", "attendee-copy", "nothing-of-ours", "our-marker", "keyword"],
)
def test_needs_planning_without_a_binding(event: Event, needed: bool) -> None:
    assert needs_planning(event, MEET_ONLY, has_binding=False) is needed
    if not needed:
        assert plan(event, None, MEET_ONLY) == []


@pytest.mark.parametrize(
    "event",
    [
        make_event(status=EventStatus.CANCELLED, location="", is_organizer_copy=False),
        make_event(location="Room 4"),  # keyword removed after a patch that never landed
    ],
    ids=["cancelled", "keyword-gone"],
)
def test_an_event_with_a_binding_is_always_planned(event: Event) -> None:
    assert needs_planning(event, MEET_ONLY, has_binding=True)


# -- Meet, made by the calendar itself ---------------------------------------------------------


def test_meet_keyword_records_intent_then_asks_for_a_conference() -> None:
    event = make_event()
    actions = plan(event, None, MEET_ONLY)
    assert len(actions) == 2
    save, patch = actions
    assert isinstance(save, SaveBinding)
    assert isinstance(patch, PatchEvent)
    intent = save.binding
    assert (intent.system, intent.state, intent.keyword) == ("meet", BindingState.INTENT, "@meet")
    assert patch.patch == EventPatch(
        marker=Marker("meet", intent.request_id), conference_request_id=intent.request_id
    )
    assert patch.patch.description is None  # the description is the person's: not touched
    assert patch.then == replace(intent, state=BindingState.PATCHED)


def test_meet_echo_of_our_patch_needs_no_write() -> None:
    world = World(make_event())
    world.execute(world.plan(MEET_ONLY))
    # the conference arrived with its id: remembered, without writing to the calendar
    follow_up = world.plan(MEET_ONLY)
    assert [type(a) for a in follow_up] == [SaveBinding]
    world.execute(follow_up)
    assert world.bindings["evt1"].meeting_id == world.event.conference.conference_id  # type: ignore[union-attr]
    assert world.plan(MEET_ONLY) == []


def test_meet_echo_while_conference_is_pending_needs_nothing() -> None:
    event = make_event()
    save, patch = plan(event, None, MEET_ONLY)
    assert isinstance(save, SaveBinding)
    assert isinstance(patch, PatchEvent)
    assert patch.then is not None
    pending = Conference("meet", status="pending", request_id=save.binding.request_id)
    echoed = replace(event, marker=patch.patch.marker, conference=pending, etag='"2"')
    assert plan(echoed, patch.then, MEET_ONLY) == []


def test_event_with_its_own_conference_is_left_alone() -> None:
    event = make_event(conference=meet_conference("their-request", "own-conf-id"))
    assert plan(event, None, MEET_ONLY) == []


def test_marker_without_binding_is_adopted_without_new_meeting() -> None:
    conference = meet_conference("req-7", "abc-defg-hij")
    event = make_event(marker=Marker("meet", "req-7"), conference=conference)
    actions = plan(event, None, MEET_ONLY)
    assert len(actions) == 1
    assert isinstance(actions[0], SaveBinding)
    adopted = actions[0].binding
    assert adopted.request_id == "req-7"
    assert adopted.state is BindingState.PATCHED
    assert adopted.meeting_id == "abc-defg-hij"
    assert plan(event, adopted, MEET_ONLY) == []


def test_intent_after_crash_reissues_the_same_request_id() -> None:
    event = make_event()
    intent = binding_for(event, "meet", state=BindingState.INTENT, request_id="req-crash")
    actions = plan(event, intent, MEET_ONLY)
    assert len(actions) == 1
    assert isinstance(actions[0], PatchEvent)
    assert actions[0].patch.conference_request_id == "req-crash"
    assert actions[0].patch.marker == Marker("meet", "req-crash")


def test_conference_removed_by_person_gets_a_new_request_id() -> None:
    event = make_event(marker=Marker("meet", "req-1"), conference=None)
    binding = binding_for(event, "meet", meeting_id="abc-defg-hij")
    actions = plan(event, binding, MEET_ONLY)
    assert len(actions) == 2
    save, patch = actions
    assert isinstance(save, SaveBinding)
    assert isinstance(patch, PatchEvent)
    assert save.binding.state is BindingState.INTENT
    assert save.binding.request_id != "req-1"
    assert patch.patch.conference_request_id == save.binding.request_id


def test_marker_overwritten_by_someone_is_restored_without_new_conference() -> None:
    event = make_event(marker=Marker("meet", "other"), conference=meet_conference("req-1"))
    binding = binding_for(event, "meet", meeting_id="abc-defg-hij")
    actions = plan(event, binding, MEET_ONLY)
    assert len(actions) == 1
    assert isinstance(actions[0], PatchEvent)
    assert actions[0].patch == EventPatch(marker=Marker("meet", "req-1", "abc-defg-hij"))


def test_keyword_removed_clears_marker_and_our_conference_then_drops_binding() -> None:
    event = make_event(
        location="Room 4", marker=Marker("meet", "req-1"), conference=meet_conference("req-1")
    )
    binding = binding_for(event, "meet", meeting_id="abc-defg-hij")
    actions = plan(event, binding, MEET_ONLY)
    assert actions == [
        PatchEvent(EventPatch(description=None, clear_marker=True, clear_conference=True), None)
    ]
    world = World(event, {"evt1": binding})
    world.execute(actions)
    assert world.bindings == {}
    assert world.event.conference is None
    assert world.event.description == "Agenda: budget"
    assert world.plan(MEET_ONLY) == []


def test_keyword_removed_keeps_a_conference_that_is_not_ours() -> None:
    event = make_event(
        location="", marker=Marker("meet", "req-1"), conference=meet_conference("theirs", "x-y-z")
    )
    binding = binding_for(event, "meet", meeting_id="abc-defg-hij")
    actions = plan(event, binding, MEET_ONLY)
    assert len(actions) == 1
    assert isinstance(actions[0], PatchEvent)
    assert actions[0].patch.clear_marker
    assert not actions[0].patch.clear_conference
    assert actions[0].then is None


def test_keyword_removed_after_everything_else_was_gone_only_drops_binding() -> None:
    event = make_event(location="")
    binding = binding_for(event, "meet")
    assert plan(event, binding, MEET_ONLY) == [DropBinding(CAL, "evt1")]


def test_cancelled_native_meeting_only_drops_binding() -> None:
    event = make_event(status=EventStatus.CANCELLED, location="")
    binding = binding_for(event, "meet", meeting_id="abc-defg-hij")
    assert plan(event, binding, MEET_ONLY) == [DropBinding(CAL, "evt1")]


def test_cancelled_external_meeting_is_deleted_then_binding_dropped() -> None:
    event = make_event(status=EventStatus.CANCELLED, location="")
    binding = binding_for(event, "zoom", meeting_id="93968804761")
    assert plan(event, binding, WITH_ZOOM) == [DeleteMeeting(binding), DropBinding(CAL, "evt1")]


# -- unavailable keywords: an explanatory note -------------------------------------------------


def test_unavailable_keyword_writes_a_note() -> None:
    event = make_event(location="@zoom")
    actions = plan(event, None, MEET_ONLY)
    assert len(actions) == 2
    save, patch = actions
    assert isinstance(save, SaveBinding)
    assert isinstance(patch, PatchEvent)
    assert save.binding.system == NOTE
    note = render_note(NoteKind.UNAVAILABLE, "en", keyword="@zoom", system="zoom")
    assert patch.patch.marker is not None
    assert patch.patch.marker.system == NOTE
    assert patch.patch.marker.block_hash == note.digest
    assert patch.patch.description == "Agenda: budget\n\n" + note.text
    assert patch.patch.conference_request_id is None


def test_note_echo_then_removal_and_replacement() -> None:
    world = World(make_event(location="@zoom"))
    assert world.settle(MEET_ONLY) == 1
    assert world.event.marker is not None
    assert world.event.marker.system == NOTE
    assert world.plan(MEET_ONLY) == []  # the echo of the note

    world.event = replace(world.event, location="@webex")  # another unavailable keyword
    assert world.settle(MEET_ONLY) == 2  # the old note goes, the new one comes
    webex = render_note(NoteKind.UNAVAILABLE, "en", keyword="@webex", system="webex")
    assert block_digest_of(world.event.description) == webex.digest
    assert world.bindings["evt1"].keyword == "@webex"

    world.event = replace(world.event, location="Room 4")
    assert world.settle(MEET_ONLY) == 1
    assert world.event.description == "Agenda: budget"
    assert world.event.marker is None
    assert world.bindings == {}


def test_note_restored_when_person_deleted_it() -> None:
    world = World(make_event(location="@teams"))
    world.settle(MEET_ONLY)
    world.event = replace(world.event, description="Agenda: budget, edited")
    assert world.settle(MEET_ONLY) == 1
    assert world.event.description.startswith("Agenda: budget, edited\n\n")
    assert block_digest_of(world.event.description) is not None


# -- external meeting systems ------------------------------------------------------------------


def test_external_keyword_records_intent_before_creating() -> None:
    event = make_event(location="@zoom")
    actions = plan(event, None, WITH_ZOOM)
    assert len(actions) == 1
    assert isinstance(actions[0], SaveBinding)
    intent = actions[0].binding
    assert (intent.system, intent.state) == ("zoom", BindingState.INTENT)
    assert plan(event, intent, WITH_ZOOM) == [CreateMeeting(intent)]


def test_external_created_meeting_is_patched_in_then_echo_is_quiet() -> None:
    event = make_event(location="@zoom")
    intent = binding_for(event, "zoom", state=BindingState.INTENT)
    made = created(intent, ZOOM_JOIN)
    actions = plan(event, made, WITH_ZOOM)
    assert len(actions) == 1
    assert isinstance(actions[0], PatchEvent)
    patch, then = actions[0].patch, actions[0].then
    block = render_join_block(ZOOM_JOIN, "en")
    assert patch.description == "Agenda: budget\n\n" + block.text
    assert patch.marker == Marker("zoom", "req-1", ZOOM_JOIN.meeting_id, block.digest)
    assert patch.conference_request_id is None
    assert then is not None
    assert then.state is BindingState.PATCHED
    assert plan(apply_patch(event, patch), then, WITH_ZOOM) == []


def test_external_full_path_creates_once_and_settles_in_three_rounds() -> None:
    world = World(make_event(location="@zoom"))
    assert world.settle(WITH_ZOOM) == 3
    assert world.created == 1
    assert world.bindings["evt1"].state is BindingState.PATCHED


def test_time_change_on_patched_external_meeting_updates_it() -> None:
    world = World(make_event(location="@zoom"))
    world.settle(WITH_ZOOM)
    moved = replace(world.event, start=START + timedelta(hours=2), end=START + timedelta(hours=3))
    world.event = moved
    actions = world.plan(WITH_ZOOM)
    assert actions == [UpdateMeeting(world.bindings["evt1"], meeting_fingerprint(moved))]
    world.execute(actions)
    assert world.plan(WITH_ZOOM) == []  # same join details: no calendar write
    assert world.created == 1


def test_external_keyword_removed_deletes_meeting_and_block() -> None:
    world = World(make_event(location="@zoom"))
    world.settle(WITH_ZOOM)
    meeting_id = world.bindings["evt1"].meeting_id
    world.event = replace(world.event, location="Room 4")
    assert world.settle(WITH_ZOOM) == 1
    assert world.deleted == [meeting_id]
    assert world.event.description == "Agenda: budget"
    assert world.event.marker is None
    assert world.bindings == {}


def test_switch_from_external_to_native_replaces_the_meeting() -> None:
    world = World(make_event(location="@zoom"))
    world.settle(WITH_ZOOM)
    world.event = replace(world.event, location="@meet")
    world.settle(WITH_ZOOM)
    assert len(world.deleted) == 1
    assert world.bindings["evt1"].system == "meet"
    assert world.event.conference is not None
    assert block_digest_of(world.event.description) is None
    assert world.event.description == "Agenda: budget"


def test_html_description_keeps_every_other_character() -> None:
    person = "<p>Agenda &amp; <b>notes</b></p><ul><li>one&nbsp;&lt;two&gt;</li></ul>\n<br>end"
    world = World(make_event(location="@zoom", description=person))
    world.settle(WITH_ZOOM)
    block = render_join_block(ZOOM_JOIN, "en")
    assert world.event.description.startswith(person)
    assert block.html in world.event.description
    assert replace_block(world.event.description, None) == person
    world.event = replace(world.event, location="")
    world.settle(WITH_ZOOM)
    assert world.event.description == person


# -- recurring series --------------------------------------------------------------------------


def test_occurrence_covered_by_series_binding_needs_nothing() -> None:
    occurrence = make_event(event_id="evt1_20300304T090000Z", recurring_event_id="evt1")
    series = binding_for(make_event(), "meet", meeting_id="abc-defg-hij")
    assert plan(occurrence, None, MEET_ONLY, series_binding=series) == []


def test_occurrence_without_series_binding_gets_its_own_conference() -> None:
    occurrence = make_event(event_id="evt1_20300304T090000Z", recurring_event_id="evt1")
    actions = plan(occurrence, None, MEET_ONLY)
    assert [type(a) for a in actions] == [SaveBinding, PatchEvent]
    assert isinstance(actions[1], PatchEvent)
    assert actions[1].patch.conference_request_id is not None


def test_occurrence_with_other_system_than_series_gets_its_own() -> None:
    occurrence = make_event(
        event_id="evt1_20300304T090000Z", recurring_event_id="evt1", location="@zoom"
    )
    series = binding_for(make_event(), "meet")
    actions = plan(occurrence, None, WITH_ZOOM, series_binding=series)
    assert [type(a) for a in actions] == [SaveBinding]
    assert isinstance(actions[0], SaveBinding)
    assert actions[0].binding.system == "zoom"


def test_moved_occurrence_keeps_the_series_conference() -> None:
    series = binding_for(make_event(), "meet", meeting_id="abc-defg-hij")
    moved = make_event(
        event_id="evt1_20300304T090000Z",
        recurring_event_id="evt1",
        start=START + timedelta(hours=1),
        end=START + timedelta(hours=2),
        marker=Marker("meet", "req-1"),
        conference=meet_conference("req-1"),
    )
    world = World(moved)
    for _ in range(3):
        world.execute(world.plan(MEET_ONLY, series))
    assert world.event.conference is not None
    assert world.event.marker == Marker("meet", "req-1")


def test_moved_occurrence_never_deletes_the_series_meeting() -> None:
    series = binding_for(make_event(location="@zoom"), "zoom", meeting_id="93968804761")
    block = render_join_block(ZOOM_JOIN, "en")
    moved = make_event(
        event_id="evt1_20300304T090000Z",
        recurring_event_id="evt1",
        location="@zoom",
        description="Agenda: budget\n\n" + block.text,
        marker=Marker("zoom", "req-1", "93968804761", block.digest),
    )
    world = World(moved)
    for _ in range(3):
        world.execute(world.plan(WITH_ZOOM, series))
    assert world.deleted == []
    assert block_digest_of(world.event.description) == block.digest


# -- property: repeated planning converges and keeps the person's text -------------------------

_FRAGMENTS = st.sampled_from(
    [
        "<br>",
        "<p>",
        "</p>",
        "<b>x</b>",
        "&nbsp;",
        "&amp;",
        "a < b",
        "\n",
        "\n\n",
        " ",
        "~~",
        "~~~ hybridcal:begin ~~~",
        "hybridcal",
        "@zoom",
        "https://example.com/?q=1",
    ]
)
_PERSON_TEXT = st.lists(st.one_of(st.text(max_size=12), _FRAGMENTS), max_size=8).map("".join)
_LOCATION = st.lists(
    st.sampled_from(["@meet", "@zoom", "@teams", "@webex", "Room 4", " ", ",", "x@zoom.us"]),
    max_size=3,
).map(" ".join)


@settings(max_examples=150, deadline=None)
@given(
    person=_PERSON_TEXT,
    locations=st.lists(_LOCATION, min_size=1, max_size=4),
    zoom_external=st.booleans(),
)
def test_planning_converges_and_keeps_the_persons_text(
    person: str, locations: list[str], zoom_external: bool
) -> None:
    policy = WITH_ZOOM if zoom_external else MEET_ONLY
    world = World(make_event(location=locations[0], description=person))
    for n, location in enumerate(locations):
        world.event = replace(world.event, location=location)
        # switching systems first tears the old meeting down: one round more than a fresh start
        world.settle(policy, max_rounds=3 if n == 0 else 4)
        assert person in world.event.description
        assert replace_block(world.event.description, None) == person
        assert world.created - len(world.deleted) <= 1  # never more than one live meeting


def test_a_marker_naming_no_external_meeting_is_adopted_unfinished() -> None:
    # the store was lost after a refusal note was written: the meeting is still to be made
    marker = Marker(system="zoom", request_id="req-9", block_hash="abc")
    event = make_event(location="@zoom", marker=marker)
    (save,) = plan(event, None, WITH_ZOOM)
    assert isinstance(save, SaveBinding)
    assert save.binding.state is BindingState.INTENT
    assert save.binding.request_id == "req-9"
    assert not save.fresh  # it may exist already: the executor looks it up first


def test_a_new_external_intent_is_fresh() -> None:
    (save,) = plan(make_event(location="@zoom"), None, WITH_ZOOM)
    assert isinstance(save, SaveBinding)
    assert save.fresh


def test_an_unfinished_intent_whose_keyword_went_is_looked_up_and_deleted() -> None:
    intent = Binding(CAL, "evt1", "zoom", "req-1", "@zoom", BindingState.INTENT)
    actions = plan(make_event(location="Room 4"), intent, WITH_ZOOM)
    assert actions == [DeleteMeeting(intent), DropBinding(CAL, "evt1")]


def test_an_occurrence_binding_never_deletes_the_series_meeting() -> None:
    series = created(Binding(CAL, "evt1", "zoom", "req-1", "@zoom", BindingState.INTENT), ZOOM_JOIN)
    occurrence = replace(series, event_id="evt1_20300305", series_id="evt1", fingerprint="x")
    cancelled = make_event(
        event_id="evt1_20300305",
        recurring_event_id="evt1",
        original_start=START + timedelta(days=1),
        status=EventStatus.CANCELLED,
    )
    actions = plan(cancelled, occurrence, WITH_ZOOM, series_binding=series)
    assert not any(isinstance(a, DeleteMeeting) for a in actions)
    assert needs_planning(cancelled, WITH_ZOOM, has_binding=False, series_bound=True)
    assert not needs_planning(cancelled, WITH_ZOOM, has_binding=False, series_bound=False)


def test_an_adopted_external_meeting_whose_block_is_gone_is_looked_up_again() -> None:
    # the store was lost, and the person deleted our block: the marker alone cannot render it
    marker = Marker(system="zoom", request_id="req-7", meeting_id="93968804761", block_hash="x")
    event = make_event(location="@zoom", marker=marker, description="Agenda only")
    (adopt,) = plan(event, None, WITH_ZOOM)
    assert isinstance(adopt, SaveBinding)
    (again,) = plan(event, adopt.binding, WITH_ZOOM)
    assert again == SaveBinding(replace(adopt.binding, state=BindingState.INTENT))
    assert plan(event, again.binding, WITH_ZOOM) == [CreateMeeting(again.binding)]


# -- a native conference refused or failed ------------------------------------------------------

NOW = datetime(2030, 3, 1, 8, 0, tzinfo=UTC)


def failed_conference(request_id: str) -> Conference:
    return Conference("meet", status="failure", request_id=request_id)


def test_a_failed_conference_becomes_a_problem_with_a_retry_an_hour_later() -> None:
    event = replace(
        make_event(), marker=Marker("meet", "req-1"), conference=failed_conference("req-1")
    )
    binding = binding_for(event, "meet")
    [save] = plan(event, binding, MEET_ONLY, now=NOW)
    assert isinstance(save, SaveBinding)
    assert save.binding.state is BindingState.INTENT
    assert save.binding.problem is not None
    assert save.binding.problem.kind is ProblemKind.CONFERENCE_FAILED
    assert save.binding.retry_at == NOW + CONFERENCE_RETRY
    assert save.binding.request_id == "req-1"
    # then a note, and nothing more on later edits before the retry time
    [note] = plan(event, save.binding, MEET_ONLY, now=NOW)
    assert isinstance(note, PatchEvent)
    assert note.patch.conference_request_id is None
    assert note.patch.description is not None
    assert "could not be created" in note.patch.description
    assert note.then is not None
    noted = apply_patch(event, note.patch)
    edited = replace(noted, summary="Planning (moved)")
    assert plan(edited, note.then, MEET_ONLY, now=NOW + timedelta(minutes=59)) == []


def test_a_due_refusal_asks_again_with_a_new_request_id_and_the_note_goes_on_success() -> None:
    world = World(make_event())
    binding = replace(
        binding_for(world.event, "meet"),
        state=BindingState.INTENT,
        problem=MeetingProblem(ProblemKind.CONFERENCE_NOT_ALLOWED, "Meet is off"),
        retry_at=NOW,
    )
    world.bindings["evt1"] = binding
    note = plan(world.event, binding, MEET_ONLY, now=NOW - timedelta(seconds=1))
    world.execute(note)
    assert "turned off" in world.event.description
    save, ask = plan(world.event, world.bindings["evt1"], MEET_ONLY, now=NOW)
    assert isinstance(save, SaveBinding)
    assert save.binding.request_id != "req-1"
    assert save.binding.problem is None
    assert isinstance(ask, PatchEvent)
    assert ask.patch.conference_request_id == save.binding.request_id
    world.execute([save, ask])  # the test's calendar completes the conference at once
    for _ in range(3):
        actions = plan(world.event, world.bindings["evt1"], MEET_ONLY, now=NOW)
        if not actions:
            break
        world.execute(actions)
    assert world.event.description == "Agenda: budget"  # the note went with the success
    assert world.event.conference is not None
    assert world.bindings["evt1"].problem is None
    assert plan(world.event, world.bindings["evt1"], MEET_ONLY, now=NOW) == []


def test_removing_the_keyword_clears_a_refused_meets_note_and_problem() -> None:
    event = replace(
        make_event(), marker=Marker("meet", "req-1"), conference=failed_conference("req-1")
    )
    binding = replace(
        binding_for(event, "meet"),
        state=BindingState.INTENT,
        problem=MeetingProblem(ProblemKind.CONFERENCE_FAILED, "failure"),
        retry_at=NOW + CONFERENCE_RETRY,
    )
    [note] = plan(event, binding, MEET_ONLY, now=NOW)
    assert isinstance(note, PatchEvent)
    noted = replace(apply_patch(event, note.patch), location="Room 4")
    [teardown] = plan(noted, note.then, MEET_ONLY, now=NOW)
    assert isinstance(teardown, PatchEvent)
    assert teardown.then is None
    assert teardown.patch.description == "Agenda: budget"
    assert teardown.patch.clear_marker
    assert teardown.patch.clear_conference
