"""What the daemon asked a provider, read from the simulator's request log: calls per kind and
the peak request rates that the provider's quotas are written in.

Google's Calendar API quotas are per minute: 600 requests per user and 10,000 per project.
They are compared with the busiest sliding 60-second window (per user: the delegated subject
the access token was granted for). Graph's limit is concurrency: 4 requests of one app in
flight per mailbox, which the simulator tracks itself.
"""

from __future__ import annotations

from collections import Counter, defaultdict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

GOOGLE_USER_PER_MINUTE = 600
GOOGLE_PROJECT_PER_MINUTE = 10_000
GRAPH_MAILBOX_CONCURRENCY = 4

# provider operation -> the kind the scale benchmark reports
GOOGLE_KINDS = {
    "calendar.events.list": "list",
    "calendar.events.instances": "instances",
    "calendar.events.watch": "watch",
    "calendar.channels.stop": "stop",
    "oauth2.token": "token",
    "gmail.users.settings.getVacation": "vacation",
}
GRAPH_KINDS = {
    "calendarView.delta": "list",
    "event.instances": "instances",
    "subscriptions.create": "watch",
    "subscriptions.update": "renew",
    "subscriptions.delete": "stop",
    "token": "token",
    "mailboxSettings.get": "vacation",
}


@dataclass(frozen=True, slots=True)
class Request:
    """One request as the figures need it: operation, who it was for, answer and time."""

    operation: str
    user: str | None
    status: int
    at: datetime


def kind_of(operation: str, provider: str) -> str:
    kinds = GOOGLE_KINDS if provider == "google" else GRAPH_KINDS
    return kinds.get(operation, "other")


def calls_by_kind(requests: Iterable[Request], provider: str) -> dict[str, int]:
    return dict(sorted(Counter(kind_of(r.operation, provider) for r in requests).items()))


def calls_by_operation(requests: Iterable[Request]) -> dict[str, int]:
    return dict(sorted(Counter(r.operation for r in requests).items()))


def peak_per_minute(times: Sequence[datetime]) -> int:
    """The most requests inside any 60-second window (``times`` in order)."""
    window: deque[datetime] = deque()
    peak = 0
    for at in times:
        window.append(at)
        while (at - window[0]).total_seconds() >= 60:
            window.popleft()
        peak = max(peak, len(window))
    return peak


def google_rates(requests: Sequence[Request]) -> dict[str, int | bool]:
    """Peak Calendar API requests per minute, per user and per project (token grants and
    Gmail's vacation settings are other APIs with quotas of their own; they are excluded)."""
    calendar = [r for r in requests if r.operation.startswith("calendar.")]
    per_user: dict[str, list[datetime]] = defaultdict(list)
    for r in calendar:
        if r.user is not None:
            per_user[r.user].append(r.at)
    user_peak = max((peak_per_minute(times) for times in per_user.values()), default=0)
    project_peak = peak_per_minute([r.at for r in calendar])
    return {
        "peak_requests_per_minute_per_user": user_peak,
        "quota_per_minute_per_user": GOOGLE_USER_PER_MINUTE,
        "peak_requests_per_minute_per_project": project_peak,
        "quota_per_minute_per_project": GOOGLE_PROJECT_PER_MINUTE,
        "within_quota": user_peak <= GOOGLE_USER_PER_MINUTE
        and project_peak <= GOOGLE_PROJECT_PER_MINUTE,
    }


def graph_rates(requests: Sequence[Request], peak_in_flight: int) -> dict[str, int | bool]:
    per_mailbox: dict[str, list[datetime]] = defaultdict(list)
    for r in requests:
        if r.user is not None:
            per_mailbox[r.user].append(r.at)
    return {
        "peak_requests_per_minute_per_mailbox": max(
            (peak_per_minute(times) for times in per_mailbox.values()), default=0
        ),
        "peak_requests_per_minute_per_app": peak_per_minute([r.at for r in requests]),
        "peak_in_flight_per_mailbox": peak_in_flight,
        "limit_in_flight_per_mailbox": GRAPH_MAILBOX_CONCURRENCY,
        "throttled": sum(1 for r in requests if r.status == 429),
        "within_quota": peak_in_flight <= GRAPH_MAILBOX_CONCURRENCY,
    }


def calls_per_second(requests: Iterable[Request], since: datetime) -> dict[int, int]:
    """Requests per whole second after ``since`` (for telling quiet seconds from busy ones)."""
    return dict(Counter(int((r.at - since).total_seconds()) for r in requests))
