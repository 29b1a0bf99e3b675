"""The organisation the sync benchmark runs against: people, a room, their events, and the burst
of edits people make later. Deterministic for a given seed.

This module holds what every provider shares (the pattern, the times, the burst plan) and the
Google side; ``bench._graph_workload`` builds the same organisation in Microsoft 365.

Per person, event ``j`` (a ten-event pattern):

- ``j % 10`` in 0..2: a meeting with a colleague (the next person) and the room;
- ``j % 10 == 3``: a room booking without other guests;
- ``j % 10`` in 4..5: a vendor's invitation with a pasted Zoom or Teams join link;
- the rest: plain events; every 25th event (``j % 25 == 7``) is a weekly series instead.

Burst edits touch only events that no other *person* attends, so that each calendar's burst
shows up in that calendar's listings alone (the room sees its share). A share of the keyword
edits types ``@zoom`` instead of the provider's own meeting keyword (``@meet``, ``@teams``).
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from hybridcal.sandbox.google.app import GoogleSimulator

DOMAIN = "bench.example.com"
ADMIN = f"hybridcal-admin@{DOMAIN}"
ROOM = "c_bench-board-room@resource.calendar.google.com"
ZONE = "Europe/Zurich"
KEYWORDS = {"meet": "@meet", "teams": "@teams", "zoom": "@zoom"}
BLOCK_MARK = "hybridcal:begin"  # in our join block's first line

PASTED = (
    (
        "Vendor sync.\n\nJoin Zoom Meeting\n"
        "https://us06web.zoom.us/j/8{n:010d}?pwd=QmVuY2g{n:05d}.1\n\n"
        "Meeting ID: 8{n:010d}\nPasscode: {n:06d}\n"
    ),
    (
        "Partner review.\n\nMicrosoft Teams meeting\nJoin on your computer or mobile app\n"
        "https://teams.microsoft.com/l/meetup-join/19%3ameeting_bench{n:08d}%40thread.v2/0\n"
    ),
)
_KEYWORD_SLOTS = frozenset({3, 6, 8, 9})  # j % 10 of events a person may add a keyword to
_RETITLE_SLOTS = frozenset({4, 5})

Shape = Literal["colleague", "room", "pasted", "series", "plain"]


def person(index: int, domain: str = DOMAIN) -> str:
    return f"person{index:03d}@{domain}"


@dataclass(frozen=True, slots=True)
class Planned:
    """One event of the pattern, before it is written in a provider's terms."""

    organizer: str
    colleague: str
    j: int  # the event's place in its organiser's pattern
    start: datetime  # aware, in ZONE
    minutes: int
    room: str | None = None  # the room it books; None: the organisation's one room (ROOM)

    @property
    def shape(self) -> Shape:
        slot = self.j % 10
        if slot <= 2:
            return "colleague"
        if slot == 3:
            return "room"
        if slot in _RETITLE_SLOTS:
            return "pasted"
        return "series" if self.j % 25 == 7 else "plain"

    @property
    def title(self) -> str:
        return f"Topic {self.j}"

    @property
    def place(self) -> str:
        return "Board Room" if self.j % 10 <= 3 else "Office"

    @property
    def end(self) -> datetime:
        return self.start + timedelta(minutes=self.minutes)

    def pasted(self) -> str:
        """The vendor's invitation text (only for the ``pasted`` shape)."""
        return PASTED[self.j % 10 - 4].format(n=self.j + 1)


def plan_events(
    people: Sequence[str],
    per_person: int,
    *,
    now: datetime,
    seed: int,
    rooms: Sequence[str] = (),
) -> Iterator[Planned]:
    """``per_person`` events per person, spread over the daemon's window (7 days back, 31 ahead).
    With ``rooms``, each person books the room of their group (people ``i`` and ``i + 1``
    share one when they can), else every booking goes to the organisation's one room."""
    rng = random.Random(seed)  # reproducible test data
    first_day = (now.astimezone(ZoneInfo(ZONE)) - timedelta(days=5)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    for index, organizer in enumerate(people):
        colleague = people[(index + 1) % len(people)]
        for j in range(per_person):
            start = first_day + timedelta(
                days=rng.randrange(33), hours=rng.randrange(8, 18), minutes=rng.choice((0, 30))
            )
            room = rooms[index * len(rooms) // len(people)] if rooms else None
            yield Planned(organizer, colleague, j, start, rng.choice((30, 45, 60)), room)


@dataclass(frozen=True, slots=True)
class SeededEvent:
    organizer: str
    event_id: str
    slot: int  # j, the event's place in its organiser's pattern
    recurring: bool


@dataclass(frozen=True, slots=True)
class Edit:
    organizer: str
    event_id: str
    keyword: bool  # True: the keyword goes into the location; False: the title changes
    system: str = "meet"  # which keyword: the provider's own meeting (meet, teams) or zoom


def plan_burst(
    seeded: Sequence[SeededEvent],
    calendars: Sequence[str],
    per_calendar: int,
    zoom_share: float = 0.0,
    native: str = "meet",
) -> list[list[Edit]]:
    """Per calendar, ``per_calendar`` edits alternating keyword / retitle (keyword first);
    every keyword edit whose running share of ``@zoom`` is below ``zoom_share`` types
    ``@zoom``, the others the provider's own keyword (``native``)."""
    zoom_edits = keyword_edits_total = 0
    bursts: list[list[Edit]] = []
    for organizer in calendars:
        own = [e for e in seeded if e.organizer == organizer and not e.recurring]
        keyword_pool = [e for e in own if e.slot % 10 in _KEYWORD_SLOTS]
        keywords = (per_calendar + 1) // 2
        chosen = keyword_pool[:keywords]
        retitle_pool = [e for e in own if e.slot % 10 in _RETITLE_SLOTS | _KEYWORD_SLOTS]
        retitles = [e for e in retitle_pool if e not in chosen][: per_calendar - keywords]
        if len(chosen) < keywords or len(retitles) < per_calendar - keywords:
            raise ValueError(
                f"{per_calendar} edits per calendar need more events per person than were seeded"
            )
        keyword_edits = []
        for e in chosen:
            keyword_edits_total += 1
            zoom = zoom_edits < zoom_share * keyword_edits_total
            zoom_edits += zoom
            keyword_edits.append(
                Edit(organizer, e.event_id, keyword=True, system="zoom" if zoom else native)
            )
        retitle_edits = [Edit(organizer, e.event_id, keyword=False) for e in retitles]
        bursts.append(_interleave(keyword_edits, retitle_edits))
    return bursts


def _interleave(first: list[Edit], second: list[Edit]) -> list[Edit]:
    out: list[Edit] = []
    for i in range(max(len(first), len(second))):
        out.extend(first[i : i + 1])
        out.extend(second[i : i + 1])
    return out


def with_keyword(location: str, edit: Edit) -> str:
    return f"{location}, {KEYWORDS[edit.system]}".lstrip(", ")


def retitled(title: str) -> str:
    return f"{title} (moved)"


# -- Google ----------------------------------------------------------------------------------


def populate_directory(sim: GoogleSimulator, people: int) -> list[str]:
    """The people, the service account's admin user and the room; returns the people."""
    addresses = [person(i) for i in range(people)]
    for address in addresses:
        sim.add_user(address, timezone=ZONE)
    sim.add_user(ADMIN, name="hybridcal service", admin=True, timezone=ZONE)
    sim.add_room(ROOM, name="Board Room", timezone=ZONE)
    return addresses


def room(index: int) -> str:
    """The ``index``-th room of an organisation with several (index 0 is ROOM)."""
    return ROOM if index == 0 else f"c_bench-room-{index:04d}@resource.calendar.google.com"


def add_rooms(sim: GoogleSimulator, count: int) -> list[str]:
    """Rooms 1 .. count - 1 beside ROOM (which ``populate_directory`` adds); returns all."""
    for index in range(1, count):
        sim.add_room(room(index), name=f"Room {index}", timezone=ZONE)
    return [room(index) for index in range(count)]


def seed_events(
    sim: GoogleSimulator,
    people: Sequence[str],
    per_person: int,
    *,
    now: datetime,
    seed: int,
    rooms: Sequence[str] = (),
) -> list[SeededEvent]:
    seeded: list[SeededEvent] = []
    for planned in plan_events(people, per_person, now=now, seed=seed, rooms=rooms):
        made = sim.person_insert(planned.organizer, _event_body(planned))
        seeded.append(
            SeededEvent(planned.organizer, made["id"], planned.j, planned.shape == "series")
        )
    return seeded


def _event_body(planned: Planned) -> dict[str, Any]:
    room = {"email": planned.room or ROOM, "resource": True}
    body: dict[str, Any] = {
        "summary": planned.title,
        "location": planned.place,
        "start": {"dateTime": planned.start.isoformat(), "timeZone": ZONE},
        "end": {"dateTime": planned.end.isoformat(), "timeZone": ZONE},
    }
    shape = planned.shape
    if shape == "colleague":
        body["attendees"] = [{"email": planned.colleague}, room]
    elif shape == "room":
        body["attendees"] = [room]
    elif shape == "pasted":
        body["description"] = planned.pasted()
    elif shape == "series":
        body["recurrence"] = ["RRULE:FREQ=WEEKLY;COUNT=6"]
    return body


def apply_edit(sim: GoogleSimulator, edit: Edit) -> None:
    """What a person does in Google Calendar's UI."""
    current = sim.get(edit.organizer, edit.event_id)
    if current is None:
        raise LookupError(f"event {edit.event_id} vanished from {edit.organizer}")
    if edit.keyword:
        change = {"location": with_keyword(current.get("location", ""), edit)}
    else:
        change = {"summary": retitled(current.get("summary", ""))}
    sim.person_patch(edit.organizer, edit.event_id, change)


def keyword_event_done(sim: GoogleSimulator, edit: Edit) -> bool:
    """Meet: the conference exists and our marker is on the event. Zoom: our marker names the
    meeting and the join block is in the description."""
    event = sim.get(edit.organizer, edit.event_id) or {}
    private = (event.get("extendedProperties") or {}).get("private") or {}
    if edit.system == "zoom":
        return bool(private.get("hybridcal.meeting")) and BLOCK_MARK in event.get("description", "")
    status = (event.get("conferenceData") or {}).get("createRequest", {}).get("status", {})
    marked = any(key.startswith("hybridcal.") for key in private)
    return status.get("statusCode") == "success" and marked


def visible_events(sim: GoogleSimulator, calendars: Sequence[str]) -> int:
    """Events (series counted once) on the calendars: what their first full listings return."""
    return sum(len(sim.list_events(calendar)) for calendar in calendars)
