"""The meeting-system protocol: create, update and delete a meeting, returning its join info.

Systems that the calendar makes itself (Google Meet through conference data, Teams through
Graph) are *native*: the planner asks the calendar connector for them. Systems with their own API
(Zoom, Webex) implement this protocol.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from hybridcal.core.model import JoinInfo


@dataclass(frozen=True, slots=True)
class MeetingRequest:
    """What a meeting mirrors from its event."""

    idempotency_key: str  # the binding's request id; stored in the meeting to find it after a crash
    topic: str
    start: datetime | None
    end: datetime | None
    timezone: str | None
    organizer: str | None
    recurrence: tuple[str, ...] = ()
    agenda: str = ""


class MeetingSystem(Protocol):
    name: str

    async def create(self, request: MeetingRequest) -> JoinInfo: ...

    async def update(self, meeting_id: str, request: MeetingRequest) -> JoinInfo: ...

    async def delete(self, meeting_id: str) -> None:
        """Deleting a meeting that no longer exists is not an error."""
