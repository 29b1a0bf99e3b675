"""`python -m bench.hostile --quick` runs end to end and prints the documented JSON keys."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from bench import _hostile_invitations as invitations

REPO = Path(__file__).resolve().parents[2]

PHASES = ("idle", "baseline", "hostile")
PHASE_FIGURES = (
    "healthz_ms",
    "watchdog_gap_s",
    "sync_wall_s",
    "daemon_cpu_s",
    "peak_rss_mb",
    "complete",
    "events_processed",
    "expected_copies",
)
TARGETS = {
    "hostile_healthz_p99_ms",
    "hostile_healthz_timeouts",
    "hostile_watchdog_gap_max_s",
    "hostile_synced",
}

needs_proc = pytest.mark.skipif(
    not Path("/proc/self/stat").exists(), reason="reads CPU time from /proc"
)


@needs_proc
def test_quick_run_prints_one_json_object() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.hostile", "--quick"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    for phase in PHASES:
        figures = result[phase]
        for key in PHASE_FIGURES:
            assert key in figures, (phase, key)
        assert figures["complete"] is True, phase
        assert figures["ran_out"] is None, phase
        assert isinstance(figures["not_idle_after_rounds"], list)
        assert figures["events_processed"] >= figures["expected_copies"]
        healthz = figures["healthz_ms"]
        assert set(healthz) == {"p50", "p99", "max", "timeouts", "samples"}
        assert healthz["samples"] > 0
        assert healthz["p50"] <= healthz["p99"] <= healthz["max"]
        assert set(figures["watchdog_gap_s"]) == {"max", "mean", "pings"}
        assert figures["peak_rss_mb"] > 10
    # the daemon pinged the benchmark's notify socket as it would systemd's
    assert result["watchdog_interval_s"] == 1.0
    assert result["watchdog_pings_total"] >= 3
    assert result["idle"]["watchdog_gap_s"]["pings"] >= 2
    assert result["hostile"]["invitations"] == len(invitations.KINDS)
    assert result["hostile"]["expected_copies"] == 2 * len(invitations.KINDS)
    assert set(result["ratios"]) == {"healthz_p99", "watchdog_gap_max"}
    assert set(result["targets"]) == TARGETS
    assert isinstance(result["all_targets_met"], bool)
    assert result["parameters"]["quick"] is True
    assert result["product"]["commit"]


def test_hostile_texts_stay_within_what_google_accepts() -> None:
    kinds = [invitations.hostile(n) for n in range(len(invitations.KINDS))]
    assert [k.kind for k in kinds] == list(invitations.KINDS)
    for made in kinds:
        assert len(made.description.encode()) <= invitations.MAX_BYTES
        assert len(made.location.encode()) <= invitations.MAX_BYTES
    many = kinds[invitations.KINDS.index("many_links")]
    assert 480_000 <= len(many.description) <= 630_000
    assert many.description.count("https://") >= 4000
    assert "\uff0f" in kinds[invitations.KINDS.index("lookalikes")].description
    assert kinds[invitations.KINDS.index("nested_html")].description.count("<div>") == 10_000
    assert kinds[invitations.KINDS.index("anchors_html")].description.count("<a href") == 50_000
    assert len(kinds[invitations.KINDS.index("long_location")].location) >= 100_000
