"""Field-level validation of a meeting body (create and update).

Types, lengths and allowed values are checked here; rules that need the host (passcode
requirement, alternative hosts, scheduling privilege) are checked later by :mod:`meetings`.
All problems of one body are reported at once: 400 code 300 ``Validation Failed.`` with one
``errors`` item per field (``settings.audio``, ``recurrence.weekly_days``, ...). Unknown fields
are ignored, as Zoom does; known fields of the wrong JSON type are refused (no coercion of
``"2"`` to ``2``).

``null``: Zoom's meeting reference documents no null value for any field of a create or update
body (a field is either sent with a value of its type or left out), so a known field sent as
``null`` is a field of the wrong type: ``{"field": "recurrence", "message": "Invalid field."}``,
the item Zoom's "Error definitions" page shows for invalid fields. This holds at the top level
and inside ``settings`` and ``recurrence``; unknown fields stay ignored, null or not. In
particular a series does not become a single meeting by ``"recurrence": null`` but by the
documented ``"type": 2`` (with ``start_time``; ``recurrence`` is only read for type 8).

Simplified: registration, tracking fields, templates, language interpretation, breakout rooms
and the many newer ``settings`` are accepted only as far as listed below (others are ignored).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hybridcal.sandbox.zoom.errors import Problems
from hybridcal.sandbox.zoom.times import StartTime, parse_start, valid_zone

INSTANT, SCHEDULED, RECURRING_NO_FIXED_TIME, RECURRING_FIXED_TIME = 1, 2, 3, 8
MEETING_TYPES = frozenset({INSTANT, SCHEDULED, RECURRING_NO_FIXED_TIME, RECURRING_FIXED_TIME})
MAX_TOPIC = 200
MAX_AGENDA = 2000
MAX_DURATION = 1440

BOOL_SETTINGS = frozenset(
    {
        "host_video", "participant_video", "cn_meeting", "in_meeting", "join_before_host",
        "mute_upon_entry", "watermark", "use_pmr", "waiting_room", "meeting_authentication",
        "alternative_hosts_email_notification", "registrants_email_notification",
        "registrants_confirmation_email", "close_registration", "show_share_button",
        "allow_multiple_devices", "private_meeting", "email_notification",
        "host_save_video_order", "enforce_login", "participant_focused_meeting",
        "push_change_to_calendar", "focus_mode", "request_permission_to_unmute_participants",
        "internal_meeting", "email_in_attendee_report", "auto_start_meeting_summary",
    }
)  # fmt: skip
ENUM_SETTINGS: dict[str, frozenset[Any]] = {
    "approval_type": frozenset({0, 1, 2}),
    "registration_type": frozenset({1, 2, 3}),
    "jbh_time": frozenset({0, 5, 10, 15}),
    "audio": frozenset({"both", "telephony", "voip", "thirdParty"}),
    "auto_recording": frozenset({"local", "cloud", "none"}),
    "encryption_type": frozenset({"enhanced_encryption", "e2ee"}),
}
STRING_SETTINGS = frozenset(
    {
        "alternative_hosts", "contact_name", "contact_email", "authentication_option",
        "authentication_domains", "enforce_login_domains",
    }
)  # fmt: skip
KNOWN_SETTINGS = (
    BOOL_SETTINGS | ENUM_SETTINGS.keys() | STRING_SETTINGS | {"global_dial_in_countries"}
)
OCCURRENCE_FIELDS = frozenset({"start_time", "duration", "agenda", "settings"})
# the body fields the simulator reads; any of them sent as null is refused (see above)
BODY_FIELDS = frozenset(
    {
        "topic", "agenda", "type", "start_time", "duration", "timezone", "password",
        "schedule_for", "settings", "recurrence", "pre_schedule", "default_password",
    }
)  # fmt: skip
INVALID_FIELD = "Invalid field."
SERIES_FIELDS = frozenset(
    {"topic", "type", "timezone", "password", "schedule_for", "recurrence", "pre_schedule"}
)


@dataclass
class Changes:
    """The fields a body sets, type-checked; ``None`` means "not sent"."""

    given: frozenset[str] = frozenset()
    topic: str | None = None
    agenda: str | None = None
    type: int | None = None
    start: StartTime | None = None
    duration: int | None = None
    timezone: str | None = None
    password: str | None = None
    schedule_for: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    recurrence: Any = None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_body(body: dict[str, Any], *, update: bool = False) -> Changes:
    """Raise 300 for every badly typed field; answer the changes the body asks for."""
    problems = Problems()
    for name in sorted(BODY_FIELDS):
        if name in body and body[name] is None:
            problems.add(name, INVALID_FIELD)
    changes = Changes(given=frozenset(k for k in body if body[k] is not None))

    def text(name: str, limit: int | None = None) -> str | None:
        value = body.get(name)
        if value is None:
            return None
        if not isinstance(value, str):
            problems.add(name, "Must be a string.")
            return None
        if limit is not None and len(value) > limit:
            problems.add(name, f"Length must be at most {limit} characters.")
            return None
        return value

    changes.topic = text("topic", MAX_TOPIC)
    changes.agenda = text("agenda", MAX_AGENDA)
    changes.password = text("password")
    changes.schedule_for = text("schedule_for")
    if changes.schedule_for is not None and not changes.schedule_for.strip():
        problems.add("schedule_for", "Must not be empty.")
    kind = body.get("type")
    allowed = MEETING_TYPES - {INSTANT} if update else MEETING_TYPES
    if kind is not None:
        if _is_int(kind) and kind in allowed:
            changes.type = kind
        else:
            shown = ", ".join(str(t) for t in sorted(allowed))
            problems.add("type", f"Must be one of {shown}.")
    zone = text("timezone")
    if zone is not None:
        if valid_zone(zone):
            changes.timezone = zone
        else:
            problems.add("timezone", f"Invalid timezone: {zone}.")
    start = text("start_time")
    if start is not None:
        changes.start = parse_start(start)
        if changes.start is None:
            problems.add(
                "start_time", "Must be yyyy-MM-ddTHH:mm:ssZ (UTC) or yyyy-MM-ddTHH:mm:ss (local)."
            )
    duration = body.get("duration")
    if duration is not None:
        if _is_int(duration) and 0 < duration <= MAX_DURATION:
            changes.duration = duration
        else:
            problems.add("duration", f"Must be an integer between 1 and {MAX_DURATION}.")
    for name in ("pre_schedule", "default_password"):
        if body.get(name) is not None and not isinstance(body[name], bool):
            problems.add(name, "Must be a boolean.")
    settings = body.get("settings")
    if settings is not None:
        changes.settings = _check_settings(settings, problems)
    changes.recurrence = body.get("recurrence")
    problems.raise_if_any()
    return changes


def _check_settings(settings: Any, problems: Problems) -> dict[str, Any]:
    if not isinstance(settings, dict):
        problems.add("settings", "Must be an object.")
        return {}
    out: dict[str, Any] = {}
    for name, value in settings.items():
        where = f"settings.{name}"
        if value is None:
            if name in KNOWN_SETTINGS:
                problems.add(where, INVALID_FIELD)
            continue
        if name in BOOL_SETTINGS:
            ok = isinstance(value, bool)
        elif name in ENUM_SETTINGS:
            ok = (
                isinstance(value, int | str)
                and not isinstance(value, bool)
                and value in ENUM_SETTINGS[name]
            )
        elif name in STRING_SETTINGS:
            ok = isinstance(value, str) and len(value) <= 1024
        elif name == "global_dial_in_countries":
            ok = isinstance(value, list) and all(isinstance(c, str) and len(c) == 2 for c in value)
        else:
            continue  # unknown settings are ignored, as Zoom does
        if ok:
            out[name] = value
        else:
            problems.add(where, INVALID_FIELD)
    return out


def occurrence_problems(changes: Changes) -> None:
    """An occurrence takes only start_time, duration, agenda and settings."""
    problems = Problems()
    for name in sorted(changes.given & SERIES_FIELDS):
        problems.add(name, "Cannot be changed for a single occurrence; update the whole series.")
    problems.raise_if_any()


def split_hosts(value: str) -> list[str]:
    """``alternative_hosts`` is a list of emails separated by ``;`` or ``,``."""
    parts = value.replace(",", ";").split(";")
    return [p.strip() for p in parts if p.strip()]
