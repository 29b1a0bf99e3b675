"""The daemon as systemd runs it: a separate process that reports READY=1, pings the watchdog,
serves a keyword through real push notifications, and on SIGTERM says STOPPING=1 and exits 0."""

from __future__ import annotations

import asyncio
import signal
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.e2e.daemon_process import start_daemon, stop, write_config
from tests.e2e.harness import ADMIN, ALICE, DOMAIN, ZONE, conference_status, when

from hybridcal.config.loader import load_settings
from hybridcal.core.model import CalendarKind, Provider
from hybridcal.crypto import init_keyring
from hybridcal.daemon.admin import admin_session
from hybridcal.demo import install_service_account
from hybridcal.sandbox.google.app import GoogleSimulator


async def _messages(sock: socket.socket, until: str, limit_s: float) -> list[str]:
    """Datagrams from the daemon until one carries ``until``."""
    loop = asyncio.get_running_loop()
    seen: list[str] = []
    async with asyncio.timeout(limit_s):
        while True:
            data = await loop.sock_recv(sock, 4096)
            seen.extend(data.decode().splitlines())
            if until in seen:
                return seen


async def test_daemon_process_speaks_systemd_and_stops_cleanly(
    tmp_path: Path, sa_info: dict[str, str]
) -> None:
    sim = GoogleSimulator(domain=DOMAIN, conference_delay_s=0.05)
    await sim.start()
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.setblocking(False)  # noqa: FBT003 - the socket API's own signature
    notify.bind(str(tmp_path / "notify"))
    process: asyncio.subprocess.Process | None = None
    try:
        install_service_account(sim, tmp_path / "service-account.json", sa_info)
        sim.add_user(ALICE, timezone=ZONE)
        sim.add_user(ADMIN, admin=True, timezone=ZONE)
        init_keyring(tmp_path / "keyring.json")
        config = write_config(tmp_path, sim)
        async with admin_session(load_settings(config, {}), {}) as admin:
            await admin.enable(Provider.GOOGLE, ALICE, CalendarKind.USER)

        process = await start_daemon(
            config,
            {
                "NOTIFY_SOCKET": str(tmp_path / "notify"),
                "WATCHDOG_USEC": "1000000",  # a ping every half second
            },
        )
        started = await _messages(notify, "READY=1", 30)
        assert not any(m == "STOPPING=1" for m in started)

        # a second daemon on the same SQLite file refuses to start, naming the first
        second = await start_daemon(config, {})
        async with asyncio.timeout(30):
            refused = await second.wait()
        assert second.stderr is not None
        complaint = (await second.stderr.read()).decode()
        assert refused == 1
        assert f"pid {process.pid}" in complaint
        assert "in use by another hybridcal daemon" in complaint
        assert "Traceback" not in complaint

        event = sim.person_insert(ALICE, {"summary": "Standup", "location": "@meet", **when_soon()})
        async with asyncio.timeout(20):
            # the other process does the work: polling the simulator is the only signal here
            while conference_status(sim.get(ALICE, event["id"]) or {}) != "success":  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        assert sim.conferences_created() == 1
        assert "WATCHDOG=1" in await _messages(notify, "WATCHDOG=1", 5)

        process.send_signal(signal.SIGTERM)
        stopping = await _messages(notify, "STOPPING=1", 20)
        assert "STOPPING=1" in stopping
        async with asyncio.timeout(20):
            code = await process.wait()
        assert process.stderr is not None
        errors = (await process.stderr.read()).decode()
        assert code == 0, errors
        assert "Traceback" not in errors
        patches = [r for r in sim.request_log if r.method == "PATCH"]
        assert len(patches) == 1
    finally:
        await stop(process)
        notify.close()
        await sim.close()


def when_soon() -> dict[str, Any]:
    return when(datetime.now(UTC) + timedelta(hours=1))
