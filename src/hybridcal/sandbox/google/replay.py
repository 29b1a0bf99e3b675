"""Recorded events replayed verbatim: an event exactly as ``events.get`` returned it.

The public Calendar API refuses much of what real calendars hold — ids starting with ``_``
(imported events), instance ids ``<id>_<time>``, organisers outside the domain, read-only
fields — so re-sending only the writable fields loses what makes a recording real. The
control API (``POST /sandbox/calendars/{cal}/replay``) takes the item as it is instead: the
calendar gets that copy of the event, with its organiser, ``iCalUID``, ``sequence``,
``recurringEventId``/``originalStartTime``, conference data and extended properties as given;
the read-only fields Google computes for the viewer (``creator``, ``organizer``, ``htmlLink``,
``created``, ``privateCopy``, ``attendeesOmitted``, ``locked``) are shown as recorded. Only
this calendar's copy is made: a recording of the room's copy is replayed on the room.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hybridcal.sandbox.google.errors import bad_request
from hybridcal.sandbox.google.model import COPY_FIELDS, SHARED_FIELDS
from hybridcal.sandbox.google.times import When, parse_when

# ids as Google hands them out: base32hex, imported ones with "_" and other characters,
# instances with "_<time>"
_ID = re.compile(r"^[A-Za-z0-9_\-.@]{1,1024}$")
# shown as recorded, never recomputed
VERBATIM_FIELDS = (
    "creator",
    "organizer",
    "htmlLink",
    "created",
    "privateCopy",
    "attendeesOmitted",
    "locked",
)


@dataclass(frozen=True)
class Recorded:
    id: str
    organizer: str
    fields: dict[str, Any]
    start: When
    end: When
    ical_uid: str
    sequence: int
    recurring_event_id: str | None
    original_start: When | None
    conference: dict[str, Any] | None
    private: dict[str, str]
    shared: dict[str, str]
    local: dict[str, Any]
    verbatim: dict[str, Any]


def parse(calendar: str, item: Mapping[str, Any], now: datetime) -> Recorded:
    event_id = item.get("id")
    if not isinstance(event_id, str) or not _ID.match(event_id):
        raise bad_request("Invalid resource id value.", parameter="id")
    organizer = _email(item.get("organizer")) or calendar
    fields = {key: item[key] for key in SHARED_FIELDS if key in item}
    if isinstance(fields.get("attendees"), list):
        fields["attendees"] = [_attendee(a) for a in fields["attendees"]]
    cancelled = item.get("status") == "cancelled"
    original = (
        parse_when(item["originalStartTime"], "originalStartTime")
        if ("originalStartTime" in item)
        else None
    )
    fallback = original or When(moment=now)
    start = _when(item, "start", fallback if cancelled else None)
    end = _when(item, "end", fallback if cancelled else None)
    ext = item.get("extendedProperties") or {}
    return Recorded(
        id=event_id,
        organizer=organizer,
        fields=fields,
        start=start,
        end=end,
        ical_uid=str(item.get("iCalUID") or f"{event_id}@google.com"),
        sequence=_int(item.get("sequence", 0), "sequence"),
        recurring_event_id=_str_or_none(item.get("recurringEventId")),
        original_start=original,
        conference=dict(item["conferenceData"]) if item.get("conferenceData") else None,
        private=_strings(ext.get("private"), "extendedProperties.private"),
        shared=_strings(ext.get("shared"), "extendedProperties.shared"),
        local={key: item[key] for key in COPY_FIELDS if key in item},
        verbatim={key: item[key] for key in VERBATIM_FIELDS if key in item},
    )


def as_seen_by(person: Any, viewer: str) -> Any:
    """A recorded ``organizer``/``creator`` as ``viewer`` sees it (``self`` only for them)."""
    if not isinstance(person, Mapping):
        return person
    out = {k: v for k, v in person.items() if k != "self"}
    if str(out.get("email", "")).lower() == viewer:
        out["self"] = True
    return out


def _when(item: Mapping[str, Any], name: str, fallback: When | None) -> When:
    if name not in item and fallback is not None:
        return fallback  # a cancelled instance may carry nothing but its original start
    return parse_when(item.get(name), name)


def _email(person: Any) -> str | None:
    if isinstance(person, Mapping) and isinstance(person.get("email"), str):
        return str(person["email"]).lower()
    return None


def _attendee(item: Any) -> dict[str, Any]:
    if not isinstance(item, Mapping) or not isinstance(item.get("email"), str):
        raise bad_request("Missing attendee email.", reason="required", parameter="attendees")
    out = {k: v for k, v in item.items() if k not in {"self", "organizer"}}
    out["email"] = str(item["email"]).lower()
    return out


def _strings(value: Any, name: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(isinstance(v, str) for v in value.values()):
        raise bad_request(f"Invalid {name} value.", parameter=name)
    return {str(k): v for k, v in value.items()}


def _int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad_request(f"Invalid {name} value.", parameter=name)
    return value


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
