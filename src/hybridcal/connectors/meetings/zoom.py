"""Zoom through a Server-to-Server OAuth app: one meeting per keyword event (REST API v2).

- Host: the organiser's Zoom user, by e-mail. Without one, the configured fallback host (the
  organiser cannot be an alternative host then). With ``scheduler`` set, meetings are created
  by that user for the organiser (``schedule_for``), which needs the organiser's scheduling
  privilege.
- Passcodes follow the account's passcode rules (``meeting_security``, read once and cached),
  and are never weaker than :data:`DEFAULT_POLICY`. When Zoom refuses one (the rules were
  tightened since we read them), the rules are read again at once, past the cache — the
  host's own when the account's still allow the refused passcode — and the create is made
  again, once, with a passcode that follows them; only a second refusal is one for later.
- Recurring series become one recurring Zoom meeting (:mod:`zoom_schedule`): fixed-time where
  Zoom can express the rule, otherwise one link valid for every occurrence. Occurrences are
  addressed by their original start (Zoom's ``occurrence_id`` is its epoch milliseconds).
- Only documented operations: an update sends the meeting's ``type`` with the fields that type
  reads, never a ``null`` (Zoom documents none). A series that became a single meeting is
  ``"type": 2`` with its ``start_time`` and ``duration`` (``recurrence`` is only read for type
  8), in place: the meeting keeps its ID, link and passcode.
- Calls are paced below the account's per-second limit (``requests_per_second``); a 429 that
  still comes is retried after its Retry-After.
- The hot path is exactly one call: the create. The idempotency key goes into the agenda;
  ``find`` (only after a crash or a lost answer) lists the host's meetings to find it again.
- Refusals that retrying soon cannot fix (no Zoom user, no scheduling privilege, the per-user
  daily limit) raise :class:`MeetingRefusedError` with the time to try again.
- The per-user daily limit counts creates, updates *and deletes*, occurrences included (Zoom:
  "A single user can only make 100 create, update, or delete meeting requests per day (UTC)").
  Once Zoom answered it for a host or a meeting, further calls for them are refused here until
  the reset, without asking Zoom again; a create whose excluded occurrences could not all be
  deleted says so with :attr:`MeetingRefusedError.made`, so that the executor keeps the meeting
  and finishes it with an update after the reset.
- ``personal_room`` reads the organiser's Personal Meeting ID (``@zoom:pmr``): two reads, no
  meeting, no daily-limit charge.
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
from aiolimiter import AsyncLimiter
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt

from hybridcal.connectors.errors import (
    AuthError,
    ConnectorError,
    NotFoundError,
    ThrottledError,
    TransientError,
)
from hybridcal.connectors.meetings import zoom_wire as wire
from hybridcal.connectors.meetings.base import MeetingRefusedError, MeetingRequest
from hybridcal.connectors.meetings.zoom_auth import ZoomTokens
from hybridcal.connectors.meetings.zoom_passcode import (
    DEFAULT_POLICY,
    PasscodePolicy,
    generate_passcode,
    violations,
)
from hybridcal.connectors.meetings.zoom_schedule import ZoomSchedule, occurrence_id, zoom_schedule
from hybridcal.connectors.retry import wait_for_retry
from hybridcal.core.model import JoinInfo, MeetingProblem, ProblemKind

log = structlog.get_logger(__name__)

POLICY_TTL = timedelta(hours=1)
LIST_PAGE_SIZE = 300


@dataclass(frozen=True, slots=True)
class ZoomOptions:
    """What the admin decides about every meeting (the ``[zoom]`` section)."""

    topic_template: str = "{title}"
    fallback_host: str | None = None
    alternative_hosts: tuple[str, ...] = ()
    scheduler: str | None = None
    join_before_host: bool | None = None
    waiting_room: bool | None = None


class ZoomMeetings:
    name = "zoom"

    def __init__(
        self,
        *,
        tokens: ZoomTokens,
        session: aiohttp.ClientSession,
        api_root: str,
        options: ZoomOptions | None = None,
        timeout: float = 30,
        max_retries: int = 3,
        concurrency: int = 8,
        requests_per_second: float = 10,
        proxy: str | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        on_call: Callable[[str], None] | None = None,
    ) -> None:
        self._tokens = tokens
        self._session = session
        self._root = api_root.rstrip("/")
        self._options = options or ZoomOptions()
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._attempts = max_retries + 1
        self._in_flight = asyncio.Semaphore(concurrency)
        # stay below the account's per-second limit instead of running into its 429s
        self._pace = AsyncLimiter(requests_per_second, 1)
        self._proxy = proxy
        self._now = now
        self._on_call = on_call or (lambda _name: None)
        # passcode rules: the account's (key ""), or per host without the account scope
        self._policies: dict[str, tuple[datetime, PasscodePolicy]] = {}
        self._account_rules_readable = True
        self._policy_lock = asyncio.Lock()
        # "host:<email>" / "meeting:<id>" -> until when Zoom's daily limit refuses them
        self._limited: dict[str, tuple[datetime, MeetingRefusedError]] = {}

    # -- MeetingSystem --------------------------------------------------------------------------

    async def create(self, request: MeetingRequest) -> JoinInfo:
        schedule = _schedule(request)
        body = {
            **schedule.body(),
            "topic": wire.topic(self._options.topic_template, request),
            "agenda": wire.agenda(request),
            "password": self._passcode(await self._passcode_policy(request.organizer)),
            "settings": self._settings(request.organizer),
        }
        meeting = await self._create_for_host(request.organizer, body)
        join = wire.join_info(meeting)
        try:
            await self._drop_excluded(str(meeting["id"]), schedule.excluded)
        except MeetingRefusedError as exc:
            # the meeting exists: its link is good now, the exclusions wait for the reset
            raise MeetingRefusedError(exc.problem, exc.retry_at, made=join) from None
        return join

    async def find(self, request: MeetingRequest) -> JoinInfo | None:
        for host in self._hosts(request.organizer):
            try:
                meeting_id = await self._find_on(host, request.idempotency_key)
            except MeetingRefusedError:
                continue  # that host does not exist in Zoom: nothing was made there
            if meeting_id is not None:
                meeting = await self._call("GET", f"/meetings/{meeting_id}", name="meetings.get")
                return wire.join_info(meeting)
        return None

    async def update(self, join: JoinInfo, request: MeetingRequest) -> JoinInfo:
        schedule = _schedule(request)
        # ``type`` says what the meeting is now; Zoom reads ``recurrence`` only for type 8, so a
        # series that became one meeting (2) or lost its fixed time (3) needs nothing else
        body = {**schedule.body(), "topic": wire.topic(self._options.topic_template, request)}
        await self._call(
            "PATCH",
            f"/meetings/{join.meeting_id}",
            json_body=body,
            name="meetings.update",
            host=request.organizer,
            limit_key=_meeting_key(join.meeting_id),
        )
        await self._drop_excluded(join.meeting_id, schedule.excluded)
        return join  # a PATCH keeps the join URL, ID and passcode: nothing to read back

    async def delete(self, meeting_id: str) -> None:
        try:
            await self._call(
                "DELETE",
                f"/meetings/{meeting_id}",
                params={"schedule_for_reminder": "false"},
                name="meetings.delete",
                limit_key=_meeting_key(meeting_id),
            )
        except NotFoundError:
            log.info("zoom.meeting_already_gone", meeting=meeting_id)

    async def update_occurrence(
        self, meeting_id: str, original_start: datetime, start: datetime, end: datetime
    ) -> None:
        minutes = max(1, int((end - start).total_seconds() + 59) // 60)
        body = {"start_time": _utc_text(start), "duration": minutes}
        try:
            await self._call(
                "PATCH",
                f"/meetings/{meeting_id}",
                params={"occurrence_id": occurrence_id(original_start)},
                json_body=body,
                name="meetings.update_occurrence",
                limit_key=_meeting_key(meeting_id),
            )
        except NotFoundError as exc:
            # a series with one link for every occurrence has no occurrence to move
            log.info("zoom.occurrence_not_separate", meeting=meeting_id, error=str(exc))

    async def delete_occurrence(self, meeting_id: str, original_start: datetime) -> None:
        try:
            await self._call(
                "DELETE",
                f"/meetings/{meeting_id}",
                params={
                    "occurrence_id": occurrence_id(original_start),
                    "schedule_for_reminder": "false",
                },
                name="meetings.delete_occurrence",
                limit_key=_meeting_key(meeting_id),
            )
        except NotFoundError as exc:
            log.info("zoom.occurrence_already_gone", meeting=meeting_id, error=str(exc))

    async def personal_room(self, host: str) -> JoinInfo:
        """The host's Personal Meeting ID: two reads (the user, for ``pmi`` and
        ``personal_meeting_url``; their settings, for the PMI's passcode), nothing made. Never
        the fallback host's: another person's personal room is not the organiser's."""
        if not host:
            raise self._no_personal_room(
                ProblemKind.HOST_NOT_FOUND, "the event has no organiser to take the PMI of"
            )
        user = await self.user(host)  # no such user: Zoom's 1001, refused until later
        if user.get("status", "active") != "active":
            raise self._no_personal_room(
                ProblemKind.HOST_NOT_FOUND,
                f"{host} has no active Zoom user in this Zoom account (status "
                f"{user.get('status')!r}); activate the user in Zoom",
            )
        settings = await self._call(
            "GET", f"/users/{quote(host, safe='')}/settings", name="settings.get", host=host
        )
        if not wire.personal_meeting_enabled(settings):
            raise self._no_personal_room(
                ProblemKind.REFUSED,
                f"the Personal Meeting ID is turned off for {host} in Zoom (Settings → Meeting "
                "→ Personal Meeting ID, or the account's setting that locks it)",
            )
        return wire.personal_room(user, settings)

    async def close(self) -> None:
        """The HTTP session belongs to the daemon."""

    # -- what ``hybridcal zoom check`` shows -----------------------------------------------------

    async def granted_scopes(self) -> frozenset[str]:
        return (await self._tokens.token()).scopes

    async def user(self, email: str) -> dict[str, Any]:
        return await self._call(
            "GET", f"/users/{quote(email, safe='')}", name="users.get", host=email
        )

    async def passcode_policy(self) -> PasscodePolicy:
        return await self._passcode_policy(None)

    # -- internals ------------------------------------------------------------------------------

    def _no_personal_room(self, kind: ProblemKind, detail: str) -> MeetingRefusedError:
        problem = MeetingProblem(kind, f"zoom personal room: {detail}")
        return MeetingRefusedError(problem, self._now() + wire.RETRY_HOST_PROBLEM)

    def _hosts(self, organizer: str | None) -> list[str]:
        """Whose meetings a meeting made for ``organizer`` is among."""
        candidates = [organizer, self._options.fallback_host]
        return list(dict.fromkeys(h.lower() for h in candidates if h))

    def _settings(self, organizer: str | None) -> dict[str, Any]:
        options = self._options
        settings: dict[str, Any] = {}
        alternatives = [h for h in options.alternative_hosts if h != (organizer or "").lower()]
        if alternatives:
            settings["alternative_hosts"] = ";".join(alternatives)
        if options.join_before_host is not None:
            settings["join_before_host"] = options.join_before_host
        if options.waiting_room is not None:
            settings["waiting_room"] = options.waiting_room
        return settings

    async def _create_for_host(self, organizer: str | None, body: dict[str, Any]) -> dict[str, Any]:
        """The organiser's own Zoom user first; the fallback host when Zoom has no such user
        (or the scheduler may not schedule for them)."""
        fallback = self._options.fallback_host
        hosts = [h for h in (organizer, fallback) if h]
        if not hosts:
            raise ConnectorError("zoom: the event has no organiser and zoom.fallback_host is unset")
        hosts = list(dict.fromkeys(h.lower() for h in hosts))
        for index, host in enumerate(hosts):
            try:
                return await self._create_as(host, body)
            except MeetingRefusedError as exc:
                if index == len(hosts) - 1 or exc.problem.kind not in _FALLBACK_KINDS:
                    raise
                log.info("zoom.fallback_host", reason=exc.problem.kind.value)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _create_as(self, host: str, body: dict[str, Any]) -> dict[str, Any]:
        """Create as ``host``. A passcode Zoom refuses (its rules were tightened since we read
        them) made no meeting: the rules are read again past the cache and the create is made
        again at once, once; a second refusal waits like any other refusal."""
        try:
            return await self._post_meeting(host, body)
        except wire.PasscodeRefusedError as exc:
            refused_code = str(body.get("password") or "")
            log.info("zoom.passcode_refused", host=host, error=str(exc))
        policy = await self._policy_after_refusal(host, refused_code)
        try:
            return await self._post_meeting(host, {**body, "password": self._passcode(policy)})
        except wire.PasscodeRefusedError as exc:
            detail = (
                f"Zoom refused the passcode for {host} even after hybridcal read the passcode "
                f"rules again ({exc}); check the passcode requirements in Zoom's Security "
                "settings (account, group and user level)"
            )
            problem = MeetingProblem(ProblemKind.REFUSED, detail)
            raise MeetingRefusedError(problem, self._now() + wire.RETRY_REFUSED) from None

    async def _post_meeting(self, host: str, body: dict[str, Any]) -> dict[str, Any]:
        scheduler = self._options.scheduler
        if scheduler and scheduler.lower() != host:
            body = {**body, "schedule_for": host}  # made by the scheduler, hosted by ``host``
        return await self._call(
            "POST",
            f"/users/{quote(scheduler or host, safe='')}/meetings",
            json_body=body,
            name="meetings.create",
            host=host,
            # a create whose answer was lost may have made the meeting: only an explicit
            # "slow down" is retried here; anything else goes back to the executor, which
            # looks the meeting up by its key before it creates again
            retry_on=ThrottledError,
            limit_key=f"host:{host.lower()}",
        )

    def _passcode(self, policy: PasscodePolicy) -> str:
        try:
            return generate_passcode(policy)
        except ValueError as exc:  # the account's rules contradict each other
            problem = MeetingProblem(ProblemKind.REFUSED, f"zoom: {exc}")
            raise MeetingRefusedError(problem, self._now() + wire.RETRY_REFUSED) from None

    async def _find_on(self, host: str, key: str) -> int | None:
        token = ""
        while True:
            params = {"type": "scheduled", "page_size": str(LIST_PAGE_SIZE)}
            if token:
                params["next_page_token"] = token
            page = await self._call(
                "GET",
                f"/users/{quote(host, safe='')}/meetings",
                params=params,
                name="meetings.list",
                host=host,
            )
            for item in page.get("meetings") or []:
                if isinstance(item, dict) and wire.key_in_agenda(item.get("agenda")) == key:
                    meeting_id = item.get("id")
                    return meeting_id if isinstance(meeting_id, int) else None
            token = str(page.get("next_page_token") or "")
            if not token:
                return None

    async def _drop_excluded(self, meeting_id: str, excluded: Sequence[datetime]) -> None:
        """Occurrences the series excludes (EXDATE) are deleted in Zoom after the create."""
        for start in excluded:
            await self.delete_occurrence(meeting_id, start)

    async def _passcode_policy(self, host: str | None) -> PasscodePolicy:
        """The rules the host's passcode must follow, cached for an hour: the account's when
        the app may read them (one read for everyone), else the host's own settings (which
        inherit the account's), else the fallback host's, else our default. A host known to
        have stricter rules of its own (see ``_policy_after_refusal``) gets those."""
        cached = self._cached_policy(host)
        if cached is not None:
            return cached
        async with self._policy_lock:
            cached = self._cached_policy(host)
            if cached is None:
                cached = await self._reread_policy(host)
            return cached

    def _cached_policy(self, host: str | None) -> PasscodePolicy | None:
        keys = [(host or "").lower()]
        if self._account_rules_readable:
            keys.append("")
        for key in keys:
            cached = self._policies.get(key)
            if cached is not None and self._now() < cached[0]:
                return cached[1]
        return None

    async def _reread_policy(self, host: str | None) -> PasscodePolicy:
        """Read the rules (see ``_passcode_policy``) whatever the cache holds, and cache them."""
        policy = await self._read_policy(host)
        key = "" if self._account_rules_readable else (host or "").lower()
        self._policies[key] = (self._now() + POLICY_TTL, policy)
        return policy

    async def _policy_after_refusal(self, host: str, refused_code: str) -> PasscodePolicy:
        """Zoom refused ``refused_code`` for ``host``: the rules as they are now. The account's
        are read again first (they changed for everyone); if they still allow the refused
        passcode, the host has stricter rules of its own (a user or group setting), which are
        read and remembered for that host."""
        async with self._policy_lock:
            self._policies.pop(host.lower(), None)
            policy = await self._reread_policy(host)
            if not self._account_rules_readable or violations(refused_code, policy):
                return policy
            own = await self._rules_at(f"/users/{quote(host, safe='')}/settings")
            if own is None:
                return policy
            self._policies[host.lower()] = (self._now() + POLICY_TTL, own)
            return own

    async def _read_policy(self, host: str | None) -> PasscodePolicy:
        sources = ["/accounts/me/settings"] if self._account_rules_readable else []
        sources += [f"/users/{quote(h, safe='')}/settings" for h in self._hosts(host)]
        for path in sources:
            policy = await self._rules_at(path)
            if policy is not None:
                return policy
        return DEFAULT_POLICY

    async def _rules_at(self, path: str) -> PasscodePolicy | None:
        """The passcode rules of the account or user settings at ``path``; None when they
        cannot be read (no scope, no such user, an answer we cannot understand)."""
        try:
            settings = await self._call(
                "GET", path, params={"option": "meeting_security"}, name="settings.get"
            )
            return PasscodePolicy.from_zoom(settings).strengthened(DEFAULT_POLICY)
        except TransientError:
            raise
        except (ConnectorError, MeetingRefusedError, ValueError) as exc:
            if path.startswith("/accounts/"):
                self._account_rules_readable = False  # no account scope: ask per host
            log.info("zoom.passcode_rules_unread", source=path.split("/")[1], error=str(exc))
            return None

    async def _call(
        self,
        method: str,
        path: str,
        *,
        name: str,
        params: dict[str, str] | None = None,
        json_body: dict[str, Any] | None = None,
        host: str | None = None,
        retry_on: type[TransientError] = TransientError,
        limit_key: str | None = None,
    ) -> dict[str, Any]:
        """One API call, retried on ``retry_on``. ``limit_key`` marks a call Zoom counts
        against the daily limit and what the limit is known for ("host:..." or "meeting:...")."""
        if limit_key is not None:
            self._check_daily_limit(limit_key)
        try:
            return await self._call_retrying(
                method,
                path,
                name=name,
                params=params,
                json_body=json_body,
                host=host,
                retry_on=retry_on,
            )
        except MeetingRefusedError as exc:
            if limit_key is not None and exc.problem.kind is ProblemKind.DAILY_LIMIT:
                self._note_daily_limit(limit_key, exc)
            raise

    def _check_daily_limit(self, key: str) -> None:
        """Zoom already said the daily limit is reached for ``key``: refuse without asking."""
        known = self._limited.get(key)
        if known is None:
            return
        until, refusal = known
        if self._now() >= until:
            del self._limited[key]
            return
        raise MeetingRefusedError(refusal.problem, until)

    def _note_daily_limit(self, key: str, refusal: MeetingRefusedError) -> None:
        now = self._now()
        for stale in [k for k, (until, _) in self._limited.items() if until <= now]:
            del self._limited[stale]
        self._limited[key] = (refusal.retry_at, refusal)

    async def _call_retrying(
        self,
        method: str,
        path: str,
        *,
        name: str,
        params: dict[str, str] | None,
        json_body: dict[str, Any] | None,
        host: str | None,
        retry_on: type[TransientError],
    ) -> dict[str, Any]:
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self._attempts),
            wait=wait_for_retry,
            retry=retry_if_exception_type(retry_on),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await self._call_once(
                    method, path, name=name, params=params, json_body=json_body, host=host
                )
        raise AssertionError("unreachable")  # pragma: no cover

    async def _call_once(
        self,
        method: str,
        path: str,
        *,
        name: str,
        params: dict[str, str] | None,
        json_body: dict[str, Any] | None,
        host: str | None,
    ) -> dict[str, Any]:
        for auth_try in range(2):
            token = await self._tokens.token()
            headers = {"Authorization": f"Bearer {token.value}", "Accept": "application/json"}
            self._on_call(name)
            try:
                async with (
                    self._pace,
                    self._in_flight,
                    self._session.request(
                        method,
                        self._root + path,
                        params=params,
                        json=json_body,
                        headers=headers,
                        timeout=self._timeout,
                        proxy=self._proxy,
                    ) as resp,
                ):
                    answer = wire.ZoomAnswer(
                        resp.status,
                        wire.parse_body(await resp.text()),
                        resp.headers.get("Retry-After"),
                    )
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise TransientError(f"zoom {name}: {type(exc).__name__}") from None
            if answer.status == 401 and answer.code == 124 and auth_try == 0:
                self._tokens.forget(token)  # expired or revoked early: one fresh token
                continue
            if 200 <= answer.status < 300:
                return answer.body
            err = wire.error(f"zoom {name}", answer, host=host, now=self._now())
            if type(err) is ConnectorError and name == "meetings.create":
                err = wire.refused(err, self._now())
            raise err
        raise AuthError(f"zoom {name}: access token refused twice")  # pragma: no cover


_FALLBACK_KINDS = frozenset({ProblemKind.HOST_NOT_FOUND, ProblemKind.NO_PRIVILEGE})


def _schedule(request: MeetingRequest) -> ZoomSchedule:
    if request.start is None or request.end is None:
        raise ConnectorError("zoom: the event has no start or end")
    return zoom_schedule(
        request.start,
        request.end,
        timezone=request.timezone,
        all_day=request.all_day,
        recurrence=request.recurrence,
    )


def _meeting_key(meeting_id: str) -> str:
    return f"meeting:{meeting_id}"


def _utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
