"""The simulator's meeting records (what GET renders comes from :mod:`render`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from hybridcal.sandbox.zoom.errors import invalid_occurrence
from hybridcal.sandbox.zoom.fields import RECURRING_FIXED_TIME, RECURRING_NO_FIXED_TIME
from hybridcal.sandbox.zoom.recurrence import Recurrence


@dataclass
class Occurrence:
    id: str  # epoch ms of the original start
    start: datetime
    duration: int | None = None
    agenda: str | None = None
    settings: dict[str, Any] | None = None
    deleted: bool = False


@dataclass
class Meeting:
    id: int
    uuid: str
    host_id: str
    assistant_id: str | None
    topic: str
    type: int
    start: datetime | None
    duration: int
    timezone: str
    agenda: str
    created_at: datetime
    password: str
    zak: str
    settings: dict[str, Any] = field(default_factory=dict)
    recurrence: Recurrence | None = None
    occurrences: list[Occurrence] = field(default_factory=list)
    deleted: bool = False
    status: str = "waiting"
    pre_schedule: bool = False

    def occurrence(self, occurrence_id: str) -> Occurrence:
        """A live occurrence of this meeting; an unknown or deleted one → 400 code 3000."""
        for occurrence in self.occurrences:
            if occurrence.id == occurrence_id and not occurrence.deleted:
                return occurrence
        raise invalid_occurrence(occurrence_id)

    def ends(self) -> datetime | None:
        """When the meeting (its last occurrence) ends; None for type 3."""
        if self.type == RECURRING_NO_FIXED_TIME or self.start is None:
            return None
        live = [o for o in self.occurrences if not o.deleted]
        if self.type == RECURRING_FIXED_TIME:
            if not live:
                return self.start
            return max(o.start + timedelta(minutes=o.duration or self.duration) for o in live)
        return self.start + timedelta(minutes=self.duration)


def sort_key(meeting: Meeting) -> tuple[float, int]:
    moment = meeting.start or meeting.created_at
    return (moment.timestamp(), meeting.id)
