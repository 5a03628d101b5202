"""The shipped Prometheus configuration, alert rules and dashboard, checked by the real promtool.

`promtool test rules` feeds series to the rules (tests/ops/alerts_test.yml) and asserts which
alerts fire; the dashboard's queries are checked as PromQL by loading them as recording rules.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import yaml

from tests.infra.promtool import PROMETHEUS_MODULE_VERSION, PROMETHEUS_RELEASE

from .ops_files import (
    CONFIG,
    DASHBOARD,
    OPERATIONS,
    ROOT,
    RULE_TESTS,
    RULES,
    alert_rules,
    dashboard_expressions,
)

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
ALERTS_THE_ISSUE_ASKS_FOR = {
    "ConsumerLagGrowing",  # a consumer's lag growing for 10 minutes
    "ConsumerStalled",  # a consumer that has stopped: "be paged when they stop"
    "OutboxBacklogOld",  # an outbox backlog older than 5 minutes
    "DeadLetter",  # any dead letter
    "MailFailuresHigh",  # mail failures above a threshold
    "BreachEventMissing",  # a due clock with no breach event after 1 minute
    "ServiceDown",  # a service down
}
# Gauges that every replica counts from the one store it shares with the others (a relay its
# whole outbox collection, an SLA monitor every clock, a notifier the whole delivery log).
COUNTED_BY_EVERY_REPLICA = (
    "cc_outbox_pending_events",
    "cc_outbox_oldest_pending_age_seconds",
    "cc_sla_clocks",
    "cc_sla_due_unbreached_clocks",
    "cc_sla_oldest_due_unbreached_seconds",
    "cc_notifier_queue_notifications",
)


def run(promtool: Path, *args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [str(promtool), *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, f"promtool {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result


def test_the_module_version_is_the_release_compose_runs():
    """Prometheus 3.x.y is published as Go module v0.(300+x).y."""
    major, minor, patch = (int(part) for part in PROMETHEUS_RELEASE.removeprefix("v").split("."))
    assert PROMETHEUS_MODULE_VERSION == f"v0.{major * 100 + minor}.{patch}"


def test_promtool_is_built_from_the_pinned_module(promtool):
    """`go install` leaves no version in `promtool --version`; the binary's build info has it."""
    info = subprocess.run(["go", "version", "-m", str(promtool)], capture_output=True, text=True, check=True)
    assert re.search(
        rf"\bmod\s+github\.com/prometheus/prometheus\s+{PROMETHEUS_MODULE_VERSION}\b", info.stdout
    )


def test_compose_runs_the_release_whose_promtool_checks_the_rules():
    assert COMPOSE["services"]["prometheus"]["image"] == f"prom/prometheus:{PROMETHEUS_RELEASE}"
    assert re.match(r"^grafana/grafana:\d+\.\d+\.\d+$", COMPOSE["services"]["grafana"]["image"])


def test_compose_mounts_the_files_these_tests_check():
    prometheus = COMPOSE["services"]["prometheus"]
    assert "./deploy/prometheus:/etc/prometheus:ro" in prometheus["volumes"]
    assert "--config.file=/etc/prometheus/prometheus.yml" in prometheus["command"]
    grafana = COMPOSE["services"]["grafana"]
    assert "./deploy/grafana/provisioning:/etc/grafana/provisioning:ro" in grafana["volumes"]
    assert "./deploy/grafana/dashboards:/var/lib/grafana/dashboards:ro" in grafana["volumes"]


def test_config_is_valid_and_loads_the_rules(promtool):
    output = run(promtool, "check", "config", str(CONFIG)).stdout
    assert "SUCCESS" in output
    assert str(RULES.name) in output, "the configuration loads alerts.yml"
    jobs = {job["job_name"] for job in yaml.safe_load(CONFIG.read_text())["scrape_configs"]}
    assert jobs == {"directory", "contacts", "sla-monitor", "notifier", "web"}


def test_rules_are_valid(promtool):
    output = run(promtool, "check", "rules", str(RULES)).stdout
    assert f"SUCCESS: {len(alert_rules())} rules found" in output


def test_the_alerts_fire_on_the_series_they_are_for_and_only_those(promtool):
    output = run(promtool, "test", "rules", str(RULE_TESTS), cwd=RULE_TESTS.parent).stdout
    assert "SUCCESS" in output


def test_every_alert_the_issue_lists_exists_with_a_runbook_paragraph():
    rules = {rule["alert"]: rule for rule in alert_rules()}
    assert ALERTS_THE_ISSUE_ASKS_FOR <= set(rules)
    operations = OPERATIONS.read_text()
    for name, rule in rules.items():
        anchor = rule["annotations"]["runbook_url"].partition("#")[2]
        headings = {re.sub(r"[^a-z0-9]", "", h.lower()) for h in re.findall(r"^#+ (.+)$", operations, re.M)}
        assert anchor in headings, f"{name}: docs/OPERATIONS.md has no heading for #{anchor}"
        assert rule["labels"]["severity"] in ("page", "ticket")


def test_the_dashboards_queries_are_valid_promql(promtool, tmp_path):
    expressions = dashboard_expressions()
    assert len(expressions) >= 15
    rules = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [{"record": f"dashboard:query{i}", "expr": e} for i, e in enumerate(expressions)],
            }
        ]
    }
    as_rules = tmp_path / "dashboard-queries.yml"
    as_rules.write_text(yaml.safe_dump(rules))
    run(promtool, "check", "rules", str(as_rules))


def test_gauges_every_replica_counts_alike_are_read_with_max_never_added_up():
    """Two replicas report the same figure: a sum would show twice the events waiting."""
    expressions = dashboard_expressions() + [rule["expr"] for rule in alert_rules()]
    read = set()
    for expr in expressions:
        for found in re.finditer(rf"\b({'|'.join(COUNTED_BY_EVERY_REPLICA)})\b", expr):
            read.add(found.group(1))
            before = expr[: found.start()]
            assert re.search(r"\bmax(\s+by\s*\([^)]*\))?\s*\(\s*$", before), f"max, not {expr!r}"
    assert read == set(COUNTED_BY_EVERY_REPLICA)


def test_the_dashboard_covers_what_ops_asked_to_see():
    dashboard = json.loads(DASHBOARD.read_text())
    rows = {panel["title"] for panel in dashboard["panels"] if panel["type"] == "row"}
    assert rows == {"Flow", "Lag", "Outbox backlog", "Breaches", "Mail delivery", "HTTP"}
    for panel in dashboard["panels"]:
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == "prometheus"
    datasource = yaml.safe_load((ROOT / "deploy/grafana/provisioning/datasources/prometheus.yml").read_text())
    assert datasource["datasources"][0]["uid"] == "prometheus"
