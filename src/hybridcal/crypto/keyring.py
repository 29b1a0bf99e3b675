"""Versioned AES-256 keys and the keyring file that holds them.

The file is JSON::

    {"version": 1, "active": 2,
     "keys": [{"id": 1, "created": "2024-05-01T09:00:00+00:00", "key": "<base64, 32 bytes>"},
              {"id": 2, "created": "2024-11-01T09:00:00+00:00", "key": "<base64, 32 bytes>"}]}

New records are encrypted with the ``active`` key; every record names the id of its key, so after a
rotation old records stay readable as long as their key stays in the file. The file must be
private to its owner (mode 0600): :func:`load_keyring` refuses anything looser.

Rotations are not locked against each other: the CLI is meant to be the only writer.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import errno
import json
import os
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeGuard

from hybridcal.crypto.errors import KeyringError, UnknownKeyError
from hybridcal.crypto.secret_files import mode_problem

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

FILE_FORMAT_VERSION = 1
KEY_BYTES = 32  # AES-256
INIT_HINT = "run `hybridcal keys init`"
_NO_HARD_LINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS}


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class KeyringKey:
    id: int
    created: datetime
    material: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class Keyring:
    """An ordered set of keys, one of them active. ``repr`` shows ids only, never material."""

    keys: tuple[KeyringKey, ...]
    active_id: int

    def __post_init__(self) -> None:
        ids = [k.id for k in self.keys]
        if not ids:
            raise KeyringError("a keyring needs at least one key")
        if len(set(ids)) != len(ids):
            raise KeyringError(f"duplicate key ids in keyring: {sorted(ids)}")
        if any(k.id <= 0 or k.id > 0xFFFFFFFF for k in self.keys):
            raise KeyringError("key ids must be between 1 and 4294967295")
        if any(len(k.material) != KEY_BYTES for k in self.keys):
            raise KeyringError(f"every key must be {KEY_BYTES} bytes (AES-256)")
        if self.active_id not in ids:
            raise KeyringError(f"the active key {self.active_id} is not in the keyring")

    def __repr__(self) -> str:
        return f"Keyring(active_id={self.active_id}, key_ids={list(self.ids)})"

    __str__ = __repr__

    @property
    def ids(self) -> tuple[int, ...]:
        return tuple(k.id for k in self.keys)

    @property
    def active(self) -> KeyringKey:
        return self.get(self.active_id)

    def get(self, key_id: int) -> KeyringKey:
        for key in self.keys:
            if key.id == key_id:
                return key
        raise UnknownKeyError(key_id)

    @classmethod
    def generate(cls, *, now: Callable[[], datetime] = _utcnow) -> Keyring:
        """A new keyring with one fresh random key."""
        return cls(keys=(_new_key(1, now()),), active_id=1)

    def rotated(self, *, now: Callable[[], datetime] = _utcnow) -> Keyring:
        """This keyring plus a fresh key that becomes active; old keys stay for decryption."""
        key = _new_key(max(self.ids) + 1, now())
        return Keyring(keys=(*self.keys, key), active_id=key.id)

    def to_json(self) -> bytes:
        document = {
            "version": FILE_FORMAT_VERSION,
            "active": self.active_id,
            "keys": [
                {
                    "id": k.id,
                    "created": k.created.isoformat(),
                    "key": base64.b64encode(k.material).decode("ascii"),
                }
                for k in self.keys
            ],
        }
        return (json.dumps(document, indent=2) + "\n").encode()

    @classmethod
    def from_json(cls, data: bytes, *, source: str) -> Keyring:
        """Parse a keyring document; ``source`` names it (path or credential) in errors."""
        try:
            document = json.loads(data)
        except (ValueError, UnicodeDecodeError) as exc:
            raise KeyringError(f"keyring {source} is not valid JSON: {exc}") from None
        try:
            return _parse_document(document)
        except KeyringError as exc:
            raise KeyringError(f"keyring {source} is invalid: {exc}") from None


def _new_key(key_id: int, created: datetime) -> KeyringKey:
    return KeyringKey(id=key_id, created=created, material=secrets.token_bytes(KEY_BYTES))


def _parse_document(document: Any) -> Keyring:
    if not isinstance(document, dict):
        raise KeyringError("expected a JSON object")
    if document.get("version") != FILE_FORMAT_VERSION:
        raise KeyringError(
            f"unsupported keyring format version {document.get('version')!r}"
            f" (this hybridcal reads version {FILE_FORMAT_VERSION})"
        )
    entries = document.get("keys")
    if not isinstance(entries, list) or not entries:
        raise KeyringError('"keys" must be a non-empty list')
    active = document.get("active")
    if not _is_int(active):
        raise KeyringError('"active" must be a key id')
    return Keyring(keys=tuple(_parse_key(entry) for entry in entries), active_id=active)


def _parse_key(entry: Any) -> KeyringKey:
    if not isinstance(entry, dict):
        raise KeyringError("every key must be a JSON object")
    key_id = entry.get("id")
    if not _is_int(key_id):
        raise KeyringError('every key needs an integer "id"')
    try:
        material = base64.b64decode(str(entry.get("key", "")), validate=True)
    except binascii.Error:
        raise KeyringError(f'key {key_id}: "key" is not valid base64') from None
    if len(material) != KEY_BYTES:
        raise KeyringError(f"key {key_id} is {len(material)} bytes, expected {KEY_BYTES}")
    try:
        created = datetime.fromisoformat(str(entry.get("created")))
    except ValueError:
        raise KeyringError(f'key {key_id}: "created" is not an ISO 8601 timestamp') from None
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    return KeyringKey(id=key_id, created=created, material=material)


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


# -- the keyring file ----------------------------------------------------------------------------


def init_keyring(path: Path, *, now: Callable[[], datetime] = _utcnow) -> Keyring:
    """Create a keyring file with one key, mode 0600; never overwrites an existing file."""
    keyring = Keyring.generate(now=now)
    if path.exists() or path.is_symlink():
        raise KeyringError(
            f"{path} already exists: refusing to overwrite a keyring"
            " (use `hybridcal keys rotate` to add a key)"
        )
    _write_private(path, keyring.to_json(), replace=False)
    return keyring


def rotate_keyring(path: Path, *, now: Callable[[], datetime] = _utcnow) -> Keyring:
    """Add a fresh key to the file and make it active. The file keeps its owner and mode."""
    keyring = load_keyring(path).rotated(now=now)
    owner = path.stat()
    _write_private(path, keyring.to_json(), replace=True, owner=(owner.st_uid, owner.st_gid))
    return keyring


def load_keyring(path: Path) -> Keyring:
    """Read a keyring file, refusing a missing, non-private or malformed one."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        raise KeyringError(f"no keyring at {path}: {INIT_HINT}") from None
    except OSError as exc:
        raise KeyringError(f"cannot open keyring {path}: {exc.strerror}") from None
    try:
        _check_private(path, os.fstat(fd))  # the file actually opened, not whatever path names now
    except KeyringError:
        os.close(fd)
        raise
    with os.fdopen(fd, "rb") as handle:
        data = handle.read()
    return Keyring.from_json(data, source=str(path))


def _check_private(path: Path, info: os.stat_result) -> None:
    problem = mode_problem(path, info)  # the rule every secret file follows
    if problem is not None:
        raise KeyringError(f"keyring: {problem}")


def _write_private(
    path: Path, data: bytes, *, replace: bool, owner: tuple[int, int] | None = None
) -> None:
    """Write ``data`` to ``path`` atomically with mode 0600 (temp file, fsync, rename/link)."""
    if not path.parent.is_dir():
        raise KeyringError(f"cannot write keyring {path}: {path.parent} is not a directory")
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), 0o600)
            if owner is not None and owner != (os.geteuid(), os.getegid()):
                os.fchown(handle.fileno(), *owner)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if replace:
            tmp.replace(path)
        else:
            _link_exclusive(tmp, path)
        _fsync_dir(path.parent)
    except OSError as exc:
        raise KeyringError(f"cannot write keyring {path}: {exc.strerror or exc}") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _link_exclusive(tmp: Path, path: Path) -> None:
    """Publish ``tmp`` as ``path`` unless ``path`` exists (a hard link never overwrites)."""
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise KeyringError(f"{path} already exists: refusing to overwrite a keyring") from None
    except OSError as exc:
        if exc.errno not in _NO_HARD_LINKS:
            raise
        # File systems without hard links: the exists check above is the best we can do.
        if path.exists():
            raise KeyringError(f"{path} already exists: refusing to overwrite a keyring") from None
        tmp.replace(path)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
