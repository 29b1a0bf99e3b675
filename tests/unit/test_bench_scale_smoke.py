"""`python -m bench.scale --quick --provider both` runs end to end (daemon, simulators in their
own process, READY from the daemon's NOTIFY_SOCKET) and prints the documented JSON keys."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

FIGURES = (
    "peak_rss_mb",
    "ready_seconds_cold",
    "ready_seconds_warm",
    "sweep_seconds",
    "events_per_cpu_second",
    "cpu_ms_per_calendar",
    "targets",
)


def test_scale_quick_both_providers() -> None:
    done = subprocess.run(  # our interpreter, our module
        [sys.executable, "-m", "bench.scale", "--quick", "--provider", "both"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    for provider in ("google", "microsoft"):
        figures = result[provider]
        for key in FIGURES:
            assert key in figures, key
        assert figures["calendars"] == 20
        assert 0 < figures["ready_seconds_cold"] < 60
        assert figures["events"] > 0
        kinds = figures["cold"]["calls"]["calls_by_kind"]
        assert kinds["list"] >= figures["calendars"]
        assert kinds["watch"] >= figures["calendars"]
        assert figures["cold"]["calls"]["failed_requests"] == 0
        assert set(figures["cpu_ms_per_calendar"]) == {
            "cold_sweep",
            "warm_catch_up",
            "per_hour_at_rest",
        }
