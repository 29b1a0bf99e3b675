"""Stored events, their per-mailbox copies, and the shapes of Graph's opaque ids.

Exchange keeps one item per mailbox that shows a meeting: the organiser's, one per attendee
user, one per room. Each copy has its own ``id``, ``changeKey`` (``@odata.etag`` is
``W/"<changeKey>"``; it changes on every write of that copy), extended properties, categories,
reminder and response; the meeting's shared fields (subject, body, times, location, attendees,
recurrence, online meeting) belong to the organiser and propagate to every copy.

A series master keeps its exceptions (modified occurrences) and the originals of cancelled
occurrences. Unmodified occurrences are never stored: they are computed from the master. Their
ids are derived from the master copy's id and the original start, so they are stable and the
simulator can resolve them; an exception keeps its occurrence's id.

Ids look like Exchange's (URL-safe base64 of a binary blob starting ``AAMk``); ``iCalUId`` is a
Global Object Id in hex whose bytes 16-19 carry the occurrence date for instances, as in Outlook.
"""

from __future__ import annotations

import base64
import binascii
import random
import struct
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from hybridcal.sandbox.microsoft.errors import malformed_id
from hybridcal.sandbox.microsoft.times import When

Kind = Literal["single", "master", "exception"]
_PREFIX = b"\x00\x03\x24"
_ITEM_LEN = 113
_OCC_MARK = b"\x07"
_GOID_HEAD = "040000008200E00074C5B7101A82E008"


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii")


def new_item_id(rng: random.Random) -> str:
    return _encode(_PREFIX + rng.randbytes(_ITEM_LEN - len(_PREFIX)))


def occurrence_id(master_id: str, original: datetime) -> str:
    raw = base64.urlsafe_b64decode(master_id)
    return _encode(raw + _OCC_MARK + struct.pack(">q", int(original.timestamp())))


def parse_id(event_id: str) -> tuple[str, datetime | None]:
    """``(item id, None)`` or ``(master id, original start)``; 400 for anything else."""
    try:
        raw = base64.urlsafe_b64decode(event_id.encode("ascii"))
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise malformed_id() from None
    if not raw.startswith(_PREFIX) or _encode(raw) != event_id:
        raise malformed_id()
    if len(raw) == _ITEM_LEN:
        return event_id, None
    if len(raw) == _ITEM_LEN + 9 and raw[_ITEM_LEN : _ITEM_LEN + 1] == _OCC_MARK:
        (stamp,) = struct.unpack(">q", raw[_ITEM_LEN + 1 :])
        try:
            original = datetime.fromtimestamp(stamp, UTC)
        except (OverflowError, OSError, ValueError):
            raise malformed_id() from None
        return _encode(raw[:_ITEM_LEN]), original
    raise malformed_id()


def new_change_key(rng: random.Random) -> str:
    return base64.b64encode(rng.randbytes(20)).decode("ascii")


def new_ical_uid(rng: random.Random) -> str:
    return (
        _GOID_HEAD
        + "00000000"
        + rng.randbytes(8).hex().upper()
        + "0" * 16
        + "10000000"
        + rng.randbytes(16).hex().upper()
    )


def instance_ical_uid(series_uid: str, day: datetime) -> str:
    stamp = f"{day.year:04X}{day.month:02X}{day.day:02X}"
    return series_uid[:32] + stamp + series_uid[40:]


@dataclass
class Copy:
    """One mailbox's item for a meeting."""

    mailbox: str
    id: str
    created: datetime
    modified: datetime
    change_key: str
    response: str  # organizer | none | notResponded | accepted | tentativelyAccepted | declined
    response_time: datetime | None = None
    props: dict[str, str] = field(default_factory=dict)  # extended properties by canonical id
    local: dict[str, Any] = field(default_factory=dict)  # categories, showAs, reminders
    removed: bool = False  # no longer in this mailbox
    cancelled: bool = False  # the organiser cancelled; an attendee's copy stays, marked
    hidden: set[datetime] = field(default_factory=set)  # occurrences this mailbox deleted

    @property
    def etag(self) -> str:
        return f'W/"{self.change_key}"'


@dataclass
class Item:
    """A single event, a series master, or one exception of a series."""

    kind: Kind
    organizer: str
    ical_uid: str
    created: datetime
    fields: dict[str, Any]  # shared fields; an exception holds only what it overrides
    start: When
    end: When
    copies: dict[str, Copy]
    master: Item | None = None
    original: datetime | None = None  # an exception's original start (UTC)
    exceptions: dict[datetime, Item] = field(default_factory=dict)
    cancelled_occurrences: set[datetime] = field(default_factory=set)
    transaction_id: str | None = None

    def effective(self) -> dict[str, Any]:
        if self.master is None:
            return self.fields
        merged = {k: v for k, v in self.master.fields.items() if k != "recurrence"}
        merged.update(self.fields)
        return merged

    def live_copies(self) -> list[Copy]:
        return [c for c in self.copies.values() if not c.removed]

    def copy_of(self, mailbox: str) -> Copy | None:
        copy = self.copies.get(mailbox)
        return None if copy is None or copy.removed else copy


@dataclass(frozen=True)
class Occurrence:
    """A computed instance of a series (the exception's values if it has one)."""

    master: Item
    original: datetime
    start: When
    end: When
    exception: Item | None = None
