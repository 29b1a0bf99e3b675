"""Every way an event changes: created, patched, deleted, cancelled, answered.

Writes come from the Graph API (the daemon) and from a *person* using Outlook; both follow the
same rules, and both announce every change to the subscriptions of each affected mailbox (the
daemon's own writes come back as notifications, as with Graph).

- Only the organiser's copy may change the shared fields (subject, body, times, location,
  attendees, recurrence, online meeting). Graph lets an attendee edit such fields on their own
  copy locally; the sandbox refuses it with 403 ``ErrorAccessDenied`` because a daemon that
  writes to an attendee's copy is wrong (documented deviation). An attendee's copy accepts
  categories, ``showAs``, reminders and extended properties.
- Every PATCH saves the item, so ``changeKey``/``@odata.etag`` change even when nothing did.
  ``If-Match`` must equal the copy's current ``@odata.etag`` (or ``*``), else 412
  ``ErrorIrresolvableConflict``; without it the last writer wins.
- Organiser changes propagate to every attendee's and room's copy (each gets a new changeKey).
  Rooms accept automatically. New attendees get a copy; a removed attendee's copy is marked
  cancelled (a room's is deleted). Deleting the organiser's copy cancels the meeting: attendees'
  copies stay with ``isCancelled`` and a "Canceled: " subject, rooms drop theirs. An attendee
  deleting their copy removes only that copy.
- Patching an occurrence makes it an exception (same id, ``type: exception``), which inherits
  the master's extended properties and keeps following master edits of fields it did not
  override. Changing a master's times or recurrence drops its exceptions and cancelled
  occurrences, as Outlook does. Deleting an occurrence (by its organiser) removes it from every
  copy; by an attendee, from that attendee's copy only.

Simplified: attendees added to a single occurrence get no copy of it; a declined or deleted copy
is not re-created by later organiser updates; rooms never decline (no conflict checks).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping
from copy import deepcopy
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hybridcal.sandbox.microsoft import bodies, recurrence, teams
from hybridcal.sandbox.microsoft.directory import Directory
from hybridcal.sandbox.microsoft.errors import (
    GraphError,
    bad_request,
    conflict,
    item_not_found,
    organizer_only,
)
from hybridcal.sandbox.microsoft.model import (
    Copy,
    Item,
    Kind,
    instance_ical_uid,
    new_change_key,
    new_ical_uid,
    new_item_id,
    occurrence_id,
    parse_id,
)
from hybridcal.sandbox.microsoft.times import When, format_stamp, parse_when
from hybridcal.sandbox.microsoft.validate import EventInput, normalized_recurrence

NO_TIME = "0001-01-01T00:00:00Z"
RESPONSES = {
    "accept": "accepted",
    "tentativelyAccept": "tentativelyAccepted",
    "decline": "declined",
}
_DEFAULTS: dict[str, Any] = {
    "subject": "",
    "body": {"contentType": "html", "content": ""},
    "location": {
        "displayName": "",
        "locationType": "default",
        "uniqueIdType": "unknown",
        "address": {},
        "coordinates": {},
    },
    "locations": [],
    "attendees": [],
    "sensitivity": "normal",
    "importance": "normal",
    "isOnlineMeeting": False,
    "onlineMeetingProvider": "unknown",
    "onlineMeeting": None,
    "recurrence": None,
    "allowNewTimeProposals": True,
    "responseRequested": True,
    "hideAttendees": False,
}


@dataclass(frozen=True)
class Change:
    mailbox: str
    event_id: str
    change_type: str  # created | updated | deleted
    etag: str | None


@dataclass(frozen=True)
class Target:
    """What an id names in a mailbox: a stored item's copy, or a computed occurrence."""

    item: Item
    copy: Copy
    original: datetime | None = None  # a virtual occurrence of ``item`` (a master)

    @property
    def event_id(self) -> str:
        if self.original is None:
            return self.copy.id
        return occurrence_id(self.copy.id, self.original)


class EventStore:
    def __init__(
        self,
        directory: Directory,
        now: Callable[[], datetime],
        rng: random.Random,
        new_meeting: Callable[[str], teams.TeamsMeeting],
        on_change: Callable[[list[Change]], None],
    ) -> None:
        self._directory = directory
        self._now = now
        self._rng = rng
        self._new_meeting = new_meeting
        self._on_change = on_change
        self.items: list[Item] = []
        self._ids: dict[str, tuple[Item, str]] = {}
        self.teams_created = 0

    # -- reading -------------------------------------------------------------------------------

    def in_mailbox(self, mailbox: str) -> list[Item]:
        return [i for i in self.items if i.copy_of(mailbox) is not None]

    def resolve(self, mailbox: str, event_id: str) -> Target:
        base, original = parse_id(event_id)
        found = self._ids.get(event_id)
        if found is not None:
            item, owner = found
            mine = item.copy_of(owner)
            if owner != mailbox or mine is None:
                raise item_not_found()
            if item.master is not None:
                series = item.master.copy_of(mailbox)
                if (
                    series is None
                    or item.original in series.hidden
                    or item.original in item.master.cancelled_occurrences
                ):
                    raise item_not_found()
            return Target(item, mine)
        if original is None:
            raise item_not_found()
        master_found = self._ids.get(base)
        if master_found is None or master_found[1] != mailbox:
            raise item_not_found()
        master = master_found[0]
        series = master.copy_of(mailbox)
        rec = master.fields.get("recurrence")
        if (
            series is None
            or rec is None
            or original in master.cancelled_occurrences
            or original in series.hidden
            or recurrence.find(rec, master.start, master.end, original) is None
        ):
            raise item_not_found()
        return Target(master, series, original)

    # -- creating ------------------------------------------------------------------------------

    def create(self, organizer: str, data: EventInput) -> Target:
        if "start" not in data.times or "end" not in data.times:
            raise bad_request("The event needs both 'start' and 'end'.")
        owner = self._directory.mailbox(organizer)
        now = self._now()
        start, end = self._times(None, data)
        fields = deepcopy(_DEFAULTS)
        item = Item(
            kind="single",
            organizer=owner.email,
            ical_uid=new_ical_uid(self._rng),
            created=now,
            fields=fields,
            start=start,
            end=end,
            copies={},
            transaction_id=data.transaction_id,
        )
        eff = self._shared(item, dict(fields), data, start)
        start, end, kind = self._series_times(item, eff, start, end)
        self._online(item.organizer, eff, data)
        item.fields, item.start, item.end, item.kind = eff, start, end, kind
        mine = self._new_copy(item, owner.email, "organizer")
        mine.local.update(data.local)
        mine.props.update(data.props)
        changes = [Change(owner.email, mine.id, "created", mine.etag)]
        changes += self._sync_copies(item)
        self.items.append(item)
        self._on_change(changes)
        return Target(item, mine)

    # -- changing ------------------------------------------------------------------------------

    def update(
        self, mailbox: str, event_id: str, data: EventInput, *, if_match: str | None = None
    ) -> Target:
        target = self.resolve(mailbox, event_id)
        _check_match(target.copy, if_match)
        item = target.item
        touched = sorted(set(data.shared) | set(data.times))
        if touched and item.organizer != mailbox:
            raise organizer_only(touched[0])
        in_series = target.original is not None or item.kind == "exception"
        if in_series and "recurrence" in data.shared:
            raise bad_request("An occurrence of a series cannot have its own recurrence.")
        fresh = target.original is not None
        if fresh:
            assert target.original is not None
            item = self._materialize(item, target.original)
        mine = item.copies[mailbox]
        changes: list[Change] = []
        if touched:
            before = dict(item.effective())
            start, end = self._times(item, data)
            eff = self._shared(item, dict(before), data, start)
            if item.kind != "exception":
                start, end, kind = self._series_times(item, eff, start, end)
            self._online(item.organizer, eff, data)  # after every check: it creates a meeting
            if item.kind == "exception":
                overrides = dict(item.fields)
                overrides.update({k: v for k, v in eff.items() if before.get(k) != v})
                item.fields, item.start, item.end = overrides, start, end
            else:
                changes += self._reshape_series(item, eff, start, end)
                item.fields, item.start, item.end, item.kind = eff, start, end, kind
                changes += self._sync_copies(item)
        mine.local.update(data.local)
        mine.props.update(data.props)
        if fresh:
            assert item.master is not None
            assert item.original is not None
            item.master.exceptions[item.original] = item
            for c in item.copies.values():
                self._ids[c.id] = (item, c.mailbox)
        changes += self._bump(self._propagated(item) if touched else [mine])
        self._on_change(_dedupe(changes))
        return Target(item, mine)

    def collides(self, mailbox: str, event_id: str, if_match: str | None) -> bool:
        """Whether a PATCH would reach the save (the event exists, If-Match holds): only
        then can another save collide with it (see ``conflicts``)."""
        try:
            target = self.resolve(mailbox, event_id)
            _check_match(target.copy, if_match)
        except GraphError:
            return False
        return True

    def concurrent_save(self, mailbox: str, event_id: str) -> None:
        """Another client saved the copy at the same moment: its change key moves on."""
        target = self.resolve(mailbox, event_id)
        self._on_change(self._bump([target.copy]))

    def delete(self, mailbox: str, event_id: str, *, if_match: str | None = None) -> None:
        target = self.resolve(mailbox, event_id)
        _check_match(target.copy, if_match)
        item, changes = target.item, []
        original = target.original if target.original is not None else item.original
        master = item if target.original is not None else item.master
        if master is not None and original is not None:
            if mailbox == master.organizer:
                master.cancelled_occurrences.add(original)
                dropped = master.exceptions.pop(original, None)
                for c in dropped.copies.values() if dropped else []:
                    self._ids.pop(c.id, None)
                changes += [
                    Change(c.mailbox, occurrence_id(c.id, original), "deleted", None)
                    for c in master.live_copies()
                ]
            else:
                master.copies[mailbox].hidden.add(original)
                changes.append(Change(mailbox, target.event_id, "deleted", None))
        elif mailbox == item.organizer:
            changes = self._cancel(item)
        else:
            target.copy.removed = True
            changes.append(Change(mailbox, target.copy.id, "deleted", None))
        self._forget_if_empty(item if master is None else master)
        self._on_change(changes)

    def cancel(self, mailbox: str, event_id: str) -> None:
        target = self.resolve(mailbox, event_id)
        owner = target.item.master or target.item
        if owner.organizer != mailbox:
            raise bad_request(
                "Your request can't be completed. You need to be an organizer to cancel a meeting."
            )
        self.delete(mailbox, event_id)

    def respond(self, mailbox: str, event_id: str, action: str) -> None:
        target = self.resolve(mailbox, event_id)
        item = target.item.master or target.item
        if item.organizer == mailbox:
            raise bad_request(
                "Your request can't be completed. You can't respond to a meeting you organized."
            )
        response = RESPONSES[action]
        mine = item.copies[mailbox]
        mine.response, mine.response_time = response, self._now()
        for attendee in item.fields.get("attendees", []):
            if attendee["emailAddress"]["address"].lower() == mailbox:
                attendee["status"] = {"response": response, "time": format_stamp(self._now())}
        mine.local["showAs"] = {"accepted": "busy", "declined": "free"}.get(response, "tentative")
        changes: list[Change] = []
        organizer_copy = item.copy_of(item.organizer)
        if organizer_copy is not None:
            changes += self._bump([organizer_copy])
        if response == "declined":
            mine.removed = True
            changes.append(Change(mailbox, mine.id, "deleted", None))
        else:
            changes += self._bump([mine])
        self._on_change(changes)

    # -- internals -----------------------------------------------------------------------------

    def _times(self, item: Item | None, data: EventInput) -> tuple[When, When]:
        was_all_day = item is not None and item.start.all_day
        all_day = bool(data.times.get("isAllDay", was_all_day))
        if item is not None and all_day != was_all_day and not {"start", "end"} <= set(data.times):
            raise bad_request("Changing isAllDay needs both 'start' and 'end' in the same request.")
        if "start" in data.times:
            start = parse_when(data.times["start"], "start", all_day=all_day)
        else:
            assert item is not None
            start = item.start
        if "end" in data.times:
            end = parse_when(data.times["end"], "end", all_day=all_day)
        else:
            assert item is not None
            end = item.end
        if end.instant() < start.instant():
            raise bad_request(
                "The end time of the event is before its start time.",
                "ErrorPropertyValidationFailure",
            )
        if all_day and start.day == end.day:
            raise bad_request(
                "An all-day event must last at least one day.", "ErrorPropertyValidationFailure"
            )
        return start, end

    def _shared(
        self, item: Item, eff: dict[str, Any], data: EventInput, start: When
    ) -> dict[str, Any]:
        for key, value in data.shared.items():
            if key == "recurrence":
                eff[key] = normalized_recurrence(value, start.zone_name)
            elif key == "body":
                content = value["content"]
                if value["contentType"] == "html":
                    content = bodies.store_html(content)
                eff[key] = {"contentType": value["contentType"], "content": content}
            elif key == "attendees":
                eff[key] = self._attendees(eff.get("attendees", []), value, item.organizer)
            else:
                eff[key] = value
        if "location" in data.shared and "locations" not in data.shared:
            location = eff["location"]
            eff["locations"] = [location] if location["displayName"] else []
        elif "locations" in data.shared and "location" not in data.shared:
            names = [loc["displayName"] for loc in eff["locations"] if loc["displayName"]]
            eff["location"] = deepcopy(_DEFAULTS["location"])
            if names:
                eff["location"].update(displayName="; ".join(names), uniqueIdType="private")
                eff["location"]["uniqueId"] = "; ".join(names)
        return eff

    def _online(self, organizer: str, eff: dict[str, Any], data: EventInput) -> None:
        if teams.apply(eff, data.shared, lambda: self._new_meeting(organizer)):
            self.teams_created += 1

    def _series_times(
        self, item: Item, eff: dict[str, Any], start: When, end: When
    ) -> tuple[When, When, Kind]:
        rec = eff.get("recurrence")
        if item.kind == "exception":
            return start, end, "exception"
        if rec is None:
            return start, end, "single"
        found = recurrence.first(rec, start, end)
        if found is None:
            raise bad_request("The recurrence has no occurrence.", "ErrorPropertyValidationFailure")
        return found[0], found[1], "master"

    def _reshape_series(
        self, item: Item, eff: Mapping[str, Any], start: When, end: When
    ) -> list[Change]:
        """Outlook drops exceptions and cancellations when a series' times change."""
        same = (
            eff.get("recurrence") == item.fields.get("recurrence")
            and start == item.start
            and end == item.end
        )
        if same or item.kind != "master":
            return []
        changes = []
        for original, exception in item.exceptions.items():
            for c in exception.live_copies():
                self._ids.pop(c.id, None)
                changes.append(
                    Change(
                        c.mailbox,
                        occurrence_id(item.copies[c.mailbox].id, original),
                        "deleted",
                        None,
                    )
                )
        item.exceptions.clear()
        item.cancelled_occurrences.clear()
        for c in item.copies.values():
            c.hidden.clear()
        return changes

    def _attendees(
        self, old: Iterable[Mapping[str, Any]], new: Iterable[Mapping[str, Any]], organizer: str
    ) -> list[dict[str, Any]]:
        known = {a["emailAddress"]["address"].lower(): a.get("status") for a in old}
        out = []
        for attendee in new:
            address = attendee["emailAddress"]["address"].lower()
            if address == organizer:
                continue
            status = known.get(address) or self._initial_status(address)
            out.append({**attendee, "status": dict(status)})
        return out

    def _initial_status(self, address: str) -> dict[str, str]:
        found = self._directory.by_email(address)
        if found is not None and found.is_room and found.has_mailbox:
            return {"response": "accepted", "time": format_stamp(self._now())}
        return {"response": "none", "time": NO_TIME}

    def _new_copy(self, item: Item, mailbox: str, response: str) -> Copy:
        now = self._now()
        found = self._directory.by_email(mailbox)
        room = found is not None and found.is_room
        copy = Copy(
            mailbox=mailbox,
            id=new_item_id(self._rng),
            created=now,
            modified=now,
            change_key=new_change_key(self._rng),
            response=response,
            response_time=now if response == "accepted" else None,
            local={
                "categories": [],
                "showAs": "busy" if response in {"organizer", "accepted"} else "tentative",
                "isReminderOn": not room,
                "reminderMinutesBeforeStart": 15,
            },
        )
        item.copies[mailbox] = copy
        self._ids[copy.id] = (item, mailbox)
        return copy

    def _sync_copies(self, item: Item) -> list[Change]:
        """Give new attendees a copy; cancel (users) or delete (rooms) removed attendees'."""
        wanted: set[str] = set()
        for attendee in item.fields.get("attendees", []):
            found = self._directory.by_email(attendee["emailAddress"]["address"])
            if found is not None and found.has_mailbox:
                wanted.add(found.email)
        changes = []
        for mailbox in sorted(wanted):
            current = item.copies.get(mailbox)
            if current is not None and not current.removed and not current.cancelled:
                continue
            if current is not None:
                self._ids.pop(current.id, None)
            room = self._directory.mailbox(mailbox).is_room
            copy = self._new_copy(item, mailbox, "accepted" if room else "notResponded")
            changes.append(Change(mailbox, copy.id, "created", copy.etag))
            for exception in item.exceptions.values():
                made = self._exception_copy(exception, copy)
                self._ids[made.id] = (exception, mailbox)
        for copy in item.live_copies():
            if copy.mailbox == item.organizer or copy.mailbox in wanted or copy.cancelled:
                continue
            changes += self._cancel_copy(item, copy)
        return changes

    def _cancel_copy(self, item: Item, copy: Copy) -> list[Change]:
        """The organiser cancelled (or uninvited): a room drops the copy, a user keeps it."""
        found = self._directory.by_email(copy.mailbox)
        room = found is not None and found.is_room
        for exception in item.exceptions.values():
            mine = exception.copy_of(copy.mailbox)
            if mine is not None:
                mine.removed, mine.cancelled = room, not room
        if room:
            copy.removed = True
            return [Change(copy.mailbox, copy.id, "deleted", None)]
        copy.cancelled = True
        copy.change_key, copy.modified = new_change_key(self._rng), self._now()
        return [Change(copy.mailbox, copy.id, "updated", copy.etag)]

    def _cancel(self, item: Item) -> list[Change]:
        changes = []
        for copy in item.live_copies():
            if copy.mailbox == item.organizer:
                copy.removed = True
                for exception in item.exceptions.values():
                    mine = exception.copies.get(copy.mailbox)
                    if mine is not None:
                        mine.removed = True
                changes.append(Change(copy.mailbox, copy.id, "deleted", None))
            elif not copy.cancelled:
                changes += self._cancel_copy(item, copy)
        return changes

    def _forget_if_empty(self, item: Item) -> None:
        if item.live_copies() or item not in self.items:
            return
        self.items.remove(item)
        for copy in item.copies.values():
            self._ids.pop(copy.id, None)
        for exception in item.exceptions.values():
            for copy in exception.copies.values():
                self._ids.pop(copy.id, None)

    @staticmethod
    def occurrence(master: Item, original: datetime) -> tuple[When, When]:
        found = recurrence.find(master.fields["recurrence"], master.start, master.end, original)
        if found is None:
            raise item_not_found()
        return found

    def _materialize(self, master: Item, original: datetime) -> Item:
        start, end = self.occurrence(master, original)
        now = self._now()
        exception = Item(
            kind="exception",
            organizer=master.organizer,
            ical_uid=instance_ical_uid(master.ical_uid, start.instant()),
            created=now,
            fields={},
            start=start,
            end=end,
            copies={},
            master=master,
            original=original,
        )
        for mcopy in master.live_copies():
            self._exception_copy(exception, mcopy)
        return exception

    def _exception_copy(self, exception: Item, series: Copy) -> Copy:
        """A mailbox's copy of an exception, from its copy of the series (not registered)."""
        assert exception.original is not None
        now = self._now()
        made = Copy(
            mailbox=series.mailbox,
            id=occurrence_id(series.id, exception.original),
            created=now,
            modified=now,
            change_key=series.change_key,
            response=series.response,
            response_time=series.response_time,
            props=dict(series.props),
            local=dict(series.local),
            cancelled=series.cancelled,
        )
        exception.copies[series.mailbox] = made
        return made

    def _propagated(self, item: Item) -> list[Copy]:
        """The copies an organiser's change reaches (a master's exceptions included)."""
        copies = [c for c in item.live_copies() if not c.cancelled]
        if item.kind == "master":
            for exception in item.exceptions.values():
                copies += [c for c in exception.live_copies() if not c.cancelled]
        return copies

    def _bump(self, copies: Iterable[Copy]) -> list[Change]:
        now, out = self._now(), []
        for copy in copies:
            copy.change_key, copy.modified = new_change_key(self._rng), now
            out.append(Change(copy.mailbox, copy.id, "updated", copy.etag))
        return out


def _check_match(copy: Copy, if_match: str | None) -> None:
    if if_match is None:
        return
    value = if_match.strip()
    if value not in {"*", copy.etag}:
        raise conflict()


def _dedupe(changes: list[Change]) -> list[Change]:
    """A copy created in this write is announced once, as created, with its final etag."""
    created = {c.event_id for c in changes if c.change_type == "created"}
    out: dict[tuple[str, str], Change] = {}
    for change in changes:
        key = (change.mailbox, change.event_id)
        kind = change.change_type
        if change.event_id in created and kind == "updated":
            kind = "created"
        out[key] = Change(change.mailbox, change.event_id, kind, change.etag)
    return list(out.values())
