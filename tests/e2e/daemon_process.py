"""The daemon as a separate process (``python -m hybridcal run``), for tests that signal or kill
it: a TOML config next to its store, keyring and keys, and the simulators in the test."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tests.e2e.harness import ADMIN, free_port

from hybridcal.sandbox.google.app import GoogleSimulator
from hybridcal.sandbox.zoom import ZoomApp, ZoomSimulator

REPO = Path(__file__).resolve().parents[2]


def toml(sections: Mapping[str, Mapping[str, Any]]) -> str:
    lines: list[str] = []
    for name, values in sections.items():
        lines.append(f"[{name}]")
        lines.extend(f"{key} = {json.dumps(value)}" for key, value in values.items())
    return "\n".join(lines) + "\n"


def write_config(
    workdir: Path,
    sim: GoogleSimulator,
    zoom: tuple[ZoomSimulator, ZoomApp] | None = None,
) -> Path:
    """A config whose relative paths (store, keyring, keys) live in ``workdir``."""
    port = free_port()
    sections: dict[str, dict[str, Any]] = {
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
    if zoom is not None:
        simulator, app = zoom
        sections["zoom"] = {
            "enabled": True,
            "account_id": app.account_id,
            "client_id": app.client_id,
            "client_secret_file": "zoom-client-secret",
            "oauth_root": simulator.oauth_root,
            "api_root": simulator.api_root,
        }
    config = workdir / "hybridcal.toml"
    config.write_text(toml(sections), encoding="utf-8")
    return config


async def start_daemon(
    config: Path, extra_env: Mapping[str, str] | None = None
) -> asyncio.subprocess.Process:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    for inherited in ("WATCHDOG_PID", "WATCHDOG_USEC", "NOTIFY_SOCKET"):
        env.pop(inherited, None)  # only what the test hands in
    env.update(extra_env or {})
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hybridcal", "--config", str(config), "run",
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def stop(process: asyncio.subprocess.Process | None) -> None:
    if process is not None and process.returncode is None:
        process.kill()
        await process.wait()
