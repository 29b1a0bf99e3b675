"""The calendars' contents and every way they change.

Writes come from two places: the Calendar API (strict: a non-organiser may not change shared
fields, ``If-Match`` is honoured, conference data needs ``conferenceDataVersion=1``) and a
*person* using Google Calendar (no such limits for the organiser; conference data kept). Both go
through :meth:`EventStore.write`. Semantics follow Google's documentation:

- patch: sent fields replace, arrays replace whole, objects merge key by key, ``null`` deletes
  (``extendedProperties.private`` merges per key); update (PUT) replaces the whole resource.
- conferenceDataVersion 0 ignores ``conferenceData`` in the body, and a write through the API
  without version 1 drops the event's existing conference data (Google's documented trap).
- Patching or deleting an instance id (``{master}_{stamp}``) creates an exception event with
  ``recurringEventId`` and ``originalStartTime``; deleting makes it a cancelled exception.
- Organiser deletion cancels every copy; an attendee's deletion removes only their copy and
  marks them declined. Changing ``attendees`` adds or removes attendee copies.
- Not modelled: ``guestsCanModify`` rights, propagation of master edits into existing
  exceptions, moving events between calendars. Event ids are unique across the whole
  simulator (a client-chosen id already in use anywhere gives 409 ``duplicate``).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any, Literal

from hybridcal.sandbox.google import conference, recurrence, replay
from hybridcal.sandbox.google.directory import Directory
from hybridcal.sandbox.google.errors import (
    ApiError,
    bad_request,
    condition_not_met,
    deleted,
    forbidden_for_non_organizer,
    not_found,
)
from hybridcal.sandbox.google.model import (
    COPY_FIELDS,
    SEQUENCE_FIELDS,
    SHARED_FIELDS,
    Copy,
    StoredEvent,
)
from hybridcal.sandbox.google.times import When, parse_when

Mode = Literal["patch", "update"]
_ID = re.compile(r"^[a-v0-9]{5,1024}$")
_BASE32HEX = "0123456789abcdefghijklmnopqrstuv"
_ENUMS = {
    "status": {"confirmed", "tentative", "cancelled"},
    "visibility": {"default", "public", "private", "confidential"},
    "transparency": {"opaque", "transparent"},
    "eventType": {"default", "outOfOffice", "focusTime", "workingLocation"},
}


def new_event_id() -> str:
    return "".join(secrets.choice(_BASE32HEX) for _ in range(26))


class EventStore:
    def __init__(
        self,
        directory: Directory,
        now: Callable[[], datetime],
        on_change: Callable[[str], None],
        on_conference_request: Callable[[str, str], None],
        settle_conference: Callable[[str, str], dict[str, Any] | None] | None = None,
    ) -> None:
        self.directory = directory
        self._now = now
        self._on_change = on_change
        self._on_conference = on_conference_request
        # (organiser, request id) -> the final conference data when Google answers at once
        # (success or failure), None for the asynchronous path; raises when it refuses
        self._settle_conference = settle_conference or (lambda _organizer, _request: None)
        self.events: dict[str, StoredEvent] = {}
        # calendar -> ids of events that have (or had) a copy on it: listings read their own
        # calendar's events instead of every event (at 10,000 calendars the simulator, not
        # the daemon, was the bottleneck). Copies are only ever added; a deleted event's id
        # is skipped when read.
        self._on: dict[str, set[str]] = {}
        self.seq = 0
        self._ordinal = 0
        self.token_epochs: dict[str, int] = {}

    # -- reading -------------------------------------------------------------------------------

    def on_calendar(self, calendar: str) -> list[StoredEvent]:
        """Every event with a copy on the calendar (removed copies too: sync reports them)."""
        found = [
            event
            for event_id in self._on.get(calendar, ())
            if (event := self.events.get(event_id)) is not None and calendar in event.copies
        ]
        return sorted(found, key=lambda e: e.ordinal)

    def _index(self, event: StoredEvent) -> None:
        for calendar in event.copies:
            self._on.setdefault(calendar, set()).add(event.id)

    def find(self, calendar: str, event_id: str) -> StoredEvent | None:
        event = self.events.get(event_id)
        if event is None or calendar not in event.copies:
            return None
        return event

    def exceptions_of(self, master_id: str) -> list[StoredEvent]:
        return [e for e in self.events.values() if e.recurring_event_id == master_id]

    def expire_tokens(self, calendar: str) -> None:
        self.token_epochs[calendar] = self.token_epochs.get(calendar, 0) + 1

    # -- creating ------------------------------------------------------------------------------

    def insert(
        self,
        organizer: str,
        body: Mapping[str, Any],
        *,
        conference_version: int,
        by_person: bool,
    ) -> StoredEvent:
        event_id = body.get("id") or new_event_id()
        if not _ID.match(event_id):
            raise bad_request("Invalid resource id value.", parameter="id")
        if event_id in self.events:
            raise ApiError(409, "duplicate", "The requested identifier already exists.")
        self._ordinal += 1
        now = self._now()
        placeholder = When(moment=now)
        event = StoredEvent(
            id=event_id,
            ical_uid=body.get("iCalUID") or f"{event_id}@google.com",
            organizer=organizer,
            ordinal=self._ordinal,
            created=now,
            fields={},
            start=placeholder,
            end=placeholder,
            shared_props={},
            conference=None,
            copies={organizer: Copy(organizer, {}, {}, "", now, 0)},
        )
        request = self._apply(
            event,
            organizer,
            body,
            "update",
            conference_version=1 if by_person else conference_version,
            by_person=by_person,
            creating=True,
        )
        self.events[event.id] = event
        self._index(event)
        self._touch(event, set(event.copies))
        if request:
            self._on_conference(event.id, request)
        return event

    def replay(self, calendar: str, item: Mapping[str, Any]) -> StoredEvent:
        """``calendar``'s copy of an event exactly as ``events.get`` returned it (see
        ``replay.py``); replaying an id again replaces what the recording says."""
        recorded = replay.parse(calendar, item, self._now())
        event = self.events.get(recorded.id)
        if event is None:
            self._ordinal += 1
            event = StoredEvent(
                id=recorded.id,
                ical_uid=recorded.ical_uid,
                organizer=recorded.organizer,
                ordinal=self._ordinal,
                created=self._now(),
                fields={},
                start=recorded.start,
                end=recorded.end,
                shared_props={},
                conference=None,
                copies={},
            )
            self.events[event.id] = event
        self._index(event)
        event.ical_uid, event.organizer = recorded.ical_uid, recorded.organizer
        event.fields, event.start, event.end = recorded.fields, recorded.start, recorded.end
        event.shared_props, event.conference = recorded.shared, recorded.conference
        event.sequence, event.verbatim = recorded.sequence, recorded.verbatim
        event.recurring_event_id = recorded.recurring_event_id
        event.original_start = recorded.original_start
        if recorded.conference:
            request = (recorded.conference.get("createRequest") or {}).get("requestId")
            if isinstance(request, str):
                event.request_ids.add(request)
        copy = event.copies.get(calendar)
        if copy is None:
            copy = event.copies[calendar] = Copy(calendar, {}, {}, "", self._now(), 0)
        copy.private, copy.local, copy.removed = recorded.private, recorded.local, False
        self._touch(event, {calendar})
        return event

    # -- changing ------------------------------------------------------------------------------

    def write(
        self,
        calendar: str,
        event_id: str,
        body: Mapping[str, Any],
        *,
        mode: Mode,
        conference_version: int,
        by_person: bool,
        if_match: str | None = None,
    ) -> StoredEvent:
        event, fresh = self._target(calendar, event_id, if_match)
        before = event.shared_state()
        local_before = (dict(event.copies[calendar].private), dict(event.copies[calendar].local))
        fields_before = dict(event.fields)
        was_live = event.live_calendars()
        try:
            request = self._apply(
                event,
                calendar,
                body,
                mode,
                conference_version=1
                if by_person and "conferenceData" in body
                else conference_version,
                by_person=by_person,
                keep_conference=by_person and "conferenceData" not in body,
            )
        except (ApiError, PermissionError):
            if fresh:
                del self.events[event.id]
            raise
        if event.shared_state() != before or fresh:
            moved = before[1:3] != (event.start, event.end)
            if moved or any(fields_before.get(k) != event.fields.get(k) for k in SEQUENCE_FIELDS):
                event.sequence += 1
            self._touch(event, was_live | event.live_calendars())
        elif (
            not by_person
            or (event.copies[calendar].private, event.copies[calendar].local) != local_before
        ):
            self._touch(event, {calendar})
        if request:
            self._on_conference(event.id, request)
        return event

    def delete(
        self, calendar: str, event_id: str, *, by_person: bool, if_match: str | None = None
    ) -> None:
        event, fresh = self._target(calendar, event_id, if_match)
        if calendar != event.organizer:
            if fresh:
                del self.events[event.id]
                raise forbidden_for_non_organizer()
            was_live = event.live_calendars()
            event.copies[calendar].removed = True
            self._set_response(event, calendar, "declined")
            self._touch(event, was_live)
            return
        del by_person  # the organiser cancels for everyone, via API or UI alike
        self._cancel(event)
        for exception in self.exceptions_of(event.id):
            if exception.status != "cancelled":
                self._cancel(exception)

    def complete_conference(self, event_id: str, request_id: str, data: dict[str, Any]) -> bool:
        """The asynchronous half of conference creation; False if the request went stale."""
        event = self.events.get(event_id)
        pending = (event.conference or {}).get("createRequest", {}) if event else {}
        if event is None or pending.get("requestId") != request_id:
            return False
        if pending.get("status", {}).get("statusCode") != "pending":
            return False
        event.conference = data
        self._touch(event, event.live_calendars())
        return True

    # -- internals -----------------------------------------------------------------------------

    def _target(
        self, calendar: str, event_id: str, if_match: str | None
    ) -> tuple[StoredEvent, bool]:
        event = self.find(calendar, event_id)
        fresh = event is None
        if event is None:
            event = self._materialize(calendar, event_id)
        copy = event.copies[calendar]
        if copy.removed or event.status == "cancelled":
            raise deleted()
        if if_match is not None and if_match not in {"*", copy.etag}:
            if fresh:
                del self.events[event.id]
            raise condition_not_met()
        return event, fresh

    def _materialize(self, calendar: str, event_id: str) -> StoredEvent:
        """Turn an instance id into a stored exception (not yet announced as a change)."""
        parts = recurrence.split_instance_id(event_id)
        master = self.find(calendar, parts[0]) if parts else None
        if parts is None or master is None or not master.recurrence:
            raise not_found()
        if master.status == "cancelled" or master.copies[calendar].removed:
            raise deleted()
        occ = recurrence.find_occurrence(master.start, master.end, master.recurrence, parts[1])
        if occ is None:
            raise not_found()
        fields = {k: v for k, v in master.fields.items() if k != "recurrence"}
        exception = StoredEvent(
            id=event_id,
            ical_uid=master.ical_uid,
            organizer=master.organizer,
            ordinal=master.ordinal,
            created=master.created,
            fields=fields,
            start=occ.start,
            end=occ.end,
            shared_props=dict(master.shared_props),
            conference=master.conference,
            copies={k: replace(c, private=dict(c.private)) for k, c in master.copies.items()},
            sequence=master.sequence,
            recurring_event_id=master.id,
            original_start=occ.original,
            request_ids=set(master.request_ids),
        )
        self.events[event_id] = exception
        self._index(exception)
        return exception

    def _cancel(self, event: StoredEvent) -> None:
        live = event.live_calendars()
        event.fields["status"] = "cancelled"
        event.sequence += 1
        self._touch(event, live)

    def _apply(
        self,
        event: StoredEvent,
        calendar: str,
        body: Mapping[str, Any],
        mode: Mode,
        *,
        conference_version: int,
        by_person: bool,
        creating: bool = False,
        keep_conference: bool = False,
    ) -> str | None:
        copy = event.copies[calendar]
        patch = mode == "patch"
        fields = dict(event.fields) if patch else {}
        for key in SHARED_FIELDS:
            if key in body:
                value = body[key]
                if value is None:
                    fields.pop(key, None)
                else:
                    fields[key] = conference.merge(fields.get(key), value) if patch else value
        if not patch and "status" not in fields:
            fields["status"] = "confirmed" if creating else event.status
        _check_enums(fields)
        start = _time(body, "start", event.start, patch and not creating)
        end = _time(body, "end", event.end, patch and not creating)
        _check_range(start, end)
        if fields.get("recurrence") and event.recurring_event_id:
            raise bad_request("Exceptions cannot have a recurrence.", parameter="recurrence")
        recurrence.validate(fields.get("recurrence") or [], start)
        attendees = self._attendees(event, fields.get("attendees"), calendar, by_person)
        if attendees is not None:
            fields["attendees"] = attendees
        ext = body.get("extendedProperties", {} if patch else None)
        private = _props(copy.private, ext, "private", patch)
        shared = _props(event.shared_props, ext, "shared", patch)
        local = dict(copy.local) if patch else {}
        for key in COPY_FIELDS:
            if key in body:
                if body[key] is None:
                    local.pop(key, None)
                else:
                    local[key] = body[key]
        conf, request = self._conference(event, body, patch, conference_version, keep_conference)
        settled = self._settle_conference(event.organizer, request) if request else None
        if settled is not None:
            conf = settled
        if calendar != event.organizer and not creating:
            own = calendar
            if _without_own_response(fields, own) != _without_own_response(event.fields, own) or (
                start,
                end,
                shared,
                conf,
            ) != (event.start, event.end, event.shared_props, event.conference):
                if by_person:
                    raise PermissionError("only the organiser can change this event")
                raise forbidden_for_non_organizer()
        event.fields, event.start, event.end = fields, start, end
        event.shared_props, event.conference = shared, conf
        copy.private, copy.local = private, local
        if request:
            event.request_ids.add(request)
        self._sync_copies(event)
        return None if settled is not None else request

    def _conference(
        self,
        event: StoredEvent,
        body: Mapping[str, Any],
        patch: bool,
        version: int,
        keep: bool,
    ) -> tuple[dict[str, Any] | None, str | None]:
        if keep:
            return event.conference, None
        if version == 0:
            return None, None  # ignored in the body, and the existing data is dropped
        if "conferenceData" not in body:
            return (event.conference if patch else None), None
        sent = body["conferenceData"]
        if sent is not None and patch:
            sent = conference.merge(event.conference or {}, sent)
        return conference.resolve(event.conference, sent, event.request_ids)

    def _attendees(
        self, event: StoredEvent, value: Any, calendar: str, by_person: bool
    ) -> list[dict[str, Any]] | None:
        if value is None:
            return None
        organizer = event.organizer
        out: list[dict[str, Any]] = []
        seen: set[str] = set()
        for item in value:
            email = str(item.get("email") or "").strip()
            if not email:
                raise bad_request(
                    "Missing attendee email.", reason="required", parameter="attendees"
                )
            key = email.lower()
            if key in seen:
                continue
            seen.add(key)
            entry = {k: v for k, v in item.items() if k not in {"self", "organizer", "id"}}
            entry["email"] = key
            if key in self.directory.rooms:
                entry["resource"] = True
                entry.setdefault("displayName", self.directory.rooms[key].name)
                entry["responseStatus"] = "accepted"
            else:
                name = self.directory.display_name(key)
                if name:
                    entry.setdefault("displayName", name)
                entry.setdefault(
                    "responseStatus", "accepted" if key == organizer else "needsAction"
                )
            out.append(entry)
        if out and organizer not in seen:
            name = self.directory.display_name(organizer)
            org = {"email": organizer, "responseStatus": "accepted"}
            if name:
                org["displayName"] = name
            out.insert(0, org)
        del calendar, by_person
        return out

    def _sync_copies(self, event: StoredEvent) -> None:
        # an organiser outside the domain (a replayed invitation) has no calendar here
        wanted = {event.organizer} if self.directory.is_calendar(event.organizer) else set()
        declined = set()
        for item in event.fields.get("attendees") or []:
            email = item["email"]
            if self.directory.is_calendar(email):
                wanted.add(email)
            if item.get("responseStatus") == "declined":
                declined.add(email)
        for cal, copy in event.copies.items():
            if cal not in wanted:
                copy.removed = True
        for cal in wanted:
            existing = event.copies.get(cal)
            if existing is None:
                event.copies[cal] = Copy(cal, {}, {}, "", self._now(), 0)
                self._on.setdefault(cal, set()).add(event.id)
            elif existing.removed and cal not in declined:
                existing.removed = False  # invited again

    def _set_response(self, event: StoredEvent, calendar: str, status: str) -> None:
        for item in event.fields.get("attendees") or []:
            if item["email"] == calendar:
                item["responseStatus"] = status

    def _touch(self, event: StoredEvent, calendars: set[str]) -> None:
        self._index(event)
        now = self._now()
        micros = int(now.timestamp() * 1_000_000)
        for cal in sorted(calendars):
            self.seq += 1
            copy = event.copies[cal]
            copy.seq = self.seq
            copy.updated = now
            copy.etag = f'"{micros * 1000 + self.seq}"'
        for cal in sorted(calendars):
            self._on_change(cal)


def _time(body: Mapping[str, Any], name: str, current: When, keep: bool) -> When:
    if name in body and body[name] is not None:
        return parse_when(body[name], name)
    if keep:
        return current
    raise bad_request(f"Missing {name} time.", reason="required", parameter=name)


def _check_range(start: When, end: When) -> None:
    if start.all_day != end.all_day:
        raise bad_request("Start and end times must either both be date or both be dateTime.")
    if end.sort_key("UTC") < start.sort_key("UTC") or (start.all_day and start == end):
        raise bad_request("The specified time range is empty.", reason="timeRangeEmpty")


def _check_enums(fields: Mapping[str, Any]) -> None:
    for key, allowed in _ENUMS.items():
        if key in fields and fields[key] not in allowed:
            raise bad_request(f"Invalid {key} value.", parameter=key)


def _props(current: Mapping[str, str], ext: Any, kind: str, patch: bool) -> dict[str, str]:
    if ext is None:
        return {}  # update without extendedProperties, or a patch setting it to null
    if kind not in ext:
        return dict(current) if patch else {}
    sent = ext[kind]
    if sent is None:
        return {}
    merged: dict[str, str] = dict(current) if patch else {}
    for key, value in sent.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def _without_own_response(fields: Mapping[str, Any], own: str) -> dict[str, Any]:
    """Shared fields minus what an attendee may change: their own answer and comment."""
    out = dict(fields)
    attendees = []
    for item in fields.get("attendees") or []:
        if item.get("email") == own:
            attendees.append(
                {k: v for k, v in item.items() if k not in {"responseStatus", "comment"}}
            )
        else:
            attendees.append(item)
    if attendees:
        out["attendees"] = attendees
    return out
