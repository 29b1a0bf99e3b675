"""Errors of the crypto package. Messages name the file and the fix, never key material."""

from __future__ import annotations


class CryptoError(Exception):
    """Base of the crypto package's errors."""


class KeyringError(CryptoError):
    """A keyring cannot be created, read or used (missing, unsafe mode, malformed)."""


class WrongKeyringError(KeyringError):
    """The keyring cannot read a store's canary: it is not the keyring the store was made with."""


class DecryptionError(CryptoError):
    """A record cannot be decrypted."""


class IntegrityError(DecryptionError):
    """Authentication failed: the ciphertext was altered, or moved to another row (wrong AAD)."""


class UnknownKeyError(DecryptionError):
    """The record names a key id that the keyring does not contain."""

    def __init__(self, key_id: int) -> None:
        super().__init__(f"the keyring does not contain key {key_id} — wrong keyring file?")
        self.key_id = key_id
