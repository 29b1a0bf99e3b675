"""Record encryption: AES-256-GCM with a versioned header and row-binding associated data.

A record is ``header || ciphertext || tag`` where the 17-byte header is
``format version (1 byte) || key id (4 bytes, big endian) || nonce (12 random bytes)``.
The key id lets a rotated keyring read old records; the header is authenticated together with
the caller's associated data, which names the row the record belongs to, so a record copied to
another row (or with an edited header) fails authentication.

Random 96-bit nonces are safe for far more records per key than a calendar cache writes between
rotations (NIST's limit is 2**32 per key).
"""

from __future__ import annotations

import functools
import json
import os
import struct
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from hybridcal.crypto.errors import IntegrityError

if TYPE_CHECKING:
    from hybridcal.crypto.keyring import Keyring

RECORD_FORMAT_VERSION = 1
_HEADER = struct.Struct(">BI12s")
_TAG_BYTES = 16


class RecordCipher:
    """Encrypts with the keyring's active key; decrypts with whichever key a record names."""

    __slots__ = ("_aeads", "_keyring")

    def __init__(self, keyring: Keyring) -> None:
        self._keyring = keyring
        self._aeads: dict[int, AESGCM] = {}

    def __repr__(self) -> str:
        return f"RecordCipher({self._keyring!r})"

    @property
    def active_key_id(self) -> int:
        return self._keyring.active_id

    def encrypt(self, plaintext: bytes, aad: bytes) -> bytes:
        key_id = self._keyring.active_id
        header = _HEADER.pack(RECORD_FORMAT_VERSION, key_id, os.urandom(12))
        return header + self._aead(key_id).encrypt(header[5:], plaintext, header + aad)

    def decrypt(self, blob: bytes, aad: bytes) -> bytes:
        """Raises IntegrityError (altered or moved record) or UnknownKeyError."""
        version, key_id, nonce = self._parse_header(blob)
        del version
        aead = self._aead(key_id)  # UnknownKeyError before any authentication attempt
        try:
            return aead.decrypt(nonce, blob[_HEADER.size :], blob[: _HEADER.size] + aad)
        except InvalidTag:
            raise IntegrityError(
                f"record failed authentication (key {key_id}): altered or moved to another row"
            ) from None

    def encrypt_json(self, value: Any, aad: bytes) -> bytes:
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return self.encrypt(text.encode(), aad)

    def decrypt_json(self, blob: bytes, aad: bytes) -> Any:
        return json.loads(self.decrypt(blob, aad))

    @staticmethod
    def key_id_of(blob: bytes) -> int:
        """The id of the key a record was encrypted with (to find records to re-encrypt)."""
        return RecordCipher._parse_header(blob)[1]

    @staticmethod
    def _parse_header(blob: bytes) -> tuple[int, int, bytes]:
        if len(blob) < _HEADER.size + _TAG_BYTES:
            raise IntegrityError("record is too short to be a hybridcal ciphertext")
        version, key_id, nonce = _HEADER.unpack_from(blob)
        if version != RECORD_FORMAT_VERSION:
            raise IntegrityError(f"unsupported record format version {version}")
        return version, key_id, nonce

    def _aead(self, key_id: int) -> AESGCM:
        aead = self._aeads.get(key_id)
        if aead is None:
            aead = self._aeads[key_id] = AESGCM(self._keyring.get(key_id).material)
        return aead


@functools.lru_cache(maxsize=16384)  # the same rows are opened again and again by polls
def row_aad(table: str, column: str, *identity: str | int | None) -> bytes:
    """Associated data naming one value of one row: unambiguous for any characters in keys."""
    return json.dumps([table, column, *identity], separators=(",", ":")).encode()
