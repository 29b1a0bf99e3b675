"""Make ``tests.contract.*`` importable so that backend test modules can share the suites, and
start one PostgreSQL server per test session for the PostgreSQL store's tests.

pytest's default ("prepend") import mode puts this directory, not the repository root, on
``sys.path``; ``pythonpath = ["."]`` under ``[tool.pytest.ini_options]`` would make the first
part unnecessary.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

if TYPE_CHECKING:
    from tests.postgres import PostgresServer


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A server on a Unix socket in a temporary directory, stopped at the session's end. Skips
    with the reason when the server binaries are missing, except under CI, where it fails."""
    from tests.postgres import find_bin_dir, running_server  # noqa: PLC0415 - after sys.path

    bin_dir = find_bin_dir()
    if bin_dir is None:
        reason = (
            "PostgreSQL server binaries (initdb, pg_ctl) not found on PATH or in the usual"
            " install folders; install the server package (Debian: apt-get install postgresql)"
        )
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the PostgreSQL tests: {reason}")
        pytest.skip(reason)
    with running_server(bin_dir) as server:
        yield server
