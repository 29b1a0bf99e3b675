"""The endpoints of ``/v1``: meetings, meeting preferences.

Every meeting call names its host with ``hostEmail`` (query for GET/DELETE/list, body or query
for POST/PUT/PATCH): a Service App hosts nothing itself, so without it a meeting is not found
and a list is empty (webex.md §2 pitfalls [W1]); an unknown or unlicensed host → 404 (see
:mod:`site`).

``GET /v1/meetings`` (webex.md §2 "List" [MTG][BAS]): ``meetingType`` ``meetingSeries``
(default), ``scheduledMeeting`` or ``meeting`` (ended/in-progress instances: the simulator has
none); ``meetingSeriesId`` lists that series' occurrences and needs ``meetingType``
``scheduledMeeting`` (*stricter*: without it → 400); ``from``/``to`` (ISO 8601, default now and
now + 7 days; ``to`` after ``from``) keep what overlaps [from, to); ``state``,
``integrationTag``, ``meetingNumber``, ``webLink``, ``siteUrl`` filter; ``current`` (default
true) makes a series item show its next occurrence's times; ``max`` 1..100 (default 10). Items
are sorted by start; further pages via ``Link: <…>; rel="next"`` whose URL must be followed as
given (its ``cursor`` is opaque). Other query parameters are ignored.

``GET /v1/meetingPreferences/personalMeetingRoom?userEmail=`` (webex.md §3 [PREF]) answers the
personal room; a user without one, unknown or unlicensed → 404; a token without
``meeting:admin_preferences_read`` → 403 "Not permitted to view or change other user's
preferences" (the reference's 403 example). ``GET
/v1/meetingPreferences/sites?userEmail=`` answers the one site as default.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from hybridcal.sandbox.webex import times
from hybridcal.sandbox.webex.auth import PREFERENCES_READ, SCHEDULE_READ, SCHEDULE_WRITE
from hybridcal.sandbox.webex.errors import bad_request, not_found
from hybridcal.sandbox.webex.http import Call, Reply, Route, route
from hybridcal.sandbox.webex.meetings import MeetingBook, Series
from hybridcal.sandbox.webex.site import CANNOT_FIND, Site, User

DEFAULT_WINDOW = timedelta(days=7)
OTHER_USERS = "Not permitted to view or change other user's preferences"  # [PREF] 403 example
_TYPES = ("meetingSeries", "scheduledMeeting", "meeting")


class WebexApi:
    def __init__(self, site: Site, book: MeetingBook, now: Any) -> None:
        self._site = site
        self._book = book
        self._now = now
        self.api_root = ""

    def routes(self) -> list[Route]:
        return [
            route("POST", "/v1/meetings", "meetings.create", self.create, SCHEDULE_WRITE),
            route("GET", "/v1/meetings", "meetings.list", self.list_meetings, SCHEDULE_READ),
            route("GET", "/v1/meetings/{meetingId}", "meetings.get", self.get, SCHEDULE_READ),
            route("PUT", "/v1/meetings/{meetingId}", "meetings.update", self.put, SCHEDULE_WRITE),
            route(
                "PATCH", "/v1/meetings/{meetingId}", "meetings.patch", self.patch, SCHEDULE_WRITE
            ),
            route(
                "DELETE", "/v1/meetings/{meetingId}", "meetings.delete", self.delete, SCHEDULE_WRITE
            ),
            route(
                "GET",
                "/v1/meetingPreferences/personalMeetingRoom",
                "preferences.personalMeetingRoom",
                self.personal_room,
                PREFERENCES_READ,
                refusal=OTHER_USERS,
            ),
            route(
                "GET",
                "/v1/meetingPreferences/sites",
                "preferences.sites",
                self.sites,
                PREFERENCES_READ,
                refusal=OTHER_USERS,
            ),
        ]

    # -- helpers -------------------------------------------------------------------------------

    def _host(self, call: Call, email: object) -> User:
        call.host = email if isinstance(email, str) else None
        return self._site.host(email if isinstance(email, str) else None)

    def _render(
        self, call: Call, series: Series, occurrence: Any = None, *, current: bool = False
    ) -> dict[str, Any]:
        header = call.headers.get("timezone")
        tz = times.zone(header, "The timezone header") if header else None
        return self._book.render(series, occurrence, tz=tz, current=current, api_root=self.api_root)

    # -- meetings ------------------------------------------------------------------------------

    async def create(self, call: Call) -> Reply:
        host = self._host(call, call.body.get("hostEmail"))
        series = self._book.create(call.body, host)
        return Reply(200, self._render(call, series))

    async def get(self, call: Call) -> Reply:
        host = self._host(call, call.query.get("hostEmail"))
        current = _flag(call.query, "current", default=False)
        series, occurrence = self._book.find(call.params["meetingId"], host)
        return Reply(200, self._render(call, series, occurrence, current=current))

    async def put(self, call: Call) -> Reply:
        return await self._update(call, replace=True)

    async def patch(self, call: Call) -> Reply:
        return await self._update(call, replace=False)

    async def _update(self, call: Call, *, replace: bool) -> Reply:
        host = self._host(call, call.body.get("hostEmail") or call.query.get("hostEmail"))
        series, occurrence = self._book.update(
            call.params["meetingId"], call.body, host, replace=replace
        )
        return Reply(200, self._render(call, series, occurrence))

    async def delete(self, call: Call) -> Reply:
        host = self._host(call, call.query.get("hostEmail"))
        _flag(call.query, "sendEmail", default=True)
        self._book.delete(call.params["meetingId"], host)
        return Reply(204)

    async def list_meetings(self, call: Call) -> Reply:
        query = call.query
        meeting_type = query.get("meetingType", "meetingSeries")
        if meeting_type not in _TYPES:
            raise bad_request(f"meetingType '{meeting_type}' is not valid.")
        series_id = query.get("meetingSeriesId")
        if series_id is not None and meeting_type != "scheduledMeeting":
            raise bad_request("meetingSeriesId needs meetingType=scheduledMeeting.")
        start, end = self._window(query)
        size = _max(query)
        offset = _cursor(query.get("cursor"))
        current = _flag(query, "current", default=True)
        email = query.get("hostEmail")
        items: list[dict[str, Any]] = []
        if email is not None:
            host = self._host(call, email)
            items = self._items(
                call,
                host,
                meeting_type=meeting_type,
                series_id=series_id,
                start=start,
                end=end,
                current=current,
            )
        items = [i for i in items if _matches(i, query)]
        page = items[offset : offset + size]
        reply = Reply(200, {"items": page})
        if offset + size < len(items):
            params = {k: v for k, v in query.items() if k != "cursor"}
            params["cursor"] = _encode(offset + size)
            reply.headers["Link"] = f'<{self.api_root}/meetings?{urlencode(params)}>; rel="next"'
        return reply

    def _window(self, query: Mapping[str, str]) -> tuple[datetime, datetime]:
        utc = ZoneInfo("UTC")
        start = (
            times.parse(query["from"], "from", None, naive_zone=utc)
            if "from" in query
            else self._now()
        )
        end = (
            times.parse(query["to"], "to", None, naive_zone=utc)
            if "to" in query
            else start + DEFAULT_WINDOW
        )
        if end <= start:
            raise bad_request("to must be after from.")
        return start, end

    def _items(
        self,
        call: Call,
        host: User,
        *,
        meeting_type: str,
        series_id: str | None,
        start: datetime,
        end: datetime,
        current: bool,
    ) -> list[dict[str, Any]]:
        if meeting_type == "meeting":
            return []
        found: list[tuple[datetime, dict[str, Any]]] = []
        for series in self._book.all():
            if series.host is not host or (series_id is not None and series.id != series_id):
                continue
            overlapping = [o for o in series.occurrences() if o.start < end and o.end > start]
            if meeting_type == "scheduledMeeting":
                found.extend((o.start, self._render(call, series, o)) for o in overlapping)
            elif overlapping:
                found.append((overlapping[0].start, self._render(call, series, current=current)))
        found.sort(key=lambda pair: pair[0])
        return [item for _, item in found]

    # -- preferences ---------------------------------------------------------------------------

    async def personal_room(self, call: Call) -> Reply:
        user = self._host(call, call.query.get("userEmail"))
        site_url = call.query.get("siteUrl")
        if site_url is not None and site_url != self._site.site_url:
            raise not_found(CANNOT_FIND)
        room = user.room
        if room is None:
            raise not_found(CANNOT_FIND)
        site = self._site.site_url
        return Reply(
            200,
            {
                "topic": f"{user.display_name}'s Personal Room",
                "hostPin": room.host_pin,
                "personalMeetingRoomLink": f"https://{site}/meet/{room.room_id}",
                "enabledAutoLock": False,
                "autoLockMinutes": 0,
                "enabledNotifyHost": True,
                "supportCoHost": False,
                "supportAnyoneAsCoHost": False,
                "allowFirstUserToBeCoHost": False,
                "coHosts": [],
                "sipAddress": user.email,
                "dialInIpAddress": "173.243.2.68",
                "allowAuthenticatedDevices": False,
                "telephony": self._site.telephony(
                    room.access_code,
                    f"{self.api_root}/meetings/{room.access_code}/globalCallinNumbers",
                ),
            },
        )

    async def sites(self, call: Call) -> Reply:
        self._host(call, call.query.get("userEmail"))
        return Reply(200, {"sites": [{"siteUrl": self._site.site_url, "default": True}]})


def _flag(query: Mapping[str, str], name: str, *, default: bool) -> bool:
    value = query.get(name)
    if value is None:
        return default
    if value not in {"true", "false"}:
        raise bad_request(f"{name} must be true or false.")
    return value == "true"


def _max(query: Mapping[str, str]) -> int:
    value = query.get("max", "10")
    if not value.isdigit() or not 1 <= int(value) <= 100:
        raise bad_request("max must be an integer from 1 to 100.")
    return int(value)


def _encode(offset: int) -> str:
    return base64.urlsafe_b64encode(f"sandbox-page:{offset}".encode()).decode()


def _cursor(value: str | None) -> int:
    if value is None:
        return 0
    try:
        text = base64.urlsafe_b64decode(value.encode()).decode()
    except (ValueError, UnicodeDecodeError):
        raise bad_request("cursor is not valid.") from None
    prefix, _, number = text.partition(":")
    if prefix != "sandbox-page" or not number.isdigit():
        raise bad_request("cursor is not valid.")
    return int(number)


def _matches(item: Mapping[str, Any], query: Mapping[str, str]) -> bool:
    checks = {
        "state": item.get("state"),
        "meetingNumber": item.get("meetingNumber"),
        "webLink": item.get("webLink"),
        "siteUrl": item.get("siteUrl"),
    }
    for name, value in checks.items():
        if name in query and query[name] != value:
            return False
    tag = query.get("integrationTag")
    return tag is None or tag in item.get("integrationTags", [])
