"""Files that hold secrets must be private to their owner: one rule for every one of them.

The keyring, the Google service-account key, the Microsoft client secret and certificate, the
Zoom client secret (and any secret file added later) are refused when their mode grants any
permission to group or others. The message names the exact ``chmod`` (and ``chown`` when the
file belongs to another user) that fixes it. A symbolic link is judged by its target, which is
what ``chmod`` changes too. Files that systemd hands in as credentials are not checked here:
systemd makes them private to the service itself.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Final

PRIVATE_MODE: Final = 0o600
_GROUP_OR_OTHER: Final = 0o077
# A secret file larger than this is not a secret file (keys and keyrings are a few KiB).
MAX_SECRET_BYTES: Final = 1 << 20


class SecretFileError(Exception):
    """A secret file cannot be used: missing, unreadable, not a file, or not private."""


def mode_problem(path: Path, info: os.stat_result) -> str | None:
    """Why ``path`` (whose ``stat`` is ``info``, links followed) is not private enough, with
    the command that fixes it; None when it is fine."""
    if not stat.S_ISREG(info.st_mode):
        return f"{path} is not a regular file"
    if not info.st_mode & _GROUP_OR_OTHER:
        return None
    mode = stat.S_IMODE(info.st_mode)
    link = f" (a link to {path.resolve()})" if path.is_symlink() else ""
    fix = f"`chmod 600 {path}`"
    owner = _owner_hint(path, info.st_uid)
    return (
        f"{path}{link} holds a secret but group or others may access it (mode {mode:04o});"
        f" run {fix}{owner}"
    )


def _owner_hint(path: Path, uid: int) -> str:
    me = os.geteuid()
    if uid == me:
        return ""
    return (
        f" and `chown {_user_name(me)} {path}` (it belongs to {_user_name(uid)},"
        " not to the user hybridcal runs as)"
    )


def _user_name(uid: int) -> str:
    try:
        import pwd  # noqa: PLC0415 - POSIX only

        return pwd.getpwuid(uid).pw_name
    except (ImportError, KeyError):
        return str(uid)


def check_private(path: Path) -> str | None:
    """The problem with the secret file at ``path``, or None; never raises."""
    try:
        info = path.stat()
    except OSError as error:
        return f"cannot read {path}: {error.strerror or error}"
    return mode_problem(path, info)


def read_private(path: Path) -> bytes:
    """The content of the secret file at ``path``, refused unless it is private.

    The mode is checked on the file actually opened (not on whatever the path names a moment
    later), and at most `MAX_SECRET_BYTES` are read. `OSError` when it cannot be read at all,
    `SecretFileError` when it should not be used."""
    fd = os.open(path, os.O_RDONLY)
    with os.fdopen(fd, "rb") as handle:
        problem = mode_problem(path, os.fstat(fd))
        if problem is not None:
            raise SecretFileError(problem)
        data = handle.read(MAX_SECRET_BYTES + 1)
    if len(data) > MAX_SECRET_BYTES:
        raise SecretFileError(f"{path} is larger than {MAX_SECRET_BYTES} bytes: not a secret file")
    return data


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` with mode 0600 from the first byte (no window in which the
    file is readable by others); an existing file is truncated and made private."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_MODE)
    with os.fdopen(fd, "wb") as handle:
        os.fchmod(handle.fileno(), PRIVATE_MODE)
        handle.write(data)
