"""Staff edits reach another process over real Kafka.

The directory's worker runs as its own OS process (`python -m directory
worker`) relaying the outbox of the store that the API writes; the test reads
the centres topic as a fresh consumer group, waiting with a deadline.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable

import pytest
from ccshared import bus as buses
from ccshared import contracts, events
from ccshared.web import provided
from directory import api
from directory_testkit import NEW_CENTRE

from tests.infra import tokens
from tests.infra.waiting import wait_for

DEADLINE_SECONDS = 60


def wait_for_events(
    consumer, subject: str, count: int, seen: set[str], what: str | Callable[[], str]
) -> list[events.Event]:
    """The next `count` distinct events about subject. The outbox relay delivers at least
    once (a relay whose clear lost a race with a new edit publishes again), and consumers
    dedupe by event id, so this reader does too: `seen` holds the ids already returned."""
    found: list[events.Event] = []

    def enough() -> bool:
        batch = consumer.poll(0.5)
        for event in (events.decode(m.value) for m in batch):
            if event.subject == subject and event.id not in seen:
                seen.add(event.id)
                found.append(event)
        consumer.commit(batch)
        return len(found) >= count

    wait_for(enough, DEADLINE_SECONDS, what, interval=0)
    return found


@pytest.fixture
def worker_process(make_app, kafka, tmp_path):
    """The API (in this process) and the worker (another process) sharing one store."""
    app = make_app()
    store_path = provided(app, api.Context).service.repository.collection.store.path
    env = {
        **os.environ,
        "STORE_URL": f"sqlite:///{store_path}",
        "EVENT_BUS_URL": f"kafka://{kafka.bootstrap}",
        **tokens.key_env("directory"),
        "LOG_LEVEL": "WARNING",
    }
    log = open(tmp_path / "worker.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen([sys.executable, "-m", "directory", "worker"], env=env, stdout=log, stderr=log)
    try:
        yield app, process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()


@pytest.mark.kafka
def test_staff_edits_are_consumed_by_another_process_over_kafka(worker_process, kafka, staff, tmp_path):
    app, process = worker_process
    client = app.test_client()
    admin = staff("admin", username="test.admin")
    created = client.post(
        "/api/v1/centres", json={**NEW_CENTRE, "area": "south", "ward": "Woolton"}, headers=admin
    )
    assert created.status_code == 201, created.json
    centre_id = created.json["id"]
    edited = client.patch(
        f"/api/v1/centres/{centre_id}", json={"phone": "0151 496 0444"}, headers={**admin, "If-Match": '"1"'}
    )
    assert edited.status_code == 200

    consumer = buses.connect(f"kafka://{kafka.bootstrap}").consumer(
        f"test-directory-{uuid.uuid4().hex[:8]}", [contracts.CENTRES_TOPIC]
    )
    try:
        seen: set[str] = set()
        log = tmp_path / "worker.log"
        first = wait_for_events(
            consumer,
            centre_id,
            2,
            seen,
            lambda: f"created and updated events; worker log:\n{log.read_text()[-3000:]}",
        )
        assert [e.type for e in first] == [contracts.CENTRE_CREATED, contracts.CENTRE_UPDATED], (
            log.read_text()[-3000:]
        )
        assert first[1].data["changed_fields"] == ["phone"]

        coordinator = staff("coordinator", "south", username="test.south")
        assert client.post(f"/api/v1/centres/{centre_id}/verify", headers=coordinator).status_code == 200
        assert (
            client.post(
                f"/api/v1/centres/{centre_id}/close", json={"reason": "Test"}, headers=admin
            ).status_code
            == 200
        )
        later = wait_for_events(consumer, centre_id, 2, seen, "verified and closed events")
    finally:
        consumer.close()
    assert [e.type for e in later] == [contracts.CENTRE_VERIFIED, contracts.CENTRE_CLOSED]
    assert [e.data["version"] for e in first + later] == [1, 2, 3, 4]
    assert all(e.data["area"] == "south" and "phone" not in e.data for e in first + later)
    assert process.poll() is None, "the worker is still running"

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=20) == 0
