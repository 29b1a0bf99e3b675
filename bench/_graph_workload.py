"""The sync benchmark's organisation in Microsoft 365: the same people, room mailbox, event
pattern and burst as ``bench._sync_workload`` builds in Google Workspace, written the way
Outlook writes them (HTML bodies, Windows time zone names, Graph recurrence patterns), and the
Graph simulator's request log read as the benchmark's :class:`~bench._request_stats.Call`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from html import escape
from typing import Any

from bench._request_stats import Call, Kind
from bench._sync_workload import (
    BLOCK_MARK,
    DOMAIN,
    Edit,
    Planned,
    SeededEvent,
    person,
    plan_events,
    retitled,
    with_keyword,
)
from hybridcal.connectors.calendars.microsoft_wire import MARKER_PROPERTY_ID, decode_marker
from hybridcal.core.model import Marker
from hybridcal.sandbox.microsoft import GraphSimulator
from hybridcal.sandbox.microsoft.http import GraphRecord
from hybridcal.sandbox.microsoft.validate import canonical_prop_id

ROOM = f"board-room@{DOMAIN}"
WINDOWS_ZONE = "W. Europe Standard Time"  # Outlook's name for Europe/Zurich's offsets
DELTA = "calendarView.delta"
WRITE = "event.update"  # PATCH /users/{id}/events/{id}
READ = "event.get"
_MARKER_KEY = canonical_prop_id(MARKER_PROPERTY_ID)
_LOCAL = "%Y-%m-%dT%H:%M:%S"


def populate_directory(sim: GraphSimulator, people: int) -> list[str]:
    """The licensed people and the room mailbox; returns the people."""
    addresses = [person(i) for i in range(people)]
    for address in addresses:
        sim.add_user(address, timezone=WINDOWS_ZONE)
    sim.add_room(ROOM, name="Board Room", timezone=WINDOWS_ZONE)
    return addresses


def room(index: int) -> str:
    """The ``index``-th room mailbox of an organisation with several (index 0 is ROOM)."""
    return ROOM if index == 0 else f"room-{index:04d}@{DOMAIN}"


def add_rooms(sim: GraphSimulator, count: int) -> list[str]:
    """Room mailboxes 1 .. count - 1 beside ROOM; returns all."""
    for index in range(1, count):
        sim.add_room(room(index), name=f"Room {index}", timezone=WINDOWS_ZONE)
    return [room(index) for index in range(count)]


def seed_events(
    sim: GraphSimulator,
    people: Sequence[str],
    per_person: int,
    *,
    now: datetime,
    seed: int,
    rooms: Sequence[str] = (),
) -> list[SeededEvent]:
    seeded: list[SeededEvent] = []
    for planned in plan_events(people, per_person, now=now, seed=seed, rooms=rooms):
        made = sim.person_create(planned.organizer, _event_body(planned))
        seeded.append(
            SeededEvent(planned.organizer, made["id"], planned.j, planned.shape == "series")
        )
    return seeded


def _event_body(planned: Planned) -> dict[str, Any]:
    shape = planned.shape
    text = planned.pasted() if shape == "pasted" else f"{planned.title}."
    paragraphs = "".join(f"<p>{escape(line) or '&nbsp;'}</p>" for line in text.splitlines())
    body: dict[str, Any] = {
        "subject": planned.title,
        "location": {"displayName": planned.place},
        "body": {"contentType": "html", "content": f"<html><body>{paragraphs}</body></html>"},
        "start": {"dateTime": planned.start.strftime(_LOCAL), "timeZone": WINDOWS_ZONE},
        "end": {"dateTime": planned.end.strftime(_LOCAL), "timeZone": WINDOWS_ZONE},
    }
    where = planned.room or ROOM
    room = {"emailAddress": {"address": where, "name": "Board Room"}, "type": "resource"}
    if shape == "colleague":
        body["attendees"] = [{"emailAddress": {"address": planned.colleague}, "type": "required"}]
        body["attendees"].append(room)
    elif shape == "room":
        body["attendees"] = [room]
    elif shape == "series":
        body["recurrence"] = {
            "pattern": {
                "type": "weekly",
                "interval": 1,
                "daysOfWeek": [planned.start.strftime("%A").lower()],
            },
            "range": {
                "type": "numbered",
                "startDate": planned.start.date().isoformat(),
                "numberOfOccurrences": 6,
            },
        }
    return body


def apply_edit(sim: GraphSimulator, edit: Edit) -> None:
    """What a person does in Outlook."""
    current = sim.get_event(edit.organizer, edit.event_id)
    if current is None:
        raise LookupError(f"event {edit.event_id} vanished from {edit.organizer}")
    if edit.keyword:
        where = (current.get("location") or {}).get("displayName", "")
        change: dict[str, Any] = {"location": {"displayName": with_keyword(where, edit)}}
    else:
        change = {"subject": retitled(current.get("subject", ""))}
    sim.person_update(edit.organizer, edit.event_id, change)


def marker_of(sim: GraphSimulator, mailbox: str, event_id: str) -> Marker | None:
    """Our extended property on the mailbox's copy."""
    return decode_marker(sim.extended_properties(mailbox, event_id).get(_MARKER_KEY))


def keyword_event_done(sim: GraphSimulator, edit: Edit) -> bool:
    """Teams: the online meeting has a join URL and our marker is on the event. Zoom: our
    marker names the meeting and the join block is in the body."""
    event = sim.get_event(edit.organizer, edit.event_id) or {}
    marker = marker_of(sim, edit.organizer, edit.event_id)
    if marker is None:
        return False
    if edit.system == "zoom":
        content = (event.get("body") or {}).get("content", "")
        return marker.meeting_id is not None and BLOCK_MARK in content
    return bool((event.get("onlineMeeting") or {}).get("joinUrl"))


def visible_events(sim: GraphSimulator, mailboxes: Sequence[str]) -> int:
    """Events (series counted once) in the mailboxes, as ``/events`` lists them."""
    return sum(len(sim.list_events(mailbox)) for mailbox in mailboxes)


def graph_call(record: GraphRecord) -> Call:
    kind: Kind = "list" if record.operation == DELTA else "other"
    if record.operation == WRITE:
        kind = "write"
    event_id = None
    if record.operation and record.operation.startswith("event."):
        parts = record.path.split("/")
        at = parts.index("events") if "events" in parts else -1
        event_id = parts[at + 1] if 0 <= at < len(parts) - 1 else None
    return Call(
        record.operation or record.path,
        kind,
        record.mailbox.lower() if record.mailbox else None,
        event_id,
        record.status,
        record.at,
    )


def event_reads(calls: Iterable[Call], masters: frozenset[str]) -> tuple[int, int]:
    """(marker re-reads, series master reads): ``events.get`` of changed items (delta has no
    ``$expand``, so organiser copies are read again for our marker), and of the series masters
    whose occurrences a delta round returned."""
    reads = [c for c in calls if c.name == READ]
    master_reads = sum(1 for c in reads if c.event_id in masters)
    return len(reads) - master_reads, master_reads
