"""``POST /users/{id}/calendar/getSchedule``: free/busy of mailboxes, as Graph documents it.

From the "calendar: getSchedule" reference and "Get free/busy schedule of Outlook calendar users
and resources": the body has ``schedules`` (SMTP addresses, required), ``startTime`` and
``endTime`` (``dateTimeTimeZone``, required) and ``availabilityViewInterval`` (minutes,
optional, default 30, 5..1440); application permissions ``Calendars.ReadBasic``,
``Calendars.Read`` or ``Calendars.ReadWrite``. The answer holds one ``scheduleInformation`` per
address, in the order asked: ``scheduleId``, ``availabilityView`` (one digit per interval:
0 free, 1 tentative, 2 busy, 3 out of office, 4 working elsewhere), ``scheduleItems`` (status,
start, end, subject, location, isPrivate) and ``workingHours``; an unknown address gets an
``error`` object in its place, not an HTTP error. Times are answered in the zone of
``Prefer: outlook.timezone`` (UTC without it). At most 20 schedules and 62 days per request.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from hybridcal.sandbox.microsoft import odata
from hybridcal.sandbox.microsoft.directory import Directory
from hybridcal.sandbox.microsoft.errors import GraphError, bad_request
from hybridcal.sandbox.microsoft.events import EventStore
from hybridcal.sandbox.microsoft.http import Call, Handler, Reply
from hybridcal.sandbox.microsoft.times import When, format_local, parse_when, zone
from hybridcal.sandbox.microsoft.views import Entry, window

MAX_SCHEDULES = 20
MAX_SPAN = timedelta(days=62)
DEFAULT_INTERVAL = 30
_FIELDS = frozenset({"schedules", "startTime", "endTime", "availabilityViewInterval"})
_CODES = {"free": 0, "tentative": 1, "busy": 2, "oof": 3, "workingElsewhere": 4}


class ScheduleApi:
    def __init__(self, store: EventStore, directory: Directory, root: str) -> None:
        self._store = store
        self._directory = directory
        self._root = root

    def handlers(self) -> dict[str, Handler]:
        return {"calendar.getSchedule": self.get_schedule}

    async def get_schedule(self, call: Call) -> Reply:
        body = call.body
        if not isinstance(body, Mapping):
            raise bad_request("The request body must be a JSON object.", "RequestBodyRead")
        for key in body:
            if key not in _FIELDS:
                raise GraphError(
                    400,
                    "RequestBodyRead",
                    f"The property '{key}' does not exist on type "
                    "'microsoft.graph.calendarGetScheduleRequestBody'.",
                )
        schedules = body.get("schedules")
        if (
            not isinstance(schedules, list)
            or not schedules
            or not all(isinstance(s, str) for s in schedules)
        ):
            raise bad_request("'schedules' must list at least one SMTP address.")
        if len(schedules) > MAX_SCHEDULES:
            raise bad_request(f"At most {MAX_SCHEDULES} schedules can be requested at once.")
        for name in ("startTime", "endTime"):
            if name not in body:
                raise bad_request(f"The parameter '{name}' is required.")
        low = parse_when(body["startTime"], "startTime", all_day=False).instant()
        high = parse_when(body["endTime"], "endTime", all_day=False).instant()
        if high <= low:
            raise bad_request("The endTime must be later than the startTime.")
        if high - low > MAX_SPAN:
            raise bad_request("The requested time span exceeds the maximum of 62 days.")
        interval = body.get("availabilityViewInterval", DEFAULT_INTERVAL)
        if isinstance(interval, bool) or not isinstance(interval, int) or not 5 <= interval <= 1440:
            raise bad_request("'availabilityViewInterval' must be 5..1440 minutes.")
        view = odata.view(call).zone
        value = [self._one(address, low, high, interval, view) for address in schedules]
        context = f"{self._root}/$metadata#Collection(microsoft.graph.scheduleInformation)"
        return Reply(200, {"@odata.context": context, "value": value})

    def _one(
        self, address: str, low: datetime, high: datetime, interval: int, view: str
    ) -> dict[str, Any]:
        mailbox = self._directory.find(address)
        if mailbox is None or not mailbox.has_mailbox:
            return {
                "scheduleId": address,
                "error": {
                    "message": "The specified e-mail address is not a valid SMTP address or "
                    "the recipient was not found.",
                    "responseCode": "ErrorMailRecipientNotFound",
                },
            }
        items = []
        for entry in window(self._store, self._directory, mailbox.email, low, high):
            item = self._item(entry, view)
            if item is not None:
                items.append(item)
        return {
            "scheduleId": address,
            "availabilityView": _view(items, low, high, interval),
            "scheduleItems": [i["wire"] for i in items],
            "workingHours": {
                "daysOfWeek": ["monday", "tuesday", "wednesday", "thursday", "friday"],
                "startTime": "08:00:00.0000000",
                "endTime": "17:00:00.0000000",
                "timeZone": {"name": mailbox.timezone},
            },
        }

    @staticmethod
    def _item(entry: Entry, view: str) -> dict[str, Any] | None:
        copy = entry.copy
        if copy.removed or copy.cancelled or copy.response == "declined":
            return None
        fields = entry.item.effective()
        status = str(copy.local.get("showAs") or fields.get("showAs") or "busy")
        if status == "free":
            return None
        start, end = _times(entry)
        private = fields.get("sensitivity") in {"private", "confidential"}
        location = (fields.get("location") or {}).get("displayName") or ""
        wire: dict[str, Any] = {
            "isPrivate": private,
            "status": status,
            "start": {"dateTime": format_local(start.astimezone(zone(view))), "timeZone": view},
            "end": {"dateTime": format_local(end.astimezone(zone(view))), "timeZone": view},
        }
        if not private:
            wire["subject"] = fields.get("subject") or ""
            wire["location"] = location
        return {"wire": wire, "start": start, "end": end, "code": _CODES.get(status, 2)}


def _times(entry: Entry) -> tuple[datetime, datetime]:
    begin: When
    finish: When
    if entry.occurrence is not None:
        _original, begin, finish = entry.occurrence
    else:
        begin, finish = entry.item.start, entry.item.end
    return begin.instant(), finish.instant()


def _view(items: list[dict[str, Any]], low: datetime, high: datetime, interval: int) -> str:
    step = timedelta(minutes=interval)
    digits = []
    slot = low
    while slot < high:
        following = min(slot + step, high)
        codes = [i["code"] for i in items if i["start"] < following and i["end"] > slot]
        digits.append(str(max(codes, default=0)))
        slot = following
    return "".join(digits)
