"""Calendars, push channels, bindings, devices and presence in the SQLite store.

What happens to a value that fails to decrypt (reported by ``RowStore._report`` in every case):
channels and presence are treated as absent (an unknown channel is stopped); a device whose
seal fails is refused, one whose name alone fails still authenticates under a placeholder name;
a calendar keeps its clear fields and loses the unreadable ones (a lost cursor forces a full
resync); ``get_binding`` raises, because deciding without the binding could create a second
meeting for the same event, while ``list_bindings`` skips the row. The daemon answers every
report by quarantining the calendar's unreadable rows (``sqlite_faults``) and resyncing it in
full, so that nothing stays unreadable for good.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from hybridcal.core.model import (
    Binding,
    BindingState,
    CalendarKind,
    CalendarRecord,
    CalendarState,
    Channel,
    Device,
    Presence,
    Provider,
)
from hybridcal.crypto import DecryptionError, row_aad
from hybridcal.store import codec
from hybridcal.store.base import AlreadyExistsError, DeviceView, NotFoundError
from hybridcal.store.sqlite_rows import MEMO_LIMIT, RowStore

_UNREADABLE = (DecryptionError, codec.CodecError)
UNREADABLE_NAME = "(name unreadable)"
_KEYS_PER_QUERY = 500  # bound parameters per lookup, well below SQLite's limit


_DEVICE_VIEW_SQL = (
    "SELECT d.*, c.*, v.version AS cache_version, p.data AS presence_data"
    " FROM devices d JOIN calendars c ON c.key = d.calendar_key"
    " LEFT JOIN cache_versions v ON v.calendar_key = c.key"
    " LEFT JOIN presence p ON p.calendar_key = c.key"
    " WHERE d.token_hash = ?"
)


class DirectoryTables(RowStore):
    # -- calendars -------------------------------------------------------------------------------

    def _calendar_values(self, record: CalendarRecord) -> dict[str, Any]:
        def seal(column: str, value: str | None) -> bytes | None:
            aad = row_aad("calendars", column, record.key)
            return None if value is None else self._seal(value, aad)

        return {
            "key": record.key,
            "provider": record.provider.value,
            "address": record.address,
            "kind": record.kind.value,
            "state": record.state.value,
            "locale": record.locale,
            "timezone": record.timezone,
            "obtp_lead_minutes": record.obtp_lead_minutes,
            "synced_at": codec.optional_instant_to_text(record.synced_at),
            "display_name": seal("display_name", record.display_name),
            "reason": seal("reason", record.reason),
            "cursor": seal("cursor", record.cursor),
        }

    def _calendar_from_row(self, row: dict[str, Any]) -> CalendarRecord:
        key = row["key"]

        def text(column: str) -> str | None:
            value = self._open_optional(
                row[column], row_aad("calendars", column, key), "calendars", key
            )
            return value if isinstance(value, str) else None

        return CalendarRecord(
            key=key,
            provider=Provider(row["provider"]),
            address=row["address"],
            kind=CalendarKind(row["kind"]),
            state=CalendarState(row["state"]),
            reason=text("reason"),
            cursor=text("cursor"),
            locale=row["locale"],
            timezone=row["timezone"],
            obtp_lead_minutes=row["obtp_lead_minutes"],
            display_name=text("display_name"),
            synced_at=codec.optional_instant_from_text(row["synced_at"]),
            enabled_seq=row.get("enabled_seq"),
        )

    def add_calendar(self, record: CalendarRecord) -> None:
        values = self._calendar_values(record)
        with self._write():
            if self._conn.execute("SELECT 1 FROM calendars WHERE key = ?", [record.key]).fetchone():
                raise AlreadyExistsError(f"calendar {record.key} already exists")
            self._insert("calendars", values)

    def add_calendars(self, records: Sequence[CalendarRecord]) -> list[str]:
        """One transaction and one prepared insert for all (bulk enable of thousands); sealing
        happens before the write lock is taken. Keys already stored are returned, not touched;
        ``ON CONFLICT DO NOTHING`` also covers a replica inserting the same key meanwhile."""
        values: dict[str, dict[str, Any]] = {}
        for record in records:
            values.setdefault(record.key, self._calendar_values(record))
        if not values:
            return []
        columns = list(next(iter(values.values())))
        sql = (
            f"INSERT INTO calendars ({', '.join(columns)})"  # noqa: S608 - fixed column names
            f" VALUES ({', '.join('?' for _ in columns)}) ON CONFLICT (key) DO NOTHING"
        )
        keys = list(values)
        with self._write():
            existing: set[str] = set()
            for start in range(0, len(keys), _KEYS_PER_QUERY):
                chunk = keys[start : start + _KEYS_PER_QUERY]
                marks = ", ".join("?" for _ in chunk)
                query = f"SELECT key FROM calendars WHERE key IN ({marks})"  # noqa: S608
                existing.update(str(row[0]) for row in self._conn.execute(query, chunk))
            fresh = [[v[c] for c in columns] for k, v in values.items() if k not in existing]
            self._conn.executemany(sql, fresh)
        return [key for key in keys if key in existing]

    def get_calendar(self, key: str) -> CalendarRecord | None:
        rows = list(self._query("SELECT * FROM calendars WHERE key = ?", [key]))
        return self._calendar_from_row(rows[0]) if rows else None

    def list_calendars(
        self,
        provider: Provider | None,
        kind: CalendarKind | None,
        state: CalendarState | None,
    ) -> list[CalendarRecord]:
        filters = {"provider": provider, "kind": kind, "state": state}
        clauses = [f"{name} = ?" for name, value in filters.items() if value is not None]
        params = [value.value for value in filters.values() if value is not None]
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        sql = f"SELECT * FROM calendars{where} ORDER BY key"  # noqa: S608 - fixed column names
        return [self._calendar_from_row(row) for row in self._query(sql, params)]

    def update_calendar(self, record: CalendarRecord) -> None:
        values = self._calendar_values(record)
        key = values.pop("key")
        assignments = ", ".join(f"{column} = :{column}" for column in values)
        with self._write():
            cursor = self._conn.execute(
                f"UPDATE calendars SET {assignments} WHERE key = :key",  # noqa: S608 - fixed columns
                {**values, "key": key},
            )
            if cursor.rowcount == 0:
                raise NotFoundError(f"unknown calendar {key}")

    def set_calendar_state(self, key: str, state: CalendarState, reason: str | None) -> None:
        sealed = None if reason is None else self._seal(reason, row_aad("calendars", "reason", key))
        with self._write():
            cursor = self._conn.execute(
                "UPDATE calendars SET state = ?, reason = ? WHERE key = ?",
                [state.value, sealed, key],
            )
            if cursor.rowcount == 0:
                raise NotFoundError(f"unknown calendar {key}")

    def remove_calendar(self, key: str) -> None:
        with self._write():  # channels, bindings, rows, devices, presence go by ON DELETE CASCADE
            if self._conn.execute("DELETE FROM calendars WHERE key = ?", [key]).rowcount == 0:
                raise NotFoundError(f"unknown calendar {key}")

    # -- channels --------------------------------------------------------------------------------

    @staticmethod
    def _channel_aad(row: dict[str, Any]) -> bytes:
        return row_aad(
            "channels",
            "secret",
            row["channel_id"],
            row["calendar_key"],
            row["resource_id"],
            row["expires_at"],
            row["created_at"],
        )

    def put_channel(self, channel: Channel) -> None:
        values: dict[str, Any] = {
            "channel_id": channel.channel_id,
            "calendar_key": channel.calendar_key,
            "resource_id": channel.resource_id,
            "expires_at": codec.instant_to_text(channel.expires_at),
            "created_at": codec.instant_to_text(channel.created_at),
        }
        values["secret"] = self._seal(channel.secret, self._channel_aad(values))
        with self._write():
            self._require_calendar(channel.calendar_key)
            self._insert("channels", values, replace=True)

    def _channel_from_row(self, row: dict[str, Any]) -> Channel | None:
        secret = self._open_optional(
            row["secret"], self._channel_aad(row), "channels", row["channel_id"]
        )
        if not isinstance(secret, str):
            return None
        return Channel(
            channel_id=row["channel_id"],
            calendar_key=row["calendar_key"],
            secret=secret,
            resource_id=row["resource_id"],
            expires_at=codec.instant_from_text(row["expires_at"]),
            created_at=codec.instant_from_text(row["created_at"]),
        )

    def get_channel(self, channel_id: str) -> Channel | None:
        rows = self._query("SELECT * FROM channels WHERE channel_id = ?", [channel_id])
        return next((self._channel_from_row(row) for row in rows), None)

    def list_channels(self, calendar_key: str | None) -> list[Channel]:
        if calendar_key is None:
            rows = self._query("SELECT * FROM channels ORDER BY channel_id")
        else:
            rows = self._query(
                "SELECT * FROM channels WHERE calendar_key = ? ORDER BY channel_id", [calendar_key]
            )
        return [c for c in map(self._channel_from_row, rows) if c is not None]

    def delete_channel(self, channel_id: str) -> None:
        with self._write():
            self._conn.execute("DELETE FROM channels WHERE channel_id = ?", [channel_id])

    # -- bindings --------------------------------------------------------------------------------

    @staticmethod
    def binding_aad(row: dict[str, Any]) -> bytes:
        return row_aad(
            "bindings",
            "data",
            row["calendar_key"],
            row["event_id"],
            row["system"],
            row["request_id"],
            row["state"],
            row["updated_at"],
        )

    def put_binding(self, binding: Binding) -> None:
        values: dict[str, Any] = {
            "calendar_key": binding.calendar_key,
            "event_id": binding.event_id,
            "system": binding.system,
            "request_id": binding.request_id,
            "state": binding.state.value,
            "updated_at": codec.optional_instant_to_text(binding.updated_at),
        }
        secrets = codec.binding_secrets_to_json(binding)
        values["data"] = self._seal(secrets, self.binding_aad(values))
        with self._write():
            self._require_calendar(binding.calendar_key)
            self._insert("bindings", values, replace=True)

    def _binding_from_row(self, row: dict[str, Any]) -> Binding:
        secrets = codec.binding_secrets_from_json(
            self._cipher.decrypt_json(row["data"], self.binding_aad(row))
        )
        return Binding(
            calendar_key=row["calendar_key"],
            event_id=row["event_id"],
            system=row["system"],
            request_id=row["request_id"],
            state=BindingState(row["state"]),
            updated_at=codec.optional_instant_from_text(row["updated_at"]),
            **secrets,
        )

    def get_binding(self, calendar_key: str, event_id: str) -> Binding | None:
        """Raises DecryptionError/CodecError (after reporting) for an unreadable binding."""
        rows = list(
            self._query(
                "SELECT * FROM bindings WHERE calendar_key = ? AND event_id = ?",
                [calendar_key, event_id],
            )
        )
        if not rows:
            return None
        try:
            return self._binding_from_row(rows[0])
        except _UNREADABLE as exc:
            self._report("bindings", f"{calendar_key}/{event_id}", exc)
            raise

    def delete_binding(self, calendar_key: str, event_id: str) -> None:
        with self._write():
            self._conn.execute(
                "DELETE FROM bindings WHERE calendar_key = ? AND event_id = ?",
                [calendar_key, event_id],
            )

    def binding_ids(self, calendar_key: str) -> set[str]:
        sql = "SELECT event_id FROM bindings WHERE calendar_key = ?"
        return {str(row[0]) for row in self._conn.execute(sql, [calendar_key])}

    def list_bindings(self, calendar_key: str) -> list[Binding]:
        bindings = []
        sql = "SELECT * FROM bindings WHERE calendar_key = ? ORDER BY event_id"
        for row in self._query(sql, [calendar_key]):
            try:
                bindings.append(self._binding_from_row(row))
            except _UNREADABLE as exc:
                self._report("bindings", f"{calendar_key}/{row['event_id']}", exc)
        return bindings

    # -- devices ---------------------------------------------------------------------------------

    @staticmethod
    def _device_aad(row: dict[str, Any], column: str = "name") -> bytes:
        # revoked is bound too: clearing the flag in the file does not bring a device back.
        return row_aad(
            "devices",
            column,
            row["device_id"],
            row["calendar_key"],
            row["token_hash"],
            row["created_at"],
            int(row["revoked"]),
        )

    def _device_values(self, device: Device) -> dict[str, Any]:
        values: dict[str, Any] = {
            "device_id": device.device_id,
            "calendar_key": device.calendar_key,
            "token_hash": device.token_hash,
            "created_at": codec.instant_to_text(device.created_at),
            "revoked": int(device.revoked),
        }
        values["name"] = self._seal(device.name, self._device_aad(values))
        values["seal"] = self._seal(None, self._device_aad(values, "seal"))
        return values

    def _device_from_row(self, row: dict[str, Any]) -> Device | None:
        """The device, or None when its clear columns fail authentication (edited in the file,
        or sealed with a key the keyring lacks). The name is cosmetic: when only the name cannot
        be read, the device still authenticates, under a placeholder name."""
        device_id = row["device_id"]
        seal = row.get("seal")
        if seal is None:  # written before the seal existed (sealed at the next open)
            name = self._open_optional(row["name"], self._device_aad(row), "devices", device_id)
            if not isinstance(name, str):
                return None
        else:
            try:
                self._cipher.decrypt_json(seal, self._device_aad(row, "seal"))
            except _UNREADABLE as exc:
                self._report("devices", device_id, exc)
                return None
            name = self._open_optional(row["name"], self._device_aad(row), "devices", device_id)
            if not isinstance(name, str):
                name = UNREADABLE_NAME
        return Device(
            device_id=device_id,
            name=name,
            calendar_key=row["calendar_key"],
            token_hash=row["token_hash"],
            created_at=codec.instant_from_text(row["created_at"]),
            revoked=bool(row["revoked"]),
        )

    def seal_devices(self) -> int:
        """Give devices written before the seal existed their seal (those whose name still
        opens, which proves their clear columns); returns how many were sealed."""
        sealed = 0
        with self._write():
            for row in list(self._query("SELECT * FROM devices WHERE seal IS NULL")):
                try:
                    self._cipher.decrypt_json(row["name"], self._device_aad(row))
                except _UNREADABLE:
                    continue  # stays unsealed, and refused, as before
                self._conn.execute(
                    "UPDATE devices SET seal = ? WHERE device_id = ?",
                    [self._seal(None, self._device_aad(row, "seal")), row["device_id"]],
                )
                sealed += 1
        return sealed

    def add_device(self, device: Device) -> None:
        values = self._device_values(device)
        with self._write():
            self._require_calendar(device.calendar_key)
            clash = self._conn.execute(
                "SELECT 1 FROM devices WHERE device_id = ? OR token_hash = ?",
                [device.device_id, device.token_hash],
            ).fetchone()
            if clash is not None:
                raise AlreadyExistsError(f"device {device.device_id} or its token already exists")
            self._insert("devices", values)

    def get_device_by_token_hash(self, token_hash: str) -> Device | None:
        rows = self._query("SELECT * FROM devices WHERE token_hash = ?", [token_hash])
        return next((self._device_from_row(row) for row in rows), None)

    def list_devices(self, calendar_key: str | None) -> list[Device]:
        if calendar_key is None:
            rows = self._query("SELECT * FROM devices ORDER BY device_id")
        else:
            rows = self._query(
                "SELECT * FROM devices WHERE calendar_key = ? ORDER BY device_id", [calendar_key]
            )
        return [d for d in map(self._device_from_row, rows) if d is not None]

    def revoke_device(self, device_id: str) -> None:
        with self._write():
            rows = list(self._query("SELECT * FROM devices WHERE device_id = ?", [device_id]))
            if not rows:
                raise NotFoundError(f"unknown device {device_id}")
            device = self._device_from_row(rows[0])
            if device is None:
                # Unreadable: revoke anyway; the name stays sealed to the old row and never opens.
                self._conn.execute(
                    "UPDATE devices SET revoked = 1 WHERE device_id = ?", [device_id]
                )
                return
            values = self._device_values(dataclasses.replace(device, revoked=True))
            self._conn.execute(
                "UPDATE devices SET revoked = :revoked, name = :name, seal = :seal"
                " WHERE device_id = :device_id",
                values,
            )

    # -- presence --------------------------------------------------------------------------------

    def put_presence(self, presence: Presence) -> None:
        """Store out-of-office state; a real change also bumps the cache version (lists show it)."""
        aad = row_aad("presence", "data", presence.calendar_key)
        with self._write():
            self._require_calendar(presence.calendar_key)
            if self._read_presence(presence.calendar_key) == presence:
                return
            self._insert(
                "presence",
                {
                    "calendar_key": presence.calendar_key,
                    "data": self._seal(codec.presence_to_json(presence), aad),
                },
                replace=True,
            )
            self._bump(presence.calendar_key)

    def get_presence(self, calendar_key: str) -> Presence | None:
        return self._read_presence(calendar_key)

    def device_view(self, token_hash: str) -> DeviceView | None:
        """Device, calendar, cache version and presence with one query (the endpoint's poll).

        On the memoising reader an unchanged row (every blob and clear column equal) gives
        back the view decoded last time."""
        cursor = self._conn.execute(_DEVICE_VIEW_SQL, [token_hash])
        values = cursor.fetchone()
        if values is None:
            return None
        views = self._views
        if views is not None:
            cached = views.get(token_hash)
            if cached is not None and cached[0] == values:
                return cached[1]
        row = dict(zip([column[0] for column in cursor.description], values, strict=True))
        device = self._device_from_row(row)
        if device is None:
            return None
        view = DeviceView(
            device=device,
            calendar=self._calendar_from_row(row),
            cache_version=int(row["cache_version"] or 0),
            presence=self._presence_from_blob(row["presence_data"], row["key"]),
        )
        if views is not None and not self._failures:
            if len(views) >= MEMO_LIMIT:
                views.clear()
            views[token_hash] = (values, view)
        return view

    def _read_presence(self, calendar_key: str) -> Presence | None:
        row = self._conn.execute(
            "SELECT data FROM presence WHERE calendar_key = ?", [calendar_key]
        ).fetchone()
        return self._presence_from_blob(row[0] if row else None, calendar_key)

    def _presence_from_blob(self, blob: bytes | None, calendar_key: str) -> Presence | None:
        if blob is None:
            return None
        try:
            value = self._cipher.decrypt_json(blob, row_aad("presence", "data", calendar_key))
            return codec.presence_from_json(value, calendar_key=calendar_key)
        except _UNREADABLE as exc:
            self._report("presence", calendar_key, exc)
            return None
