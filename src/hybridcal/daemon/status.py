"""Where the organisation stands: the document behind ``hybridcal status`` and the admin API.

Built from the store alone, so the CLI answers on the machine without asking the daemon, and
replicas sharing one PostgreSQL store all tell the same story. What only a running daemon knows
(its queue, whether its first sweep is still going) is passed in as :class:`LiveFigures` by the
daemon's admin API; from the CLI that part is ``null``.

The first sweep's progress counts a calendar as synced once it is active, has a cursor and a
live channel. Its rate is an estimate from the store's clear columns (see
``store.base.CalendarOverview``): calendars that became synced over the last ``RATE_WINDOW``.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from hybridcal.core.model import CalendarKind, CalendarState

if TYPE_CHECKING:
    from hybridcal.core.model import Fault
    from hybridcal.store.base import CalendarOverview, Store

RATE_WINDOW = timedelta(minutes=10)
# A calendar whose oldest live channel is older than this is not "newly" synced however recent
# its last round: it was synced before (a re-sync after a notification). Generous, because the
# queue may sync a calendar long after the sweep opened its channel.
FRESH_CHANNEL = timedelta(hours=6)
MIN_RATE_SPAN = timedelta(minutes=1)  # no rate from a few seconds of a sweep just started
EXPIRING_WITHIN = timedelta(days=1)
PROBLEMS_SHOWN = 10
REASONS_SHOWN = 5
MESSAGE_SHOWN = 300  # characters of a fault message in the document

_ADDRESS = re.compile(r"<?[^\s@<>()\[\]\"',;:]+@[^\s@<>()\[\]\"',;:]+>?")


@dataclass(frozen=True, slots=True)
class LiveFigures:
    """What only the daemon that serves the document knows."""

    queue_depth: int
    first_sweep_running: bool
    replica: str | None = None


async def overview(store: Store, now: datetime) -> CalendarOverview:
    """The store's counts with the document's windows (also what the gauges job reads)."""
    return await store.calendar_overview(
        now=now,
        recent_since=now - RATE_WINDOW,
        fresh_since=now - RATE_WINDOW - FRESH_CHANNEL,
        expiring_before=now + EXPIRING_WITHIN,
    )


async def status_document(
    store: Store,
    now: datetime,
    *,
    live: LiveFigures | None = None,
    problems_shown: int = PROBLEMS_SHOWN,
    reasons_shown: int = REASONS_SHOWN,
) -> dict[str, Any]:
    """The status as a JSON-ready dict (``docs/admin-api.md`` describes every field)."""
    counts = await overview(store, now)
    errors = counts.by_state.get(CalendarState.ERROR, 0)
    reasons = await store.calendar_reasons(CalendarState.ERROR) if errors else []
    latest = await store.latest_faults(problems_shown)
    return {
        "generated_at": now.isoformat(),
        "calendars": {
            "total": counts.total,
            **{state.value: counts.by_state.get(state, 0) for state in CalendarState},
            "rooms": counts.by_kind.get(CalendarKind.ROOM, 0),
            "users": counts.by_kind.get(CalendarKind.USER, 0),
            "top_error_reasons": top_reasons(reasons, reasons_shown),
        },
        "sweep": sweep_progress(counts, now),
        "channels": {"expiring_within_a_day": counts.channels_expiring},
        "problems": {
            "calendars_failing": counts.calendars_failing,
            "event_faults": counts.event_faults,
            "latest": [_problem(fault) for fault in latest],
        },
        "daemon": None
        if live is None
        else {
            "queue_depth": live.queue_depth,
            "first_sweep_running": live.first_sweep_running,
            "replica": live.replica,
        },
    }


def sweep_progress(counts: CalendarOverview, now: datetime) -> dict[str, Any]:
    """``synced`` of ``total`` (calendars not in error), the rate over the recent minutes and
    the time left at that rate (None while nothing became synced lately)."""
    total = counts.total - counts.by_state.get(CalendarState.ERROR, 0)
    remaining = counts.remaining
    rate = _rate_per_minute(counts, now)
    eta = None if remaining == 0 else (round(remaining / rate * 60) if rate else None)
    return {
        "synced": counts.synced,
        "total": total,
        "remaining": remaining,
        "done": remaining == 0,
        "rate_per_minute": None if rate is None else round(rate, 1),
        "rate_window_minutes": int(RATE_WINDOW.total_seconds() // 60),
        "eta_seconds": 0 if remaining == 0 else eta,
        "eta_at": None if eta is None else (now + timedelta(seconds=eta)).isoformat(),
    }


def _rate_per_minute(counts: CalendarOverview, now: datetime) -> float | None:
    if counts.newly_synced == 0 or counts.first_newly_synced is None:
        return None
    # a sweep that started inside the window is measured over its own span, not the window's
    start = max(now - RATE_WINDOW, counts.first_newly_synced)
    span = max(now - start, MIN_RATE_SPAN)
    return counts.newly_synced / (span.total_seconds() / 60)


def top_reasons(reasons: list[tuple[str, str | None]], shown: int) -> list[dict[str, Any]]:
    """Error reasons grouped, most frequent first, with one calendar as an example. Addresses
    inside a reason are folded to ``<address>``, so that "alice@… not found" and "bob@… not
    found" count as one reason."""
    groups: Counter[str] = Counter()
    example: dict[str, str] = {}
    for key, reason in reasons:
        text = _ADDRESS.sub("<address>", reason) if reason else "(no reason recorded)"
        groups[text] += 1
        example.setdefault(text, key)
    return [
        {"reason": text, "count": count, "example": example[text]}
        for text, count in groups.most_common(shown)
    ]


def _problem(fault: Fault) -> dict[str, Any]:
    message = fault.message
    if len(message) > MESSAGE_SHOWN:
        message = message[: MESSAGE_SHOWN - 1] + "…"
    return {
        "calendar": fault.calendar_key,
        "kind": "sync" if fault.is_sync_fault else "event",
        "event": None if fault.is_sync_fault else fault.event_id,
        "error": fault.error,
        "message": message,
        "since": fault.first_seen.isoformat(),
        "last_seen": fault.last_seen.isoformat(),
        "attempts": fault.attempts,
        "next_retry": None if fault.retry_at is None else fault.retry_at.isoformat(),
    }
