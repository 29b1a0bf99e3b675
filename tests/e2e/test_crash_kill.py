"""No duplicate Zoom meetings across crashes: the daemon process is killed with SIGKILL at every
step boundary of the create path and started again; afterwards there is exactly one Zoom meeting
and exactly one join block.

The boundaries are where the daemon's durable state changes hands, seen from the outside:
the notification's listing (nothing stored yet), the Zoom create arriving (the intent is
stored), the create done but its answer lost (Zoom has a meeting the store never heard of),
the calendar patch arriving (the meeting is stored), and the patch applied but its answer lost
(the event carries the block, the store does not know). The kill happens inside the
simulator while it holds the request, so the process dies exactly there.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from tests.e2e.daemon_process import start_daemon, stop, write_config
from tests.e2e.harness import ADMIN, ALICE, DOMAIN, ZONE, marker_of, tomorrow_at, when

from hybridcal.config.loader import load_settings
from hybridcal.core.model import CalendarKind, Provider
from hybridcal.core.render import START_MARK
from hybridcal.crypto import init_keyring
from hybridcal.daemon.admin import admin_session
from hybridcal.demo import install_service_account, install_zoom_app
from hybridcal.sandbox.faults import DropRequest, DropResponse
from hybridcal.sandbox.google.app import GoogleSimulator
from hybridcal.sandbox.google.http import RequestRecord
from hybridcal.sandbox.zoom import RequestInfo, ZoomRecord, ZoomSimulator

pytestmark = pytest.mark.slow

Kill = Callable[[], Awaitable[None]]


def _is_zoom_create(method: str, path: str) -> bool:
    return method == "POST" and path.startswith("/v2/users/") and path.endswith("/meetings")


def _arm(boundary: str, google: GoogleSimulator, zoom: ZoomSimulator, kill: Kill) -> None:
    """Make the simulator kill the daemon once, at ``boundary``."""
    fired = False

    async def once(drop: type[Exception]) -> None:
        nonlocal fired
        if not fired:
            fired = True
            await kill()
            raise drop

    async def google_before(record: RequestRecord) -> None:
        wanted = {"listing": "calendar.events.list", "patch_sent": "calendar.events.patch"}
        if record.method_id == wanted.get(boundary):
            await once(DropRequest)

    async def google_after(record: RequestRecord) -> None:
        if boundary == "patch_answered" and record.method_id == "calendar.events.patch":
            await once(DropResponse)

    async def zoom_before(info: RequestInfo) -> None:
        if boundary == "create_sent" and _is_zoom_create(info.method, info.path):
            await once(DropRequest)

    async def zoom_after(record: ZoomRecord) -> None:
        if boundary == "create_answered" and _is_zoom_create(record.method, record.path):
            await once(DropResponse)

    google.hooks.before.append(google_before)
    google.hooks.after.append(google_after)
    zoom.before_request.append(zoom_before)
    zoom.after_request.append(zoom_after)


async def _settled(google: GoogleSimulator, zoom: ZoomSimulator, event_id: str) -> dict[str, Any]:
    """Until the invitation carries the join block of a Zoom meeting, then a quiet second."""
    async with asyncio.timeout(30):
        while True:
            event = google.get(ALICE, event_id) or {}
            meetings = zoom.meetings()
            if meetings and meetings[0]["join_url"] in event.get("description", ""):
                break
            await asyncio.sleep(0.05)
    await asyncio.sleep(1.0)  # anything still in flight (a second create) would show now
    return google.get(ALICE, event_id) or {}


@pytest.mark.parametrize(
    "boundary", ["listing", "create_sent", "create_answered", "patch_sent", "patch_answered"]
)
async def test_sigkill_at_every_step_of_the_create_path_leaves_one_meeting(
    tmp_path: Path, sa_info: dict[str, str], boundary: str
) -> None:
    google = GoogleSimulator(domain=DOMAIN, conference_delay_s=0.05)
    zoom = ZoomSimulator(account_id="crashaccount")
    await google.start()
    await zoom.start()
    process: asyncio.subprocess.Process | None = None
    try:
        install_service_account(google, tmp_path / "service-account.json", sa_info)
        google.add_user(ALICE, timezone=ZONE)
        google.add_user(ADMIN, admin=True, timezone=ZONE)
        app = install_zoom_app(zoom, tmp_path)
        zoom.add_user(ALICE, timezone=ZONE)
        init_keyring(tmp_path / "keyring.json")
        config = write_config(tmp_path, google, (zoom, app))
        async with admin_session(load_settings(config, {}), {}) as admin:
            await admin.enable(Provider.GOOGLE, ALICE, CalendarKind.USER)

        process = await start_daemon(config)
        first = process

        async def kill() -> None:
            first.kill()  # SIGKILL: no cleanup of any kind
            await first.wait()

        async with asyncio.timeout(30):  # the daemon is up once its channel exists
            while not google.channels(ALICE):  # noqa: ASYNC110 - another process does the work
                await asyncio.sleep(0.05)
        _arm(boundary, google, zoom, kill)
        event_id = google.person_insert(
            ALICE,
            {
                "summary": "Budget",
                "location": "@zoom",
                "description": "Figures first.",
                **when(tomorrow_at(11)),
            },
        )["id"]
        async with asyncio.timeout(30):
            await first.wait()  # killed by the armed simulator
        assert first.returncode == -9

        process = await start_daemon(config)
        event = await _settled(google, zoom, event_id)
        assert process.returncode is None

        everything = zoom.meetings(include_deleted=True)
        assert len(everything) == 1, f"{boundary}: {len(everything)} Zoom meetings"
        description = event["description"]
        assert description.count(START_MARK) == 1
        assert description.startswith("Figures first.")
        assert marker_of(event)["hybridcal.meeting"] == str(everything[0]["id"])
        creates = [
            r
            for r in zoom.calls("POST")
            if _is_zoom_create(r.method, r.path) and r.dropped != "request"
        ]
        assert len(creates) == 1
    finally:
        await stop(process)
        await zoom.close()
        await google.close()
