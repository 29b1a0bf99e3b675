"""`python -m bench.endpoint --quick` runs end to end and prints the documented JSON keys."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

PHASES = ("not_modified", "cached_200", "changed_rows", "many_devices")
FIGURES = (
    "requests_per_second",
    "server_cpu_us_per_request",
    "server_core_busy_pct",
    "generator_core_busy_pct",
)


def test_quick_run_prints_one_json_object() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.endpoint", "--quick"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert set(result["phases"]) == set(PHASES)
    for name in PHASES:
        phase = result["phases"][name]
        assert phase["answered_from"]
        assert all(phase[key] >= 0 for key in FIGURES)
        assert phase["requests_per_second"] > 0
        assert phase["server_cpu_us_per_request"] > 0
        assert phase["p50_ms"] <= phase["p99_ms"]
        ratio = phase["ratio_vs_baseline"]
        assert ratio["min"] <= ratio["median"] <= ratio["max"]
    assert result["phases"]["not_modified"]["status"] == 304
    assert "rendered cache" in result["phases"]["cached_200"]["answered_from"]
    assert "decrypts" in result["phases"]["changed_rows"]["answered_from"]
    assert result["baseline"]["requests_per_second"] > 0
    assert result["unexpected_statuses"] == 0
    assert result["parameters"]["quick"] is True
    assert result["response_bytes"] > 1000  # a real meeting list, not an error body
