"""Handlers for events, calendar views, instances and calendarView delta."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from hybridcal.sandbox.microsoft import odata
from hybridcal.sandbox.microsoft.conflicts import ConcurrentSaves, concurrent_save_conflict
from hybridcal.sandbox.microsoft.delta import DEFAULT_PAGE, MAX_PAGE, DeltaService, Page
from hybridcal.sandbox.microsoft.directory import Directory
from hybridcal.sandbox.microsoft.errors import bad_request, unknown_property
from hybridcal.sandbox.microsoft.events import EventStore, Target
from hybridcal.sandbox.microsoft.http import Call, Handler, Reply
from hybridcal.sandbox.microsoft.render import View, render
from hybridcal.sandbox.microsoft.times import When, parse_query_instant
from hybridcal.sandbox.microsoft.validate import parse_event
from hybridcal.sandbox.microsoft.views import Entry, window

_ACTION_KEYS = {
    "cancel": {"comment"},
    "accept": {"comment", "sendResponse"},
    "decline": {"comment", "sendResponse", "proposedNewTime"},
    "tentativelyAccept": {"comment", "sendResponse", "proposedNewTime"},
}


def render_target(target: Target, directory: Directory, view: View) -> dict[str, Any]:
    occurrence: tuple[datetime, When, When] | None = None
    if target.original is not None:
        start, end = EventStore.occurrence(target.item, target.original)
        occurrence = (target.original, start, end)
    return render(target.item, target.copy, directory, view, occurrence=occurrence)


class CalendarApi:
    def __init__(
        self,
        store: EventStore,
        directory: Directory,
        delta: DeltaService,
        root: str,
        saves: ConcurrentSaves | None = None,
    ) -> None:
        self._store = store
        self._saves = saves
        self._directory = directory
        self._delta = delta
        self._root = root
        self._base = root.rsplit("/v1.0", 1)[0]

    def handlers(self) -> dict[str, Handler]:
        return {
            "events.list": self.list_events,
            "events.create": self.create,
            "event.get": self.get,
            "event.update": self.update,
            "event.delete": self.delete,
            "event.instances": self.instances,
            "event.action": self.action,
            "calendarView.list": self.calendar_view,
            "calendarView.delta": self.delta,
        }

    def _context(self, call: Call, suffix: str) -> str:
        return f"{self._root}/$metadata#users('{call.user().id}')/{suffix}"

    async def list_events(self, call: Call) -> Reply:
        odata.refuse_unsupported(call.query, {"$select", "$expand", "$top", "$skip"})
        view = odata.view(call)
        mailbox = call.user().email
        items = sorted(self._store.in_mailbox(mailbox), key=lambda i: (i.created, i.ical_uid))
        rows = []
        for item in items:
            copy = item.copy_of(mailbox)
            assert copy is not None
            rows.append(render(item, copy, self._directory, view))
        return self._paged(call, rows, self._context(call, "events"))

    async def create(self, call: Call) -> Reply:
        data = parse_event(call.body or {}, creating=True)
        target = self._store.create(call.user().email, data)
        body = render_target(target, self._directory, odata.view(call))
        body = {"@odata.context": self._context(call, "events/$entity"), **body}
        return Reply(201, body)

    async def get(self, call: Call) -> Reply:
        odata.refuse_unsupported(call.query, {"$select", "$expand"})
        view = odata.view(call)
        target = self._store.resolve(call.user().email, call.params["id"])
        body = render_target(target, self._directory, view)
        return Reply(200, {"@odata.context": self._context(call, "events/$entity"), **body})

    async def update(self, call: Call) -> Reply:
        odata.refuse_unsupported(call.query, {"$select", "$expand"})
        view = odata.view(call)
        data = parse_event(call.body or {}, creating=False)
        mailbox, event_id = call.user().email, call.params["id"]
        if_match = call.headers.get("If-Match")
        if (
            self._saves is not None
            and self._store.collides(mailbox, event_id, if_match)
            and self._saves.strike(mailbox, event_id)
        ):
            self._store.concurrent_save(mailbox, event_id)
            raise concurrent_save_conflict()
        target = self._store.update(mailbox, event_id, data, if_match=if_match)
        body = render_target(target, self._directory, view)
        return Reply(200, {"@odata.context": self._context(call, "events/$entity"), **body})

    async def delete(self, call: Call) -> Reply:
        self._store.delete(
            call.user().email, call.params["id"], if_match=call.headers.get("If-Match")
        )
        return Reply(204)

    async def action(self, call: Call) -> Reply:
        action = call.params["action"]
        body = call.body or {}
        if not isinstance(body, Mapping):
            raise bad_request("The request body must be a JSON object.", "BadRequest")
        for key in body:
            if key not in _ACTION_KEYS[action]:
                raise unknown_property(key, f"microsoft.graph.{action}")
        if action == "cancel":
            self._store.cancel(call.user().email, call.params["id"])
        else:
            self._store.respond(call.user().email, call.params["id"], action)
        return Reply(202)

    def _window(self, call: Call) -> tuple[datetime, datetime]:
        low = parse_query_instant(call.query.get("startDateTime"), "startDateTime")
        high = parse_query_instant(call.query.get("endDateTime"), "endDateTime")
        if high <= low:
            raise bad_request(
                "The endDateTime must be later than the startDateTime.", "ErrorInvalidParameter"
            )
        return low, high

    async def instances(self, call: Call) -> Reply:
        odata.refuse_unsupported(call.query, {"$select", "$expand", "$top", "$skip"})
        view = odata.view(call)
        low, high = self._window(call)
        target = self._store.resolve(call.user().email, call.params["id"])
        if target.original is not None or target.item.kind != "master":
            raise bad_request("The event is not the master of a recurring series.")
        entries = window(
            self._store, self._directory, call.user().email, low, high, only=target.item
        )
        rows = [e.render(self._directory, view) for e in entries]
        return self._paged(call, rows, self._context(call, "events"))

    async def calendar_view(self, call: Call) -> Reply:
        odata.refuse_unsupported(call.query, {"$select", "$expand", "$top", "$skip"})
        view = odata.view(call)
        low, high = self._window(call)
        entries: list[Entry] = window(self._store, self._directory, call.user().email, low, high)
        rows = [e.render(self._directory, view) for e in entries]
        return self._paged(call, rows, self._context(call, "calendarView"))

    async def delta(self, call: Call) -> Reply:
        self._delta.check_query(call.query)
        view = odata.view(call)
        raw = call.prefer.get("odata.maxpagesize")
        size = DEFAULT_PAGE
        if raw is not None:
            if not raw.isdigit() or int(raw) < 1:
                raise bad_request(f"Invalid odata.maxpagesize '{raw}'.", "BadRequest")
            size = min(int(raw), MAX_PAGE)
            call.applied.append(f"odata.maxpagesize={size}")
        body = self._delta.handle(Page(call.user(), size, self._root, view), call.query)
        return Reply(200, body)

    def _paged(self, call: Call, rows: list[dict[str, Any]], context: str) -> Reply:
        top, skip = odata.paging(call.query)
        out: dict[str, Any] = {"@odata.context": context, "value": rows[skip : skip + top]}
        if skip + top < len(rows):
            query = dict(call.query)
            query["$skip"] = str(skip + top)
            query.setdefault("$top", str(top))
            out["@odata.nextLink"] = f"{self._base}{call.path}?{urlencode(query, safe='$:,')}"
        return Reply(200, out)
