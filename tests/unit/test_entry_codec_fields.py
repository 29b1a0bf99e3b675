"""Meeting rows sealed before the endpoint fields existed still read; bad values fail loudly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hybridcal.core.model import JoinLink, MeetingEntry
from hybridcal.store.codec import CodecError, entry_from_json, entry_to_json

T0 = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)
KEYS: dict[str, Any] = {
    "calendar_key": "google:room-1@example.com",
    "event_key": "e1",
    "source_id": "e1",
    "start": T0,
    "end": T0 + timedelta(hours=1),
}
ROW = MeetingEntry(
    **KEYS,
    title="Review",
    attendees=("bob@example.com",),
    links=(JoinLink("zoom", "https://example.zoom.us/j/84512345678", "84512345678"),),
    attendee_count=2,
    attendee_names=("Alice", "bob@example.com"),
    numeric_passcode="903215",
)


def test_new_fields_round_trip() -> None:
    assert entry_from_json(entry_to_json(ROW), **KEYS) == ROW


def test_row_sealed_by_an_older_version_reads_without_them() -> None:
    old = entry_to_json(ROW)
    for name in ("attendee_count", "attendee_names", "numeric_passcode"):
        del old[name]
    read = entry_from_json(old, **KEYS)
    assert (read.attendee_count, read.attendee_names, read.numeric_passcode) == (None, (), None)
    assert (read.title, read.attendees, read.links) == (ROW.title, ROW.attendees, ROW.links)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("attendee_count", -1),
        ("attendee_count", True),
        ("attendee_count", "3"),
        ("attendee_names", "Alice"),
        ("attendee_names", [1]),
        ("numeric_passcode", 903215),
    ],
)
def test_malformed_new_fields_are_codec_errors(name: str, value: object) -> None:
    data = {**entry_to_json(ROW), name: value}
    with pytest.raises(CodecError):
        entry_from_json(data, **KEYS)
