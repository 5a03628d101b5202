"""Staff edits raise centre events through the outbox, carrying public fields only."""

from __future__ import annotations

import threading
from pathlib import Path

from ccshared import bus as buses
from ccshared import contracts, events
from ccshared.events import CentreData
from ccshared.outbox import Relay
from ccshared.web import provided
from directory import api, worker
from directory.config import Settings

from tests.infra import tokens
from tests.infra.waiting import drain

PUBLIC_FIELDS = set(CentreData().fields)


def read_centres_topic(bus_url: str, group: str, want: int, deadline_s: float = 10.0) -> list[events.Event]:
    """Read the centres topic as a new consumer group until at least `want` events arrived."""
    consumer = buses.connect(bus_url).consumer(group, [contracts.CENTRES_TOPIC])
    try:
        return [events.decode(message.value) for message in drain(consumer, want, deadline_s)]
    finally:
        consumer.close()


def relay_all(client, bus_url: str) -> int:
    collection = provided(client.application, api.Context).service.repository.collection
    producer = buses.connect(bus_url).producer()
    try:
        return Relay([(collection, contracts.CENTRES_TOPIC)], producer).run_once()
    finally:
        producer.close()


def test_each_change_raises_its_event_with_public_fields_only(client, staff, ids, tmp_path):
    bus_url = f"sqlite:///{tmp_path}/events-test.db"
    centre = ids["riverside"]
    admin = staff("admin", username="test.admin")
    edit = client.patch(
        f"/api/v1/centres/{centre}",
        json={"phone": "0151 496 0888", "name": "Test Riverside"},
        headers={**admin, "If-Match": '"1"'},
    )
    assert edit.status_code == 200
    assert client.post(f"/api/v1/centres/{centre}/verify", headers=admin).status_code == 200
    assert (
        client.post(f"/api/v1/centres/{centre}/close", json={"reason": "Test"}, headers=admin).status_code
        == 200
    )

    assert relay_all(client, bus_url) == 24 + 3
    published = read_centres_topic(bus_url, "test-directory-events", 27)
    assert [e.type for e in published].count(contracts.CENTRE_CREATED) == 24
    mine = [e for e in published if e.subject == centre]
    assert [e.type for e in mine] == [
        contracts.CENTRE_CREATED,
        contracts.CENTRE_UPDATED,
        contracts.CENTRE_VERIFIED,
        contracts.CENTRE_CLOSED,
    ]
    assert [e.data["version"] for e in mine] == [1, 2, 3, 4]
    created, updated, verified, closed = mine
    assert updated.data["changed_fields"] == ["name", "phone"]
    assert updated.data["name"] == "Test Riverside"
    assert verified.data["changed_fields"] == ["last_verified_at"]
    assert closed.data["status"] == "closed"
    assert created.source == "directory"
    for event in published:
        assert set(event.data) <= PUBLIC_FIELDS
        assert "phone" not in event.data and "_audit" not in event.data


def test_relayed_events_are_not_published_twice(client, tmp_path):
    bus_url = f"sqlite:///{tmp_path}/events-test.db"
    assert relay_all(client, bus_url) == 24
    assert relay_all(client, bus_url) == 0


def test_worker_task_relays_the_outbox_to_the_configured_bus(client, tmp_path: Path):
    store_url = provided(client.application, api.Context).service.repository.collection.store.path
    bus_url = f"sqlite:///{tmp_path}/worker-events.db"
    settings = Settings(
        store_url=f"sqlite:///{store_url}", bus_url=bus_url, staff_token_public_key=tokens.STAFF_PUBLIC
    )
    (task,) = worker.tasks(settings)
    stop = threading.Event()
    thread = threading.Thread(target=task, args=(stop,), daemon=True)
    thread.start()
    try:
        published = read_centres_topic(bus_url, "test-directory-worker", 24)
    finally:
        stop.set()
        thread.join(timeout=10)
    assert len({e.subject for e in published}) == 24
    assert not thread.is_alive()
