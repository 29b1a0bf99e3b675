"""Calendar API v3 methods: events.*, channels.stop, settings.get, calendarList.get (and
freebusy.query, in ``freebusy.py``).

Who may see what: a token's subject uses its own calendar (``primary`` or its address); admin
users may also use room calendars; every other calendar answers 404 ``notFound`` — Google hides
calendars you cannot see rather than saying "forbidden".
"""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import quote

from hybridcal.sandbox.google import recurrence
from hybridcal.sandbox.google.directory import Directory
from hybridcal.sandbox.google.errors import ApiError, not_found
from hybridcal.sandbox.google.freebusy import FreeBusyApi
from hybridcal.sandbox.google.http import Call, Handler, Reply
from hybridcal.sandbox.google.limits import MeetPolicy
from hybridcal.sandbox.google.listing import Lister
from hybridcal.sandbox.google.push import PushService
from hybridcal.sandbox.google.render import render
from hybridcal.sandbox.google.state import EventStore, Mode

_SETTINGS_DEFAULTS = {
    "format24HourTime": "true",
    "weekStart": "1",
    "dateFieldOrder": "DMY",
    "defaultEventLength": "60",
    "hideWeekends": "false",
    "hideInvitations": "false",
    "showDeclinedEvents": "true",
    "useKeyboardShortcuts": "true",
    "remindOnRespondedEventsOnly": "false",
    "autoAddHangouts": "true",
}


class CalendarApi:
    def __init__(
        self,
        *,
        directory: Directory,
        store: EventStore,
        lister: Lister,
        push: PushService,
        calendar_root: str,
        meet: MeetPolicy | None = None,
    ) -> None:
        self._meet = meet or MeetPolicy()
        self._directory = directory
        self._store = store
        self._lister = lister
        self._push = push
        self._root = calendar_root

    def handlers(self) -> dict[str, Handler]:
        return {
            "calendar.events.list": self.list,
            "calendar.events.get": self.get,
            "calendar.events.insert": self.insert,
            "calendar.events.patch": self.patch,
            "calendar.events.update": self.update,
            "calendar.events.delete": self.delete,
            "calendar.events.instances": self.instances,
            "calendar.events.watch": self.watch,
            "calendar.channels.stop": self.stop,
            "calendar.settings.get": self.setting,
            "calendar.calendarList.get": self.calendar_list_entry,
            **FreeBusyApi(directory=self._directory, lister=self._lister).handlers(),
        }

    def _calendar(self, call: Call) -> tuple[str, str]:
        """(calendar address, access role) or 404."""
        wanted = call.path["calendarId"]
        calendar = call.token.subject if wanted == "primary" else wanted.lower()
        if not self._directory.may_access(call.token.subject, calendar):
            raise not_found()
        role = "owner" if calendar == call.token.subject else "writer"
        return calendar, role

    def _zone(self, call: Call, calendar: str) -> str:
        return str(call.params.get("timeZone") or self._directory.timezone_of(calendar))

    # -- events --------------------------------------------------------------------------------

    async def list(self, call: Call) -> Reply:
        calendar, role = self._calendar(call)
        return Reply(body=self._lister.list_events(calendar, call.params, role))

    async def instances(self, call: Call) -> Reply:
        calendar, role = self._calendar(call)
        return Reply(body=self._lister.instances(calendar, call.path["eventId"], call.params, role))

    async def get(self, call: Call) -> Reply:
        calendar, _ = self._calendar(call)
        item = self.view(
            calendar,
            call.path["eventId"],
            self._zone(call, calendar),
            call.params.get("maxAttendees"),
        )
        if item is None:
            raise not_found()
        if call.headers.get("If-None-Match") == item["etag"]:
            return Reply(304, None, {"ETag": item["etag"]})
        return Reply(body=item, headers={"ETag": item["etag"]})

    def view(
        self, calendar: str, event_id: str, zone: str, max_attendees: int | None = None
    ) -> dict[str, Any] | None:
        """The event or instance as ``calendar`` sees it, cancelled ones included."""
        event = self._store.find(calendar, event_id)
        if event is not None:
            copy = event.copies[calendar]
            return render(event, copy, zone, self._directory, max_attendees=max_attendees)
        parts = recurrence.split_instance_id(event_id)
        master = self._store.find(calendar, parts[0]) if parts else None
        if parts is None or master is None or not master.recurrence:
            return None
        occ = recurrence.find_occurrence(master.start, master.end, master.recurrence, parts[1])
        if occ is None:
            return None
        copy = master.copies[calendar]
        return render(
            master, copy, zone, self._directory, occurrence=occ, max_attendees=max_attendees
        )

    async def insert(self, call: Call) -> Reply:
        calendar, _ = self._calendar(call)
        event = self._store.insert(
            calendar,
            call.body,
            conference_version=int(call.params.get("conferenceDataVersion", 0)),
            by_person=False,
        )
        item = render(event, event.copies[calendar], self._zone(call, calendar), self._directory)
        return Reply(body=item, headers={"ETag": item["etag"]})

    async def patch(self, call: Call) -> Reply:
        return await self._write(call, "patch")

    async def update(self, call: Call) -> Reply:
        return await self._write(call, "update")

    async def _write(self, call: Call, mode: Mode) -> Reply:
        calendar, _ = self._calendar(call)
        event = self._store.write(
            calendar,
            call.path["eventId"],
            call.body,
            mode=mode,
            conference_version=int(call.params.get("conferenceDataVersion", 0)),
            by_person=False,
            if_match=call.headers.get("If-Match"),
        )
        item = render(
            event,
            event.copies[calendar],
            self._zone(call, calendar),
            self._directory,
            max_attendees=call.params.get("maxAttendees"),
        )
        return Reply(body=item, headers={"ETag": item["etag"]})

    async def delete(self, call: Call) -> Reply:
        calendar, _ = self._calendar(call)
        self._store.delete(
            calendar, call.path["eventId"], by_person=False, if_match=call.headers.get("If-Match")
        )
        return Reply(204)

    # -- push ----------------------------------------------------------------------------------

    async def watch(self, call: Call) -> Reply:
        calendar, _ = self._calendar(call)
        if "syncToken" in call.params or "pageToken" in call.params:
            raise ApiError(400, "invalid", "Sync or page tokens cannot be used with watch.")
        uri = f"{self._root}calendars/{quote(call.path['calendarId'], safe='')}/events?alt=json"
        return Reply(body=self._push.watch(calendar, call.body, uri))

    async def stop(self, call: Call) -> Reply:
        self._push.stop(call.body)
        return Reply(204)

    # -- settings and calendar list ------------------------------------------------------------

    async def setting(self, call: Call) -> Reply:
        person = self._directory.users[call.token.subject]
        values = dict(_SETTINGS_DEFAULTS, locale=person.locale, timezone=person.timezone)
        name = call.path["setting"]
        if name not in values:
            raise not_found()
        body = {
            "kind": "calendar#setting",
            "etag": '"' + hashlib.sha256(f"{name}={values[name]}".encode()).hexdigest()[:16] + '"',
            "id": name,
            "value": values[name],
        }
        return Reply(body=body)

    async def calendar_list_entry(self, call: Call) -> Reply:
        calendar, role = self._calendar(call)
        body: dict[str, Any] = {
            "kind": "calendar#calendarListEntry",
            "etag": '"1"',
            "id": calendar,
            "summary": self._directory.display_name(calendar) or calendar,
            "timeZone": self._directory.timezone_of(calendar),
            "accessRole": role,
            "defaultReminders": [],
            "conferenceProperties": {
                "allowedConferenceSolutionTypes": self._meet.solution_types(calendar)
            },
        }
        if role == "owner":
            body["primary"] = True
        return Reply(body=body)
