"""``freebusy.query``: busy periods of calendars, as Calendar v3 documents them.

From the discovery document and the reference page: the body (``FreeBusyRequest``, checked
against its schema by the front end) needs ``timeMin`` and ``timeMax`` (RFC 3339 with an
offset) and lists ``items[].id``; at most ``calendarExpansionMax`` calendars (optional, at most
50) are computed, the others answer ``tooManyCalendarsRequested``; a calendar the caller cannot
see answers ``notFound`` *inside* the result, not as an HTTP error; ``timeZone`` (default UTC)
is the zone of the answer's times. Busy periods are what the calendar shows as busy — confirmed
or tentative, opaque, not declined by the calendar itself — clipped to the query and merged
where they touch. Every calendar of the simulated domain shares its free/busy with the domain
(Workspace's default), so a user may query a room or a colleague.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hybridcal.sandbox.google.directory import Directory
from hybridcal.sandbox.google.discovery import parse_rfc3339
from hybridcal.sandbox.google.errors import ApiError, bad_request
from hybridcal.sandbox.google.http import Call, Handler, Reply
from hybridcal.sandbox.google.listing import PAGE_MAX, Lister
from hybridcal.sandbox.google.times import format_moment, zone

MAX_CALENDARS = 50


class FreeBusyApi:
    def __init__(self, *, directory: Directory, lister: Lister) -> None:
        self._directory = directory
        self._lister = lister

    def handlers(self) -> dict[str, Handler]:
        return {"calendar.freebusy.query": self.query}

    async def query(self, call: Call) -> Reply:
        body = call.body
        low, high = _bound(body, "timeMin"), _bound(body, "timeMax")
        if high <= low:
            raise ApiError(400, "timeRangeEmpty", "The specified time range is empty.")
        view = str(body.get("timeZone") or "UTC")
        zone(view)  # an unknown zone is refused
        cap = body.get("calendarExpansionMax")
        if cap is not None and not 1 <= cap <= MAX_CALENDARS:
            raise bad_request(
                f"Invalid value for calendarExpansionMax: {cap}. Must be 1..{MAX_CALENDARS}.",
                parameter="calendarExpansionMax",
            )
        limit = MAX_CALENDARS if cap is None else int(cap)
        calendars: dict[str, Any] = {}
        for index, item in enumerate(body.get("items") or []):
            wanted = str((item or {}).get("id") or "")
            if index >= limit:
                calendars[wanted] = _failed("usageLimits", "tooManyCalendarsRequested")
            elif not self._directory.is_calendar(wanted):
                calendars[wanted] = _failed("global", "notFound")
            else:
                periods = self._busy(wanted.lower(), low, high)
                calendars[wanted] = {
                    "busy": [
                        {"start": format_moment(s, view), "end": format_moment(e, view)}
                        for s, e in periods
                    ]
                }
        answer = {
            "kind": "calendar#freeBusy",
            "timeMin": format_moment(low, view),
            "timeMax": format_moment(high, view),
            "calendars": calendars,
        }
        return Reply(body=answer)

    def _busy(
        self, calendar: str, low: datetime, high: datetime
    ) -> list[tuple[datetime, datetime]]:
        params: dict[str, Any] = {
            "singleEvents": True,
            "timeMin": low,
            "timeMax": high,
            "maxResults": PAGE_MAX,
            "timeZone": "UTC",
        }
        spans: list[tuple[datetime, datetime]] = []
        while True:
            page = self._lister.list_events(calendar, params, "freeBusyReader")
            for item in page.get("items", []):
                span = self._span(calendar, item)
                if span is not None and span[0] < high and span[1] > low:
                    spans.append((max(span[0], low), min(span[1], high)))
            token = page.get("nextPageToken")
            if not token:
                break
            params["pageToken"] = token
        return _merged(spans)

    def _span(self, calendar: str, item: dict[str, Any]) -> tuple[datetime, datetime] | None:
        if item.get("status") == "cancelled" or item.get("transparency") == "transparent":
            return None
        for attendee in item.get("attendees") or []:
            own = str(attendee.get("email", "")).lower() == calendar
            if own and attendee.get("responseStatus") == "declined":
                return None
        local = self._directory.timezone_of(calendar)
        return _instant(item["start"], local), _instant(item["end"], local)


def _bound(body: dict[str, Any], name: str) -> datetime:
    raw = body.get(name)
    if not raw:
        raise ApiError(400, "required", f"Missing {name} parameter.", location=name)
    return parse_rfc3339(str(raw), name)


def _failed(domain: str, reason: str) -> dict[str, Any]:
    return {"errors": [{"domain": domain, "reason": reason}], "busy": []}


def _instant(value: dict[str, str], local_zone: str) -> datetime:
    if "dateTime" in value:
        return datetime.fromisoformat(value["dateTime"])
    day = datetime.fromisoformat(value["date"])  # all day: midnight in the calendar's zone
    return day.replace(tzinfo=zone(local_zone))


def _merged(spans: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    out: list[tuple[datetime, datetime]] = []
    for start, end in sorted(spans):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out
