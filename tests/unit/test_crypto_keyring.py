"""The keyring file: creation, rotation, the checks on load, and the systemd credential source."""

from __future__ import annotations

import base64
import json
import os
import re
import stat
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest

from hybridcal.crypto import (
    Keyring,
    KeyringError,
    RecordCipher,
    UnknownKeyError,
    init_keyring,
    keyring_from_credentials,
    load_keyring,
    open_keyring,
    rotate_keyring,
)

if TYPE_CHECKING:
    from pathlib import Path

CREATED = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)


def fixed_now() -> datetime:
    return CREATED


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "keyring.json"


def write_document(path: Path, document: Any, mode: int = 0o600) -> None:
    path.write_text(json.dumps(document))
    path.chmod(mode)


def valid_document() -> dict[str, Any]:
    key = base64.b64encode(bytes(range(32))).decode()
    return {
        "version": 1,
        "active": 1,
        "keys": [{"id": 1, "created": CREATED.isoformat(), "key": key}],
    }


# -- init ----------------------------------------------------------------------------------------


def test_init_creates_a_private_file_with_one_key(path: Path) -> None:
    keyring = init_keyring(path, now=fixed_now)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    document = json.loads(path.read_text())
    assert document["version"] == 1
    assert document["active"] == 1
    assert [k["id"] for k in document["keys"]] == [1]
    assert len(base64.b64decode(document["keys"][0]["key"])) == 32
    assert keyring.active_id == 1
    assert keyring.active.created == CREATED
    assert load_keyring(path) == keyring
    assert [p.name for p in path.parent.iterdir()] == ["keyring.json"]  # no temp file left


def test_init_never_overwrites(path: Path) -> None:
    first = init_keyring(path)
    with pytest.raises(KeyringError, match="already exists"):
        init_keyring(path)
    assert load_keyring(path) == first


def test_init_in_a_missing_directory_fails_clearly(tmp_path: Path) -> None:
    with pytest.raises(KeyringError, match="not a directory"):
        init_keyring(tmp_path / "missing" / "keyring.json")


def test_each_keyring_gets_fresh_keys(tmp_path: Path) -> None:
    one = init_keyring(tmp_path / "one.json")
    two = init_keyring(tmp_path / "two.json")
    assert one.active.material != two.active.material


# -- rotate --------------------------------------------------------------------------------------


def test_rotate_adds_an_active_key_and_keeps_the_old_ones(path: Path) -> None:
    first = init_keyring(path)
    second = rotate_keyring(path, now=fixed_now)
    assert second.ids == (1, 2)
    assert second.active_id == 2
    assert second.get(1) == first.active
    assert second.active.material != first.active.material
    assert second.active.created == CREATED
    assert load_keyring(path) == second
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert rotate_keyring(path).ids == (1, 2, 3)
    assert sorted(p.name for p in path.parent.iterdir()) == ["keyring.json"]


def test_rotate_refuses_an_unsafe_file(path: Path) -> None:
    init_keyring(path)
    path.chmod(0o644)
    with pytest.raises(KeyringError, match="chmod 600"):
        rotate_keyring(path)


# -- load ----------------------------------------------------------------------------------------


def test_load_of_a_missing_file_says_how_to_create_one(path: Path) -> None:
    with pytest.raises(KeyringError, match="hybridcal keys init") as info:
        load_keyring(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o620, 0o602, 0o660])
def test_load_refuses_a_file_others_can_read_or_write(path: Path, mode: int) -> None:
    write_document(path, valid_document(), mode)
    with pytest.raises(KeyringError, match=re.escape(f"chmod 600 {path}")):
        load_keyring(path)


@pytest.mark.parametrize("mode", [0o600, 0o400])
def test_load_accepts_an_owner_only_file(path: Path, mode: int) -> None:
    write_document(path, valid_document(), mode)
    keyring = load_keyring(path)
    assert keyring.active.material == bytes(range(32))


def test_load_refuses_a_directory(tmp_path: Path) -> None:
    directory = tmp_path / "dir"
    directory.mkdir(mode=0o700)
    with pytest.raises(KeyringError, match="not a regular file"):
        load_keyring(directory)


def broken(**changes: Any) -> dict[str, Any]:
    document = valid_document()
    key_changes = changes.pop("key_changes", {})
    document.update(changes)
    if key_changes:
        document["keys"][0].update(key_changes)
    return document


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([1, 2], "JSON object"),
        (broken(version=2), "format version"),
        (broken(keys=[]), "non-empty list"),
        (broken(active=2), "active key 2 is not in the keyring"),
        (broken(active="1"), "active"),
        (broken(key_changes={"key": base64.b64encode(b"short").decode()}), "5 bytes, expected 32"),
        (broken(key_changes={"key": "not base64!"}), "not valid base64"),
        (broken(key_changes={"id": "one"}), "integer"),
        (broken(key_changes={"created": "yesterday"}), "ISO 8601"),
        (broken(keys=[valid_document()["keys"][0]] * 2), "duplicate key ids"),
    ],
)
def test_load_refuses_malformed_keyrings(path: Path, document: Any, message: str) -> None:
    write_document(path, document)
    with pytest.raises(KeyringError, match=message) as info:
        load_keyring(path)
    assert str(path) in str(info.value)


def test_load_refuses_text_that_is_not_json(path: Path) -> None:
    path.write_text("{not json")
    path.chmod(0o600)
    with pytest.raises(KeyringError, match="not valid JSON"):
        load_keyring(path)


# -- never show key material ---------------------------------------------------------------------


def test_reprs_hide_key_material(path: Path) -> None:
    keyring = init_keyring(path).rotated()
    shown = repr(keyring) + str(keyring) + repr(keyring.keys) + repr(RecordCipher(keyring))
    for key in keyring.keys:
        for encoding in (
            repr(key.material),
            key.material.hex(),
            base64.b64encode(key.material).decode(),
        ):
            assert encoding not in shown
    assert "key_ids=[1, 2]" in repr(keyring)


def test_asking_for_an_unknown_key_names_it() -> None:
    with pytest.raises(UnknownKeyError, match="does not contain key 3 — wrong keyring file"):
        Keyring.generate().get(3)


# -- key sources ---------------------------------------------------------------------------------


def test_credential_is_read_from_the_credentials_directory(tmp_path: Path) -> None:
    credentials = tmp_path / "creds"
    credentials.mkdir()
    # systemd protects the directory, so the file's own mode is not checked.
    write_document(credentials / "keyring", valid_document(), 0o644)
    keyring = keyring_from_credentials("keyring", {"CREDENTIALS_DIRECTORY": str(credentials)})
    assert keyring.active.material == bytes(range(32))


def test_credential_without_systemd_says_what_to_add() -> None:
    with pytest.raises(KeyringError, match="LoadCredential=keyring:"):
        keyring_from_credentials("keyring", {})


def test_missing_credential_says_what_to_add(tmp_path: Path) -> None:
    with pytest.raises(KeyringError, match="not found"):
        keyring_from_credentials("keyring", {"CREDENTIALS_DIRECTORY": str(tmp_path)})


@pytest.mark.parametrize("name", ["", "../keyring", ".", ".."])
def test_credential_names_cannot_escape_the_directory(tmp_path: Path, name: str) -> None:
    with pytest.raises(KeyringError, match="invalid credential name"):
        keyring_from_credentials(name, {"CREDENTIALS_DIRECTORY": str(tmp_path)})


def test_credential_with_bad_content_names_the_credential(tmp_path: Path) -> None:
    write_document(tmp_path / "keyring", broken(active=5))
    with pytest.raises(KeyringError, match="credential 'keyring' is invalid"):
        keyring_from_credentials("keyring", {"CREDENTIALS_DIRECTORY": str(tmp_path)})


def test_open_keyring_prefers_the_credential(tmp_path: Path, path: Path) -> None:
    file_keyring = init_keyring(path)
    write_document(tmp_path / "keyring", valid_document())
    environ = {"CREDENTIALS_DIRECTORY": str(tmp_path)}
    from_credential = open_keyring(path=path, credential="keyring", environ=environ)
    assert from_credential.active.material == bytes(range(32))
    assert open_keyring(path=path, credential=None, environ=environ) == file_keyring
    with pytest.raises(KeyringError, match="no keyring configured"):
        open_keyring(path=None, credential=None, environ=environ)


@pytest.mark.skipif(os.geteuid() != 0, reason="changing a file's owner needs root")
def test_rotate_keeps_the_files_owner(path: Path) -> None:
    # An admin rotating as root must not leave a file the service user can no longer read.
    init_keyring(path)
    os.chown(path, 4321, 4321)
    rotate_keyring(path)
    assert (path.stat().st_uid, path.stat().st_gid) == (4321, 4321)
