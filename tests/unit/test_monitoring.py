"""The alert rules and the Grafana dashboard in deploy/ use only metrics the daemon exports.

Every metric name in every rule expression and dashboard target must appear in the text that
``Metrics().render()`` gives (after each recording method ran once, so that series with
run-time labels exist too), and every ``label="value"`` matcher must name a series that does.
``promtool check rules`` runs on the rules where promtool is installed (Debian: prometheus).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from hybridcal.daemon.metrics import Metrics

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
RULES = DEPLOY / "prometheus" / "hybridcal.rules.yml"
DASHBOARD = DEPLOY / "grafana" / "hybridcal.json"

# PromQL words that are not metric names
_KEYWORDS = {
    "and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right",
    "bool", "offset", "le", "inf", "nan",
}  # fmt: skip
_SELECTOR = re.compile(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{[^}]*\})?")


def _exposition() -> str:
    metrics = Metrics()
    metrics.sync("google", "ok", 0.2)
    metrics.provider_call("google", "events.list")
    metrics.meeting("zoom", "create")
    metrics.endpoint_request(200, 0.001)
    body, _ = metrics.render()
    return body.decode()


@pytest.fixture(scope="module")
def series() -> dict[str, list[str]]:
    """Metric name -> the label sets it is exported with."""
    found: dict[str, list[str]] = {}
    for line in _exposition().splitlines():
        if line and not line.startswith("#"):
            name, _, rest = line.partition("{")
            found.setdefault(name.split(" ")[0], []).append(rest.rpartition("}")[0])
    return found


def selectors(expr: str) -> list[tuple[str, str]]:
    """(metric name, matcher text) for every series selector in a PromQL expression."""
    text = re.sub(r'"[^"]*"', '""', expr)  # label values never hold names
    text = re.sub(r"\[[^\]]*\]", "", text)  # range and subquery durations
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = []
    for match in _SELECTOR.finditer(text):
        name = match.group(1)
        following = text[match.end(1) :].lstrip()
        if following.startswith("(") or name.lower() in _KEYWORDS or name[0].isdigit():
            continue  # a function call, a keyword
        names.append(name)
    # the matchers, from the original text (with the label values)
    matchers = dict(re.findall(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{[^}]*\})", expr))
    return [(name, matchers.get(name, "")) for name in names]


def _rules() -> list[dict[str, Any]]:
    data = yaml.safe_load(RULES.read_text())
    assert set(data) == {"groups"}
    return [rule for group in data["groups"] for rule in group["rules"]]


def _targets() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = []
    for panel in dashboard["panels"]:
        exprs += [t["expr"] for t in panel.get("targets", [])]
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            exprs.append(re.sub(r"^label_values\(([^,]+),.*\)$", r"\1", variable["query"]))
    return exprs


def _check(expr: str, series: dict[str, list[str]]) -> None:
    found = selectors(expr)
    assert found, expr
    for name, matcher in found:
        assert name in series, f"{name} is not exported by daemon/metrics.py ({expr})"
        for label, value in re.findall(r'(\w+)\s*=\s*"([^"]*)"', matcher):
            if label == "job" or not value:
                continue  # Prometheus' own target labels
            wanted = f'{label}="{value}"'
            assert any(wanted in labels for labels in series[name]), f"{name}{{{wanted}}}"


def test_selector_parser() -> None:
    expr = (
        'max by (job) (a_b{state="error", job=~"$job"}) > 0 unless on (job)'
        " sum(increase(c_total[10m])) > 0 and histogram_quantile(0.9, d_bucket)"
    )
    assert [n for n, _ in selectors(expr)] == ["a_b", "c_total", "d_bucket"]


def test_rules_are_well_formed() -> None:
    data = yaml.safe_load(RULES.read_text())
    names = set()
    for group in data["groups"]:
        assert set(group) == {"name", "rules"}
        assert group["name"].startswith("hybridcal.")
        for rule in group["rules"]:
            assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}
            assert re.fullmatch(r"Hybridcal[A-Za-z]+", rule["alert"])
            assert rule["alert"] not in names
            names.add(rule["alert"])
            assert isinstance(rule["expr"], str)
            assert rule["expr"].strip()
            if "for" in rule:
                assert re.fullmatch(r"\d+[smh]", rule["for"])
            assert rule["labels"]["severity"] in {"critical", "warning", "info"}
            assert {"summary", "description"} <= set(rule["annotations"])
    # what issue 12 asks the rules to cover
    for wanted in (
        "CalendarsInError",
        "ChannelsNotRenewed",
        "QueueStalled",
        "QueueBacklog",
        "ProviderThrottling",
        "SyncErrors",
        "CalendarsInTrouble",
        "EventFaults",
        "SweepNotProgressing",
        "StoreIntegrityErrors",
    ):
        assert f"Hybridcal{wanted}" in names


def test_rule_expressions_use_exported_metrics_only(series: dict[str, list[str]]) -> None:
    for rule in _rules():
        _check(rule["expr"], series)


def test_dashboard_targets_use_exported_metrics_only(series: dict[str, list[str]]) -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] == "hybridcal"
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    exprs = _targets()
    assert len(exprs) > 20
    for expr in exprs:
        _check(expr, series)
    text = " ".join(exprs)
    for name in (
        "hybridcal_calendars",
        "hybridcal_channels_expiring",
        "hybridcal_queue_depth",
        "hybridcal_syncs_total",
        "hybridcal_calendars_in_trouble",
        "hybridcal_event_faults",
        "hybridcal_sweep_calendars_remaining",
        "hybridcal_store_integrity_errors_total",
    ):
        assert name in text


def test_promtool_check_rules() -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (Debian: apt-get install prometheus)")
    done = subprocess.run(
        [promtool, "check", "rules", str(RULES)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_channels_expiring_gauge() -> None:
    metrics = Metrics(process_metrics=False)
    metrics.set_channels_expiring(3)
    assert "hybridcal_channels_expiring 3.0" in metrics.render()[0].decode()
