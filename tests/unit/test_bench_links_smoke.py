"""`python -m bench.links --quick` runs end to end and prints the documented JSON keys."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_quick_run_prints_one_json_object() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.links", "--quick"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    for key in ("shapes", "worst_capped_ms", "worst_growth", "analyse_bytes", "caps", "parameters"):
        assert key in result
    assert result["parameters"]["quick"] is True
    assert "long_line_after_teams_link" in result["shapes"]
    for figures in result["shapes"].values():
        for size in ("small", "large"):
            assert figures[size]["baseline_ms"] > 0
            assert figures[size]["capped_ms"] > 0
        assert figures["growth"] > 0
    for analyse in result["analyse_bytes"].values():
        assert analyse["truncated"] is True
        assert analyse["links"] > 0
    assert result["analyse_bytes"]["same_link_mail"]["kind"] == "email"
