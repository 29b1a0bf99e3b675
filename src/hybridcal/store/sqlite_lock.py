"""One daemon per SQLite file.

Two daemons on one embedded store would both sync, both write, and both answer webhooks with
different channel secrets: the second one must refuse to start, naming the first. The daemon
holds an exclusive ``flock`` on ``<database>.daemon.lock`` for as long as it runs and writes who
it is into the file; the kernel drops the lock when the process ends, however it ends, so a
crash never leaves a stale lock behind. Admin commands (``users add``, ``devices add``, ...)
do not take the lock: they run beside the daemon by design.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import Self

from hybridcal.store.base import StoreError


class DaemonLock:
    """``with DaemonLock.acquire(db_path):`` — raises StoreError when another daemon has it."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    @classmethod
    def acquire(cls, database: Path) -> Self:
        path = database.with_name(database.name + ".daemon.lock")
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read(fd) or "another process"
            os.close(fd)
            raise StoreError(
                f"{database} is in use by another hybridcal daemon ({holder}); stop it first,"
                " or give this one its own [store] path"
            ) from None
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        started = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        os.write(fd, f"pid {os.getpid()} on {socket.gethostname()}, since {started}".encode())
        return cls(path, fd)

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            os.close(fd)  # closing drops the flock

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.release()


def _read(fd: int) -> str:
    with contextlib.suppress(OSError):
        os.lseek(fd, 0, os.SEEK_SET)
        return os.read(fd, 512).decode("utf-8", "replace").strip()
    return ""
