"""Logs that alerts can trust: a first start on Kafka logs nothing at error level.

The SLA monitor used to subscribe as soon as `create_topics` returned, before
the broker's metadata listed the new topics, and kafka-python then logged
"Topic <prefix>contacts not found in cluster metadata" at error level for a few
seconds (1 start in 5). ensure_topics now returns only once the metadata lists
every topic with a leader for each partition.
"""

from __future__ import annotations

import json
import logging
import uuid

import pytest
import requests
from ccshared import bus as ccbus
from ccshared import contracts

from tests.infra.system import System
from tests.infra.waiting import wait_for

pytestmark = pytest.mark.kafka
STARTS = 5


def test_topics_are_in_the_metadata_when_ensure_topics_returns(kafka, caplog):
    """Subscribe at once after ensure_topics, on fresh topics, several times over: no error logged."""
    with caplog.at_level(logging.WARNING, logger="kafka"):
        for _ in range(STARTS):
            prefix = f"clean-{uuid.uuid4().hex[:8]}-"
            bus = ccbus.connect(f"kafka://{kafka.bootstrap}?topic_prefix={prefix}")
            topics = [contracts.CONTACTS_TOPIC, contracts.CENTRES_TOPIC]
            bus.ensure_topics(topics)
            consumer = bus.consumer(f"{prefix}group", topics)
            try:

                def assigned(c=consumer) -> bool:
                    c.poll(0.5)
                    return bool(c.lag())

                wait_for(assigned, 60, "the consumer to own the new topics' partitions")
            finally:
                consumer.close()
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, errors


def test_a_first_start_and_stop_of_the_sla_monitor_logs_nothing_at_error_level(kafka, tmp_path):
    prefix = f"clean-{uuid.uuid4().hex[:8]}-"
    system = System(
        tmp_path / "system",
        f"kafka://{kafka.bootstrap}?topic_prefix={prefix}",
        lambda name: f"sqlite:///{tmp_path}/{name}.db",
        services=("sla-monitor",),
    )
    try:
        system.start()

        def subscribed() -> bool:
            text = requests.get(f"{system.url('sla-monitor')}/metrics", timeout=5).text
            return "cc_consumer_lag_messages{" in text

        wait_for(subscribed, 60, "the SLA monitor's consumer to own its partitions")
    finally:
        system.stop()
    lines = [
        line
        for line in system.log("sla-monitor").splitlines()
        if line.strip() and not line.startswith("=====")
    ]
    # gunicorn's own lines too: a worker timing out must be seen by a filter on "level".
    assert all(line.startswith("{") for line in lines), "\n".join(lines)
    errors = [line for line in lines if json.loads(line).get("level") in ("error", "critical")]
    assert not errors, "\n".join(errors)
