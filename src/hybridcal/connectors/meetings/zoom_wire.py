"""Zoom JSON at the edge: meetings into JoinInfo, error answers into the project's errors,
and the fields we derive from an event (topic, agenda with the idempotency key)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from hybridcal.connectors.errors import (
    AuthError,
    ConnectorError,
    NotFoundError,
    ThrottledError,
    TransientError,
)
from hybridcal.connectors.meetings.base import MeetingRefusedError, MeetingRequest
from hybridcal.core.model import JoinInfo, MeetingProblem, PhoneNumber, ProblemKind

SIP_DOMAIN = "zoomcrc.com"  # Zoom's room connector: {meeting id}.{passcode}@zoomcrc.com
MAX_TOPIC = 200
MAX_AGENDA = 2000
# how the idempotency key travels in the agenda; found again by ``key_in_agenda``
_KEY_LINE = "hybridcal-ref: {key}"
_KEY_PATTERN = re.compile(r"hybridcal-ref: ([0-9a-f]{32})")
RETRY_HOST_PROBLEM = timedelta(hours=1)  # the admin may add the user or grant the privilege
RETRY_REFUSED = timedelta(hours=6)


class PasscodeRefusedError(ConnectorError):
    """Zoom refused the passcode we generated (400, code 300 ``Invalid parameter: password.``):
    the account's (or the host's) passcode rules changed since we read them."""


@dataclass(frozen=True, slots=True)
class ZoomAnswer:
    status: int
    body: dict[str, Any]
    retry_after: str | None = None

    @property
    def code(self) -> int | None:
        code = self.body.get("code")
        return code if isinstance(code, int) else None

    @property
    def message(self) -> str:
        return str(self.body.get("message") or "")[:300]

    @property
    def fields(self) -> list[str]:
        """The fields a validation error (code 300) names."""
        items = self.body.get("errors")
        return [
            str(item["field"])
            for item in (items if isinstance(items, list) else [])
            if isinstance(item, dict) and isinstance(item.get("field"), str)
        ]


def parse_body(text: str) -> dict[str, Any]:
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except ValueError:
        return {"message": text[:300]}
    return data if isinstance(data, dict) else {}


# -- what a meeting mirrors from its event -----------------------------------------------------


def topic(template: str, request: MeetingRequest) -> str:
    values = {
        "title": request.topic.strip() or "Meeting",
        "organizer": request.organizer or "",
        "organizer_name": request.organizer_name or request.organizer or "",
    }
    text = " ".join(template.format_map(values).split())
    return text[:MAX_TOPIC] or values["title"][:MAX_TOPIC]


def agenda(request: MeetingRequest) -> str:
    """Our reference on the first line, then the event's description shortened to fit: after a
    crash, the meeting is found again by the reference, and it comes first because meeting
    lists may shorten the agenda."""
    key_line = _KEY_LINE.format(key=request.idempotency_key)
    room = MAX_AGENDA - len(key_line) - 2
    text = request.agenda.strip()
    if len(text) > room:
        text = text[: room - 1].rstrip() + "…"
    return f"{key_line}\n\n{text}" if text else key_line


def key_in_agenda(agenda_text: object) -> str | None:
    if not isinstance(agenda_text, str):
        return None
    found = _KEY_PATTERN.match(agenda_text)
    return found.group(1) if found else None


# -- meetings -----------------------------------------------------------------------------------


def join_info(meeting: Mapping[str, Any]) -> JoinInfo:
    """The join details of a meeting as Zoom's create/get answers describe it. The start URL
    (a host token) is deliberately not read."""
    meeting_id = meeting.get("id")
    join_url = meeting.get("join_url")
    if not isinstance(meeting_id, int) or not isinstance(join_url, str) or not join_url:
        raise ConnectorError("zoom: the meeting answer has no id or join_url")
    settings = meeting.get("settings")
    numbers = settings.get("global_dial_in_numbers") if isinstance(settings, dict) else None
    phones = tuple(
        PhoneNumber(
            number=str(item["number"]),
            country=_opt(item.get("country_name")) or _opt(item.get("country")),
            label=_opt(item.get("city")),
        )
        for item in (numbers if isinstance(numbers, list) else [])
        if isinstance(item, dict) and item.get("number")
    )
    password = _opt(meeting.get("password"))
    room_code = _opt(meeting.get("h323_password")) or password
    return JoinInfo(
        system="zoom",
        meeting_id=str(meeting_id),
        join_url=join_url,
        passcode=password,
        phones=phones,
        phone_passcode=_opt(meeting.get("pstn_password")),
        sip=sip_address(meeting_id, room_code),
    )


def sip_address(meeting_id: int | str, room_code: str | None) -> str:
    """The room connector's dial string; with the passcode a room system needs no keypad."""
    return f"{meeting_id}.{room_code}@{SIP_DOMAIN}" if room_code else f"{meeting_id}@{SIP_DOMAIN}"


# ``schedule_meeting.require_password_for_pmi_meetings``: "all", "jbh_only" (only when people
# may join before the host) or "none"; older accounts answer a boolean
_PMI_PASSCODE_OFF = frozenset({"none", "false", "False"})


def personal_room(user: Mapping[str, Any], settings: Mapping[str, Any]) -> JoinInfo:
    """The host's Personal Meeting ID as ``GET /users/{userId}`` (``pmi``,
    ``personal_meeting_url``) and ``GET /users/{userId}/settings`` (``schedule_meeting``:
    ``pmi_password``, ``require_password_for_pmi_meetings``) describe it. The link is Zoom's
    own (it carries the passcode when the account embeds passcodes in links)."""
    pmi = user.get("pmi")
    url = user.get("personal_meeting_url")
    if not isinstance(pmi, int | str) or not str(pmi).isdigit() or not isinstance(url, str):
        raise ConnectorError("zoom: the user answer has no pmi or personal_meeting_url")
    if not url.startswith("https://"):
        raise ConnectorError("zoom: the personal_meeting_url is not an https link")
    schedule = settings.get("schedule_meeting")
    passcode = None
    if isinstance(schedule, Mapping):
        required = str(schedule.get("require_password_for_pmi_meetings", "all"))
        if required not in _PMI_PASSCODE_OFF:
            passcode = _opt(schedule.get("pmi_password"))
    return JoinInfo(
        system="zoom",
        meeting_id=str(pmi),
        join_url=url,
        passcode=passcode,
        sip=sip_address(pmi, passcode),
    )


def personal_meeting_enabled(settings: Mapping[str, Any]) -> bool:
    """False only when the settings say the Personal Meeting ID is turned off for the user."""
    schedule = settings.get("schedule_meeting")
    return not isinstance(schedule, Mapping) or schedule.get("personal_meeting") is not False


def _opt(value: object) -> str | None:
    return str(value) if isinstance(value, str | int) and str(value) else None


# -- errors -------------------------------------------------------------------------------------


def next_utc_midnight(now: datetime) -> datetime:
    """When Zoom's per-user daily create/update limit resets (plus a minute of margin)."""
    day = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return day + timedelta(days=1, minutes=1)


def error(name: str, answer: ZoomAnswer, *, host: str | None, now: datetime) -> Exception:
    """Zoom's answer as the error the executor acts on. ``host`` names the Zoom user the call
    was made for, so that an admin reading the message knows whom it concerns."""
    status, code, message = answer.status, answer.code, answer.message
    what = f"{name}: HTTP {status} (Zoom code {code}) {message}".strip().rstrip(".")
    refusal = _refusal(answer, host, now)
    if refusal is not None:
        return refusal
    if status == 429:
        return ThrottledError(what, retry_after_seconds(answer.retry_after, now))
    if status >= 500:
        return TransientError(what)
    if code in {4700, 4711} or status == 401:
        return AuthError(f"{what}. {_scope_hint(code, message)}")
    # no such meeting; on an occurrence call, no such occurrence (or none at all: type 3)
    if code == 3001 or (code == 3000 and "occurrence" in name):
        return NotFoundError(what)
    hint = " (is zoom.api_root right?)" if status == 404 else ""
    kind = PasscodeRefusedError if passcode_refused(answer) else ConnectorError
    return kind(what + hint)


def _scope_hint(code: int | None, message: str) -> str:
    if code == 124:
        return "Zoom refused the access token (is the app still activated?)"
    named = _SCOPES_IN_MESSAGE.search(message)
    scopes = (
        named.group(1).strip()
        if named
        else ("meeting:read:admin, meeting:write:admin, user:read:admin")
    )
    return (
        f"The Zoom app lacks a scope it needs ({scopes}, or a granular equivalent): add it on "
        "the app's Scopes page in the Zoom App Marketplace and activate the app again"
    )


_SCOPES_IN_MESSAGE = re.compile(r"scopes:\s*\[([^\]]*)\]")


def _refusal(answer: ZoomAnswer, host: str | None, now: datetime) -> MeetingRefusedError | None:
    """The refusals that retrying soon cannot fix, each with its time to try again."""
    status, code, message = answer.status, answer.code, answer.message
    who = host or "the organiser"
    if status == 429 and "daily" in message.lower():
        detail = (
            f"Zoom's limit of 100 meeting creations and updates a day is reached for {who}; "
            "hybridcal tries again after 00:00 UTC"
        )
        kind, retry_at = ProblemKind.DAILY_LIMIT, next_utc_midnight(now)
    elif code in {1001, 1120, 1122}:
        detail = (
            f"{who} has no active Zoom user in this Zoom account (Zoom says: {message}); "
            "add the user in Zoom or set zoom.fallback_host"
        )
        kind, retry_at = ProblemKind.HOST_NOT_FOUND, now + RETRY_HOST_PROBLEM
    elif code == 1133 or (code == 200 and "permission" in message.lower()):
        detail = (
            f"the Zoom scheduler may not schedule meetings for {who} (Zoom says: {message}); "
            "in Zoom, that user must grant scheduling privilege to the scheduler "
            "(Settings → Meeting → Schedule privilege)"
        )
        kind, retry_at = ProblemKind.NO_PRIVILEGE, now + RETRY_HOST_PROBLEM
    else:
        return None
    return MeetingRefusedError(MeetingProblem(kind, detail), retry_at)


def passcode_refused(answer: ZoomAnswer) -> bool:
    """Zoom's answer to a passcode that breaks the passcode rules: 400, validation code 300,
    ``Invalid parameter: password.`` (or a validation error naming the ``password`` field)."""
    if answer.status != 400 or answer.code != 300:
        return False
    message = answer.message.lower()
    return "password" in message or "passcode" in message or "password" in answer.fields


def refused(exc: ConnectorError, now: datetime) -> MeetingRefusedError:
    """A refusal that is neither of the named kinds (e.g. a validation error)."""
    return MeetingRefusedError(MeetingProblem(ProblemKind.REFUSED, str(exc)), now + RETRY_REFUSED)


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """Zoom's Retry-After is seconds or a timestamp, and not always there."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())
