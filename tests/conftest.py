"""Fixtures every suite may use: one throwaway PostgreSQL server per test session."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.postgres import PostgresServer


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A server on a Unix socket in a temporary directory, stopped at the session's end. Skips
    with the reason when the server binaries are missing, except under CI, where it fails."""
    from tests.postgres import find_bin_dir, running_server  # noqa: PLC0415 - only when used

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
