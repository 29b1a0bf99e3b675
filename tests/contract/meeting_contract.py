"""The contract every MeetingSystem implementation must meet, as a mix-in test class.

A system's test module subclasses :class:`MeetingSystemContract` and provides three fixtures
(see ``test_zoom_meetings.py``):

- ``system``: a fresh :class:`MeetingSystem` talking to a fresh (simulated) provider;
- ``inspect``: a :class:`MeetingInspector` that looks at the provider behind the system's back;
- ``organizer``: the address of an organiser who may host meetings there.

Every test here uses only the protocol and the inspector, so a new system needs no new tests.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol
from uuid import uuid4

import pytest

from hybridcal.connectors.meetings.base import (
    MeetingRefusedError,
    MeetingRequest,
    MeetingSystem,
)
from hybridcal.core.model import JoinInfo, ProblemKind

DAILY_FIVE = ("RRULE:FREQ=DAILY;COUNT=5",)
ZONE = "Europe/Zurich"


@dataclass(frozen=True, slots=True)
class SeenMeeting:
    """A meeting as the provider itself shows it (first occurrence for a series)."""

    topic: str
    start: datetime | None
    end: datetime | None


class MeetingInspector(Protocol):
    """What the contract needs to see of the provider, without going through the system."""

    system_name: str  # MeetingSystem.name and JoinInfo.system
    uses_passcodes: bool  # meetings carry a passcode
    unknown_meeting_id: str  # an id the provider never gave out

    def now(self) -> datetime:
        """The provider's and the system's clock."""

    async def meeting_exists(self, meeting_id: str) -> bool: ...

    async def seen(self, meeting_id: str) -> SeenMeeting: ...

    async def occurrence_starts(self, meeting_id: str) -> list[datetime]:
        """The live occurrences' starts, sorted, in UTC."""

    async def without_account(self, organizer: str) -> None:
        """Make sure the provider has no (usable) account for ``organizer``."""

    async def personal_room_link(self, organizer: str) -> str:
        """The link of ``organizer``'s personal room as the provider shows it (query left off)."""

    async def meeting_count(self, organizer: str) -> int:
        """How many meetings ``organizer`` hosts (a personal room is not one)."""


def base_start(inspect: MeetingInspector) -> datetime:
    """09:00 UTC two days after the clock's now: in the future, not near a DST change."""
    now = inspect.now()
    return (now + timedelta(days=2)).replace(hour=9, minute=0, second=0, microsecond=0)


def meeting_request(
    inspect: MeetingInspector,
    organizer: str,
    *,
    topic: str = "Weekly sync",
    minutes: int = 30,
    recurrence: tuple[str, ...] = (),
    key: str | None = None,
) -> MeetingRequest:
    start = base_start(inspect)
    return MeetingRequest(
        idempotency_key=key or uuid4().hex,
        topic=topic,
        start=start,
        end=start + timedelta(minutes=minutes),
        timezone=ZONE,
        organizer=organizer,
        recurrence=recurrence,
        agenda="Notes for the meeting.",
        organizer_name="Alice Liddell",
    )


class MeetingSystemContract:
    """Subclass and provide ``system``, ``inspect`` and ``organizer`` fixtures."""

    # -- create and find ------------------------------------------------------------------------

    async def test_create_returns_join_info_of_a_real_meeting(
        self, system: MeetingSystem, inspect: MeetingInspector, organizer: str
    ) -> None:
        request = meeting_request(inspect, organizer)
        join = await system.create(request)
        assert isinstance(join, JoinInfo)
        assert system.name == inspect.system_name
        assert join.system == system.name
        assert join.meeting_id
        assert join.join_url.startswith("https://")
        if inspect.uses_passcodes:
            assert join.passcode
        assert await inspect.meeting_exists(join.meeting_id)
        seen = await inspect.seen(join.meeting_id)
        assert request.topic in seen.topic
        assert (seen.start, seen.end) == (request.start, request.end)

    async def test_two_creates_make_two_meetings(
        self, system: MeetingSystem, inspect: MeetingInspector, organizer: str
    ) -> None:
        first = await system.create(meeting_request(inspect, organizer))
        second = await system.create(meeting_request(inspect, organizer))
        assert first.meeting_id != second.meeting_id
        assert first.join_url != second.join_url

    async def test_find_returns_the_meeting_made_for_the_same_key(
        self, system: MeetingSystem, inspect: MeetingInspector, organizer: str
    ) -> None:
        request = meeting_request(inspect, organizer)
        other = await system.create(meeting_request(inspect, organizer))
        join = await system.create(request)
        found = await system.find(request)
        assert found is not None
        assert (found.system, found.meeting_id, found.join_url) == (
            join.system,
            join.meeting_id,
            join.join_url,
        )
        assert found.passcode == join.passcode
        assert found.meeting_id != other.meeting_id

    async def test_find_for_an_unknown_key_is_none(
        self, system: MeetingSystem, inspect: MeetingInspector, organizer: str
    ) -> None:
        request = meeting_request(inspect, organizer)
        assert await system.find(request) is None
        await system.create(request)
        # same organiser, topic and time, another key: not that meeting
        assert await system.find(replace(request, idempotency_key=uuid4().hex)) is None

    async def test_find_adopts_a_meeting_whose_create_answer_was_lost(
        self, system: MeetingSystem, inspect: MeetingInspector, organizer: str
    ) -> None:
        request = meeting_request(inspect, organizer, topic="Lost answer")
        await system.create(request)  # the daemon crashed before it stored the answer
        found = await system.find(request)
        assert found is not None
        assert await inspect.meeting_exists(found.meeting_id)
        assert (await inspect.seen(found.meeting_id)).topic.endswith("Lost answer")

    async def test_find_after_delete_is_none(
        self, system: MeetingSystem, inspect: MeetingInspector, organizer: str
    ) -> None:
        request = meeting_request(inspect, organizer)
        join = await system.create(request)
        await system.delete(join.meeting_id)
        assert await system.find(request) is None

    # -- update and delete ----------------------------------------------------------------------

    async def test_update_keeps_the_meeting_and_changes_time_and_topic(
        self, system: MeetingSystem, inspect: MeetingInspector, organizer: str
    ) -> None:
        request = meeting_request(inspect, organizer)
        join = await system.create(request)
        assert request.start is not None
        moved = replace(
            request,
            topic="Moved sync",
            start=request.start + timedelta(hours=3),
            end=request.start + timedelta(hours=4, minutes=30),
        )
        updated = await system.update(join, moved)
        assert (updated.meeting_id, updated.join_url) == (join.meeting_id, join.join_url)
        assert updated.passcode == join.passcode
        seen = await inspect.seen(join.meeting_id)
        assert "Moved sync" in seen.topic
        assert "Weekly sync" not in seen.topic
        assert (seen.start, seen.end) == (moved.start, moved.end)
        found = await system.find(moved)
        assert found is not None
        assert found.meeting_id == join.meeting_id

    async def test_delete_removes_the_meeting(
        self, system: MeetingSystem, inspect: MeetingInspector, organizer: str
    ) -> None:
        keep = await system.create(meeting_request(inspect, organizer))
        join = await system.create(meeting_request(inspect, organizer))
        await system.delete(join.meeting_id)
        assert not await inspect.meeting_exists(join.meeting_id)
        assert await inspect.meeting_exists(keep.meeting_id)

    async def test_delete_twice_is_not_an_error(
        self, system: MeetingSystem, inspect: MeetingInspector, organizer: str
    ) -> None:
        join = await system.create(meeting_request(inspect, organizer))
        await system.delete(join.meeting_id)
        await system.delete(join.meeting_id)
        assert not await inspect.meeting_exists(join.meeting_id)

    async def test_delete_of_an_unknown_meeting_is_not_an_error(
        self, system: MeetingSystem, inspect: MeetingInspector
    ) -> None:
        assert not await inspect.meeting_exists(inspect.unknown_meeting_id)
        await system.delete(inspect.unknown_meeting_id)

    # -- recurring series -----------------------------------------------------------------------

    async def test_a_daily_series_has_its_occurrences(
        self, system: MeetingSystem, inspect: MeetingInspector, organizer: str
    ) -> None:
        request = meeting_request(inspect, organizer, recurrence=DAILY_FIVE)
        join = await system.create(request)
        start = base_start(inspect)
        assert await inspect.occurrence_starts(join.meeting_id) == [
            start + timedelta(days=day) for day in range(5)
        ]

    async def test_a_series_that_becomes_a_single_meeting_keeps_its_meeting(
        self, system: MeetingSystem, inspect: MeetingInspector, organizer: str
    ) -> None:
        """The same meeting, changed in place by the system's documented operations: one
        meeting per event whatever its recurrence becomes, and the invitation's link stays."""
        request = meeting_request(inspect, organizer, recurrence=DAILY_FIVE)
        join = await system.create(request)
        assert request.start is not None
        single = replace(
            request,
            recurrence=(),
            start=request.start + timedelta(hours=1),
            end=request.start + timedelta(hours=2),
        )
        updated = await system.update(join, single)
        assert (updated.meeting_id, updated.join_url, updated.passcode) == (
            join.meeting_id,
            join.join_url,
            join.passcode,
        )
        assert await inspect.occurrence_starts(join.meeting_id) == []
        seen = await inspect.seen(join.meeting_id)
        assert (seen.start, seen.end) == (single.start, single.end)
        found = await system.find(single)
        assert found is not None
        assert found.meeting_id == join.meeting_id

    async def test_a_single_meeting_that_becomes_a_series_keeps_its_meeting(
        self, system: MeetingSystem, inspect: MeetingInspector, organizer: str
    ) -> None:
        request = meeting_request(inspect, organizer)
        join = await system.create(request)
        updated = await system.update(join, replace(request, recurrence=DAILY_FIVE))
        assert (updated.meeting_id, updated.join_url) == (join.meeting_id, join.join_url)
        start = base_start(inspect)
        assert await inspect.occurrence_starts(join.meeting_id) == [
            start + timedelta(days=day) for day in range(5)
        ]
        back = await system.update(join, request)  # and back again
        assert back.meeting_id == join.meeting_id
        assert await inspect.occurrence_starts(join.meeting_id) == []

    async def test_update_occurrence_moves_only_that_occurrence(
        self, system: MeetingSystem, inspect: MeetingInspector, organizer: str
    ) -> None:
        join = await system.create(meeting_request(inspect, organizer, recurrence=DAILY_FIVE))
        start = base_start(inspect)
        third = start + timedelta(days=2)
        later = third + timedelta(hours=2)
        await system.update_occurrence(join.meeting_id, third, later, later + timedelta(hours=1))
        expected = [start + timedelta(days=d) for d in (0, 1, 3, 4)] + [later]
        assert await inspect.occurrence_starts(join.meeting_id) == sorted(expected)

    async def test_delete_occurrence_removes_only_that_occurrence(
        self, system: MeetingSystem, inspect: MeetingInspector, organizer: str
    ) -> None:
        join = await system.create(meeting_request(inspect, organizer, recurrence=DAILY_FIVE))
        start = base_start(inspect)
        await system.delete_occurrence(join.meeting_id, start + timedelta(days=3))
        assert await inspect.occurrence_starts(join.meeting_id) == [
            start + timedelta(days=d) for d in (0, 1, 2, 4)
        ]
        assert await inspect.meeting_exists(join.meeting_id)

    async def test_delete_occurrence_twice_is_not_an_error(
        self, system: MeetingSystem, inspect: MeetingInspector, organizer: str
    ) -> None:
        join = await system.create(meeting_request(inspect, organizer, recurrence=DAILY_FIVE))
        fourth = base_start(inspect) + timedelta(days=3)
        await system.delete_occurrence(join.meeting_id, fourth)
        await system.delete_occurrence(join.meeting_id, fourth)
        assert fourth not in await inspect.occurrence_starts(join.meeting_id)

    # -- refusals and lifecycle -----------------------------------------------------------------

    async def test_an_organiser_without_an_account_is_refused_until_later(
        self, system: MeetingSystem, inspect: MeetingInspector
    ) -> None:
        stranger = f"nobody-{uuid4().hex[:8]}@example.com"
        await inspect.without_account(stranger)
        request = meeting_request(inspect, stranger)
        with pytest.raises(MeetingRefusedError) as refused:
            await system.create(request)
        assert refused.value.problem.kind is ProblemKind.HOST_NOT_FOUND
        assert refused.value.problem.detail
        assert str(refused.value) == refused.value.problem.detail
        assert refused.value.retry_at > inspect.now()
        assert await system.find(request) is None  # nothing was made, and looking is fine

    # -- personal rooms ---------------------------------------------------------------------------

    async def test_personal_room_is_the_hosts_own_and_makes_no_meeting(
        self, system: MeetingSystem, inspect: MeetingInspector, organizer: str
    ) -> None:
        before = await inspect.meeting_count(organizer)
        join = await system.personal_room(organizer)
        assert join.system == inspect.system_name
        assert join.join_url.split("?")[0] == await inspect.personal_room_link(organizer)
        assert join.meeting_id
        if inspect.uses_passcodes:
            assert join.passcode
        assert join.sip
        assert await inspect.meeting_count(organizer) == before

    async def test_personal_room_reads_the_same_room_twice(
        self, system: MeetingSystem, organizer: str
    ) -> None:
        assert await system.personal_room(organizer) == await system.personal_room(organizer)

    async def test_personal_room_of_an_organiser_without_an_account_is_refused_until_later(
        self, system: MeetingSystem, inspect: MeetingInspector
    ) -> None:
        stranger = f"nobody-{uuid4().hex[:8]}@example.com"
        await inspect.without_account(stranger)
        with pytest.raises(MeetingRefusedError) as refused:
            await system.personal_room(stranger)
        assert refused.value.problem.kind is ProblemKind.HOST_NOT_FOUND
        assert refused.value.problem.detail
        assert refused.value.retry_at > inspect.now()

    async def test_close_can_be_called_twice(self, system: MeetingSystem) -> None:
        await system.close()
        await system.close()
