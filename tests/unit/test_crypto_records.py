"""Record encryption: AES-256-GCM with a key-id header and row-binding associated data."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hybridcal.crypto import (
    DecryptionError,
    IntegrityError,
    Keyring,
    RecordCipher,
    UnknownKeyError,
    row_aad,
)

AAD = row_aad("meetings", "data", "google:room@example.com", "evt-1")
HEADER = 17  # version (1) + key id (4) + nonce (12)


@pytest.fixture
def keyring() -> Keyring:
    return Keyring.generate()


@pytest.fixture
def cipher(keyring: Keyring) -> RecordCipher:
    return RecordCipher(keyring)


def test_round_trip(cipher: RecordCipher) -> None:
    for plaintext in (b"", b"x", b"join https://zoom.us/j/1?pwd=abc" * 1000):
        blob = cipher.encrypt(plaintext, AAD)
        # a one-byte plaintext may occur in random ciphertext by chance; a long one may not
        assert len(plaintext) < 8 or plaintext not in blob
        assert len(blob) == HEADER + len(plaintext) + 16
        assert cipher.decrypt(blob, AAD) == plaintext


def test_json_round_trip(cipher: RecordCipher) -> None:
    value = {"title": "Réunion — 会議", "links": [{"url": "https://x", "passcode": None}], "n": 3}
    assert cipher.decrypt_json(cipher.encrypt_json(value, AAD), AAD) == value


def test_each_encryption_uses_a_fresh_nonce(cipher: RecordCipher) -> None:
    blobs = {cipher.encrypt(b"same", AAD) for _ in range(50)}
    assert len(blobs) == 50
    assert len({blob[5:HEADER] for blob in blobs}) == 50


def test_header_names_the_active_key(keyring: Keyring) -> None:
    rotated = keyring.rotated().rotated()
    blob = RecordCipher(rotated).encrypt(b"data", AAD)
    assert blob[0] == 1
    assert RecordCipher.key_id_of(blob) == 3 == struct.unpack(">I", blob[1:5])[0]


def test_wrong_associated_data_means_a_moved_record(cipher: RecordCipher) -> None:
    blob = cipher.encrypt(b"passcode 482913", AAD)
    other_row = row_aad("meetings", "data", "google:room@example.com", "evt-2")
    with pytest.raises(IntegrityError, match="moved to another row"):
        cipher.decrypt(blob, other_row)


@pytest.mark.parametrize(
    ("offset", "error"),
    [
        (0, IntegrityError),  # format version
        (4, UnknownKeyError),  # key id 1 -> 0x00000001 ^ 1 = 0
        (5, IntegrityError),  # nonce
        (HEADER, IntegrityError),  # ciphertext
        (-1, IntegrityError),  # tag
    ],
)
def test_any_altered_byte_is_detected(
    cipher: RecordCipher, offset: int, error: type[DecryptionError]
) -> None:
    blob = bytearray(cipher.encrypt(b"some plaintext", AAD))
    blob[offset] ^= 0x01
    with pytest.raises(error):
        cipher.decrypt(bytes(blob), AAD)


def test_truncated_records_are_refused(cipher: RecordCipher) -> None:
    blob = cipher.encrypt(b"", AAD)
    with pytest.raises(IntegrityError, match="too short"):
        cipher.decrypt(blob[:-1], AAD)


def test_a_header_naming_another_key_fails_authentication(keyring: Keyring) -> None:
    rotated = keyring.rotated()
    cipher = RecordCipher(rotated)
    blob = bytearray(cipher.encrypt(b"data", AAD))
    blob[1:5] = struct.pack(">I", 1)  # claims key 1, was sealed with key 2
    with pytest.raises(IntegrityError):
        cipher.decrypt(bytes(blob), AAD)


def test_unknown_key_is_distinct_from_tampering(keyring: Keyring) -> None:
    blob = RecordCipher(keyring.rotated().rotated()).encrypt(b"data", AAD)
    with pytest.raises(UnknownKeyError, match="does not contain key 3") as info:
        RecordCipher(keyring).decrypt(blob, AAD)
    assert info.value.key_id == 3
    assert not isinstance(info.value, IntegrityError)


def test_rotation_keeps_old_records_readable(keyring: Keyring) -> None:
    old = RecordCipher(keyring).encrypt(b"sealed with key 1", AAD)
    rotated = RecordCipher(keyring.rotated())
    assert rotated.active_key_id == 2
    assert rotated.decrypt(old, AAD) == b"sealed with key 1"
    new = rotated.encrypt(b"sealed with key 2", AAD)
    assert RecordCipher.key_id_of(new) == 2
    with pytest.raises(UnknownKeyError):
        RecordCipher(keyring).decrypt(new, AAD)


def test_another_keyring_with_the_same_ids_cannot_read(keyring: Keyring) -> None:
    blob = RecordCipher(keyring).encrypt(b"data", AAD)
    with pytest.raises(IntegrityError):
        RecordCipher(Keyring.generate()).decrypt(blob, AAD)


def test_row_aad_is_unambiguous() -> None:
    assert row_aad("t", "c", "a|b", "c") != row_aad("t", "c", "a", "b|c")
    assert row_aad("t", "c", None) != row_aad("t", "c", "None")
    assert row_aad("t", "c", 1) != row_aad("t", "c", "1")


@settings(max_examples=60, deadline=None)
@given(plaintext=st.binary(max_size=300), aad=st.binary(max_size=40), data=st.data())
def test_every_single_bit_flip_is_detected(
    plaintext: bytes, aad: bytes, data: st.DataObject
) -> None:
    cipher = RecordCipher(Keyring.generate())
    blob = cipher.encrypt(plaintext, aad)
    assert cipher.decrypt(blob, aad) == plaintext
    bit = data.draw(st.integers(min_value=0, max_value=len(blob) * 8 - 1))
    flipped = bytearray(blob)
    flipped[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(DecryptionError):
        cipher.decrypt(bytes(flipped), aad)
