"""The meeting-system protocol: create, update and delete a meeting, returning its join info.

Systems that the calendar makes itself (Google Meet through conference data, Teams through
Graph) are *native*: the planner asks the calendar connector for them through the event patch,
so they need no second API. Systems with their own API (Zoom, Webex) implement this protocol;
the planner and the executor know nothing else about them, and every implementation passes the
same contract suite (``tests/contract/meeting_contract.py``).

Crash safety rests on ``idempotency_key``: an implementation stores it inside the meeting it
makes (Zoom: in the agenda) and ``find`` looks it up again, so that a daemon that crashed after
the system made the meeting, but before the store heard of it, adopts that meeting instead of
making a second one.

A personal room is read, never made (``personal_room``): the planner puts its join details into
the invitation instead of a meeting of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from hybridcal.core.model import JoinInfo, MeetingProblem


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
    organizer_name: str | None = None
    all_day: bool = False


class MeetingRefusedError(Exception):
    """The system refused in a way that retrying soon cannot fix (no account for the organiser,
    no scheduling privilege, the daily limit). The executor writes a short note into the
    invitation, shows ``problem`` to the admin and tries again from ``retry_at``.

    Raised by an update, a delete or an occurrence call, it means that call did nothing: the
    executor makes it again from ``retry_at`` on. Raised by ``create`` with ``made`` set, the
    meeting exists (``made``) but finishing it was refused (e.g. removing the occurrences the
    series excludes): the executor keeps the meeting and finishes it with ``update`` from
    ``retry_at`` on."""

    def __init__(
        self, problem: MeetingProblem, retry_at: datetime, *, made: JoinInfo | None = None
    ) -> None:
        super().__init__(problem.detail)
        self.problem = problem
        self.retry_at = retry_at
        self.made = made


class MeetingSystem(Protocol):
    name: str

    async def create(self, request: MeetingRequest) -> JoinInfo:
        """Make the meeting. Raises MeetingRefusedError, or a ConnectorError subclass."""

    async def find(self, request: MeetingRequest) -> JoinInfo | None:
        """The meeting made earlier for ``request.idempotency_key``, if there is one."""

    async def update(self, join: JoinInfo, request: MeetingRequest) -> JoinInfo:
        """Make the meeting mirror ``request`` again (time, length, title, recurrence)."""

    async def delete(self, meeting_id: str) -> None:
        """Deleting a meeting that no longer exists is not an error."""

    async def update_occurrence(
        self, meeting_id: str, original_start: datetime, start: datetime, end: datetime
    ) -> None:
        """Move or resize one occurrence of a recurring meeting. A meeting without separate
        occurrences (one link for the whole series) needs nothing and is not an error."""

    async def delete_occurrence(self, meeting_id: str, original_start: datetime) -> None:
        """Cancel one occurrence; one that is already gone is not an error."""

    async def personal_room(self, host: str) -> JoinInfo:
        """The join details of ``host``'s personal room (Zoom's Personal Meeting ID, Webex's
        Personal Room). Only reads: nothing is made, so nothing is ever deleted. Raises
        MeetingRefusedError when the host has no (active) account or no personal room."""

    async def close(self) -> None: ...
