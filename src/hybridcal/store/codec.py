"""Explicit JSON codecs for the domain values a store encrypts (no pickle, no reflection).

Each ``*_to_json`` returns a JSON-ready dict of exactly the fields that are encrypted; the matching
``*_from_json`` checks every type, so a record written by an incompatible version fails loudly as
a :class:`CodecError` instead of producing a half-valid object. Fields stored in clear columns
(keys, times) are passed to the decoders separately.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hybridcal.core.model import (
    Binding,
    JoinInfo,
    JoinLink,
    MeetingEntry,
    MeetingProblem,
    PhoneNumber,
    Presence,
    ProblemKind,
)


class CodecError(ValueError):
    """A decrypted record does not have the shape this version of hybridcal writes."""


# -- instants ------------------------------------------------------------------------------------


def instant_to_text(value: datetime) -> str:
    """Fixed-width UTC text: sorts like the instants it names, so SQL can compare it."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value.isoformat()} given to the store")
    naive = value.astimezone(UTC).replace(tzinfo=None)
    return naive.isoformat(timespec="microseconds") + "Z"


def instant_from_text(text: str) -> datetime:
    if not text.endswith("Z"):
        raise ValueError(f"not a stored UTC instant: {text!r}")
    return datetime.fromisoformat(text[:-1]).replace(tzinfo=UTC)


def optional_instant_to_text(value: datetime | None) -> str | None:
    return None if value is None else instant_to_text(value)


def optional_instant_from_text(text: str | None) -> datetime | None:
    return None if text is None else instant_from_text(text)


# -- checked field access ------------------------------------------------------------------------


def _obj(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise CodecError(f"expected an object, got {type(value).__name__}")
    return value


def _str(data: dict[str, Any], name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str):
        raise CodecError(f"field {name!r} must be a string")
    return value


def _opt_str(data: dict[str, Any], name: str) -> str | None:
    value = data.get(name)
    if value is not None and not isinstance(value, str):
        raise CodecError(f"field {name!r} must be a string or null")
    return value


def _bool(data: dict[str, Any], name: str) -> bool:
    value = data.get(name)
    if not isinstance(value, bool):
        raise CodecError(f"field {name!r} must be a boolean")
    return value


def _opt_count(data: dict[str, Any], name: str) -> int | None:
    value = data.get(name)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise CodecError(f"field {name!r} must be a count or null")
    return value


def _list(data: dict[str, Any], name: str) -> list[Any]:
    value = data.get(name)
    if not isinstance(value, list):
        raise CodecError(f"field {name!r} must be a list")
    return value


def _str_list(data: dict[str, Any], name: str) -> tuple[str, ...]:
    items = _list(data, name)
    if not all(isinstance(item, str) for item in items):
        raise CodecError(f"field {name!r} must be a list of strings")
    return tuple(items)


# -- meeting cache rows --------------------------------------------------------------------------


def link_to_json(link: JoinLink) -> dict[str, Any]:
    return link.to_json()


def link_from_json(value: Any) -> JoinLink:
    data = _obj(value)
    return JoinLink(
        provider=_str(data, "provider"),
        url=_str(data, "url"),
        meeting_id=_opt_str(data, "meeting_id"),
        passcode=_opt_str(data, "passcode"),
        dial=_opt_str(data, "dial"),
    )


def entry_to_json(entry: MeetingEntry) -> dict[str, Any]:
    """The encrypted part of a cache row: everything but keys, source id and times."""
    return {
        "all_day": entry.all_day,
        "title": entry.title,
        "organizer": entry.organizer,
        "organizer_name": entry.organizer_name,
        "attendees": list(entry.attendees),
        "location": entry.location,
        "private": entry.private,
        "tentative": entry.tentative,
        "links": [link_to_json(link) for link in entry.links],
        "attendee_count": entry.attendee_count,
        "attendee_names": list(entry.attendee_names),
        "numeric_passcode": entry.numeric_passcode,
    }


def entry_from_json(
    value: Any,
    *,
    calendar_key: str,
    event_key: str,
    source_id: str,
    start: datetime,
    end: datetime,
) -> MeetingEntry:
    data = _obj(value)
    return MeetingEntry(
        calendar_key=calendar_key,
        event_key=event_key,
        source_id=source_id,
        start=start,
        end=end,
        all_day=_bool(data, "all_day"),
        title=_str(data, "title"),
        organizer=_opt_str(data, "organizer"),
        organizer_name=_opt_str(data, "organizer_name"),
        attendees=_str_list(data, "attendees"),
        location=_str(data, "location"),
        private=_bool(data, "private"),
        tentative=_bool(data, "tentative"),
        links=tuple(link_from_json(item) for item in _list(data, "links")),
        # added later: a row sealed before has none of them (no count, no names, no passcode)
        attendee_count=_opt_count(data, "attendee_count"),
        attendee_names=_str_list(data, "attendee_names") if "attendee_names" in data else (),
        numeric_passcode=_opt_str(data, "numeric_passcode"),
    )


# -- join details of meetings we made ------------------------------------------------------------


def join_to_json(join: JoinInfo) -> dict[str, Any]:
    return {
        "system": join.system,
        "meeting_id": join.meeting_id,
        "join_url": join.join_url,
        "passcode": join.passcode,
        "phones": [
            {"number": p.number, "country": p.country, "label": p.label} for p in join.phones
        ],
        "phone_passcode": join.phone_passcode,
        "sip": join.sip,
        "extra": [[name, value] for name, value in join.extra],
    }


def join_from_json(value: Any) -> JoinInfo:
    data = _obj(value)
    phones = tuple(
        PhoneNumber(
            number=_str(phone, "number"),
            country=_opt_str(phone, "country"),
            label=_opt_str(phone, "label"),
        )
        for phone in map(_obj, _list(data, "phones"))
    )
    extra: list[tuple[str, str]] = []
    for pair in _list(data, "extra"):
        if not (
            isinstance(pair, list) and len(pair) == 2 and all(isinstance(x, str) for x in pair)
        ):
            raise CodecError("field 'extra' must be a list of [name, value] string pairs")
        extra.append((pair[0], pair[1]))
    return JoinInfo(
        system=_str(data, "system"),
        meeting_id=_str(data, "meeting_id"),
        join_url=_str(data, "join_url"),
        passcode=_opt_str(data, "passcode"),
        phones=phones,
        phone_passcode=_opt_str(data, "phone_passcode"),
        sip=_opt_str(data, "sip"),
        extra=tuple(extra),
    )


# -- bindings and presence -----------------------------------------------------------------------


def binding_secrets_to_json(binding: Binding) -> dict[str, Any]:
    """The binding's fields that are sealed (everything but the clear lookup columns)."""
    problem = binding.problem
    return {
        "keyword": binding.keyword,
        "meeting_id": binding.meeting_id,
        "block_hash": binding.block_hash,
        "join": None if binding.join is None else join_to_json(binding.join),
        "fingerprint": binding.fingerprint,
        "problem": None
        if problem is None
        else {"kind": problem.kind.value, "detail": problem.detail},
        "retry_at": optional_instant_to_text(binding.retry_at),
        "series_id": binding.series_id,
    }


def binding_secrets_from_json(value: Any) -> dict[str, Any]:
    """Checked fields for ``Binding(**clear_fields, **binding_secrets_from_json(blob))``."""
    data = _obj(value)
    join = data.get("join")
    problem = data.get("problem")
    try:
        retry_at = optional_instant_from_text(_opt_str(data, "retry_at"))
        kind = None if problem is None else ProblemKind(_str(_obj(problem), "kind"))
    except ValueError as exc:
        raise CodecError(f"binding: {exc}") from None
    return {
        "keyword": _str(data, "keyword"),
        "meeting_id": _opt_str(data, "meeting_id"),
        "block_hash": _opt_str(data, "block_hash"),
        "join": None if join is None else join_from_json(join),
        "fingerprint": _opt_str(data, "fingerprint"),
        "problem": None if kind is None else MeetingProblem(kind, _str(_obj(problem), "detail")),
        "retry_at": retry_at,
        "series_id": _opt_str(data, "series_id"),
    }


def presence_to_json(presence: Presence) -> dict[str, Any]:
    return {
        "out_of_office": presence.out_of_office,
        "starts_at": optional_instant_to_text(presence.starts_at),
        "ends_at": optional_instant_to_text(presence.ends_at),
        "message": presence.message,
    }


def presence_from_json(value: Any, *, calendar_key: str) -> Presence:
    data = _obj(value)
    try:
        starts_at = optional_instant_from_text(_opt_str(data, "starts_at"))
        ends_at = optional_instant_from_text(_opt_str(data, "ends_at"))
    except ValueError as exc:
        raise CodecError(f"presence time: {exc}") from None
    return Presence(
        calendar_key=calendar_key,
        out_of_office=_bool(data, "out_of_office"),
        starts_at=starts_at,
        ends_at=ends_at,
        message=_opt_str(data, "message"),
    )
