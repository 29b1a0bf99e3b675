"""Keyring (versioned AES-256 keys), record encryption with associated data, key sources."""

from hybridcal.crypto.errors import (
    CryptoError,
    DecryptionError,
    IntegrityError,
    KeyringError,
    UnknownKeyError,
    WrongKeyringError,
)
from hybridcal.crypto.keyring import (
    Keyring,
    KeyringKey,
    init_keyring,
    load_keyring,
    rotate_keyring,
)
from hybridcal.crypto.records import RecordCipher, row_aad
from hybridcal.crypto.sources import keyring_from_credentials, open_keyring

__all__ = [
    "CryptoError",
    "DecryptionError",
    "IntegrityError",
    "Keyring",
    "KeyringError",
    "KeyringKey",
    "RecordCipher",
    "UnknownKeyError",
    "WrongKeyringError",
    "init_keyring",
    "keyring_from_credentials",
    "load_keyring",
    "open_keyring",
    "rotate_keyring",
    "row_aad",
]
