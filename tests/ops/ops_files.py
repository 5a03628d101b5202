"""Where the shipped Prometheus and Grafana files are, and the metric names they use."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS_DIR = ROOT / "deploy" / "prometheus"
CONFIG = PROMETHEUS_DIR / "prometheus.yml"
RULES = PROMETHEUS_DIR / "alerts.yml"
RULE_TESTS = Path(__file__).with_name("alerts_test.yml")
DASHBOARD = ROOT / "deploy" / "grafana" / "dashboards" / "childrens-centres.json"
OPERATIONS = ROOT / "docs" / "OPERATIONS.md"
OUR_METRIC = re.compile(r"\bcc_[a-z0-9_]+")


def alert_rules() -> list[dict]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def dashboard_expressions() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [
        target["expr"]
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
        if target.get("expr")
    ]


def metric_names(expressions: list[str]) -> set[str]:
    """The project's metric names (cc_...) an expression reads, histogram suffixes included."""
    return {name for expr in expressions for name in OUR_METRIC.findall(expr)}
