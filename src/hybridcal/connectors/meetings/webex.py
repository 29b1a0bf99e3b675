"""Webex meetings through a Service App: one meeting per keyword event (Meetings REST API v1).

- Host: the organiser, by e-mail. A Service App hosts nothing itself, so every call names the
  host (``hostEmail``, which the admin scheduling scopes allow); our meeting id carries it
  (``<series id>:<host>``, see :mod:`webex_wire`) because a delete knows only the id.
- The hot path is one call: the create, with ``sendEmail`` false (the calendar invitation
  carries the details) and Webex's own password (the site's rules are Webex's to apply).
- Crash safety: the idempotency key goes into ``integrationTags`` and the agenda's first line;
  ``find`` (only after a crash or a lost answer) lists the host's series by that tag.
- Series: one recurring meeting, from the event's RRULE (:mod:`webex_schedule`). Occurrences
  are ``scheduledMeeting`` objects of the series, looked up by their original start; EXDATEs
  are deleted after the create, like Zoom's.
- Refusals that retrying soon cannot fix (no host licence on the site, a setting the site
  refuses, the Service App's authorisation gone) raise :class:`MeetingRefusedError` with the
  time to try again; 429 and 423 are retried after their Retry-After, 5xx with backoff.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import aiohttp
import structlog
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt

from hybridcal.connectors.errors import (
    AuthError,
    ConnectorError,
    NotFoundError,
    ThrottledError,
    TransientError,
)
from hybridcal.connectors.meetings import webex_wire as wire
from hybridcal.connectors.meetings.base import MeetingRefusedError, MeetingRequest
from hybridcal.connectors.meetings.webex_auth import WebexToken, WebexTokens
from hybridcal.connectors.meetings.webex_schedule import (
    MAX_LENGTH,
    MIN_LENGTH,
    EventOverError,
    NoWebexFormError,
    WebexSchedule,
    webex_schedule,
)
from hybridcal.connectors.retry import wait_for_retry
from hybridcal.core.model import JoinInfo, MeetingProblem, ProblemKind

log = structlog.get_logger(__name__)

PAGE_SIZE = 100  # the most Webex lists per page
FIND_HORIZON = timedelta(days=5 * 366 + 1)  # series reach at most five years ahead
OCCURRENCE_SLACK = timedelta(days=8)  # an occurrence stays within its own slot of the series


@dataclass(frozen=True, slots=True)
class WebexOptions:
    """What the admin decides about every meeting (the ``[webex]`` section)."""

    site_url: str | None = None  # else each host's preferred site


@dataclass(frozen=True, slots=True)
class _Answer:
    body: dict[str, Any]
    next_url: str | None = None


class WebexMeetings:
    name = "webex"

    def __init__(
        self,
        *,
        tokens: WebexTokens,
        session: aiohttp.ClientSession,
        api_root: str,
        options: WebexOptions | None = None,
        timeout: float = 30,
        max_retries: int = 3,
        concurrency: int = 8,
        proxy: str | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        on_call: Callable[[str], None] | None = None,
    ) -> None:
        self._tokens = tokens
        self._session = session
        self._root = api_root.rstrip("/")
        self._options = options or WebexOptions()
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._attempts = max_retries + 1
        self._in_flight = asyncio.Semaphore(concurrency)
        self._proxy = proxy
        self._now = now
        self._on_call = on_call or (lambda _name: None)

    # -- MeetingSystem --------------------------------------------------------------------------

    async def create(self, request: MeetingRequest) -> JoinInfo:
        host = _host(request)
        schedule = self._schedule(request)
        body: dict[str, Any] = {
            "title": wire.title(request),
            "agenda": wire.agenda(request),
            **schedule.body(),
            "hostEmail": host,
            "sendEmail": False,
            "integrationTags": [wire.tag(request.idempotency_key)],
        }
        if self._options.site_url:
            body["siteUrl"] = self._options.site_url
        meeting = await self._meeting_call(
            "POST",
            "/meetings",
            json_body=body,
            name="meetings.create",
            host=host,
            # a create whose answer was lost may have made the meeting: only an explicit "slow
            # down" is retried here; the executor looks the meeting up before creating again
            retry_on=ThrottledError,
        )
        join = wire.join_info(meeting.body, host)
        try:
            await self._drop_excluded(join.meeting_id, schedule.excluded)
        except MeetingRefusedError as exc:
            raise MeetingRefusedError(exc.problem, exc.retry_at, made=join) from None
        return join

    async def find(self, request: MeetingRequest) -> JoinInfo | None:
        host = _host(request)
        now = self._now()
        start = min(now, request.start or now) - timedelta(days=1)
        params = {
            "hostEmail": host,
            "integrationTag": wire.tag(request.idempotency_key),
            "meetingType": "meetingSeries",
            "from": _utc_text(start),
            "to": _utc_text(max(now, request.end or now) + FIND_HORIZON),
            "max": str(PAGE_SIZE),
        }
        url: str | None = self._root + "/meetings"
        query: dict[str, str] | None = params
        while url is not None:
            try:
                page = await self._call("GET", url, params=query, name="meetings.list", host=host)
            except MeetingRefusedError:
                return None  # the host cannot host here: nothing was made for them
            for item in page.body.get("items") or []:
                if isinstance(item, dict) and wire.carries_key(item, request.idempotency_key):
                    found = await self._call(
                        "GET",
                        self._root + f"/meetings/{quote(str(item.get('id')), safe='')}",
                        params={"hostEmail": host},
                        name="meetings.get",
                        host=host,
                    )
                    return wire.join_info(found.body, host)
            url, query = page.next_url, None  # the next link carries its own query
        return None

    async def update(self, join: JoinInfo, request: MeetingRequest) -> JoinInfo:
        series_id, host = wire.split_ref(join.meeting_id)
        host = host or _host(request)
        try:
            schedule = self._schedule(request, updating=True)
        except EventOverError:
            # an edit of an event that is over: Webex changes nothing in the past, and the
            # meeting as it was is what happened
            log.info("webex.update_of_a_past_event", meeting=series_id)
            return join
        body: dict[str, Any] = {
            "title": wire.title(request),
            **schedule.body(for_update=True),
            "hostEmail": host,
            "sendEmail": False,
        }
        await self._meeting_call(
            "PATCH",
            f"/meetings/{quote(series_id, safe='')}",
            json_body=body,
            name="meetings.update",
            host=host,
        )
        # a changed series loses its exceptions at Webex: excluded occurrences go again
        await self._drop_excluded(join.meeting_id, schedule.excluded)
        return join  # a PATCH keeps the link, number and passwords: nothing to read back

    async def delete(self, meeting_id: str) -> None:
        series_id, host = wire.split_ref(meeting_id)
        try:
            await self._meeting_call(
                "DELETE",
                f"/meetings/{quote(series_id, safe='')}",
                params=_host_params(host, sendEmail="false"),
                name="meetings.delete",
                host=host,
            )
        except NotFoundError:
            log.info("webex.meeting_already_gone", meeting=series_id)

    async def update_occurrence(
        self, meeting_id: str, original_start: datetime, start: datetime, end: datetime
    ) -> None:
        series_id, host = wire.split_ref(meeting_id)
        occurrence = await self._occurrence(series_id, host, original_start)
        if occurrence is None:
            log.info("webex.occurrence_not_found", meeting=series_id)
            return
        length = min(max(end - start, MIN_LENGTH), MAX_LENGTH)
        first = start.astimezone(UTC).replace(second=0, microsecond=0)
        body: dict[str, Any] = {
            "start": _utc_text(first),
            "end": _utc_text(first + length),
            "sendEmail": False,
        }
        if host:
            body["hostEmail"] = host
        try:
            await self._meeting_call(
                "PATCH",
                f"/meetings/{quote(occurrence, safe='')}",
                json_body=body,
                name="meetings.update_occurrence",
                host=host,
            )
        except NotFoundError as exc:
            log.info("webex.occurrence_already_gone", meeting=series_id, error=str(exc))

    async def delete_occurrence(self, meeting_id: str, original_start: datetime) -> None:
        series_id, host = wire.split_ref(meeting_id)
        occurrence = await self._occurrence(series_id, host, original_start)
        if occurrence is None:
            log.info("webex.occurrence_already_gone", meeting=series_id)
            return
        try:
            await self._meeting_call(
                "DELETE",
                f"/meetings/{quote(occurrence, safe='')}",
                params=_host_params(host, sendEmail="false"),
                name="meetings.delete_occurrence",
                host=host,
            )
        except NotFoundError as exc:
            log.info("webex.occurrence_already_gone", meeting=series_id, error=str(exc))

    async def personal_room(self, host: str) -> JoinInfo:
        """The host's Personal Room, read with the admin preferences scope; nothing is made."""
        host = host.lower()
        params = {"userEmail": host}
        if self._options.site_url:
            params["siteUrl"] = self._options.site_url
        try:
            answer = await self._call(
                "GET",
                self._root + "/meetingPreferences/personalMeetingRoom",
                params=params,
                name="preferences.personal_room",
                host=host,
            )
        except AuthError as exc:
            raise wire.refused(exc, self._now()) from None
        return wire.personal_room_info(answer.body, host)

    async def close(self) -> None:
        """The HTTP session belongs to the daemon."""

    # -- what ``hybridcal webex check`` uses ----------------------------------------------------

    async def token(self) -> WebexToken:
        return await self._tokens.token()

    def now(self) -> datetime:
        return self._now()

    async def sites(self, email: str) -> dict[str, Any]:
        """The user's Webex sites (``meeting:admin_preferences_read``)."""
        answer = await self._call(
            "GET",
            self._root + "/meetingPreferences/sites",
            params={"userEmail": email},
            name="preferences.sites",
            host=email,
        )
        return answer.body

    async def list_for(self, email: str) -> list[dict[str, Any]]:
        """The first page of the host's series this week (``meeting:admin_schedule_read``)."""
        answer = await self._call(
            "GET",
            self._root + "/meetings",
            params={"hostEmail": email, "max": "1"},
            name="meetings.list",
            host=email,
        )
        items = answer.body.get("items")
        return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []

    # -- internals ------------------------------------------------------------------------------

    def _schedule(self, request: MeetingRequest, *, updating: bool = False) -> WebexSchedule:
        """The request's schedule as Webex takes it. What Webex cannot schedule is a refusal
        (an update of an event that is over raises EventOverError: nothing to change)."""
        if request.start is None or request.end is None:
            raise ConnectorError("webex: the event has no start or end")
        try:
            schedule = webex_schedule(
                request.start,
                request.end,
                timezone=request.timezone,
                now=self._now(),
                all_day=request.all_day,
                recurrence=request.recurrence,
            )
        except EventOverError:
            if updating:
                raise
            detail = "Webex cannot schedule this event: it is over"
            problem = MeetingProblem(ProblemKind.REFUSED, detail)
            raise MeetingRefusedError(problem, self._now() + wire.RETRY_REFUSED) from None
        except NoWebexFormError as exc:
            detail = f"Webex cannot schedule this event: {exc}"
            problem = MeetingProblem(ProblemKind.REFUSED, detail)
            raise MeetingRefusedError(problem, self._now() + wire.RETRY_REFUSED) from None
        if schedule.cut_after is not None:
            log.info("webex.series_cut", occurrences=schedule.cut_after)
        return schedule

    async def _occurrence(self, series_id: str, host: str | None, original: datetime) -> str | None:
        """The id of the series' occurrence that originally started at ``original``: Webex
        names an occurrence ``<series>_<original start, UTC>``; else the one starting then."""
        original = original.astimezone(UTC)
        suffix = "_" + original.strftime("%Y%m%dT%H%M%SZ")
        params = _host_params(
            host,
            meetingSeriesId=series_id,
            meetingType="scheduledMeeting",
            **{"from": _utc_text(original - OCCURRENCE_SLACK)},
            to=_utc_text(original + OCCURRENCE_SLACK),
            max=str(PAGE_SIZE),
        )
        try:
            page = await self._meeting_call(
                "GET", "/meetings", params=params, name="meetings.list", host=host
            )
        except NotFoundError:
            return None  # the series is gone
        by_start: str | None = None
        for item in page.body.get("items") or []:
            if not isinstance(item, dict) or not isinstance(item.get("id"), str):
                continue
            if item["id"].endswith(suffix):
                return str(item["id"])
            if by_start is None and _instant(item.get("start")) == original:
                by_start = str(item["id"])
        return by_start

    async def _drop_excluded(self, meeting_id: str, excluded: Sequence[datetime]) -> None:
        for start in excluded:
            await self.delete_occurrence(meeting_id, start)

    async def _meeting_call(
        self,
        method: str,
        path: str,
        *,
        name: str,
        host: str | None,
        params: dict[str, str] | None = None,
        json_body: dict[str, Any] | None = None,
        retry_on: type[TransientError] = TransientError,
    ) -> _Answer:
        """A call on a meeting: what cannot be fixed by retrying soon is a refusal with its
        time to try again (a setting the site refuses, the authorisation gone)."""
        try:
            return await self._call(
                method,
                self._root + path,
                name=name,
                params=params,
                json_body=json_body,
                host=host,
                retry_on=retry_on,
            )
        except AuthError as exc:
            raise wire.refused(exc, self._now()) from None
        except (NotFoundError, TransientError, MeetingRefusedError):
            raise
        except ConnectorError as exc:
            if method in {"POST", "PATCH"}:
                raise wire.refused(exc, self._now()) from None
            raise

    async def _call(
        self,
        method: str,
        url: str,
        *,
        name: str,
        params: dict[str, str] | None = None,
        json_body: dict[str, Any] | None = None,
        host: str | None = None,
        retry_on: type[TransientError] = TransientError,
    ) -> _Answer:
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self._attempts),
            wait=wait_for_retry,
            retry=retry_if_exception_type(retry_on),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await self._call_once(
                    method, url, name=name, params=params, json_body=json_body, host=host
                )
        raise AssertionError("unreachable")  # pragma: no cover

    async def _call_once(
        self,
        method: str,
        url: str,
        *,
        name: str,
        params: dict[str, str] | None,
        json_body: dict[str, Any] | None,
        host: str | None,
    ) -> _Answer:
        for auth_try in range(2):
            token = await self._tokens.token()
            headers = {"Authorization": f"Bearer {token.value}", "Accept": "application/json"}
            self._on_call(name)
            try:
                async with (
                    self._in_flight,
                    self._session.request(
                        method,
                        url,
                        params=params,
                        json=json_body,
                        headers=headers,
                        timeout=self._timeout,
                        proxy=self._proxy,
                    ) as resp,
                ):
                    answer = wire.WebexAnswer(
                        resp.status,
                        wire.parse_body(await resp.text()),
                        resp.headers.get("Retry-After"),
                    )
                    next_link = resp.links.get("next")
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise TransientError(f"webex {name}: {type(exc).__name__}") from None
            if answer.status == 401 and auth_try == 0:
                self._tokens.forget(token)  # expired or revoked early: the store, or a refresh
                continue
            if 200 <= answer.status < 300:
                next_url = str(next_link.get("url")) if next_link else None
                return _Answer(answer.body, next_url or None)
            raise wire.error(f"webex {name}", answer, host=host, now=self._now())
        raise AuthError(f"webex {name}: access token refused twice")  # pragma: no cover


def _host(request: MeetingRequest) -> str:
    if not request.organizer:
        raise ConnectorError("webex: the event has no organiser to host the meeting")
    return request.organizer.lower()


def _host_params(host: str | None, **params: str) -> dict[str, str]:
    return {**({"hostEmail": host} if host else {}), **params}


def _utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _instant(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
