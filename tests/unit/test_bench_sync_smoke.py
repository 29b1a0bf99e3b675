"""`python -m bench.sync --quick` runs end to end and prints the documented JSON keys."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

FIGURES = (
    "initial_events",
    "initial_seconds",
    "events_per_cpu_second",
    "list_calls_per_burst",
    "api_calls_per_changed_event",
    "writes_per_keyword_event",
    "echo_writes",
    "conferences_per_keyword_event",
    "zoom_creates_per_keyword_event",
    "zoom_hot_path_reads_per_keyword_event",
    "burst_cpu_seconds",
    "peak_rss_mb",
)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads CPU time from /proc")
def test_quick_run_prints_one_json_object() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.sync", "--quick"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    for key in (*FIGURES, "targets", "parameters", "all_targets_met"):
        assert key in result, key
    assert result["parameters"]["quick"] is True
    assert set(result["targets"]) == {
        "events_per_cpu_second",
        "list_calls_per_burst",
        "writes_per_keyword_event",
        "echo_writes",
        "conferences_per_keyword_event",
        "zoom_creates_per_keyword_event",
        "zoom_hot_path_reads_per_keyword_event",
    }
    # 3 people x 10 events, plus the colleagues' and the room's copies
    assert result["initial_events"] > 30
    assert result["initial_events_listed"] >= result["initial_events"]
    assert result["events_per_cpu_second"] > 0
    assert result["peak_rss_mb"] > 10
    # the product's promises: one write per keyword event, our own writes never written again
    assert result["burst_keyword_events"] == 4
    assert result["writes_per_keyword_event"] == 1
    assert result["echo_writes"] == 0
    assert result["zoom_keyword_events"] == 2
    assert result["zoom_creates_per_keyword_event"] == 1
    assert result["zoom_hot_path_reads_per_keyword_event"] == 0
    assert result["conferences_per_keyword_event"] == 1
    assert 1 <= result["list_calls_per_burst_reading_edits"] <= result["list_calls_per_burst"]
