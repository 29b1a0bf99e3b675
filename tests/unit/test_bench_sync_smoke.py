"""`python -m bench.sync --quick [--provider microsoft]` runs end to end and prints the
documented JSON keys."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

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
    "burst_notifications_delivered",
    "burst_throttled_requests",
    "peak_rss_mb",
)
GRAPH_FIGURES = (
    "graph_initial_marker_reads",
    "graph_initial_series_master_reads",
    "graph_marker_reads_per_changed_event",
    "graph_series_master_reads",
    "graph_notifications_failed",
)
TARGETS = {
    "events_per_cpu_second",
    "list_calls_per_burst",
    "writes_per_keyword_event",
    "echo_writes",
    "conferences_per_keyword_event",
    "zoom_creates_per_keyword_event",
    "zoom_hot_path_reads_per_keyword_event",
}

needs_proc = pytest.mark.skipif(
    not Path("/proc/self/stat").exists(), reason="reads CPU time from /proc"
)


def quick_run(*extra: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "bench.sync", "--quick", *extra],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    for key in (*FIGURES, "targets", "parameters", "all_targets_met"):
        assert key in result, key
    assert result["parameters"]["quick"] is True
    assert set(result["targets"]) == TARGETS
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
    assert result["burst_notifications_delivered"] >= result["burst_changed_events"]
    return result


@needs_proc
def test_quick_run_prints_one_json_object() -> None:
    result = quick_run()
    assert result["provider"] == "google"
    assert result["parameters"]["provider"] == "google"
    assert "calendar.events.list" in result["initial_calls_by_method"]
    assert not any(key.startswith("graph_") for key in result)


@needs_proc
def test_quick_run_against_microsoft_365() -> None:
    result = quick_run("--provider", "microsoft")
    assert result["provider"] == "microsoft"
    assert result["parameters"]["provider"] == "microsoft"
    for key in GRAPH_FIGURES:
        assert key in result, key
    assert "calendarView.delta" in result["initial_calls_by_method"]
    assert "calendar.events.list" not in result["initial_calls_by_method"]
    assert result["burst_calls_by_method"]["event.update"] == 4  # one PATCH per keyword event
    # one series per person is in the quick pattern (j = 7): its master is read once
    assert result["graph_initial_series_master_reads"] >= 3
    # delta has no $expand: keyword edits are read once more for our marker, our echoes not
    assert 0 < result["graph_marker_reads_per_changed_event"] <= 1
    assert result["graph_notifications_failed"] == 0
    assert result["initial_failed_requests"] == 0
    assert result["burst_failed_requests"] == 0


@needs_proc
def test_quick_run_while_graph_sends_lifecycle_notifications_on_its_own() -> None:
    result = quick_run("--provider", "microsoft", "--graph-lifecycle", "0.2")
    sent = result["graph_lifecycle_notifications"]
    # how many depends on how long the run takes (faster daemon, fewer); some is the point
    assert sent["reauthorizationRequired"] >= 3
    assert result["parameters"]["graph_lifecycle_s"] == 0.2
    # the promises hold under that load: one write per keyword event, nothing refused
    assert result["burst_calls_by_method"]["event.update"] == 4
    assert result["initial_sync_errors"] == 0
