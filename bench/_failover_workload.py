"""The organisation of the failover benchmark and what its people do: each person's calendar
holds a few plain events (each with a title of its own, which becomes its Zoom meeting's
topic) and two probe events; a steady stream of edits types ``@zoom`` into locations, moves
keyword events and removes the keyword again. At the end every event is checked against the
Zoom simulator: exactly one live meeting per keyword event (at the event's time, named by our
marker, with the join block in the description), none for the others.

The probe events are left alone by the stream: at the replica's kill (and at its clean stop)
``@zoom`` is typed into the probe of every calendar the replica owned, and the calendar counts
as served again when that probe has its meeting.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from hybridcal.sandbox.google.app import GoogleSimulator
from hybridcal.sandbox.zoom import ZoomSimulator

DOMAIN = "failover.example.com"
ADMIN = f"hybridcal-admin@{DOMAIN}"
ZONE = "Europe/Zurich"
KEYWORD = "@zoom"
PLACE = "Office"
BLOCK_MARK = "hybridcal:begin"  # in our join block's first line
MEETING_KEY = "hybridcal.meeting"
PROBES = ("kill", "stop")

EditKind = Literal["add", "move", "remove"]
Status = Literal["done", "pending", "stale", "duplicate", "orphan"]


def person(index: int) -> str:
    return f"person{index:03d}@{DOMAIN}"


@dataclass
class TrackedEvent:
    calendar: str
    event_id: str
    title: str  # unique: the Zoom meeting's topic
    start: datetime  # aware
    minutes: int
    probe: str | None = None  # "kill" / "stop": left alone by the stream
    keyword: bool = False
    edits: int = 0
    last_edit: float = 0.0  # monotonic


@dataclass
class EditCounts:
    add: int = 0
    move: int = 0
    remove: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"keyword_added": self.add, "moved": self.move, "keyword_removed": self.remove}


@dataclass
class Organisation:
    google: GoogleSimulator
    zoom: ZoomSimulator
    people: list[str]
    events: list[TrackedEvent] = field(default_factory=list)
    counts: EditCounts = field(default_factory=EditCounts)

    def probe(self, calendar: str, name: str) -> TrackedEvent:
        return next(e for e in self.events if e.calendar == calendar and e.probe == name)

    def editable(self) -> list[TrackedEvent]:
        return [e for e in self.events if e.probe is None]


def populate(google: GoogleSimulator, zoom: ZoomSimulator, people: int) -> list[str]:
    """The people (each with a Zoom user of their own) and the service account's admin user."""
    addresses = [person(i) for i in range(people)]
    for address in addresses:
        google.add_user(address, timezone=ZONE)
        zoom.add_user(address, timezone=ZONE)
    google.add_user(ADMIN, name="hybridcal service", admin=True, timezone=ZONE)
    return addresses


def seed(org: Organisation, per_person: int, *, now: datetime, seed: int) -> None:
    """``per_person`` plain events and the probes per person, 1..20 days ahead (inside the
    daemon's window however far they are moved)."""
    rng = random.Random(seed)
    first_day = (now.astimezone(ZoneInfo(ZONE)) + timedelta(days=1)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    for index, calendar in enumerate(org.people):
        names: list[tuple[str, str | None]] = [
            (f"F{index:03d}-{j}", None) for j in range(per_person)
        ]
        names += [(f"F{index:03d}-{probe}", probe) for probe in PROBES]
        for title, probe in names:
            start = first_day + timedelta(
                days=rng.randrange(20), hours=rng.randrange(8, 17), minutes=rng.choice((0, 30))
            )
            minutes = rng.choice((30, 45, 60))
            body = {"summary": title, "location": PLACE, **_when(start, minutes)}
            made = org.google.person_insert(calendar, body)
            org.events.append(TrackedEvent(calendar, made["id"], title, start, minutes, probe))


def _when(start: datetime, minutes: int) -> dict[str, Any]:
    end = start + timedelta(minutes=minutes)
    return {
        "start": {"dateTime": start.isoformat(), "timeZone": ZONE},
        "end": {"dateTime": end.isoformat(), "timeZone": ZONE},
    }


# -- what people do ----------------------------------------------------------------------------


def next_edit(event: TrackedEvent, rng: random.Random) -> EditKind:
    """A plain event gets the keyword; a keyword event is moved (3 in 5) or loses it."""
    if not event.keyword:
        return "add"
    return "move" if rng.random() < 0.6 else "remove"


def apply(org: Organisation, event: TrackedEvent, kind: EditKind, now: float) -> None:
    """What a person does in Google Calendar's UI."""
    if kind == "add":
        change: dict[str, Any] = {"location": f"{PLACE}, {KEYWORD}"}
        event.keyword = True
        org.counts.add += 1
    elif kind == "remove":
        change = {"location": PLACE}
        event.keyword = False
        org.counts.remove += 1
    else:
        # an hour later, or back, within the same working day
        shift = timedelta(hours=-1 if event.start.hour >= 15 else 1)
        event.start += shift
        change = _when(event.start, event.minutes)
        org.counts.move += 1
    org.google.person_patch(event.calendar, event.event_id, change)
    event.edits += 1
    event.last_edit = now


def probe_calendars(org: Organisation, calendars: Iterable[str], name: str, now: float) -> None:
    """``@zoom`` into the probe event of each calendar."""
    for calendar in calendars:
        apply(org, org.probe(calendar, name), "add", now)


# -- checking ----------------------------------------------------------------------------------


def meetings_by_topic(zoom: ZoomSimulator) -> dict[str, list[dict[str, Any]]]:
    """The Zoom account's live meetings, by topic."""
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for meeting in zoom.meetings():
        found[str(meeting.get("topic", ""))].append(meeting)
    return found


def status(
    org: Organisation, event: TrackedEvent, meetings: dict[str, list[dict[str, Any]]]
) -> Status:
    """``done``: what the event asks for is exactly what exists. ``pending``: a keyword event
    without its meeting, marker or block yet. ``duplicate``: two or more live meetings.
    ``orphan``: a live meeting for an event without the keyword. ``stale``: the meeting is at
    the wrong time, or a marker or block stays on an event without the keyword. Every state
    but ``done`` may pass while the daemon catches up; what is left at the end is a finding."""
    item = org.google.get(event.calendar, event.event_id) or {}
    private = (item.get("extendedProperties") or {}).get("private") or {}
    marker = private.get(MEETING_KEY)
    block = BLOCK_MARK in (item.get("description") or "")
    live = meetings.get(event.title, [])
    if len(live) > 1:
        return "duplicate"
    if not event.keyword:
        if live:
            return "orphan"
        return "stale" if (marker or block) else "done"
    if not live or not marker or not block or str(live[0].get("id")) != str(marker):
        return "pending"
    return "done" if _starts_at(live[0], event.start) else "stale"


def _starts_at(meeting: dict[str, Any], start: datetime) -> bool:
    text = meeting.get("start_time")
    if not isinstance(text, str):
        return False
    return datetime.fromisoformat(text) == start.astimezone(UTC)


def duplicate_meetings(org: Organisation, meetings: dict[str, list[dict[str, Any]]]) -> int:
    """Live Zoom meetings beyond the first of each event: a meeting made twice."""
    return sum(max(0, len(meetings.get(e.title, [])) - 1) for e in org.events)


def orphan_meetings(org: Organisation, meetings: dict[str, list[dict[str, Any]]]) -> int:
    """Events without the keyword whose (first) meeting is still live: left behind."""
    return sum(1 for e in org.events if not e.keyword and meetings.get(e.title))


def surplus_detail(
    org: Organisation, meetings: dict[str, list[dict[str, Any]]], limit: int = 5
) -> list[dict[str, Any]]:
    """The first events with more live meetings than they ask for: what to look into."""
    out: list[dict[str, Any]] = []
    for event in org.events:
        live = meetings.get(event.title, [])
        if len(live) > (1 if event.keyword else 0) and len(out) < limit:  # duplicate, orphan
            out.append(
                {
                    "calendar": event.calendar,
                    "event": event.event_id,
                    "title": event.title,
                    "probe": event.probe,
                    "keyword": event.keyword,
                    "edits": event.edits,
                    "meetings": [
                        {
                            "id": m.get("id"),
                            "created_at": m.get("created_at"),
                            "start_time": m.get("start_time"),
                            "ref": _ref(m),
                        }
                        for m in live
                    ],
                }
            )
    return out


def _ref(meeting: dict[str, Any]) -> str | None:
    agenda = str(meeting.get("agenda") or "")
    refs = [line for line in agenda.splitlines() if "hybridcal-ref" in line]
    return refs[-1].strip() if refs else None


def statuses(org: Organisation, events: Sequence[TrackedEvent]) -> dict[Status, int]:
    meetings = meetings_by_topic(org.zoom)
    counts: dict[Status, int] = dict.fromkeys(
        ("done", "pending", "stale", "duplicate", "orphan"), 0
    )
    for event in events:
        counts[status(org, event, meetings)] += 1
    return counts
