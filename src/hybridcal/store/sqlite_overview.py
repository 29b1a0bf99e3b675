"""Counts over all calendars for ``hybridcal status`` and the gauges.

A few aggregate queries over clear columns (state, kind, whether a cursor is stored, channel
and sync times, fault rows) instead of loading and decrypting every calendar: at 10,000
calendars that is the difference between milliseconds and seconds. Only the reasons of the
calendars in one state are decrypted. The SQL is plain enough for PostgreSQL too, which shares
this code (``store.postgres``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hybridcal.core.model import CalendarKind, CalendarState
from hybridcal.crypto import row_aad
from hybridcal.store import codec
from hybridcal.store.base import CalendarOverview
from hybridcal.store.sqlite_rows import RowStore

if TYPE_CHECKING:
    from datetime import datetime

# Synced calendars (active, a cursor, a live channel) with the creation time of their oldest
# live channel and their last round; "newly synced" is decided on these two (CalendarOverview).
_SYNCED_SQL = """
SELECT COUNT(*),
       SUM(CASE WHEN c.synced_at >= ? AND h.first_created >= ? THEN 1 ELSE 0 END),
       MIN(CASE WHEN c.synced_at >= ? AND h.first_created >= ? THEN c.synced_at END)
FROM calendars c
JOIN (SELECT calendar_key, MIN(created_at) AS first_created FROM channels
      WHERE expires_at > ? GROUP BY calendar_key) h ON h.calendar_key = c.key
WHERE c.state = ? AND c.cursor IS NOT NULL
"""


class OverviewTables(RowStore):
    def calendar_overview(
        self,
        now: datetime,
        recent_since: datetime,
        fresh_since: datetime,
        expiring_before: datetime,
    ) -> CalendarOverview:
        text = codec.instant_to_text
        by_state: dict[CalendarState, int] = {}
        by_kind: dict[CalendarKind, int] = {}
        counts = self._conn.execute(
            "SELECT state, kind, COUNT(*) FROM calendars GROUP BY state, kind"
        ).fetchall()
        for state, kind, count in counts:
            by_state[CalendarState(state)] = by_state.get(CalendarState(state), 0) + int(count)
            by_kind[CalendarKind(kind)] = by_kind.get(CalendarKind(kind), 0) + int(count)
        recent, fresh = text(recent_since), text(fresh_since)
        synced, newly, first = self._conn.execute(
            _SYNCED_SQL,
            [recent, fresh, recent, fresh, text(now), CalendarState.ACTIVE.value],
        ).fetchone()
        expiring = self._conn.execute(
            "SELECT COUNT(*) FROM channels WHERE expires_at > ? AND expires_at <= ?",
            [text(now), text(expiring_before)],
        ).fetchone()[0]
        sync_faults, event_faults = self._conn.execute(
            "SELECT SUM(CASE WHEN event_id = '' THEN 1 ELSE 0 END),"
            " SUM(CASE WHEN event_id <> '' THEN 1 ELSE 0 END) FROM faults"
        ).fetchone()
        return CalendarOverview(
            by_state=by_state,
            by_kind=by_kind,
            synced=int(synced or 0),
            newly_synced=int(newly or 0),
            first_newly_synced=codec.optional_instant_from_text(first),
            channels_expiring=int(expiring or 0),
            calendars_failing=int(sync_faults or 0),
            event_faults=int(event_faults or 0),
        )

    def calendar_reasons(self, state: CalendarState) -> list[tuple[str, str | None]]:
        reasons: list[tuple[str, str | None]] = []
        sql = "SELECT key, reason FROM calendars WHERE state = ? ORDER BY key"
        for key, blob in self._conn.execute(sql, [state.value]).fetchall():
            value = self._open_optional(blob, row_aad("calendars", "reason", key), "calendars", key)
            reasons.append((key, value if isinstance(value, str) else None))
        return reasons
