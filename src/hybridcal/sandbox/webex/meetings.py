"""Meeting series, their occurrences, and the JSON the Meetings API answers for them.

Objects (webex.md §2): a ``meetingSeries`` (a single meeting is a series of one) and its
``scheduledMeeting`` occurrences, whose ids are ``<seriesId>_<original start as
YYYYMMDDTHHMMSSZ>`` and which carry ``meetingSeriesId`` and ``isModified``. Meetings never
start in the simulator, so there are no ``meeting`` instances unless a test marks a series in
progress (:meth:`MeetingBook.set_in_progress`).

Create (``POST`` → 200, not 201): ``title``, ``start``, ``end`` required; times as in
:mod:`times`; 10 min ≤ duration ≤ 23 h 59; start not in the past (minute precision) and less
than 10 years ahead; ``recurrence`` as in :mod:`recurrence`; ``password`` checked against the
site's rules or generated; ``siteUrl`` must be the host's site; ``scheduledType=webinar`` → 403
(the sandbox site has no webinar licence, a simplification); ``personalRoomMeeting`` takes no
``integrationTags``, ``templateId`` or ``enabledAutoRecordMeeting`` (webex.md §2 table).

Update: ``PUT`` replaces the series — *stricter*: ``title``, ``password``, ``start`` and ``end``
are required (what webexpythonsdk requires; the spec marks nothing) and every field left out
goes back to its default (``timezone``: UTC), so a client that sends a partial PUT loses
settings here as it could at Webex. ``PATCH`` changes only what is sent; ``agenda``,
``recurrence``, ``trackingCodes`` may be null. Both: start/end not in the past; not while in
progress (409 "Meeting is in progress"); a changed ``start``/``end``/``recurrence``/``timezone``
of a series recomputes its occurrences and **drops its exceptions** (webex.md §2). A personal-
room meeting cannot be updated (400). An occurrence id takes ``title``, ``agenda``,
``password``, ``start``, ``end`` (*stricter*: other fields → 400) and may not move onto the
local day of another occurrence (400 ``meeting.err.two_meeting_schedule_at_same_day``).

Delete (204): a series id deletes the series, an occurrence id only that occurrence; not
while in progress (409).
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hybridcal.sandbox.webex import recurrence, times
from hybridcal.sandbox.webex.errors import (
    Problems,
    WebexError,
    bad_request,
    conflict,
    forbidden,
    not_found,
)
from hybridcal.sandbox.webex.fields import (
    OCCURRENCE_FIELDS,
    SETTING_DEFAULTS,
    SETTINGS,
    check,
)
from hybridcal.sandbox.webex.site import Site, User

MIN_DURATION = timedelta(minutes=10)
MAX_DURATION = timedelta(hours=23, minutes=59)
MAX_AHEAD = timedelta(days=3652)
DIAL_IN_IP = "173.243.2.68"
SAME_DAY = "meeting.err.two_meeting_schedule_at_same_day"


@dataclass
class Override:
    start: datetime
    end: datetime
    title: str | None = None
    agenda: str | None = None
    password: str | None = None
    deleted: bool = False


@dataclass
class Occurrence:
    key: str  # original start, YYYYMMDDTHHMMSSZ
    start: datetime
    end: datetime
    modified: bool


@dataclass
class Series:
    id: str
    number: str
    host: User
    title: str
    agenda: str
    password: str
    numeric_password: str
    host_key: str
    start: datetime
    end: datetime
    timezone: str
    rule: recurrence.Rule | None
    scheduled_type: str
    web_link: str
    created: datetime
    settings: dict[str, Any] = field(default_factory=dict)
    integration_tags: list[str] = field(default_factory=list)
    starts: list[datetime] = field(default_factory=list)
    overrides: dict[str, Override] = field(default_factory=dict)
    deleted: bool = False
    in_progress: bool = False

    def occurrences(self, *, include_deleted: bool = False) -> list[Occurrence]:
        out = []
        for original in self.starts:
            key = original.strftime("%Y%m%dT%H%M%SZ")
            override = self.overrides.get(key)
            if override is None:
                out.append(
                    Occurrence(key, original, original + (self.end - self.start), modified=False)
                )
            elif include_deleted or not override.deleted:
                out.append(Occurrence(key, override.start, override.end, modified=True))
        out.sort(key=lambda o: o.start)
        return out

    def occurrence_id(self, occurrence: Occurrence) -> str:
        return f"{self.id}_{occurrence.key}"


class MeetingBook:
    def __init__(
        self,
        site: Site,
        rng: random.Random,
        now: Callable[[], datetime],
        charge_create: Callable[[User], None],
    ) -> None:
        self._site = site
        self._rng = rng
        self._now = now
        self._charge_create = charge_create
        self._series: dict[str, Series] = {}

    # -- lookup --------------------------------------------------------------------------------

    def all(self, *, include_deleted: bool = False) -> list[Series]:
        found = [s for s in self._series.values() if include_deleted or not s.deleted]
        return sorted(found, key=lambda s: (s.created, s.id))

    def find(self, meeting_id: str, host: User) -> tuple[Series, Occurrence | None]:
        """The live series or occurrence ``meeting_id`` of ``host``; 404 otherwise."""
        series_id, _, key = meeting_id.partition("_")
        series = self._series.get(series_id)
        if series is None or series.deleted or series.host is not host:
            raise _not_found(meeting_id)
        if not key:
            return series, None
        for occurrence in series.occurrences():
            if occurrence.key == key:
                return series, occurrence
        raise _not_found(meeting_id)

    def series(self, series_id: str) -> Series | None:
        return self._series.get(series_id)

    def set_in_progress(self, series_id: str, *, in_progress: bool = True) -> None:
        found = self._series.get(series_id)
        if found is None:
            raise KeyError(f"no such meeting series: {series_id}")
        found.in_progress = in_progress

    # -- create --------------------------------------------------------------------------------

    def create(self, body: Mapping[str, Any], host: User) -> Series:
        self._charge_create(host)  # failed requests count too (webex.md §4)
        problems = Problems()
        check(body, problems)
        for name in ("title", "start", "end"):
            if name not in body:
                problems.add(f"{name} is required.")
        problems.raise_if_any()
        scheduled_type = str(body.get("scheduledType", "meeting"))
        self._check_type(scheduled_type, body)
        self._check_site(body)
        tz_name = body.get("timezone")
        tz = times.zone(tz_name) if tz_name is not None else None
        start, end = self._span(body, tz)
        rule = recurrence.parse(body["recurrence"]) if body.get("recurrence") is not None else None
        zone = tz or ZoneInfo("UTC")
        starts = recurrence.expand(rule, start, zone) if rule else [start]
        password = body.get("password")
        if password is None:
            password = self._site.generate_password()
        else:
            self._site.check_password(str(password))
        series_id = "".join(self._rng.choice("0123456789abcdef") for _ in range(32))
        number = "2" + "".join(self._rng.choice(string.digits) for _ in range(10))
        mtid = "".join(self._rng.choice("0123456789abcdef") for _ in range(32))
        site_name = self._site.site_url.split(".", 1)[0]
        settings = {k: body[k] for k in SETTINGS if k in body}
        made = Series(
            id=series_id,
            number=number,
            host=host,
            title=str(body["title"]),
            agenda=str(body.get("agenda") or ""),
            password=str(password),
            numeric_password="".join(self._rng.choice(string.digits) for _ in range(8)),
            host_key="".join(self._rng.choice(string.digits) for _ in range(6)),
            start=starts[0],
            end=starts[0] + (end - start),
            timezone=zone.key,
            rule=rule,
            scheduled_type=scheduled_type,
            web_link=f"https://{self._site.site_url}/{site_name}/j.php?MTID=m{mtid}",
            created=self._now(),
            settings=settings,
            integration_tags=list(body.get("integrationTags") or []),
            starts=starts,
        )
        self._series[series_id] = made
        return made

    def _check_type(self, scheduled_type: str, body: Mapping[str, Any]) -> None:
        if scheduled_type == "webinar":
            raise forbidden("The site has no Webex Webinars licence for this host.")
        if scheduled_type == "personalRoomMeeting":
            refused = [
                k
                for k in ("integrationTags", "templateId", "enabledAutoRecordMeeting")
                if body.get(k)
            ]
            if refused:
                raise bad_request(
                    "A personal room meeting does not support " + ", ".join(refused) + "."
                )

    def _check_site(self, body: Mapping[str, Any]) -> None:
        site_url = body.get("siteUrl")
        if site_url is not None and site_url != self._site.site_url:
            raise bad_request(f"siteUrl '{site_url}' is not a site of the host.")

    def _span(self, body: Mapping[str, Any], tz: ZoneInfo | None) -> tuple[datetime, datetime]:
        start = times.parse(body["start"], "start", tz)
        end = times.parse(body["end"], "end", tz)
        self._check_span(start, end)
        return start, end

    def _check_span(
        self, start: datetime, end: datetime, *, start_sent: bool = True, end_sent: bool = True
    ) -> None:
        now = times.minute(self._now())
        if start_sent and start < now:
            raise bad_request("start cannot be before the current date and time.")
        if start > now + MAX_AHEAD:
            raise bad_request("start must be less than 10 years ahead.")
        if end <= start:
            raise bad_request("end must be after start.")
        if end_sent and end < now:
            raise bad_request("end cannot be before the current date and time.")
        if end - start < MIN_DURATION:
            raise bad_request("The duration between start and end must be at least 10 minutes.")
        if end - start > MAX_DURATION:
            raise bad_request(
                "The duration between start and end must be at most 23 hours 59 minutes."
            )

    # -- update --------------------------------------------------------------------------------

    def update(
        self, meeting_id: str, body: Mapping[str, Any], host: User, *, replace: bool
    ) -> tuple[Series, Occurrence | None]:
        series, occurrence = self.find(meeting_id, host)
        if series.in_progress:
            raise conflict("Meeting is in progress.")
        if series.scheduled_type == "personalRoomMeeting":
            raise bad_request("A scheduled personal room meeting cannot be updated.")
        problems = Problems()
        check(body, problems, update=True)
        if replace:
            for name in ("title", "password", "start", "end"):
                if name not in body:
                    problems.add(f"{name} is required.")
        if occurrence is not None:
            for name in body:
                if name not in OCCURRENCE_FIELDS:
                    problems.add(f"{name} cannot be changed for a single occurrence.")
        problems.raise_if_any()
        self._check_site(body)
        if occurrence is not None:
            self._update_occurrence(series, occurrence, body)
            return self.find(meeting_id, host)
        self._update_series(series, body, replace=replace)
        return series, None

    def _update_series(self, series: Series, body: Mapping[str, Any], *, replace: bool) -> None:
        sent_zone = times.zone(body["timezone"]) if body.get("timezone") is not None else None
        if replace:
            zone = sent_zone or ZoneInfo("UTC")
            naive_zone = sent_zone
        else:
            zone = sent_zone or ZoneInfo(series.timezone)
            naive_zone = zone
        start = (
            times.parse(body["start"], "start", sent_zone, naive_zone=naive_zone)
            if "start" in body
            else series.start
        )
        end = (
            times.parse(body["end"], "end", sent_zone, naive_zone=naive_zone)
            if "end" in body
            else start + (series.end - series.start)
        )
        self._check_span(start, end, start_sent="start" in body, end_sent="end" in body)
        if replace or "recurrence" in body:
            rule_text = body.get("recurrence")
            rule = recurrence.parse(rule_text) if rule_text is not None else None
        else:
            rule = series.rule
        password = body.get("password")
        if password is None:
            password = series.password if not replace else self._site.generate_password()
        elif password != series.password:
            self._site.check_password(str(password))
        timing_changed = (
            start != series.start
            or end - start != series.end - series.start
            or (rule.text if rule else None) != (series.rule.text if series.rule else None)
            or zone.key != series.timezone
        )
        if timing_changed:
            series.starts = recurrence.expand(rule, start, zone) if rule else [start]
            series.overrides.clear()
            series.start = series.starts[0]
            series.end = series.start + (end - start)
        series.rule = rule
        series.timezone = zone.key
        if replace or "title" in body:
            series.title = str(body["title"])
        if replace or "agenda" in body:
            series.agenda = str(body.get("agenda") or "")
        series.password = str(password)
        if replace:
            series.settings = {k: body[k] for k in SETTINGS if k in body}
            series.integration_tags = list(body.get("integrationTags") or [])
        else:
            series.settings.update({k: body[k] for k in SETTINGS if k in body})
            if "integrationTags" in body:
                series.integration_tags = list(body["integrationTags"] or [])

    def _update_occurrence(
        self, series: Series, occurrence: Occurrence, body: Mapping[str, Any]
    ) -> None:
        sent_zone = times.zone(body["timezone"]) if body.get("timezone") is not None else None
        naive_zone = sent_zone or ZoneInfo(series.timezone)
        start = (
            times.parse(body["start"], "start", sent_zone, naive_zone=naive_zone)
            if "start" in body
            else occurrence.start
        )
        end = (
            times.parse(body["end"], "end", sent_zone, naive_zone=naive_zone)
            if "end" in body
            else start + (occurrence.end - occurrence.start)
        )
        self._check_span(start, end, start_sent="start" in body, end_sent="end" in body)
        local_day = start.astimezone(ZoneInfo(series.timezone)).date()
        for other in series.occurrences():
            if other.key != occurrence.key and (
                other.start.astimezone(ZoneInfo(series.timezone)).date() == local_day
            ):
                raise bad_request(SAME_DAY)
        if "password" in body:
            self._site.check_password(str(body["password"]))
        previous = series.overrides.get(occurrence.key)
        series.overrides[occurrence.key] = Override(
            start=start,
            end=end,
            title=body.get("title", previous.title if previous else None),
            agenda=body.get("agenda", previous.agenda if previous else None),
            password=body.get("password", previous.password if previous else None),
        )

    # -- delete --------------------------------------------------------------------------------

    def delete(self, meeting_id: str, host: User) -> Series:
        series, occurrence = self.find(meeting_id, host)
        if series.in_progress:
            raise conflict("Meeting is in progress.")
        if occurrence is None:
            series.deleted = True
            return series
        previous = series.overrides.get(occurrence.key)
        series.overrides[occurrence.key] = Override(
            occurrence.start,
            occurrence.end,
            previous.title if previous else None,
            previous.agenda if previous else None,
            previous.password if previous else None,
            deleted=True,
        )
        return series

    # -- rendering -----------------------------------------------------------------------------

    def state(self, series: Series) -> str:
        if series.in_progress:
            return "inProgress"
        live = series.occurrences()
        if not live or live[-1].end <= self._now():
            return "expired"
        return "active"

    def next_occurrence(self, series: Series) -> Occurrence | None:
        live = series.occurrences()
        now = self._now()
        for occurrence in live:
            if occurrence.end > now:
                return occurrence
        return live[-1] if live else None

    def render(
        self,
        series: Series,
        occurrence: Occurrence | None = None,
        *,
        tz: ZoneInfo | None = None,
        current: bool = False,
        api_root: str = "",
    ) -> dict[str, Any]:
        shown = occurrence
        if shown is None and current:
            shown = self.next_occurrence(series)
        start = shown.start if shown else series.start
        end = shown.end if shown else series.end
        override = series.overrides.get(occurrence.key) if occurrence else None
        site = self._site.site_url
        out: dict[str, Any] = {
            "id": series.occurrence_id(occurrence) if occurrence else series.id,
            "meetingNumber": series.number,
            "title": (override.title if override and override.title else series.title),
            "agenda": (override.agenda if override and override.agenda else series.agenda),
            "password": (override.password if override and override.password else series.password),
            "phoneAndVideoSystemPassword": series.numeric_password,
            "meetingType": "scheduledMeeting" if occurrence else "meetingSeries",
            "state": self._occurrence_state(occurrence) if occurrence else self.state(series),
            "timezone": series.timezone,
            "start": times.render(start, tz),
            "end": times.render(end, tz),
            "hostUserId": series.host.person_id,
            "hostDisplayName": series.host.display_name,
            "hostEmail": series.host.email,
            "hostKey": series.host_key,
            "siteUrl": site,
            "webLink": series.web_link,
            "sipAddress": f"{series.number}@{site}",
            "dialInIpAddress": DIAL_IN_IP,
            "scheduledType": series.scheduled_type,
            "telephony": self._site.telephony(
                series.number, f"{api_root}/meetings/{series.id}/globalCallinNumbers"
            ),
        }
        out.update(SETTING_DEFAULTS)
        out.update(series.settings)
        if occurrence is not None:
            out["meetingSeriesId"] = series.id
            out["isModified"] = occurrence.modified
        elif series.rule is not None:
            out["recurrence"] = series.rule.text
        if series.integration_tags:
            out["integrationTags"] = list(series.integration_tags)
        out.pop("invitees", None)
        return out

    def _occurrence_state(self, occurrence: Occurrence) -> str:
        return "expired" if occurrence.end <= self._now() else "scheduled"


def _not_found(meeting_id: str) -> WebexError:
    return not_found(f"Meeting '{meeting_id}' was not found.")
