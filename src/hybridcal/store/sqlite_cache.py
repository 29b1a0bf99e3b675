"""The meeting cache in the SQLite store: rows per calendar, applied one sync round at a time.

A row's key, source id, start and end are clear (fixed-width UTC text, so SQL compares instants
as strings); everything else is one encrypted record bound to those columns. A row that fails to
decrypt is skipped and reported, never returned and never fatal.

The cache version (the endpoints' ETag) moves only when the rows really change: a sync round that
rewrites identical rows — our own patch echoing back — compares the decrypted rows with the new
ones and leaves both the rows and the version alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hybridcal.crypto import DecryptionError, row_aad
from hybridcal.store import codec
from hybridcal.store.sqlite_rows import RowStore

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    from hybridcal.core.model import MeetingEntry
    from hybridcal.store.base import SyncResult

_TABLE = "meetings"


def entry_aad(row: dict[str, Any]) -> bytes:
    return row_aad(
        _TABLE,
        "data",
        row["calendar_key"],
        row["event_key"],
        row["source_id"],
        row["start_at"],
        row["end_at"],
    )


class CacheTables(RowStore):
    def apply_sync(self, result: SyncResult) -> None:
        """Replace, remove and (if full) sweep rows, and save the cursor, in one transaction."""
        key = result.calendar_key
        replace = {
            source: _checked(result, source, rows) for source, rows in result.replace.items()
        }
        cursor = (
            None
            if result.cursor is None
            else self._seal(result.cursor, row_aad("calendars", "cursor", key))
        )
        synced_at = codec.instant_to_text(result.synced_at or self._now())
        with self._write():
            self._require_calendar(key)
            changed = False
            for source_id, rows in replace.items():
                changed |= self._replace_source(key, source_id, rows)
            for source_id in result.remove:
                changed |= self._delete_source(key, source_id)
            if result.full:
                for source_id in self._source_ids(key) - set(replace):
                    changed |= self._delete_source(key, source_id)
            self._conn.execute(
                "UPDATE calendars SET cursor = ?, synced_at = ? WHERE key = ?",
                [cursor, synced_at, key],
            )
            if changed:
                self._bump(key)

    def _replace_source(self, key: str, source_id: str, rows: Sequence[MeetingEntry]) -> bool:
        new = {row.event_key: row for row in rows}
        stored = self._query(
            "SELECT * FROM meetings WHERE calendar_key = ? AND source_id = ?", [key, source_id]
        )
        old = {row["event_key"]: self._entry_from_row(row) for row in stored}
        if old == new:  # an unreadable old row is None here, so it never compares equal
            return False
        self._conn.execute(
            "DELETE FROM meetings WHERE calendar_key = ? AND source_id = ?", [key, source_id]
        )
        for entry in rows:
            # OR REPLACE: an occurrence may move from one source to another (series split).
            self._insert(_TABLE, self._entry_values(entry), replace=True)
        return True

    def _delete_source(self, key: str, source_id: str) -> bool:
        cursor = self._conn.execute(
            "DELETE FROM meetings WHERE calendar_key = ? AND source_id = ?", [key, source_id]
        )
        return cursor.rowcount > 0

    def _source_ids(self, key: str) -> set[str]:
        sql = "SELECT DISTINCT source_id FROM meetings WHERE calendar_key = ?"
        return {row[0] for row in self._conn.execute(sql, [key])}

    def _entry_values(self, entry: MeetingEntry) -> dict[str, Any]:
        values: dict[str, Any] = {
            "calendar_key": entry.calendar_key,
            "event_key": entry.event_key,
            "source_id": entry.source_id,
            "start_at": codec.instant_to_text(entry.start),
            "end_at": codec.instant_to_text(entry.end),
        }
        values["data"] = self._seal(codec.entry_to_json(entry), entry_aad(values))
        return values

    def _entry_from_row(self, row: dict[str, Any]) -> MeetingEntry | None:
        try:
            return codec.entry_from_json(
                self._cipher.decrypt_json(row["data"], entry_aad(row)),
                calendar_key=row["calendar_key"],
                event_key=row["event_key"],
                source_id=row["source_id"],
                start=codec.instant_from_text(row["start_at"]),
                end=codec.instant_from_text(row["end_at"]),
            )
        except (DecryptionError, ValueError) as exc:  # CodecError is a ValueError
            self._report(_TABLE, f"{row['calendar_key']}/{row['event_key']}", exc)
            return None

    def list_entries(self, calendar_key: str, start: datetime, end: datetime) -> list[MeetingEntry]:
        rows = self._query(
            "SELECT * FROM meetings WHERE calendar_key = ? AND start_at < ? AND end_at > ?"
            " ORDER BY start_at, event_key",
            [calendar_key, codec.instant_to_text(end), codec.instant_to_text(start)],
        )
        return [entry for entry in map(self._entry_from_row, rows) if entry is not None]

    def count_entries(self) -> int:
        row = self._conn.execute("SELECT COUNT(*) FROM meetings").fetchone()
        return int(row[0])

    def cache_version(self, calendar_key: str) -> int:
        row = self._conn.execute(
            "SELECT version FROM cache_versions WHERE calendar_key = ?", [calendar_key]
        ).fetchone()
        return 0 if row is None else int(row[0])

    def prune_entries(self, before: datetime, after: datetime) -> int:
        bounds = [codec.instant_to_text(before), codec.instant_to_text(after)]
        with self._write():
            touched = self._conn.execute(
                "SELECT DISTINCT calendar_key FROM meetings WHERE end_at < ? OR start_at > ?",
                bounds,
            ).fetchall()
            count = self._conn.execute(
                "DELETE FROM meetings WHERE end_at < ? OR start_at > ?", bounds
            ).rowcount
            for (key,) in touched:
                self._bump(key)
        return int(count)


def _checked(
    result: SyncResult, source_id: str, rows: Sequence[MeetingEntry]
) -> list[MeetingEntry]:
    """Refuse a sync result that would file rows under the wrong calendar or source."""
    seen: set[str] = set()
    for row in rows:
        if row.calendar_key != result.calendar_key or row.source_id != source_id:
            raise ValueError(
                f"row {row.event_key} ({row.calendar_key}, source {row.source_id}) filed under"
                f" {result.calendar_key}, source {source_id}"
            )
        if row.event_key in seen:
            raise ValueError(f"row {row.event_key} appears twice in one sync result")
        seen.add(row.event_key)
    return list(rows)
