"""Webex JSON at the edge: meetings into JoinInfo, error answers into the project's errors, and
the fields we derive from an event (title, agenda, the idempotency tag).

Webex has no idempotency key. A meeting carries ours twice: as an ``integrationTags`` entry
(``hybridcal-<key>``; at most 3 tags of 64 characters, seen only by the creating client, and
``GET /meetings?integrationTag=`` lists by it) and on the agenda's first line, which a person
can read and which survives should a site ignore the tags.

Our ``JoinInfo.meeting_id`` is ``<meeting series id>:<host e-mail>``: a Service App sees a
meeting only on behalf of its host (``hostEmail``), and a delete knows nothing but the id.
"""

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
from hybridcal.connectors.meetings.webex_auth import REAUTHORIZE
from hybridcal.core.model import JoinInfo, MeetingProblem, PhoneNumber, ProblemKind
from hybridcal.core.render import EXTRA_MEETING_NUMBER

SYSTEM = "webex"
MAX_TITLE = 128
MAX_AGENDA = 1300
TAG_PREFIX = "hybridcal-"
_KEY_LINE = "hybridcal-ref: {key}"
_KEY_PATTERN = re.compile(r"hybridcal-ref: ([0-9a-f]{32})")
RETRY_HOST_PROBLEM = timedelta(hours=1)  # the admin may assign the licence meanwhile
RETRY_REFUSED = timedelta(hours=6)
RETRY_NOT_AUTHORIZED = timedelta(hours=1)
# JoinInfo.extra: the meeting number (shown by core/render.py) and the IP address a video
# system may dial before typing the meeting number
EXTRA_VIDEO_ADDRESS = "video_ip"
_LICENCE_WORDS = ("licen", "host", "user", "cannot find the data", "not found")


@dataclass(frozen=True, slots=True)
class WebexAnswer:
    status: int
    body: dict[str, Any]
    retry_after: str | None = None

    @property
    def message(self) -> str:
        """Webex's message and the descriptions of its ``errors``, for a person to read."""
        parts = [str(self.body.get("message") or "").strip()]
        items = self.body.get("errors")
        parts += [
            str(item["description"]).strip()
            for item in (items if isinstance(items, list) else [])
            if isinstance(item, dict) and item.get("description")
        ]
        text = " ".join(dict.fromkeys(p.rstrip(".") + "." for p in parts if p))
        return text[:400]

    @property
    def tracking_id(self) -> str:
        return str(self.body.get("trackingId") or "")


def parse_body(text: str) -> dict[str, Any]:
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except ValueError:
        return {"message": text[:300]}  # a 429 may come as text/html
    return data if isinstance(data, dict) else {}


# -- what a meeting mirrors from its event -----------------------------------------------------


def title(request: MeetingRequest) -> str:
    text = " ".join(request.topic.split()) or "Meeting"
    return text[:MAX_TITLE]


def tag(key: str) -> str:
    return f"{TAG_PREFIX}{key}"


def agenda(request: MeetingRequest) -> str:
    """Our reference on the first line, then the event's description shortened to fit."""
    key_line = _KEY_LINE.format(key=request.idempotency_key)
    room = MAX_AGENDA - len(key_line) - 2
    text = request.agenda.strip()
    if len(text) > room:
        text = text[: room - 1].rstrip() + "…"
    return f"{key_line}\n\n{text}" if text else key_line


def carries_key(meeting: Mapping[str, Any], key: str) -> bool:
    """The meeting was made for ``key``: by its tag, else by the agenda's reference line."""
    tags = meeting.get("integrationTags")
    if isinstance(tags, list) and tag(key) in tags:
        return True
    text = meeting.get("agenda")
    found = _KEY_PATTERN.match(text) if isinstance(text, str) else None
    return found is not None and found.group(1) == key


# -- meetings -----------------------------------------------------------------------------------


def meeting_ref(series_id: str, host: str | None) -> str:
    return f"{series_id}:{host}" if host else series_id


def split_ref(ref: str) -> tuple[str, str | None]:
    """(Webex's meeting id, the host's e-mail) of our meeting id."""
    series_id, _, host = ref.partition(":")
    return series_id, host or None


def join_info(meeting: Mapping[str, Any], host: str | None) -> JoinInfo:
    """The join details of a meeting as Webex's create/get answers describe it. ``hostKey``
    (the host PIN) is deliberately not read."""
    series_id = meeting.get("id")
    web_link = meeting.get("webLink")
    if not isinstance(series_id, str) or not series_id or not isinstance(web_link, str):
        raise ConnectorError("webex: the meeting answer has no id or webLink")
    telephony = meeting.get("telephony")
    numbers = telephony.get("callInNumbers") if isinstance(telephony, dict) else None
    phones = tuple(
        PhoneNumber(number=str(item["callInNumber"]), label=_phone_label(item))
        for item in (numbers if isinstance(numbers, list) else [])
        if isinstance(item, dict) and item.get("callInNumber")
    )
    extra: list[tuple[str, str]] = []
    number = _opt(meeting.get("meetingNumber"))
    if number:
        extra.append((EXTRA_MEETING_NUMBER, number))
    dial_ip = _opt(meeting.get("dialInIpAddress"))
    if dial_ip:
        extra.append((EXTRA_VIDEO_ADDRESS, dial_ip))
    return JoinInfo(
        system=SYSTEM,
        meeting_id=meeting_ref(series_id, (host or _opt(meeting.get("hostEmail")) or "").lower()),
        join_url=web_link,
        passcode=_opt(meeting.get("password")),
        phones=phones,
        # numeric, for keypads: the same digits join by phone and from a video system
        phone_passcode=_opt(meeting.get("phoneAndVideoSystemPassword")),
        sip=_opt(meeting.get("sipAddress")),
        extra=tuple(extra),
    )


def personal_room_info(room: Mapping[str, Any], host: str) -> JoinInfo:
    """The join details of a host's Personal Room (``meetingPreferences/personalMeetingRoom``).
    ``hostPin`` is deliberately not read; a personal room has no attendee password in the
    API (it is protected by its lock), so there is none to show."""
    link = room.get("personalMeetingRoomLink")
    if not isinstance(link, str) or not link:
        raise ConnectorError("webex: the personal room answer has no personalMeetingRoomLink")
    telephony = room.get("telephony")
    access_code = _opt(telephony.get("accessCode")) if isinstance(telephony, dict) else None
    numbers = telephony.get("callInNumbers") if isinstance(telephony, dict) else None
    phones = tuple(
        PhoneNumber(number=str(item["callInNumber"]), label=_phone_label(item))
        for item in (numbers if isinstance(numbers, list) else [])
        if isinstance(item, dict) and item.get("callInNumber")
    )
    extra = [(EXTRA_MEETING_NUMBER, access_code)] if access_code else []
    dial_ip = _opt(room.get("dialInIpAddress"))
    if dial_ip:
        extra.append((EXTRA_VIDEO_ADDRESS, dial_ip))
    return JoinInfo(
        system=SYSTEM,
        meeting_id=meeting_ref(access_code or link.rstrip("/").rsplit("/", 1)[-1], host.lower()),
        join_url=link,
        phones=phones,
        sip=_opt(room.get("sipAddress")),
        extra=tuple(extra),
    )


def meeting_number(join: JoinInfo) -> str | None:
    return dict(join.extra).get(EXTRA_MEETING_NUMBER)


def _phone_label(item: Mapping[str, Any]) -> str | None:
    label = _opt(item.get("label"))
    if item.get("tollType") == "tollFree" and label and "free" not in label.lower():
        return f"{label}, toll free"
    return label


def _opt(value: object) -> str | None:
    return str(value) if isinstance(value, str | int) and str(value) else None


# -- errors -------------------------------------------------------------------------------------


def error(  # noqa: PLR0911 - one answer per kind of status, in the order they are checked
    name: str, answer: WebexAnswer, *, host: str | None, now: datetime
) -> Exception:
    """Webex's answer as the error the executor acts on. Webex's texts are not a contract, so
    the status decides; the text only sharpens the admin's message."""
    status, message = answer.status, answer.message
    what = f"{name}: HTTP {status} {message}".strip()
    if answer.tracking_id:
        what += f" (trackingId {answer.tracking_id})"
    if status == 429:
        return ThrottledError(what, retry_after_seconds(answer.retry_after, now))
    if status == 423:  # locked for now; may say when to come back
        return ThrottledError(what, retry_after_seconds(answer.retry_after, now))
    if status >= 500:
        return TransientError(what)
    if status == 401:
        return AuthError(f"{what}. {REAUTHORIZE}")
    refusal = _host_refusal(name, answer, host, now)
    if refusal is not None:
        return refusal
    if status == 403:
        return AuthError(
            f"{what}. The Service App lacks a scope or its authoriser a role it needs "
            "(meeting:admin_schedule_write and meeting:admin_schedule_read, authorised by a full "
            f"admin who is also an admin of the host's site): add the scope, then {REAUTHORIZE}"
        )
    if status == 404:
        return NotFoundError(what)
    return ConnectorError(what)


def _host_refusal(
    name: str, answer: WebexAnswer, host: str | None, now: datetime
) -> MeetingRefusedError | None:
    """A call on behalf of a host whom Webex does not let host meetings on this site: no
    Meetings licence, not a user of a site the Service App's admin manages (403 or 404 on a
    create or a list; 404 on a get/update/delete only means the meeting is gone)."""
    if host is None or answer.status not in {403, 404}:
        return None
    if not name.endswith((".create", ".list", ".personal_room")):
        return None
    text = answer.message.lower()
    if answer.status == 403 and "scope" in text:
        return None
    if answer.status == 403 and not any(word in text for word in _LICENCE_WORDS):
        return None
    detail = (
        f"{host} cannot host Webex meetings on this site (Webex says: {answer.message}); in "
        "Control Hub, give the user a Webex Meetings host licence on the site "
        "(Users → the user → Licenses → Meetings), or set webex.site_url to the user's site"
    )
    return MeetingRefusedError(
        MeetingProblem(ProblemKind.HOST_NOT_FOUND, detail), now + RETRY_HOST_PROBLEM
    )


def refused(exc: Exception, now: datetime) -> MeetingRefusedError:
    """A refusal that retrying soon cannot fix: the site refused a setting or value (400), or
    the Service App's authorisation is gone."""
    if isinstance(exc, AuthError):
        problem = MeetingProblem(ProblemKind.REFUSED, f"webex: {exc}")
        return MeetingRefusedError(problem, now + RETRY_NOT_AUTHORIZED)
    detail = (
        f"webex: {exc}; the Webex site refused the meeting's settings (check the site's "
        "meeting settings in Control Hub: Meetings → the site → Settings)"
    )
    return MeetingRefusedError(MeetingProblem(ProblemKind.REFUSED, detail), now + RETRY_REFUSED)


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """Retry-After is seconds or an HTTP date, and not always there."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime  # noqa: PLC0415 - the rare form

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())
