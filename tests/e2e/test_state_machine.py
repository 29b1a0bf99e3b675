"""A Hypothesis state machine of people editing events while the daemon runs, crashes and
misses notifications. Each example starts a fresh simulator and daemon on its own event loop.

Invariants after every step (the daemon and the simulator settled first):

- one conference per keyword activation: every live ``@meet`` event carries exactly the
  conference we asked for, no event without the keyword carries ours, and the simulator made
  exactly as many conferences as the model expects (none for events that never had ``@meet``);
- one Zoom meeting per ``@zoom`` activation: every live ``@zoom`` event carries exactly one
  join block of a live Zoom meeting named by its marker, the Zoom account holds exactly one
  live meeting per such event, and Zoom made exactly as many as the model expects;
- the same for ``@webex`` and the Webex site (the Service App's meetings, hosted by ALICE);
- an unavailable keyword (``@teams`` on a Google calendar) carries our note and nothing else
  does;
- the room's meeting list equals the simulator's truth: ids, titles, join link presence;
- every description text a person wrote (and did not delete) is still in the description.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import tempfile
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from tests.e2e.harness import (
    ALICE,
    ROOM,
    Harness,
    conference_status,
    marker_of,
    start_harness,
    tomorrow_at,
    video_link,
    when,
)

from hybridcal.connectors.meetings.webex_wire import split_ref
from hybridcal.core.render import END_MARK, START_MARK
from hybridcal.sandbox.keys import generate_service_account

T = TypeVar("T")

KEYWORDS = st.sampled_from(["@meet", "@zoom", "@webex", "@teams", None])
EXTERNAL = {"@zoom": "zoom", "@webex": "webex"}  # keywords that make a meeting of their own
WORDS = (
    st.text(
        alphabet=st.characters(categories=["L", "N"], include_characters=" .,!?'-"),
        min_size=1,
        max_size=16,
    )
    .map(str.strip)
    .filter(bool)
)


@cache
def service_account() -> dict[str, str]:
    return generate_service_account(project_id="hybridcal-state-machine")


@dataclass
class ModelEvent:
    """What a person did to one event, as far as the invariants need to know."""

    event_id: str
    summary: str
    keyword: str | None
    with_room: bool
    day: int
    texts: list[str] = field(default_factory=list)


def _location(keyword: str | None, serial: int) -> str:
    return f"Room {serial} {keyword}" if keyword else f"Room {serial}"


class DaemonMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.tmp = tempfile.TemporaryDirectory(prefix="hybridcal-e2e-sm-")
        try:
            self.h: Harness = self.run(
                start_harness(
                    Path(self.tmp.name),
                    service_account(),
                    users=(ALICE,),
                    webex=True,
                    webex_users=(ALICE,),
                )
            )
        except BaseException:
            self.loop.close()
            self.tmp.cleanup()
            raise
        self.events: dict[str, ModelEvent] = {}
        self.order: list[str] = []  # live event ids in creation order, for index-based choice
        self.conferences = 0  # @meet activations the daemon has seen
        self.zoom_meetings = 0  # @zoom activations
        self.webex_meetings = 0  # @webex activations
        self.serial = itertools.count(1)

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coro)

    def on_loop(self, action: Callable[[], T]) -> T:
        """Run a ``sim.person_*`` call inside the loop: the simulator spawns its notification
        tasks on the running loop, and outside ``run`` there is none."""

        async def call() -> T:
            return action()

        return self.run(call())

    def teardown(self) -> None:
        try:
            self.run(self.h.close())
        finally:
            self.loop.close()
            self.tmp.cleanup()

    def pick(self, index: int) -> ModelEvent:
        return self.events[self.order[index % len(self.order)]]

    def text(self, words: str) -> str:
        return f"p{next(self.serial)} {words}"

    # -- a person using Google Calendar --------------------------------------------------------

    @rule(keyword=KEYWORDS, with_room=st.booleans(), words=WORDS, day=st.integers(1, 12))
    def create(self, keyword: str | None, with_room: bool, words: str, day: int) -> None:
        n = next(self.serial)
        text = self.text(words)
        body: dict[str, Any] = {
            "summary": f"Meeting {n}",
            "location": _location(keyword, n),
            "description": text,
            **when(tomorrow_at(9) + timedelta(days=day - 1, minutes=5 * n)),
        }
        if with_room:
            body["attendees"] = [{"email": ROOM}]
        event_id = self.on_loop(lambda: self.h.sim.person_insert(ALICE, body))["id"]
        self.events[event_id] = ModelEvent(
            event_id, body["summary"], keyword, with_room, day, [text]
        )
        self.order.append(event_id)
        self.conferences += keyword == "@meet"
        self.zoom_meetings += keyword == "@zoom"
        self.webex_meetings += keyword == "@webex"
        self.run(self.h.settle())

    @precondition(lambda self: self.order)
    @rule(index=st.integers(0, 20), words=WORDS, append=st.booleans())
    def edit_description(self, index: int, words: str, append: bool) -> None:
        event, text = self.pick(index), self.text(words)
        self.on_loop(lambda: self._edit_description(event, text, append=append))
        self.run(self.h.settle())

    # the two edits below run on the loop (see on_loop), from a rule or while the daemon is down
    def _edit_description(self, event: ModelEvent, text: str, *, append: bool) -> None:
        if append:  # typed below whatever is there, our block included
            current = self.h.event(ALICE, event.event_id).get("description", "")
            self.h.sim.person_patch(ALICE, event.event_id, {"description": f"{current}\n{text}"})
            event.texts.append(text)
        else:  # replaced the whole description, our block too
            self.h.sim.person_patch(ALICE, event.event_id, {"description": text})
            event.texts = [text]

    @precondition(lambda self: self.order)
    @rule(index=st.integers(0, 20), keyword=KEYWORDS)
    def set_keyword(self, index: int, keyword: str | None) -> None:
        event = self.pick(index)
        self.on_loop(lambda: self._set_keyword(event, keyword))
        self.run(self.h.settle())

    def _set_keyword(self, event: ModelEvent, keyword: str | None) -> None:
        body = {"location": _location(keyword, next(self.serial))}
        self.h.sim.person_patch(ALICE, event.event_id, body)
        if keyword == "@meet" and event.keyword != "@meet":
            self.conferences += 1
        if keyword == "@zoom" and event.keyword != "@zoom":
            self.zoom_meetings += 1
        if keyword == "@webex" and event.keyword != "@webex":
            self.webex_meetings += 1
        event.keyword = keyword

    @precondition(lambda self: self.order)
    @rule(index=st.integers(0, 20), days=st.integers(-3, 3), minutes=st.sampled_from([15, 60]))
    def move(self, index: int, days: int, minutes: int) -> None:
        event = self.pick(index)
        event.day = min(15, max(1, event.day + days))
        start = tomorrow_at(9) + timedelta(days=event.day - 1, minutes=minutes)
        self.on_loop(lambda: self.h.sim.person_patch(ALICE, event.event_id, when(start, minutes)))
        self.run(self.h.settle())

    @precondition(lambda self: self.order)
    @rule(index=st.integers(0, 20))
    def cancel(self, index: int) -> None:
        event = self.pick(index)
        self.on_loop(lambda: self.h.sim.person_delete(ALICE, event.event_id))
        self.order.remove(event.event_id)
        del self.events[event.event_id]
        self.run(self.h.settle())

    @precondition(lambda self: self.order)
    @rule(index=st.integers(0, 20))
    def toggle_room(self, index: int) -> None:
        event = self.pick(index)
        event.with_room = not event.with_room
        body = {"attendees": [{"email": ROOM}] if event.with_room else []}
        self.on_loop(lambda: self.h.sim.person_patch(ALICE, event.event_id, body))
        self.run(self.h.settle())

    @precondition(lambda self: self.order)
    @rule(index=st.integers(0, 20))
    def remove_conference(self, index: int) -> None:
        """The person deletes the Meet from the event but leaves the keyword: a new one."""
        event = self.pick(index)
        body = {"conferenceData": None}
        self.on_loop(lambda: self.h.sim.person_patch(ALICE, event.event_id, body))
        self.conferences += event.keyword == "@meet"
        self.run(self.h.settle())

    # -- the world misbehaving -------------------------------------------------------------------

    @precondition(lambda self: self.order)
    @rule(index=st.integers(0, 20), keyword=KEYWORDS, words=WORDS)
    def edit_with_notifications_dropped(self, index: int, keyword: str | None, words: str) -> None:
        event = self.pick(index)
        faults = self.h.sim.faults
        faults.drop_notification_rate = 1.0
        try:
            text = self.text(words)
            self.on_loop(lambda: self._set_keyword(event, keyword))
            self.on_loop(lambda: self._edit_description(event, text, append=True))
            self.run(self.h.settle())
        finally:
            faults.drop_notification_rate = 0.0
        self.run(self.h.reconcile())

    @rule()
    def restart_daemon(self) -> None:
        self.run(self.h.restart())
        self.run(self.h.settle())

    @precondition(lambda self: self.order)
    @rule(index=st.integers(0, 20), keyword=KEYWORDS, words=WORDS)
    def edit_while_daemon_down(self, index: int, keyword: str | None, words: str) -> None:
        """The notification finds nobody listening; reconciliation catches the change."""
        event = self.pick(index)

        async def person_edits() -> None:
            self._set_keyword(event, keyword)
            self._edit_description(event, self.text(words), append=False)
            await self.h.sim.drain()

        self.run(self.h.restart(while_down=person_edits))
        self.run(self.h.reconcile())

    # -- invariants ------------------------------------------------------------------------------

    @invariant()
    def one_conference_per_keyword_activation(self) -> None:
        assert self.h.sim.conferences_created() == self.conferences
        for event in self.events.values():
            seen = self.h.event(ALICE, event.event_id)
            ours = marker_of(seen)
            if event.keyword == "@meet":
                assert conference_status(seen) == "success", event
                request = seen["conferenceData"]["createRequest"]["requestId"]
                assert ours.get("hybridcal.system") == "meet", ours
                assert ours.get("hybridcal.request") == request
            else:
                assert ours.get("hybridcal.system") != "meet", ours
                assert "conferenceData" not in seen, event

    @invariant()
    def note_only_for_unavailable_keyword(self) -> None:
        for event in self.events.values():
            seen = self.h.event(ALICE, event.event_id)
            description = seen.get("description", "")
            has_block = START_MARK in description or END_MARK in description
            if event.keyword == "@teams":
                assert marker_of(seen).get("hybridcal.system") == "note"
                assert description.count(START_MARK) == 1, description
                assert description.count(END_MARK) == 1, description
            elif event.keyword not in EXTERNAL:
                assert not has_block, description
                assert marker_of(seen).get("hybridcal.system") in {None, "meet"}

    @invariant()
    def one_zoom_meeting_per_keyword_activation(self) -> None:
        live = {str(m["id"]): m for m in self.h.zoom.meetings()}
        zoom_events = [e for e in self.events.values() if e.keyword == "@zoom"]
        assert len(live) == len(zoom_events), (live, zoom_events)
        for event in zoom_events:
            seen = self.h.event(ALICE, event.event_id)
            ours = marker_of(seen)
            assert ours.get("hybridcal.system") == "zoom", ours
            meeting = live[ours["hybridcal.meeting"]]
            description = seen.get("description", "")
            assert description.count(START_MARK) == 1, description
            assert meeting["join_url"] in description
        made = self.h.zoom.meetings(include_deleted=True)
        assert len(made) == self.zoom_meetings

    @invariant()
    def one_webex_meeting_per_keyword_activation(self) -> None:
        webex = self.h.webex
        assert webex is not None
        live = {str(m["id"]): m for m in webex.meetings()}
        webex_events = [e for e in self.events.values() if e.keyword == "@webex"]
        assert len(live) == len(webex_events), (live, webex_events)
        for event in webex_events:
            seen = self.h.event(ALICE, event.event_id)
            ours = marker_of(seen)
            assert ours.get("hybridcal.system") == "webex", ours
            series_id, host = split_ref(ours["hybridcal.meeting"])
            assert host == ALICE
            meeting = live[series_id]
            description = seen.get("description", "")
            assert description.count(START_MARK) == 1, description
            assert meeting["webLink"] in description
        made = webex.meetings(include_deleted=True)
        assert len(made) == self.webex_meetings

    @invariant()
    def person_text_kept(self) -> None:
        for event in self.events.values():
            description = self.h.event(ALICE, event.event_id).get("description", "")
            for text in event.texts:
                assert text in description, (text, description)

    @invariant()
    def room_list_matches_the_provider(self) -> None:
        zoom = {e.event_id for e in self.events.values() if e.keyword in EXTERNAL}
        truth = {
            e["id"]: (e.get("summary", ""), video_link(e) is not None or e["id"] in zoom)
            for e in self.h.sim.list_events(ROOM)
        }
        expected = {e.event_id for e in self.events.values() if e.with_room}
        assert set(truth) == expected
        listed = {m["id"]: (m["title"], m["join"] is not None) for m in self.run(self.h.meetings())}
        assert listed == truth


# CI runs a short exploration; a deeper one: HYBRIDCAL_STATEFUL_EXAMPLES=100 (and _STEPS=25)
DaemonMachine.TestCase.settings = settings(
    max_examples=int(os.environ.get("HYBRIDCAL_STATEFUL_EXAMPLES", "15")),
    stateful_step_count=int(os.environ.get("HYBRIDCAL_STATEFUL_STEPS", "10")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestDaemonStateMachine = DaemonMachine.TestCase
