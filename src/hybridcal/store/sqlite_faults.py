"""Faults and quarantine in the SQLite store.

``faults`` holds one row per event that could not be handled (and one per calendar whose sync
round itself keeps failing, under ``event_id = ''``): what failed in clear, since when, how often
and when it is tried again; the message is sealed because it may quote provider text.

``quarantine`` keeps the bytes of rows that no longer authenticate (bit rot, a restored backup, a
key removed from the keyring). Moving them out lets the next full sync rebuild the cache rows
from the provider and the planner re-adopt meetings from the markers in the events, instead of
the calendar tripping over the same unreadable row forever; keeping the bytes lets an admin who
finds the missing key look at them again.
"""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any

from hybridcal.core.model import Fault
from hybridcal.crypto import DecryptionError, row_aad
from hybridcal.store import codec
from hybridcal.store.sqlite_cache import entry_aad
from hybridcal.store.sqlite_rows import RowStore
from hybridcal.store.sqlite_tables import DirectoryTables

if TYPE_CHECKING:
    from collections.abc import Collection

UNREADABLE_MESSAGE = "(the stored message could not be decrypted)"
_UNREADABLE = (DecryptionError, ValueError)  # CodecError is a ValueError


def _fault_aad(calendar_key: str, event_id: str) -> bytes:
    return row_aad("faults", "message", calendar_key, event_id)


class FaultTables(RowStore):
    # -- faults ----------------------------------------------------------------------------------

    def put_fault(self, fault: Fault) -> None:
        values = {
            "calendar_key": fault.calendar_key,
            "event_id": fault.event_id,
            "error": fault.error,
            "first_seen": codec.instant_to_text(fault.first_seen),
            "last_seen": codec.instant_to_text(fault.last_seen),
            "attempts": fault.attempts,
            "retry_at": codec.optional_instant_to_text(fault.retry_at),
            "message": self._seal(fault.message, _fault_aad(fault.calendar_key, fault.event_id)),
        }
        with self._write():
            self._require_calendar(fault.calendar_key)
            self._insert("faults", values, replace=True)

    def clear_faults(self, calendar_key: str, event_ids: Collection[str]) -> None:
        if not event_ids:
            return
        with self._write():
            self._conn.executemany(
                "DELETE FROM faults WHERE calendar_key = ? AND event_id = ?",
                [(calendar_key, event_id) for event_id in event_ids],
            )

    def list_faults(self, calendar_key: str | None) -> list[Fault]:
        if calendar_key is None:
            rows = self._query("SELECT * FROM faults ORDER BY first_seen, calendar_key, event_id")
        else:
            rows = self._query(
                "SELECT * FROM faults WHERE calendar_key = ? ORDER BY first_seen, event_id",
                [calendar_key],
            )
        return [self._fault_from_row(row) for row in rows]

    def latest_faults(self, limit: int) -> list[Fault]:
        rows = self._query(
            "SELECT * FROM faults ORDER BY last_seen DESC, calendar_key, event_id LIMIT ?",
            [limit],
        )
        return [self._fault_from_row(row) for row in rows]

    def _fault_from_row(self, row: dict[str, Any]) -> Fault:
        key, event_id = row["calendar_key"], row["event_id"]
        message = self._open_optional(row["message"], _fault_aad(key, event_id), "faults", key)
        return Fault(
            calendar_key=key,
            event_id=event_id,
            error=row["error"],
            message=message if isinstance(message, str) else UNREADABLE_MESSAGE,
            first_seen=codec.instant_from_text(row["first_seen"]),
            last_seen=codec.instant_from_text(row["last_seen"]),
            attempts=int(row["attempts"]),
            retry_at=codec.optional_instant_from_text(row["retry_at"]),
        )

    # -- quarantine ------------------------------------------------------------------------------

    def quarantine_unreadable(self, calendar_key: str) -> int:
        moved = 0
        with self._write():
            for row in list(
                self._query("SELECT * FROM bindings WHERE calendar_key = ?", [calendar_key])
            ):
                if self._binding_readable(row):
                    continue
                self._quarantine("bindings", calendar_key, row["event_id"], row)
                self._conn.execute(
                    "DELETE FROM bindings WHERE calendar_key = ? AND event_id = ?",
                    [calendar_key, row["event_id"]],
                )
                moved += 1
            cache_moved = 0
            for row in list(
                self._query("SELECT * FROM meetings WHERE calendar_key = ?", [calendar_key])
            ):
                if self._entry_readable(row):
                    continue
                self._quarantine("meetings", calendar_key, row["event_key"], row)
                self._conn.execute(
                    "DELETE FROM meetings WHERE calendar_key = ? AND event_key = ?",
                    [calendar_key, row["event_key"]],
                )
                cache_moved += 1
            if cache_moved:
                self._bump(calendar_key)
            presence = self._conn.execute(
                "SELECT data FROM presence WHERE calendar_key = ?", [calendar_key]
            ).fetchone()
            if presence is not None and not self._opens(
                presence[0], row_aad("presence", "data", calendar_key)
            ):
                self._quarantine("presence", calendar_key, calendar_key, {"data": presence[0]})
                self._conn.execute("DELETE FROM presence WHERE calendar_key = ?", [calendar_key])
                moved += 1
        return moved + cache_moved

    def count_quarantined(self) -> int:
        return int(self._conn.execute("SELECT COUNT(*) FROM quarantine").fetchone()[0])

    def _quarantine(self, table: str, calendar_key: str, row_id: str, row: dict[str, Any]) -> None:
        kept = {
            name: {"b64": base64.b64encode(value).decode()} if isinstance(value, bytes) else value
            for name, value in row.items()
        }
        self._insert(
            "quarantine",
            {
                "table_name": table,
                "calendar_key": calendar_key,
                "row_id": row_id,
                "quarantined_at": codec.instant_to_text(self._now()),
                "row_json": json.dumps(kept, sort_keys=True),
            },
        )

    def _opens(self, blob: bytes, aad: bytes) -> bool:
        try:
            self._cipher.decrypt_json(blob, aad)
        except _UNREADABLE:
            return False
        return True

    def _binding_readable(self, row: dict[str, Any]) -> bool:
        try:
            codec.binding_secrets_from_json(
                self._cipher.decrypt_json(row["data"], DirectoryTables.binding_aad(row))
            )
        except _UNREADABLE:
            return False
        return True

    def _entry_readable(self, row: dict[str, Any]) -> bool:
        try:
            codec.entry_from_json(
                self._cipher.decrypt_json(row["data"], entry_aad(row)),
                calendar_key=row["calendar_key"],
                event_key=row["event_key"],
                source_id=row["source_id"],
                start=codec.instant_from_text(row["start_at"]),
                end=codec.instant_from_text(row["end_at"]),
            )
        except _UNREADABLE:
            return False
        return True
