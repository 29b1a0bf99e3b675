"""One daemon per SQLite file: the second is refused with the first one named."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hybridcal.store.base import StoreError
from hybridcal.store.sqlite_lock import DaemonLock


def test_a_second_daemon_is_refused_until_the_first_lets_go(tmp_path: Path) -> None:
    database = tmp_path / "hybridcal.db"
    first = DaemonLock.acquire(database)
    with pytest.raises(
        StoreError, match=rf"in use by another hybridcal daemon \(pid {os.getpid()} "
    ):
        DaemonLock.acquire(database)
    first.release()
    with DaemonLock.acquire(database) as again:
        assert again.path == tmp_path / "hybridcal.db.daemon.lock"
        assert (again.path.stat().st_mode & 0o777) == 0o600
