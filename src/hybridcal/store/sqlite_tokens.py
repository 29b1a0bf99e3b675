"""Credentials of the daemon's own apps (the Webex Service App's tokens) in the store.

One row per app: ``name`` and ``version`` in clear, the tokens sealed as one record whose
associated data names the row and its version, so that an older record copied back over a newer
one (a restored backup, a tampered row) fails authentication instead of reviving a revoked
refresh token. Replicas share the row: a rotated refresh token is written with a
compare-and-swap on ``version`` (``replace_app_token``), so of two replicas that refreshed at
once exactly one write wins and the other reads the winner's tokens; nothing holds a lock
across the HTTP call to the provider.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hybridcal.crypto import DecryptionError, row_aad
from hybridcal.store import codec
from hybridcal.store.base import AppToken
from hybridcal.store.sqlite_rows import RowStore

_TABLE = "app_tokens"


def _aad(name: str, version: int) -> bytes:
    return row_aad(_TABLE, "data", name, version)


class AppTokenTables(RowStore):
    def get_app_token(self, name: str) -> AppToken | None:
        """The stored record; None when absent or unreadable (reported: authorise again)."""
        rows = list(self._query("SELECT * FROM app_tokens WHERE name = ?", [name]))
        if not rows:
            return None
        version = int(rows[0]["version"])
        try:
            data = self._cipher.decrypt_json(rows[0]["data"], _aad(name, version))
        except (DecryptionError, codec.CodecError) as exc:
            self._report(_TABLE, name, exc)
            return None
        if not isinstance(data, dict):
            self._report(_TABLE, name, codec.CodecError("not an object"))
            return None
        return AppToken(name, version, {str(k): str(v) for k, v in data.items()})

    def replace_app_token(
        self, name: str, data: Mapping[str, str], expected_version: int
    ) -> AppToken | None:
        """Write ``data`` only if the row is still at ``expected_version``; None otherwise (another
        writer came first: read its record)."""
        new = expected_version + 1
        with self._write():
            cursor = self._conn.execute(
                "UPDATE app_tokens SET version = ?, data = ? WHERE name = ? AND version = ?",
                [new, self._seal(dict(data), _aad(name, new)), name, expected_version],
            )
            if cursor.rowcount != 1:
                return None
        return AppToken(name, new, dict(data))

    def put_app_token(self, name: str, data: Mapping[str, str]) -> AppToken:
        """Write ``data`` whatever is stored (an admin authorising the app again)."""
        with self._write():
            row = self._conn.execute(
                "SELECT version FROM app_tokens WHERE name = ?", [name]
            ).fetchone()
            new = 1 if row is None else int(row[0]) + 1
            sealed = self._seal(dict(data), _aad(name, new))
            values: dict[str, Any] = {"name": name, "version": new, "data": sealed}
            if row is None:
                self._conn.execute(
                    "INSERT INTO app_tokens (name, version, data) VALUES (:name, :version, :data)",
                    values,
                )
            else:
                self._conn.execute(
                    "UPDATE app_tokens SET version = :version, data = :data WHERE name = :name",
                    values,
                )
        return AppToken(name, new, dict(data))

    def delete_app_token(self, name: str) -> None:
        with self._write():
            self._conn.execute("DELETE FROM app_tokens WHERE name = ?", [name])
