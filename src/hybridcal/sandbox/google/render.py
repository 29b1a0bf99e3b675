"""Events as the Calendar API shows them to one calendar.

Google omits empty fields, marks the viewer's own attendee entry ``self: true`` and the
organiser's ``organizer: true``, and shows a cancelled event in an incremental sync (or with
``showDeleted``) with little more than its id: only ``id``, ``status`` and, for a cancelled
instance, ``recurringEventId`` and ``originalStartTime`` are guaranteed.
"""

from __future__ import annotations

import base64
from typing import Any

from hybridcal.sandbox.google.conference import hangout_link
from hybridcal.sandbox.google.directory import Directory
from hybridcal.sandbox.google.model import Copy, StoredEvent
from hybridcal.sandbox.google.recurrence import Occurrence
from hybridcal.sandbox.google.replay import as_seen_by
from hybridcal.sandbox.google.times import rfc3339_utc


def render(
    event: StoredEvent,
    copy: Copy,
    view_zone: str,
    directory: Directory,
    *,
    occurrence: Occurrence | None = None,
    max_attendees: int | None = None,
    minimal_cancelled: bool = False,
) -> dict[str, Any]:
    cancelled = copy.removed or event.status == "cancelled"
    event_id = f"{event.id}_{occurrence.suffix}" if occurrence else event.id
    recurring_id = event.id if occurrence else event.recurring_event_id
    original = occurrence.original if occurrence else event.original_start
    out: dict[str, Any] = {"kind": "calendar#event", "etag": copy.etag, "id": event_id}
    out["status"] = "cancelled" if cancelled else event.status
    if cancelled and minimal_cancelled:
        if recurring_id and original is not None:
            out["recurringEventId"] = recurring_id
            out["originalStartTime"] = original.render(view_zone)
        return out
    eid = base64.urlsafe_b64encode(f"{event_id} {copy.calendar}".encode()).decode().rstrip("=")
    out["htmlLink"] = f"https://www.google.com/calendar/event?eid={eid}"
    out["created"] = rfc3339_utc(event.created)
    out["updated"] = rfc3339_utc(copy.updated)
    for key in ("summary", "description", "location"):
        if event.fields.get(key):
            out[key] = event.fields[key]
    if "colorId" in copy.local:
        out["colorId"] = copy.local["colorId"]
    out["creator"] = _person(event.organizer, copy.calendar, directory)
    out["organizer"] = _person(event.organizer, copy.calendar, directory)
    start = occurrence.start if occurrence else event.start
    end = occurrence.end if occurrence else event.end
    out["start"] = start.render(view_zone)
    out["end"] = end.render(view_zone)
    if event.recurrence and occurrence is None:
        out["recurrence"] = event.recurrence
    if recurring_id and original is not None:
        out["recurringEventId"] = recurring_id
        out["originalStartTime"] = original.render(view_zone)
    for key in ("transparency", "visibility"):
        if event.fields.get(key) not in (None, "opaque", "default"):
            out[key] = event.fields[key]
    out["iCalUID"] = event.ical_uid
    out["sequence"] = event.sequence
    attendees = _attendees(event, copy.calendar)
    if attendees:
        if max_attendees is not None and len(attendees) > max_attendees:
            attendees = [a for a in attendees if a.get("self")]
            out["attendeesOmitted"] = True
        out["attendees"] = attendees
    _extras(event, copy, out)
    out["eventType"] = event.fields.get("eventType", "default")
    for key, value in event.verbatim.items():  # a replayed recording's read-only fields
        out[key] = as_seen_by(value, copy.calendar) if key in ("creator", "organizer") else value
    return out


def _extras(event: StoredEvent, copy: Copy, out: dict[str, Any]) -> None:
    """Extended properties, conference data, reminders and guest flags."""
    ext: dict[str, Any] = {}
    if copy.private:
        ext["private"] = dict(copy.private)
    if event.shared_props:
        ext["shared"] = dict(event.shared_props)
    if ext:
        out["extendedProperties"] = ext
    link = hangout_link(event.conference)
    if link:
        out["hangoutLink"] = link
    if event.conference:
        out["conferenceData"] = event.conference
    out["reminders"] = copy.local.get("reminders", {"useDefault": True})
    for key in ("guestsCanModify", "guestsCanInviteOthers", "guestsCanSeeOtherGuests", "source"):
        if key in event.fields:
            out[key] = event.fields[key]


def _person(email: str, viewer: str, directory: Directory) -> dict[str, Any]:
    out: dict[str, Any] = {"email": email}
    name = directory.display_name(email)
    if name:
        out["displayName"] = name
    if email == viewer:
        out["self"] = True
    return out


def _attendees(event: StoredEvent, viewer: str) -> list[dict[str, Any]]:
    out = []
    for item in event.fields.get("attendees") or []:
        entry = dict(item)
        if entry["email"] == event.organizer:
            entry["organizer"] = True
        if entry["email"] == viewer:
            entry["self"] = True
        out.append(entry)
    return out
