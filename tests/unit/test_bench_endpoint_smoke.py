"""`python -m bench.endpoint --quick` runs end to end and prints the documented JSON keys."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

RATES = (
    "requests_per_second",
    "conditional_requests_per_second",
    "uncached_requests_per_second",
    "baseline_requests_per_second",
)


def test_quick_run_prints_one_json_object() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.endpoint", "--quick"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    for key in (*RATES, "p50_ms", "p99_ms", "ratio_vs_baseline", "parameters"):
        assert key in result
    assert all(result[key] > 0 for key in RATES)
    assert result["unexpected_statuses"] == 0
    assert result["parameters"]["quick"] is True
    assert result["p50_ms"] <= result["p99_ms"]
    assert result["response_bytes"] > 1000  # a real meeting list, not an error body
