"""`hybridcal demo --serve` as a sandbox for the admin commands (README, "Try the admin
commands against the demo"): a real process, its info file, the CLI and the admin API."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from hybridcal.demo import config_toml

pytestmark = pytest.mark.slow

CLI = [sys.executable, "-m", "hybridcal"]


def _get(url: str, token: str | None) -> tuple[int, Any]:
    request = urllib.request.Request(url)
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, None


def _admin(config: str, *args: str) -> str:
    done = subprocess.run(
        [*CLI, "--config", config, *args], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _wait_for(path: Path, process: subprocess.Popen[str], limit_s: float) -> dict[str, Any]:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if path.exists():
            data: dict[str, Any] = json.loads(path.read_text())
            return data
        if process.poll() is not None:
            _out, err = process.communicate()
            pytest.fail(f"the demo ended early ({process.returncode}): {err[-2000:]}")
        time.sleep(0.2)
    pytest.fail(f"no info file after {limit_s} s")


def test_admin_commands_work_against_the_serving_demo(tmp_path: Path) -> None:
    info_file = tmp_path / "demo.json"
    workdir = tmp_path / "work"
    process = subprocess.Popen(
        [*CLI, "demo", "--serve", "--workdir", "work", "--info-file", str(info_file)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "HYBRIDCAL_CONFIG": str(tmp_path / "absent.toml")},
    )
    try:
        info = _wait_for(info_file, process, 120)
        assert info_file.stat().st_mode & 0o077 == 0  # it holds tokens
        config = info["config"]
        assert Path(config).parent == workdir

        # the admin commands open the store beside the running daemon (it holds only the
        # daemon lock, which admin commands never take)
        users = _admin(config, "users", "list")
        assert "alice@example.com [google user] active" in users
        assert "megan@contoso.example [microsoft user] active" in users
        assert "boardroom@contoso.example" in _admin(config, "devices", "list")
        status = json.loads(_admin(config, "status", "--json"))
        assert status["calendars"]["total"] == 6
        assert status["daemon"] is None  # the CLI's own view, from the store

        code, doc = _get(info["admin_api_url"], info["admin_token"])
        assert code == 200
        assert doc["calendars"]["active"] == 6
        assert doc["daemon"]["queue_depth"] >= 0
        assert _get(info["admin_api_url"], None)[0] == 401
        assert _get(info["admin_api_url"], "x" * 43)[0] == 401
        code, meetings = _get(f"{info['daemon_url']}/api/v1/meetings", info["device_token"])
        assert code == 200
        assert meetings["calendar"]["address"].startswith("c_1880zurich")
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            _out, err = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            raise
    assert process.returncode == 0, err[-2000:]
    assert not info_file.exists()  # it described a running demo only
    assert (workdir / "hybridcal.toml").is_file()  # --workdir is kept


def test_config_toml_reads_back_as_the_same_config() -> None:
    config: dict[str, dict[str, Any]] = {
        "daemon": {"listen_port": 8480, "public_url": "http://127.0.0.1:8480"},
        "zoom": {"enabled": True, "topic_template": 'say "{title}" \\ ünïcode', "ratio": 0.5},
        "endpoint": {"attendee_name_rooms": ["a@example.com", "b@example.com"]},
    }
    assert tomllib.loads(config_toml(config)) == config
