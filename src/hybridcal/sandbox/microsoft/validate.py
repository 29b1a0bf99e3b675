"""Request bodies for events, checked the way Graph's OData layer and Exchange check them.

- Unknown properties: 400 ``RequestBodyRead`` ("does not exist on type 'microsoft.graph.event'").
- Read-only properties (``id``, ``changeKey``, ``iCalUId``, ``type``, ``isOrganizer``,
  ``onlineMeeting``, ...): 400. Graph ignores some of them silently; refusing them all catches a
  client that sends back whole objects it read.
- Enumerations, booleans, numbers and strings are type-checked; ``@odata.type`` must name the
  type the property holds. ``originalStartTimeZone``/``originalEndTimeZone`` are accepted and
  ignored (Graph derives them from ``start``/``end``).
- ``singleValueExtendedProperties`` need ids like ``String {GUID} Name x`` (or ``... Id 0x8001``,
  or a ``String 0x001A`` tag) and string values; they are upserted by id, never removed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hybridcal.sandbox.microsoft.errors import (
    GraphError,
    bad_request,
    bad_value,
    not_implemented,
    read_only,
    unknown_property,
)
from hybridcal.sandbox.microsoft.recurrence import normalize as normalize_recurrence

SHARED = (
    "subject",
    "body",
    "location",
    "locations",
    "attendees",
    "sensitivity",
    "importance",
    "isOnlineMeeting",
    "onlineMeetingProvider",
    "recurrence",
    "allowNewTimeProposals",
    "responseRequested",
    "hideAttendees",
)
TIMES = ("start", "end", "isAllDay")
PER_COPY = ("categories", "showAs", "isReminderOn", "reminderMinutesBeforeStart")
READ_ONLY = frozenset(
    {
        "id",
        "createdDateTime",
        "lastModifiedDateTime",
        "changeKey",
        "iCalUId",
        "uid",
        "type",
        "seriesMasterId",
        "isOrganizer",
        "isCancelled",
        "responseStatus",
        "bodyPreview",
        "webLink",
        "onlineMeeting",
        "onlineMeetingUrl",
        "hasAttachments",
        "occurrenceId",
        "isDraft",
        "originalStart",
        "cancelledOccurrences",
        "exceptionOccurrences",
    }
)
IGNORED = frozenset({"originalStartTimeZone", "originalEndTimeZone", "@odata.etag"})
NAVIGATION = frozenset(
    {"attachments", "calendar", "extensions", "instances", "multiValueExtendedProperties"}
)
ENUMS = {
    "sensitivity": ("normal", "personal", "private", "confidential"),
    "importance": ("low", "normal", "high"),
    "showAs": ("free", "tentative", "busy", "oof", "workingElsewhere", "unknown"),
    "onlineMeetingProvider": (
        "unknown",
        "teamsForBusiness",
        "skypeForBusiness",
        "skypeForConsumer",
    ),
}
BOOLEANS = (
    "isOnlineMeeting",
    "allowNewTimeProposals",
    "responseRequested",
    "hideAttendees",
    "isReminderOn",
    "isAllDay",
)
LOCATION_TYPES = (
    "default",
    "conferenceRoom",
    "homeAddress",
    "businessAddress",
    "geoCoordinates",
    "streetAddress",
    "hotel",
    "restaurant",
    "localBusiness",
    "postalAddress",
)
ATTENDEE_TYPES = ("required", "optional", "resource")
_PROP_TYPES = (
    "String",
    "Integer",
    "Boolean",
    "SystemTime",
    "Double",
    "Binary",
    "Guid",
    "Currency",
    "Long",
    "Short",
    "Float",
    "Object",
)
_PROP_NAMED = re.compile(
    r"^(?P<type>[A-Za-z]+) \{(?P<guid>[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-"
    r"[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})\} (?P<kind>Name|Id) (?P<name>\S.*)$"
)
_PROP_TAG = re.compile(r"^(?P<type>[A-Za-z]+) (?P<tag>0x[0-9A-Fa-f]{4})$")
_EMAIL = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+$")
_LOCATION_KEYS = {
    "displayName",
    "locationType",
    "locationUri",
    "locationEmailAddress",
    "uniqueId",
    "uniqueIdType",
    "address",
    "coordinates",
}


@dataclass
class EventInput:
    shared: dict[str, Any] = field(default_factory=dict)
    times: dict[str, Any] = field(default_factory=dict)
    local: dict[str, Any] = field(default_factory=dict)
    props: dict[str, str] = field(default_factory=dict)
    transaction_id: str | None = None

    def names(self) -> set[str]:
        out = set(self.shared) | set(self.times) | set(self.local)
        if self.props:
            out.add("singleValueExtendedProperties")
        return out


def _odata_type(value: Mapping[str, Any], expected: str) -> None:
    given = value.get("@odata.type")
    if given is not None and str(given).lower() != f"#microsoft.graph.{expected}".lower():
        raise GraphError(
            400, "RequestBodyRead", f"A type named '{given}' could not be resolved by the model."
        )


def _str(value: Any, name: str, *, nullable: bool = True) -> str:
    if value is None and nullable:
        return ""
    if not isinstance(value, str):
        raise bad_value(name, value)
    return value


def _bool(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise bad_value(name, value)
    return value


def _enum(value: Any, name: str) -> str:
    allowed = ENUMS[name]
    lowered = {a.lower(): a for a in allowed}
    if not isinstance(value, str) or value.lower() not in lowered:
        raise GraphError(400, "RequestBodyRead", f"Requested value '{value}' was not found.")
    return lowered[value.lower()]


def parse_event(body: Any, *, creating: bool) -> EventInput:
    if not isinstance(body, Mapping):
        raise bad_request("The request body must be a JSON object.", "BadRequest")
    _odata_type(body, "event")
    out = EventInput()
    for key, value in body.items():
        if key == "@odata.type" or key in IGNORED:
            continue
        if key == "transactionId" and creating:
            out.transaction_id = _str(value, key)
        elif key == "organizer" and creating:
            continue  # Graph makes the mailbox's owner the organiser whatever is sent
        elif key in READ_ONLY or key in {"organizer", "transactionId"}:
            raise read_only(key)
        elif key in NAVIGATION:
            raise not_implemented(f"Writing '{key}'")
        elif key in SHARED:
            out.shared[key] = _shared(key, value)
        elif key in TIMES:
            if key == "isAllDay":
                out.times[key] = _bool(value, key)
            else:
                out.times[key] = value  # parsed with isAllDay known, by the store
        elif key in PER_COPY:
            out.local[key] = _per_copy(key, value)
        elif key == "singleValueExtendedProperties":
            out.props = parse_props(value)
        else:
            raise unknown_property(key)
    return out


def _shared(key: str, value: Any) -> Any:
    if key == "subject":
        return _str(value, key)
    if key == "body":
        return parse_body(value)
    if key == "location":
        return parse_location(value)
    if key == "locations":
        if not isinstance(value, list):
            raise bad_value(key, value)
        return [parse_location(v) for v in value]
    if key == "attendees":
        return parse_attendees(value)
    if key in ENUMS:
        return _enum(value, key)
    if key in BOOLEANS:
        return _bool(value, key)
    if key == "recurrence":
        return value  # normalised by the store, which knows the start's zone
    raise unknown_property(key)  # pragma: no cover - SHARED and this function agree


def _per_copy(key: str, value: Any) -> Any:
    if key == "categories":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise bad_value(key, value)
        return list(value)
    if key == "showAs":
        return _enum(value, key)
    if key == "isReminderOn":
        return _bool(value, key)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise bad_value(key, value)
    return value


def parse_body(value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise bad_value("body", value)
    _odata_type(value, "itemBody")
    for key in value:
        if key not in {"contentType", "content", "@odata.type"}:
            raise unknown_property(key, "microsoft.graph.itemBody")
    kind = value.get("contentType", "text")
    if not isinstance(kind, str) or kind.lower() not in {"text", "html"}:
        raise GraphError(400, "RequestBodyRead", f"Requested value '{kind}' was not found.")
    return {"contentType": kind.lower(), "content": _str(value.get("content"), "body.content")}


def parse_location(value: Any) -> dict[str, Any]:
    if value is None:
        value = {}
    if not isinstance(value, Mapping):
        raise bad_value("location", value)
    _odata_type(value, "location")
    for key in value:
        if key not in _LOCATION_KEYS and key != "@odata.type":
            raise unknown_property(key, "microsoft.graph.location")
    name = _str(value.get("displayName"), "location.displayName")
    kind = value.get("locationType") or "default"
    if kind not in LOCATION_TYPES:
        raise GraphError(400, "RequestBodyRead", f"Requested value '{kind}' was not found.")
    out: dict[str, Any] = {
        "displayName": name,
        "locationType": kind,
        "uniqueId": _str(value.get("uniqueId"), "location.uniqueId") or name or None,
        "uniqueIdType": value.get("uniqueIdType") or ("private" if name else "unknown"),
        "address": dict(value.get("address") or {}),
        "coordinates": dict(value.get("coordinates") or {}),
    }
    if out["uniqueId"] is None:
        del out["uniqueId"]
    for key in ("locationUri", "locationEmailAddress"):
        if value.get(key):
            out[key] = _str(value[key], f"location.{key}")
    return out


def parse_attendees(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise bad_value("attendees", value)
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for item in value:
        if not isinstance(item, Mapping):
            raise bad_value("attendees", item)
        _odata_type(item, "attendee")
        for key in item:
            if key not in {"type", "emailAddress", "status", "proposedNewTime", "@odata.type"}:
                raise unknown_property(key, "microsoft.graph.attendee")
        kind = item.get("type") or "required"
        if kind not in ATTENDEE_TYPES:
            raise GraphError(400, "RequestBodyRead", f"Requested value '{kind}' was not found.")
        email = item.get("emailAddress")
        if not isinstance(email, Mapping):
            raise GraphError(400, "ErrorInvalidRecipients", "At least one recipient isn't valid.")
        address = str(email.get("address") or "").strip()
        if not _EMAIL.match(address):
            raise GraphError(
                400,
                "ErrorInvalidRecipients",
                f"At least one recipient isn't valid, '{address}' isn't an e-mail address.",
            )
        if address.lower() in seen:
            continue
        seen.add(address.lower())
        name = _str(email.get("name"), "emailAddress.name") or address
        out.append({"type": kind, "emailAddress": {"name": name, "address": address}})
    return out


def canonical_prop_id(text: Any) -> str:
    """``String {guid} Name x`` with the type capitalised and the GUID lower-case."""
    if not isinstance(text, str):
        raise _bad_prop(text)
    named = _PROP_NAMED.match(text.strip())
    if named is not None:
        kind = _prop_type(named.group("type"), text)
        return f"{kind} {{{named.group('guid').lower()}}} {named.group('kind')} {named['name']}"
    tag = _PROP_TAG.match(text.strip())
    if tag is not None:
        return f"{_prop_type(tag.group('type'), text)} {tag.group('tag').lower()}"
    raise _bad_prop(text)


def _prop_type(given: str, text: str) -> str:
    for known in _PROP_TYPES:
        if known.lower() == given.lower():
            return known
    raise _bad_prop(text)


def _bad_prop(text: Any) -> GraphError:
    return GraphError(
        400,
        "ErrorInvalidExtendedProperty",
        f"The extended property attribute combination is invalid: '{text}'.",
    )


def parse_props(value: Any) -> dict[str, str]:
    if not isinstance(value, list):
        raise bad_value("singleValueExtendedProperties", value)
    out: dict[str, str] = {}
    for item in value:
        if not isinstance(item, Mapping):
            raise bad_value("singleValueExtendedProperties", item)
        for key in item:
            if key not in {"id", "value", "@odata.type"}:
                raise unknown_property(key, "microsoft.graph.singleValueLegacyExtendedProperty")
        prop_id = canonical_prop_id(item.get("id"))
        raw = item.get("value")
        if not isinstance(raw, str):
            raise GraphError(
                400,
                "ErrorInvalidExtendedPropertyValue",
                f"The extended property value for '{prop_id}' must be a string.",
            )
        if prop_id.startswith("Integer ") and not re.fullmatch(r"-?\d+", raw):
            raise GraphError(
                400,
                "ErrorInvalidExtendedPropertyValue",
                f"The extended property value '{raw}' is not an Integer.",
            )
        out[prop_id] = raw
    return out


def normalized_recurrence(value: Any, start_zone: str) -> dict[str, Any] | None:
    return None if value is None else normalize_recurrence(value, start_zone)
