"""Personal rooms (``@zoom:pmr`` and its spellings, or a plain keyword where the organisation chose
the personal room): the accepted spellings, the planner's transitions (pure), the executor's read
and the organisation's setting."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import timedelta

import pytest
from tests.unit.test_executor import CALENDAR, Rig
from tests.unit.test_executor import make_event as executor_event
from tests.unit.test_planner import (
    START,
    WITH_ZOOM,
    World,
    make_event,
)

from hybridcal.config import ConfigError, settings_from_mapping
from hybridcal.connectors.meetings.base import MeetingRefusedError
from hybridcal.core.keywords import find_keyword, wants_personal_room
from hybridcal.core.model import (
    BindingState,
    EventStatus,
    JoinInfo,
    Marker,
    MeetingProblem,
    ProblemKind,
)
from hybridcal.core.planner import (
    NOTE,
    Action,
    CreateMeeting,
    DeleteMeeting,
    PatchEvent,
    UsePersonalRoom,
    host_key,
    personal_room_read,
    plan,
)
from hybridcal.core.render import block_digest_of, render_join_block

KEYWORDS = {"@zoom": "zoom", "@webex": "webex", "@meet": "meet"}
ROOMS = {
    "alice@example.com": JoinInfo(
        "zoom", "5550001111", "https://acme.zoom.us/j/5550001111?pwd=a", "aaa111"
    ),
    "bob@example.com": JoinInfo(
        "zoom", "5550002222", "https://acme.zoom.us/j/5550002222?pwd=b", "bbb222"
    ),
}
ZOOM_ROOM_DEFAULT = replace(WITH_ZOOM, personal_room_default=frozenset({"zoom"}))


# -- spellings ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "location",
    [
        "@zoom:pmr",
        "@zoom:PMR",
        "@zoom:pmi",
        "@zoom:personal",
        "@zoom:personalroom",
        "@zoom:personal-room",
        "@zoom:personal_room",
        "@zoom:myroom",
        "Room 3 (@zoom:MyRoom)",
        "@webex:pmr",
        "@webex:myroom.",
    ],
)
def test_personal_room_spellings_ask_for_the_room_whatever_the_default(location: str) -> None:
    match = find_keyword(location, KEYWORDS)
    assert match is not None
    assert wants_personal_room(match, by_default=False)
    assert wants_personal_room(match, by_default=True)


@pytest.mark.parametrize(
    "location", ["@zoom:onetime", "@zoom:one-time", "@zoom:OneTime", "@webex:scheduled"]
)
def test_onetime_spellings_ask_for_a_meeting_whatever_the_default(location: str) -> None:
    match = find_keyword(location, KEYWORDS)
    assert match is not None
    assert not wants_personal_room(match, by_default=True)
    assert not wants_personal_room(match, by_default=False)


@pytest.mark.parametrize("location", ["@zoom", "@zoom:space", "@webex:whatever", "x @webex, y"])
def test_a_plain_or_unknown_modifier_follows_the_default(location: str) -> None:
    match = find_keyword(location, KEYWORDS)
    assert match is not None
    assert wants_personal_room(match, by_default=True)
    assert not wants_personal_room(match, by_default=False)


@pytest.mark.parametrize("location", ["@zoom:pmr.example.com", "bob@zoom:pmr", "@zoom:pmrx"])
def test_lookalikes_are_no_personal_room_keyword(location: str) -> None:
    match = find_keyword(location, KEYWORDS)
    assert match is None or not wants_personal_room(match, by_default=False)


# -- the planner ---------------------------------------------------------------------------------


@dataclass
class RoomWorld(World):
    """World with personal rooms: reads counted, whose room each read was."""

    reads: list[str] = field(default_factory=list)
    refuse_reads: bool = False

    def execute(self, actions: list[Action]) -> None:
        rest: list[Action] = []
        for action in actions:
            if not isinstance(action, UsePersonalRoom):
                rest.append(action)
                continue
            super().execute(rest)
            rest = []
            assert action.host is not None
            self.reads.append(action.host)
            if self.refuse_reads:
                problem = MeetingProblem(ProblemKind.HOST_NOT_FOUND, "no Zoom user")
                refused = replace(
                    action.binding,
                    state=BindingState.INTENT,
                    problem=problem,
                    retry_at=START - timedelta(hours=1),
                )
                self.bindings[action.binding.event_id] = refused
                return
            join = ROOMS[action.host]
            self.bindings[action.binding.event_id] = personal_room_read(
                action.binding, join, action.host_key
            )
        super().execute(rest)


def test_pmr_reads_the_organisers_room_and_writes_it_without_making_a_meeting() -> None:
    world = RoomWorld(make_event(location="@zoom:pmr"))
    assert world.settle(WITH_ZOOM) == 2
    assert world.reads == ["alice@example.com"]
    assert world.created == 0
    binding = world.bindings["evt1"]
    assert binding.system == "zoom:pmr"
    assert binding.meeting_id is None  # nothing to delete, ever
    assert binding.state is BindingState.PATCHED
    block = render_join_block(ROOMS["alice@example.com"], "en")
    assert world.event.description == "Agenda: budget\n\n" + block.text
    assert world.event.marker == Marker("zoom:pmr", binding.request_id, None, block.digest)
    assert world.plan(WITH_ZOOM) == []  # the echo of our patch needs nothing


def test_the_first_plan_reads_the_room_at_once() -> None:
    actions = plan(make_event(location="@zoom:pmr"), None, WITH_ZOOM)
    assert [type(a).__name__ for a in actions] == ["SaveBinding", "UsePersonalRoom"]
    read = actions[1]
    assert isinstance(read, UsePersonalRoom)
    assert read.host == "alice@example.com"
    assert read.host_key == host_key(make_event())


def test_plain_keyword_is_the_room_where_the_organisation_chose_it() -> None:
    world = RoomWorld(make_event(location="@zoom"))
    world.settle(ZOOM_ROOM_DEFAULT)
    assert (world.reads, world.created) == (["alice@example.com"], 0)


def test_onetime_makes_a_meeting_where_the_room_is_the_default() -> None:
    world = RoomWorld(make_event(location="@zoom:onetime"))
    world.settle(ZOOM_ROOM_DEFAULT)
    assert (world.reads, world.created) == ([], 1)
    assert world.bindings["evt1"].system == "zoom"


def test_pmr_removed_removes_the_block_and_deletes_nothing() -> None:
    world = RoomWorld(make_event(location="@zoom:pmr"))
    world.settle(WITH_ZOOM)
    world.event = replace(world.event, location="Room 3")
    actions = world.plan(WITH_ZOOM)
    assert not any(isinstance(a, DeleteMeeting) for a in actions)
    world.settle(WITH_ZOOM)
    assert world.event.description == "Agenda: budget"
    assert world.event.marker is None
    assert world.bindings == {}
    assert world.deleted == []


def test_pmr_cancelled_only_forgets_the_binding() -> None:
    world = RoomWorld(make_event(location="@zoom:pmr"))
    world.settle(WITH_ZOOM)
    cancelled = replace(world.event, status=EventStatus.CANCELLED)
    actions = plan(cancelled, world.bindings["evt1"], WITH_ZOOM)
    assert [type(a).__name__ for a in actions] == ["DropBinding"]


def test_pmr_changed_to_scheduled_replaces_the_room_by_a_new_meeting() -> None:
    world = RoomWorld(make_event(location="@zoom:pmr"))
    world.settle(WITH_ZOOM)
    world.event = replace(world.event, location="@zoom")
    world.settle(WITH_ZOOM, max_rounds=5)
    assert world.created == 1
    assert world.deleted == []
    binding = world.bindings["evt1"]
    assert binding.system == "zoom"
    assert block_digest_of(world.event.description) == binding.block_hash
    assert "5550001111" not in world.event.description  # the room's block is gone
    assert world.event.description.count("hybridcal:begin") == 1


def test_scheduled_changed_to_pmr_deletes_the_meeting_and_shows_the_room() -> None:
    world = RoomWorld(make_event(location="@zoom"))
    world.settle(WITH_ZOOM)
    meeting_id = world.bindings["evt1"].meeting_id
    world.event = replace(world.event, location="@zoom:pmr")
    world.settle(WITH_ZOOM, max_rounds=5)
    assert world.deleted == [meeting_id]
    assert world.reads == ["alice@example.com"]
    assert world.bindings["evt1"].system == "zoom:pmr"
    assert "5550001111" in world.event.description
    assert world.event.description.count("hybridcal:begin") == 1


def test_a_new_organiser_gets_their_own_room() -> None:
    world = RoomWorld(make_event(location="@zoom:pmr"))
    world.settle(WITH_ZOOM)
    world.event = replace(world.event, organizer="bob@example.com")
    actions = world.plan(WITH_ZOOM)
    assert [type(a).__name__ for a in actions] == ["UsePersonalRoom"]
    world.settle(WITH_ZOOM)
    assert world.reads == ["alice@example.com", "bob@example.com"]
    assert "5550002222" in world.event.description
    assert "5550001111" not in world.event.description


def test_other_edits_do_not_read_the_room_again() -> None:
    world = RoomWorld(make_event(location="@zoom:pmr"))
    world.settle(WITH_ZOOM)
    world.event = replace(world.event, summary="Renamed", start=START + timedelta(hours=1))
    assert world.plan(WITH_ZOOM) == []
    assert world.reads == ["alice@example.com"]


def test_a_block_the_person_deleted_is_written_again_without_a_read() -> None:
    world = RoomWorld(make_event(location="@zoom:pmr"))
    world.settle(WITH_ZOOM)
    world.event = replace(world.event, description="Agenda: budget")
    actions = world.plan(WITH_ZOOM)
    assert [type(a) for a in actions] == [PatchEvent]
    world.settle(WITH_ZOOM)
    assert world.reads == ["alice@example.com"]
    assert "5550001111" in world.event.description


def test_a_refused_read_writes_a_note_and_reads_again_at_its_time() -> None:
    world = RoomWorld(make_event(location="@zoom:pmr"), refuse_reads=True)
    world.execute(world.plan(WITH_ZOOM))
    refused = world.bindings["evt1"]
    assert refused.problem is not None
    before_retry = START - timedelta(hours=2)
    note_plan = plan(world.event, refused, WITH_ZOOM, now=before_retry)
    assert [type(a) for a in note_plan] == [PatchEvent]
    world.execute(note_plan)
    assert "hybridcal:begin" in world.event.description
    assert world.event.marker is not None
    assert world.event.marker.system == "zoom:pmr"
    assert plan(world.event, world.bindings["evt1"], WITH_ZOOM, now=before_retry) == []
    at_retry = plan(world.event, world.bindings["evt1"], WITH_ZOOM, now=START)
    assert [type(a) for a in at_retry] == [UsePersonalRoom]


def test_a_marker_without_binding_is_adopted_and_the_room_read_once() -> None:
    world = RoomWorld(make_event(location="@zoom:pmr"))
    world.settle(WITH_ZOOM)
    world.bindings.clear()  # the store was lost
    world.settle(WITH_ZOOM)
    assert world.reads == ["alice@example.com", "alice@example.com"]
    assert world.created == 0
    assert world.bindings["evt1"].system == "zoom:pmr"
    assert world.event.description.count("hybridcal:begin") == 1


def test_a_crash_before_the_patch_reads_again_and_patches_once() -> None:
    world = RoomWorld(make_event(location="@zoom:pmr"))
    world.execute(world.plan(WITH_ZOOM))  # read and stored; the patch never ran
    intent = replace(world.bindings["evt1"], state=BindingState.INTENT, join=None)
    world.bindings["evt1"] = intent  # as if we crashed between storing the intent and the read
    world.settle(WITH_ZOOM)
    assert world.event.description.count("hybridcal:begin") == 1
    assert world.created == 0


def test_an_occurrence_that_inherited_the_series_room_has_none_of_its_own() -> None:
    world = RoomWorld(make_event(location="@zoom:pmr", recurrence=("RRULE:FREQ=DAILY;COUNT=3",)))
    world.settle(WITH_ZOOM)
    series = world.bindings["evt1"]
    occurrence = replace(
        world.event,
        event_id="evt1_20300305",
        recurrence=(),
        recurring_event_id="evt1",
        original_start=START + timedelta(days=1),
    )
    assert plan(occurrence, None, WITH_ZOOM, series_binding=series) == []
    no_marker = replace(occurrence, marker=None)
    assert plan(no_marker, None, WITH_ZOOM, series_binding=series) == []


def test_pmr_of_a_system_this_calendar_cannot_use_is_a_note() -> None:
    world = RoomWorld(make_event(location="@webex:pmr"))
    world.settle(WITH_ZOOM)
    assert world.reads == []
    assert world.bindings["evt1"].system == NOTE


def test_scheduled_binding_is_unchanged_by_the_setting_for_another_system() -> None:
    webex_rooms = replace(WITH_ZOOM, personal_room_default=frozenset({"webex"}))
    world = RoomWorld(make_event(location="@zoom"))
    world.settle(webex_rooms)
    assert (world.created, world.reads) == (1, [])
    assert [a for a in world.plan(webex_rooms) if isinstance(a, CreateMeeting)] == []


# -- the executor ---------------------------------------------------------------------------------


async def test_executor_reads_the_room_patches_once_and_calls_nothing_else() -> None:
    event = executor_event(location="@zoom:pmr")
    rig = Rig(event)
    after = await rig.process(event)
    assert rig.zoom.rooms_read == ["alice@example.com"]
    assert rig.zoom.created == []
    assert rig.zoom.found == []
    assert "5550001111" in after.description
    assert after.marker is not None
    assert after.marker.system == "zoom:pmr"
    assert after.marker.meeting_id is None
    stored = rig.store.bindings[(CALENDAR.key, "evt1")]
    assert stored.state is BindingState.PATCHED
    assert ("zoom:pmr", "personal_room") in rig.metrics.meetings
    await rig.process(after)  # the echo
    assert rig.zoom.rooms_read == ["alice@example.com"]

    rig.calendar.edit(location="Room 4")  # the person removed the keyword
    assert rig.calendar.current is not None
    removed = await rig.process(rig.calendar.current)
    assert "hybridcal:begin" not in removed.description
    assert rig.zoom.deleted == []
    assert rig.store.bindings == {}


async def test_executor_records_a_refused_read_with_a_note_and_defers_it() -> None:
    event = executor_event(location="@zoom:pmr")
    rig = Rig(event)
    problem = MeetingProblem(ProblemKind.HOST_NOT_FOUND, "alice has no Zoom user")
    rig.zoom.room_failures.append(MeetingRefusedError(problem, rig.now + timedelta(hours=1)))
    after = await rig.process(event)
    binding = rig.store.bindings[(CALENDAR.key, "evt1")]
    assert binding.problem == problem
    assert binding.state is BindingState.INTENT
    assert [d.problem for d in rig.deferred] == [problem]
    assert "hybridcal:begin" in after.description  # the note
    assert "5550001111" not in after.description
    rig.now += timedelta(hours=2)
    again = await rig.process(after)
    assert rig.zoom.rooms_read == ["alice@example.com", "alice@example.com"]
    assert "5550001111" in again.description


# -- the organisation's setting -------------------------------------------------------------------


def test_the_setting_names_the_systems_whose_plain_keyword_is_the_room() -> None:
    base = {"daemon": {"public_url": "https://hybridcal.example.com"}}
    assert settings_from_mapping(base).meetings.personal_room_systems() == frozenset()
    chosen = {**base, "meetings": {"webex_default": "personal_room"}}
    assert settings_from_mapping(chosen).meetings.personal_room_systems() == {"webex"}


def test_the_setting_refuses_other_meanings() -> None:
    bad = {"daemon": {"public_url": "https://h.example.com"}, "meetings": {"zoom_default": "pmr"}}
    with pytest.raises(ConfigError, match="scheduled, personal_room"):
        settings_from_mapping(bad)
