"""The daemon as systemd runs it: a separate process that reports READY=1, pings the watchdog,
serves a keyword through real push notifications, and on SIGTERM says STOPPING=1 and exits 0."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.e2e.harness import ADMIN, ALICE, DOMAIN, ZONE, conference_status, free_port, when

from hybridcal.config.loader import load_settings
from hybridcal.core.model import CalendarKind, Provider
from hybridcal.crypto import init_keyring
from hybridcal.daemon.admin import admin_session
from hybridcal.demo import install_service_account
from hybridcal.sandbox.google.app import GoogleSimulator

REPO = Path(__file__).resolve().parents[2]


def _toml(sections: Mapping[str, Mapping[str, Any]]) -> str:
    lines: list[str] = []
    for name, values in sections.items():
        lines.append(f"[{name}]")
        lines.extend(f"{key} = {json.dumps(value)}" for key, value in values.items())
    return "\n".join(lines) + "\n"


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
        port = free_port()
        config = tmp_path / "hybridcal.toml"
        config.write_text(
            _toml(
                {
                    "daemon": {
                        "listen_port": port,
                        "public_url": f"http://127.0.0.1:{port}",
                        "sync_debounce_seconds": 0.05,
                    },
                    "store": {"path": "hybridcal.db"},  # relative to the config file
                    "crypto": {"keyring": "keyring.json"},
                    "logging": {"level": "warning", "format": "json"},
                    "google": {
                        "enabled": True,
                        "service_account_file": "service-account.json",
                        "room_access_user": ADMIN,
                        "token_uri": sim.token_uri,
                        "calendar_api_root": sim.calendar_root,
                        "gmail_api_root": sim.gmail_root,
                    },
                }
            ),
            encoding="utf-8",
        )
        async with admin_session(load_settings(config, {}), {}) as admin:
            await admin.enable(Provider.GOOGLE, ALICE, CalendarKind.USER)

        env = {
            **os.environ,
            "NOTIFY_SOCKET": str(tmp_path / "notify"),
            "WATCHDOG_USEC": "1000000",  # a ping every half second
            "PYTHONPATH": str(REPO / "src"),
        }
        env.pop("WATCHDOG_PID", None)
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "hybridcal", "--config", str(config), "run",
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        started = await _messages(notify, "READY=1", 30)
        assert not any(m == "STOPPING=1" for m in started)

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
        if process is not None and process.returncode is None:
            process.kill()
            await process.wait()
        notify.close()
        await sim.close()


def when_soon() -> dict[str, Any]:
    return when(datetime.now(UTC) + timedelta(hours=1))
