"""Fixtures for the end-to-end suite: a started simulator + daemon per test (see harness.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from tests.e2e.harness import Harness, start_harness

from hybridcal.sandbox.keys import generate_service_account


@pytest.fixture(scope="session")
def sa_info() -> dict[str, str]:
    # one RSA key for the whole session: generating it is the slowest part of a harness
    return generate_service_account(project_id="hybridcal-e2e")


@pytest.fixture
async def h(tmp_path: Path, sa_info: dict[str, str]) -> AsyncIterator[Harness]:
    harness = await start_harness(tmp_path, sa_info)
    try:
        yield harness
    finally:
        await harness.close()
