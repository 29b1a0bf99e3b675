"""The daemon under test as a child process: its config file, its CPU time and memory from
``/proc`` (Linux), its HTTP health and metrics, and a stop that always happens.

The daemon runs in its own process so that the CPU it spends is measured alone, apart from the
simulator and the load generator that share the benchmark's process.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Self

import aiohttp

REPO = Path(__file__).resolve().parents[1]
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
TomlValue = str | int | float | bool


def child_environ() -> dict[str, str]:
    """The environment of the processes a benchmark starts: this checkout's ``src`` first, so
    a benchmark run from another worktree measures that worktree's code."""
    return {**os.environ, "PYTHONPATH": f"{REPO / 'src'}{os.pathsep}{REPO}"}


class DaemonExitedError(RuntimeError):
    """The daemon process ended while the benchmark still needed it."""


@dataclass(frozen=True, slots=True)
class GoogleEndpoints:
    token_uri: str
    calendar_root: str
    gmail_root: str


def google_section(
    workdir: Path, endpoints: GoogleEndpoints, room_access_user: str
) -> dict[str, TomlValue]:
    """``[google]`` for the Google simulator, with the service-account key in ``workdir``."""
    return {
        "enabled": True,
        "service_account_file": str(workdir / "service-account.json"),
        "room_access_user": room_access_user,
        "token_uri": endpoints.token_uri,
        "calendar_api_root": endpoints.calendar_root,
        "gmail_api_root": endpoints.gmail_root,
    }


def config_sections(
    workdir: Path,
    *,
    port: int,
    providers: Mapping[str, Mapping[str, TomlValue]],
    zoom: Mapping[str, TomlValue] | None = None,
) -> dict[str, dict[str, TomlValue]]:
    """The daemon's settings, TOML shaped; the benchmark validates them with the product's own
    loader before the daemon reads the same file. ``providers`` are the calendar providers'
    sections (``google``, ``microsoft``), ``zoom`` is the ``[zoom]`` section."""
    extra = {"zoom": dict(zoom)} if zoom else {}
    return {
        **extra,
        "daemon": {"listen_port": port, "public_url": f"http://127.0.0.1:{port}"},
        "store": {"path": str(workdir / "hybridcal.db")},
        "crypto": {"keyring": str(workdir / "keyring.json")},
        "logging": {"level": "warning", "format": "json"},
        **{name: dict(section) for name, section in providers.items()},
    }


def render_toml(sections: Mapping[str, Mapping[str, TomlValue]]) -> str:
    """Flat tables of scalars; JSON string escapes are valid TOML basic strings."""
    lines: list[str] = []
    for name, values in sections.items():
        lines.append(f"[{name}]")
        lines.extend(f"{key} = {json.dumps(value)}" for key, value in values.items())
        lines.append("")
    return "\n".join(lines)


def daemon_command(config: Path, *, profile: Path | None = None) -> list[str]:
    """``hybridcal --config FILE run``, optionally under cProfile (stats written on exit)."""
    profiler = ["-m", "cProfile", "-o", str(profile)] if profile is not None else []
    return [sys.executable, *profiler, "-m", "hybridcal", "--config", str(config), "run"]


class DaemonProcess:
    """Start with ``with DaemonProcess(...) as daemon:``; leaving the block stops it (SIGTERM,
    then SIGKILL after ``stop_timeout``), also on errors."""

    def __init__(
        self,
        command: list[str],
        *,
        log_path: Path,
        stop_timeout: float = 20.0,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self._command = command
        self._env = dict(env or {})
        self._log_path = log_path
        self._stop_timeout = stop_timeout
        self._log: IO[bytes] | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0

    def __enter__(self) -> Self:
        self._log = self._log_path.open("wb")
        self.started_at = time.perf_counter()
        self._process = subprocess.Popen(  # our interpreter, our arguments
            self._command,
            cwd=REPO,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env={**child_environ(), **self._env},
        )
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    @property
    def pid(self) -> int:
        if self._process is None:
            raise RuntimeError("the daemon was not started")
        return self._process.pid

    def stop(self) -> int | None:
        """Stop gracefully if possible; returns the exit code (None if it had to be killed)."""
        process, self._process = self._process, None
        code: int | None = None
        if process is not None:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
            try:
                code = process.wait(self._stop_timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None
        return code

    def ensure_running(self) -> None:
        if self._process is not None and self._process.poll() is not None:
            code = self._process.returncode
            raise DaemonExitedError(
                f"the daemon exited with code {code}; its last output:\n{self.log_tail()}"
            )

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self._log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no output)"
        return "\n".join(text.splitlines()[-lines:]) or "(no output)"

    # -- resource use ------------------------------------------------------------------------

    def cpu_seconds(self) -> float:
        """User + system CPU time of the daemon so far (clock-tick resolution, 10 ms)."""
        stat = Path(f"/proc/{self.pid}/stat").read_text(encoding="ascii")
        fields = stat.rsplit(")", 1)[1].split()  # the command name may hold spaces
        utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of proc(5)
        return (utime + stime) / _CLOCK_TICKS

    def peak_rss_mb(self) -> float:
        """The resident set's high-water mark (VmHWM) in MiB."""
        return self._status_mb("VmHWM:")

    def rss_mb(self) -> float:
        """The resident set now (VmRSS) in MiB."""
        return self._status_mb("VmRSS:")

    def _status_mb(self, field: str) -> float:
        for line in Path(f"/proc/{self.pid}/status").read_text(encoding="ascii").splitlines():
            if line.startswith(field):
                return int(line.split()[1]) / 1024
        raise RuntimeError(f"{field} missing from /proc/<pid>/status")


# -- HTTP ------------------------------------------------------------------------------------


async def wait_ready(
    daemon: DaemonProcess, http: aiohttp.ClientSession, base_url: str, within: float
) -> None:
    """Until ``/readyz`` answers 200; fails early with the daemon's output if it exits."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        daemon.ensure_running()
        try:
            async with http.get(f"{base_url}/readyz") as resp:
                if resp.status == 200:
                    return
        except aiohttp.ClientError:
            pass  # not listening yet
        await asyncio.sleep(0.01)
    raise TimeoutError(
        f"the daemon was not ready within {within:.0f} s; its last output:\n{daemon.log_tail()}"
    )


async def queue_depth(http: aiohttp.ClientSession, base_url: str) -> int:
    async with http.get(f"{base_url}/readyz") as resp:
        body = await resp.json()
        return int(body.get("queue_depth", 0))


async def scrape_metrics(http: aiohttp.ClientSession, base_url: str) -> dict[str, float]:
    """``/metrics`` as {series: value}, e.g. ``hybridcal_syncs_total{outcome="ok",...}``."""
    async with http.get(f"{base_url}/metrics") as resp:
        resp.raise_for_status()
        text = await resp.text()
    series: dict[str, float] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name, _, value = line.rpartition(" ")
        try:
            series[name] = float(value)
        except ValueError:
            continue
    return series


def metric_total(series: Mapping[str, float], name: str, **labels: str) -> float:
    """The sum of every series of ``name`` whose labels include ``labels``."""
    wanted = [f'{key}="{value}"' for key, value in labels.items()]
    total = 0.0
    for key, value in series.items():
        base, _, rest = key.partition("{")
        if base == name and all(label in rest for label in wanted):
            total += value
    return total
