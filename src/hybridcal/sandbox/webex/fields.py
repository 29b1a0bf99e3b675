"""The body fields of ``POST``/``PUT``/``PATCH /v1/meetings`` and their checks.

Names and limits follow the Create Meeting reference (webex.md §2 table [MTG]): ``title``
≤ 128 characters, ``agenda`` ≤ 1300, ``invitees`` ≤ 1000 of ``{email, displayName?, coHost?,
panelist?}``, ``integrationTags`` ≤ 3 of ≤ 64 characters, ``joinBeforeHostMinutes`` 0/5/10/15,
``scheduledType`` ``meeting``/``webinar``/``personalRoomMeeting``. Documented settings the
simulator does not act on are still type-checked and echoed (``invitees``: checked and kept
for inspection, not answered).

*Stricter than Webex*: an **unknown field is refused** (400 naming it). Webex's handling of
unknown fields is undocumented; if it drops them silently, a misspelt ``sendEmail`` or
``hostEmail`` would go unnoticed in production, so the simulator makes the client find it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from hybridcal.sandbox.webex.errors import Problems

Check = Callable[[Any], str | None]


def _bool(value: Any) -> str | None:
    return None if isinstance(value, bool) else "must be true or false"


def _int(value: Any) -> str | None:
    ok = isinstance(value, int) and not isinstance(value, bool)
    return None if ok else "must be an integer"


def _str(limit: int | None = None) -> Check:
    def check(value: Any) -> str | None:
        if not isinstance(value, str):
            return "must be a string"
        if limit is not None and len(value) > limit:
            return f"must be at most {limit} characters"
        return None

    return check


def _one_of(*allowed: object) -> Check:
    def check(value: Any) -> str | None:
        if isinstance(value, bool) or value not in allowed:
            return "must be one of " + ", ".join(str(a) for a in allowed)
        return None

    return check


def _object(value: Any) -> str | None:
    return None if isinstance(value, dict) else "must be an object"


def _list(value: Any) -> str | None:
    return None if isinstance(value, list) else "must be a list"


def _invitees(value: Any) -> str | None:
    if not isinstance(value, list):
        return "must be a list"
    if len(value) > 1000:
        return "must hold at most 1000 invitees"
    allowed = {"email", "displayName", "coHost", "panelist", "name"}
    for item in value:
        if not isinstance(item, dict) or not isinstance(item.get("email"), str):
            return "each invitee needs an email"
        if "@" not in item["email"] or set(item) - allowed:
            return f"invitee {item.get('email')!r} is not valid"
    return None


def _tags(value: Any) -> str | None:
    if not isinstance(value, list) or len(value) > 3:
        return "must be a list of at most 3 tags"
    if not all(isinstance(t, str) and 0 < len(t) <= 64 for t in value):
        return "each tag must be 1 to 64 characters"
    return None


# Checked, stored, echoed; the simulator acts on none of them.
SETTINGS: dict[str, Check] = {
    "enabledAutoRecordMeeting": _bool,
    "allowAnyUserToBeCoHost": _bool,
    "enabledJoinBeforeHost": _bool,
    "enableConnectAudioBeforeHost": _bool,
    "joinBeforeHostMinutes": _one_of(0, 5, 10, 15),
    "excludePassword": _bool,
    "publicMeeting": _bool,
    "reminderTime": _int,
    "unlockedMeetingJoinSecurity": _one_of("allowJoin", "allowJoinWithLobby", "blockFromJoin"),
    "sessionTypeId": _int,
    "enabledWebcastView": _bool,
    "enableAutomaticLock": _bool,
    "automaticLockMinutes": _int,
    "allowFirstUserToBeCoHost": _bool,
    "allowAuthenticatedDevices": _bool,
    "requireAttendeeLogin": _bool,
    "restrictToInvitees": _bool,
    "enabledBreakoutSessions": _bool,
    "enabledAudioWatermark": _bool,
    "enabledVisualWatermark": _bool,
    "visualWatermarkOpacity": _int,
    "enabledLiveStream": _bool,
    "panelistPassword": _str(),
    "templateId": _str(),
    "meetingOptions": _object,
    "attendeePrivileges": _object,
    "audioConnectionOptions": _object,
    "registration": _object,
    "simultaneousInterpretation": _object,
    "trackingCodes": _list,
    "breakoutSessions": _list,
    "invitees": _invitees,
}
SETTING_DEFAULTS: dict[str, Any] = {
    "enabledAutoRecordMeeting": False,
    "allowAnyUserToBeCoHost": False,
    "enabledJoinBeforeHost": False,
    "enableConnectAudioBeforeHost": False,
    "joinBeforeHostMinutes": 0,
    "excludePassword": False,
    "publicMeeting": False,
    "reminderTime": 10,
    "unlockedMeetingJoinSecurity": "allowJoinWithLobby",
    "enableAutomaticLock": False,
    "allowFirstUserToBeCoHost": False,
    "allowAuthenticatedDevices": False,
}
CORE: dict[str, Check] = {
    "title": _str(128),
    "agenda": _str(1300),
    "password": _str(),
    "start": _str(),
    "end": _str(),
    "timezone": _str(),
    "recurrence": _str(),
    "hostEmail": _str(),
    "siteUrl": _str(),
    "scheduledType": _one_of("meeting", "webinar", "personalRoomMeeting"),
    "sendEmail": _bool,
    "integrationTags": _tags,
}
KNOWN = {**CORE, **SETTINGS}
NULLABLE_ON_PATCH = frozenset({"agenda", "recurrence", "trackingCodes"})  # webex.md §2 Update
OCCURRENCE_FIELDS = frozenset(
    {"title", "agenda", "password", "start", "end", "timezone", "hostEmail", "sendEmail"}
)


def check(body: Mapping[str, Any], problems: Problems, *, update: bool = False) -> None:
    """Every problem of ``body``; on an update (PUT or PATCH) the nullable fields may be null
    (PATCH: webex.md §2; PUT: undocumented, read as "none", like leaving them out)."""
    for name, value in body.items():
        checker = KNOWN.get(name)
        if checker is None:
            problems.add(f"Unknown field '{name}'.")
            continue
        if value is None:
            if not (update and name in NULLABLE_ON_PATCH):
                problems.add(f"{name} must not be null.")
            continue
        message = checker(value)
        if message is not None:
            problems.add(f"{name} {message}.")
    title = body.get("title")
    if isinstance(title, str) and not title.strip():
        problems.add("title must not be empty.")
