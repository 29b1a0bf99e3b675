"""Fixtures: a started GoogleSimulator with a domain, a service account and delegation."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from hybridcal.sandbox.google import CALENDAR_SCOPE, GMAIL_SETTINGS_SCOPE, GoogleSimulator
from hybridcal.sandbox.keys import generate_service_account
from hybridcal.sandbox.zoom import ZoomSimulator

_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:  # make ``tests.sandbox.google_support`` importable (prepend mode)
    sys.path.insert(0, _ROOT)

from tests.sandbox.google_support import (  # noqa: E402 - needs the repository root on sys.path
    ADMIN,
    ALICE,
    BOB,
    CAROL,
    ROOM,
    CalendarFactory,
    service,
)
from tests.sandbox.zoom_support import (  # noqa: E402
    Clock,
    ZoomClient,
    client_for,
    started,
)


@pytest.fixture(scope="session")
def sa_info() -> dict[str, str]:
    return generate_service_account()


@pytest.fixture
async def sim(sa_info: dict[str, str]) -> AsyncIterator[GoogleSimulator]:
    simulator = GoogleSimulator(domain="example.com", conference_delay_s=0.05)
    await simulator.start()
    simulator.register_service_account(sa_info)
    simulator.grant_delegation(sa_info["client_id"], [CALENDAR_SCOPE, GMAIL_SETTINGS_SCOPE])
    simulator.add_user(ALICE, name="Alice Liddell")
    simulator.add_user(BOB, name="Bob Builder", locale="de", timezone="Europe/Berlin")
    simulator.add_user(CAROL)
    simulator.add_user(ADMIN, admin=True)
    simulator.add_room(ROOM, name="Room Matterhorn")
    yield simulator
    await simulator.close()


@pytest.fixture
def calendar(sim: GoogleSimulator, sa_info: dict[str, str]) -> CalendarFactory:
    """``calendar(subject)`` -> a Calendar v3 Resource acting as that user."""

    def make(subject: str, scopes: list[str] | None = None) -> Any:
        return service(sim, sa_info, subject, scopes=scopes)

    return make


# -- the Zoom simulator (tests/sandbox/test_zoom_*.py; a module may override these) ------------


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def zoom(clock: Clock) -> AsyncIterator[ZoomSimulator]:
    async with started(now=clock) as sim:
        yield sim


@pytest.fixture
async def client(zoom: ZoomSimulator) -> AsyncIterator[ZoomClient]:
    async with client_for(zoom) as made:
        yield made
