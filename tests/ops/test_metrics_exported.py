"""Every metric an alert or the dashboard reads is exported by a running service.

The embedded system runs as separate processes (tests/infra/system.py), as in
production: gunicorn serves /metrics from the files the background worker
writes (prometheus_client's multiprocess mode). A letter logged a fortnight
late makes the flow run end to end: contact event, clock, breach event, e-mail.
Then each service's real /metrics is scraped and parsed.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.infra.common import free_port
from tests.infra.payloads import LETTER
from tests.infra.system import System
from tests.infra.waiting import wait_for

from .ops_files import alert_rules, dashboard_expressions, metric_names

DEADLINE = 90.0
SERVICES = ("directory", "contacts", "sla-monitor", "notifier", "web")
PERSONAL_OR_ID_LABELS = {
    "id",
    "contact_id",
    "event_id",
    "notification_id",
    "name",
    "email",
    "phone",
    "address",
    "recipient",
    "reference",
    "subject",
    "user",
    "username",
    "key",
}


@pytest.fixture
def system(tmp_path):
    bus_url = f"sqlite:///{tmp_path}/events.db"
    # A partner feed nobody answers: the import's failure metrics are exported too.
    feeds = {"ORUK_IMPORT_FEEDS": f"unanswered=http://127.0.0.1:{free_port()}/oruk"}
    system = System(
        tmp_path / "system",
        bus_url,
        lambda name: f"sqlite:///{tmp_path}/{name}.db",
        SERVICES,
        extra_env=feeds,
    )
    try:
        system.command("directory", "load-sample")
        system.start()
        system.settle()
        yield system
    finally:
        system.stop()


def scrape(system: System, name: str) -> dict[str, set[frozenset]]:
    """Sample name -> the label sets it has, from the service's /metrics."""
    text = requests.get(f"{system.url(name)}/metrics", timeout=10).text
    samples: dict[str, set[frozenset]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, set()).add(frozenset(sample.labels.items()))
    return samples


def log_overdue_letter(system: System) -> dict:
    centres = requests.get(f"{system.url('directory')}/api/v1/centres", params={"area": "north"}, timeout=10)
    centre = next(item for item in centres.json()["items"] if item["status"] == "open")
    body = {
        **LETTER,
        "centre_id": centre["id"],
        "received_at": (datetime.now(UTC) - timedelta(days=14)).isoformat(),
    }
    headers = system.staff("contacts", "coordinator", "north", "coordinator-north")
    response = requests.post(
        f"{system.url('contacts')}/api/v1/contacts", json=body, headers=headers, timeout=10
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_every_metric_an_alert_or_the_dashboard_reads_is_exported(system):
    log_overdue_letter(system)

    def exported() -> dict[str, dict[str, set[frozenset]]]:
        return {name: scrape(system, name) for name in SERVICES}

    def flowed() -> bool:
        found = exported()
        return (
            "cc_notifications_sent_total" in found["notifier"]
            and "cc_sla_breach_event_delay_seconds_count" in found["sla-monitor"]
            and "cc_consumer_lag_messages" in found["notifier"]
            and "cc_outbox_pending_events" in found["contacts"]
            and "cc_partner_feed_last_success_timestamp_seconds" in found["directory"]
        )

    wait_for(flowed, DEADLINE, "the overdue letter's breach e-mail and the worker gauges")
    found = exported()
    everywhere = {sample for samples in found.values() for sample in samples}

    wanted = metric_names([rule["expr"] for rule in alert_rules()]) | metric_names(dashboard_expressions())
    missing = sorted(wanted - everywhere)
    assert not missing, f"named by an alert or the dashboard but exported by no service: {missing}"

    # Each service exports what the issue asks of it.
    for name in ("contacts", "sla-monitor", "notifier"):
        assert {
            "cc_consumer_lag_messages",
            "cc_consumer_oldest_unprocessed_age_seconds",
            "cc_consumer_last_poll_timestamp_seconds",
        } <= set(found[name])
    for name in ("directory", "contacts", "sla-monitor"):
        assert {"cc_outbox_pending_events", "cc_outbox_oldest_pending_age_seconds"} <= set(found[name])
    assert {
        "cc_notifier_queue_notifications",
        "cc_notifier_send_failures_total",
        "cc_dead_letters_total",
    } <= set(found["notifier"])
    assert {"cc_sla_clocks", "cc_sla_breach_event_delay_seconds_count"} <= set(found["sla-monitor"])
    breached_north = {("state", "breached"), ("area", "north")}
    assert any(breached_north <= labels for labels in found["sla-monitor"]["cc_sla_clocks"])


def test_metric_names_and_labels_follow_prometheus_conventions(system):
    log_overdue_letter(system)
    wait_for(lambda: "cc_sla_clocks" in scrape(system, "sla-monitor"), DEADLINE, "the clock gauges")
    for name in SERVICES:
        for sample, label_sets in scrape(system, name).items():
            if not sample.startswith("cc_"):
                continue
            labels = {key for label_set in label_sets for key, _ in label_set}
            assert not labels & PERSONAL_OR_ID_LABELS, f"{name}: {sample} has id or personal labels {labels}"
            for label_set in label_sets:
                for key, value in label_set:
                    assert "@" not in value and not _looks_like_an_id(value), f"{sample}{{{key}={value!r}}}"


def _looks_like_an_id(value: str) -> bool:
    try:
        uuid.UUID(value)
        return True
    except ValueError:
        return len(value) > 40


def test_the_counters_alerts_watch_start_at_zero(system):
    """Before anything has failed they are exported at 0, so the first failure is an increase."""

    def values() -> dict[str, float]:
        text = requests.get(f"{system.url('notifier')}/metrics", timeout=10).text
        return {
            f"{sample.name}{sorted(sample.labels.items())}": sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
            if sample.name in ("cc_dead_letters_total", "cc_notifier_send_failures_total")
        }

    wait_for(lambda: len(values()) >= 3, DEADLINE, "the notifier's failure counters")
    assert set(values().values()) == {0.0}
