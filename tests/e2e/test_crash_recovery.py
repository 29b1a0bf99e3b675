"""Crash safety: a write whose answer never came back is not done twice."""

from __future__ import annotations

from typing import Any

import pytest
from tests.e2e.harness import ALICE, ROOM, Harness, conference_status, marker_of, tomorrow_at, when

from hybridcal.connectors.errors import TransientError
from hybridcal.core.model import BindingState, CalendarRecord, Event, Provider
from hybridcal.core.patch import EventPatch


def _lose_first_patch_answer(h: Harness, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Google applies the first PATCH, but its answer is lost on the way back."""
    connector = h.daemon.connectors[Provider.GOOGLE]
    real_patch = connector.patch_event
    lost: list[str] = []

    async def patch_then_lose_the_answer(
        calendar: CalendarRecord, event: Event, patch: EventPatch
    ) -> Event:
        result = await real_patch(calendar, event, patch)
        if not lost:
            lost.append(event.event_id)
            raise TransientError("events.patch: connection reset while reading the answer")
        return result

    monkeypatch.setattr(connector, "patch_event", patch_then_lose_the_answer)
    return lost


async def _keyword_event_whose_patch_answer_is_lost(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> tuple[str, dict[str, Any]]:
    """An `@meet` event whose first patch landed at Google but whose answer never came back;
    returns it once everything settled, after the checks both tests share."""
    lost = _lose_first_patch_answer(h, monkeypatch)
    event_id = h.sim.person_insert(
        ALICE,
        {
            "summary": "Review",
            "location": "@meet",
            "attendees": [{"email": ROOM}],
            **when(tomorrow_at(10)),
        },
    )["id"]
    await h.settle()

    assert lost == [event_id]
    event = h.event(ALICE, event_id)
    assert conference_status(event) == "success"
    assert h.sim.conferences_created() == 1
    return event_id, event


async def test_lost_patch_answer_is_not_patched_again(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    event_id, event = await _keyword_event_whose_patch_answer_is_lost(h, monkeypatch)
    binding = await h.binding(ALICE, event_id)
    assert binding is not None
    assert binding.state is BindingState.PATCHED
    assert binding.request_id == marker_of(event)["hybridcal.request"]
    assert len(h.patches()) == 1  # the one that landed is recognised, not repeated


async def test_lost_patch_answer_makes_no_second_conference(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    _event_id, event = await _keyword_event_whose_patch_answer_is_lost(h, monkeypatch)
    requests = {p.body["conferenceData"]["createRequest"]["requestId"] for p in h.patches()}
    assert requests == {marker_of(event)["hybridcal.request"]}  # one request id, ever
    [meeting] = await h.meetings()
    assert meeting["join"] is not None
