"""Per-user knobs an administrator (or Google) sets: Meet outcomes and usage limits.

Meet (``MeetPolicy``): a Workspace organisation may turn Meet off for an organisational unit or
lack the licence. Then the calendar's ``conferenceProperties.allowedConferenceSolutionTypes``
no longer names ``hangoutsMeet`` and a create request is refused with 400 "Invalid conference
type value."; or the request is accepted and its ``createRequest.status.statusCode`` ends in
``failure`` (no entry points). Outcomes per organiser:

- ``pending`` (default): ``pending`` in the answer, ``success`` a moment later;
- ``success``: the conference exists in the answer already;
- ``failure``: ``failure`` in the answer; ``pending_failure``: ``pending``, then ``failure``;
- ``refused``: 400 "Invalid conference type value." (``allowed`` defaults to False then).

Usage limits (``UsageLimits``), as Google's "Handle API errors" guide lists them:

- 403 ``userRateLimitExceeded`` and 403 / 429 ``rateLimitExceeded``: short, per user (or
  project); the next ``times`` requests of that user are answered so;
- 403 ``quotaExceeded`` "Calendar usage limits exceeded.": the user hit one of Calendar's
  general limits; their writes are refused until ``until`` (Google lifts it after hours),
  reads keep working.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from hybridcal.sandbox.google.errors import ApiError

MeetOutcome = Literal["pending", "success", "failure", "pending_failure", "refused"]
ShortLimit = Literal["userRateLimitExceeded", "rateLimitExceeded", "rateLimitExceeded429"]
# the Calendar methods that change a calendar's contents (what the usage limits restrict)
WRITES = frozenset(
    {
        "calendar.events.insert",
        "calendar.events.patch",
        "calendar.events.update",
        "calendar.events.delete",
        "calendar.events.import",
        "calendar.events.move",
        "calendar.events.quickAdd",
    }
)
_MESSAGES = {
    "userRateLimitExceeded": "User Rate Limit Exceeded",
    "rateLimitExceeded": "Rate Limit Exceeded",
}


@dataclass
class MeetPolicy:
    outcomes: dict[str, MeetOutcome] = field(default_factory=dict)
    allowed: dict[str, bool] = field(default_factory=dict)

    def set(self, email: str, outcome: MeetOutcome, allowed: bool | None = None) -> None:
        self.outcomes[email] = outcome
        self.allowed[email] = outcome != "refused" if allowed is None else allowed

    def outcome(self, organizer: str) -> MeetOutcome:
        return self.outcomes.get(organizer, "pending")

    def solution_types(self, calendar: str) -> list[str]:
        """``conferenceProperties.allowedConferenceSolutionTypes`` of the calendar."""
        return ["hangoutsMeet"] if self.allowed.get(calendar, True) else []


@dataclass
class _Short:
    reason: ShortLimit
    left: int


@dataclass
class UsageLimits:
    short: dict[str, _Short] = field(default_factory=dict)
    writes_until: dict[str, datetime] = field(default_factory=dict)

    def rate_limit(self, email: str, reason: ShortLimit, times: int) -> None:
        self.short[email] = _Short(reason, times)

    def limit_writes(self, email: str, until: datetime) -> None:
        self.writes_until[email] = until

    def check(self, subject: str, method_id: str, now: datetime) -> None:
        """Raise the error Google would answer ``subject``'s request with, if any."""
        short = self.short.get(subject)
        if short is not None and short.left > 0:
            short.left -= 1
            if short.reason == "rateLimitExceeded429":
                raise ApiError(
                    429, "rateLimitExceeded", _MESSAGES["rateLimitExceeded"], domain="usageLimits"
                )
            raise ApiError(403, short.reason, _MESSAGES[short.reason], domain="usageLimits")
        until = self.writes_until.get(subject)
        if until is not None and method_id in WRITES and now < until:
            raise ApiError(
                403, "quotaExceeded", "Calendar usage limits exceeded.", domain="usageLimits"
            )
