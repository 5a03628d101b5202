"""Contact events leave through the outbox with no personal data, on the
embedded log and on real Kafka; the centre read model is built from centre
events by version."""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest
from ccshared import bus, events
from ccshared.bus import Bus
from contacts.read_model import CentreReadModel
from contacts.worker import CENTRES, centres_task, relay_task
from contacts_testkit import PERSONAL_VALUES, centre_event, erase, publish_centres, staged_erasures

from tests.infra.waiting import wait_for

ALL_CONTACT_EVENTS = {
    "contact.received.v1",
    "contact.assigned.v1",
    "contact.responded.v1",
    "contact.closed.v1",
    "contact.withdrawn.v1",
    "contact.paused.v1",
    "contact.resumed.v1",
    "referral.accepted.v1",
    "referral.declined.v1",
}


def make_every_event(client, staff_headers, agency_headers, letter, referral) -> list[str]:
    """Drive contacts through every transition that emits an event; return their ids."""
    staff, south = staff_headers(), staff_headers(area="south")
    answered = client.post(
        "/api/v1/contacts",
        json=letter | {"received_at": "2026-11-20T09:00:00Z", "urgency": "urgent"},
        headers=staff,
    ).json["id"]
    client.post(f"/api/v1/contacts/{answered}/assign", json={"assignee": "test.worker"}, headers=staff)
    client.post(
        f"/api/v1/contacts/{answered}/respond",
        json={"method": "letter", "responded_at": "2026-11-21T15:00:00Z"},
        headers=staff,
    )
    client.post(f"/api/v1/contacts/{answered}/close", json={}, headers=staff)
    withdrawn = client.post("/api/v1/contacts", json=letter, headers=staff).json["id"]
    note = {"reason_code": "waiting_on_family", "note": "Test note: Test Parent will ring back"}
    assert client.post(f"/api/v1/contacts/{withdrawn}/pause", json=note, headers=staff).status_code == 200
    assert client.post(f"/api/v1/contacts/{withdrawn}/resume", json={}, headers=staff).status_code == 200
    client.post(
        f"/api/v1/contacts/{withdrawn}/withdraw", json={"reason_code": "no_longer_needed"}, headers=staff
    )
    accepted = client.post("/api/v1/referrals", json=referral, headers=agency_headers).json["id"]
    client.post(f"/api/v1/contacts/{accepted}/referral/accept", headers=south)
    declined = client.post("/api/v1/referrals", json=referral, headers=agency_headers).json["id"]
    client.post(
        f"/api/v1/contacts/{declined}/referral/decline",
        json={"reason_code": "outside_area", "reason": "Test reason for Test Family Carer"},
        headers=south,
    )
    return [answered, withdrawn, accepted, declined]


def consume(event_bus: Bus, topic: str, count: int) -> list[bytes]:
    consumer = event_bus.consumer(f"contacts-test-{uuid.uuid4().hex[:8]}", [topic])
    received: list[bytes] = []
    try:
        wait_for(
            lambda: received.extend(m.value for m in consumer.poll(0.5)) or len(received) >= count,
            60,
            f"{count} events",
        )
    finally:
        consumer.close()
    return received


def check_events(raw: list[bytes], ids: list[str]) -> None:
    decoded = [events.decode(value) for value in raw]
    assert {event.type for event in decoded} == ALL_CONTACT_EVENTS
    assert {event.subject for event in decoded} == set(ids)
    for value in raw:
        text = value.decode()
        for personal in (*PERSONAL_VALUES, "Test reason", "Example Health Visitors"):
            assert personal not in text
    answered = [event for event in decoded if event.subject == ids[0]]
    assert [event.type for event in answered] == [
        "contact.received.v1",
        "contact.assigned.v1",
        "contact.responded.v1",
        "contact.closed.v1",
    ]
    responded = answered[2].data
    assert responded["received_at"].isoformat().startswith("2026-11-20T09:00:00")
    assert responded["responded_at"].isoformat().startswith("2026-11-21T15:00:00")
    assert responded["occurred_at"].isoformat().startswith("2026-11-23T10:00:00")
    assert responded["assignee"] == "test.worker" and responded["area"] == "north"
    assert {event.data["urgency"] for event in answered} == {"urgent"}, (
        "the urgency staff set picks the SLA target"
    )
    pause, resume = (
        next(e for e in decoded if e.type == t) for t in ("contact.paused.v1", "contact.resumed.v1")
    )
    assert pause.data["reason_code"] == resume.data["reason_code"] == "waiting_on_family"
    assert pause.data["paused_at"] == resume.data["paused_at"] == pause.data["occurred_at"]
    declined = next(event for event in decoded if event.type == "referral.declined.v1")
    assert declined.data["reason_code"] == "outside_area" and declined.data["channel"] == "referral"
    assert declined.data["urgency"] == "soon"


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_events_reach_the_embedded_log_without_personal_data(
    client, staff_headers, agency_headers, letter, referral, doc_store, clock, tmp_path, running
):
    event_bus = bus.connect(f"sqlite:///{tmp_path}/bus.db")
    ids = make_every_event(client, staff_headers, agency_headers, letter, referral)

    running(relay_task(doc_store, event_bus, clock, topic="contacts"))

    check_events(consume(event_bus, "contacts", 14), ids)


@pytest.mark.kafka
@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_events_reach_real_kafka_without_personal_data(
    client,
    staff_headers,
    agency_headers,
    letter,
    referral,
    doc_store,
    clock,
    kafka,
    kafka_topic_prefix,
    running,
):
    event_bus = bus.connect(f"kafka://{kafka.bootstrap}")
    topic = f"{kafka_topic_prefix}contacts"
    event_bus.ensure_topics([topic])
    ids = make_every_event(client, staff_headers, agency_headers, letter, referral)

    running(relay_task(doc_store, event_bus, clock, topic=topic))

    raw = consume(event_bus, topic, 14)
    check_events(raw, ids)
    assert len(raw) == 14


def test_retention_erasure_announces_the_erased_contact_by_id_only(
    client, staff_headers, agency_headers, referral, doc_store, clock, settings
):
    """The notifier keeps copies of what it told the referrer (a decline's reason): the
    erasure's event is how it hears to erase them."""
    declined = client.post("/api/v1/referrals", json=referral, headers=agency_headers).json["id"]
    decline = {"reason_code": "outside_area", "reason": "Test reason for Test Family Carer"}
    south = staff_headers(area="south")
    assert (
        client.post(f"/api/v1/contacts/{declined}/referral/decline", json=decline, headers=south).status_code
        == 200
    )
    assert staged_erasures(doc_store, declined) == []
    clock.advance(days=366)

    assert erase(doc_store, clock, settings) == 1

    [erased] = staged_erasures(doc_store, declined)
    assert erased.subject == declined
    assert erased.data == {"contact_id": declined, "erased_at": clock.now(), "parts": ["all"]}
    assert erase(doc_store, clock, settings) == 0
    assert len(staged_erasures(doc_store, declined)) == 1, "erased once, announced once"


def _centre_read_model_follows_the_directory(
    event_bus, topic, doc_store, clock, centres, running, client, letter, staff_headers
):
    centre_id = f"centre-{uuid.uuid4().hex[:6]}"
    publish_centres(
        event_bus,
        topic,
        [
            ("centre.created.v1", centre_id, "central", "open", 1),
            ("centre.updated.v1", centre_id, "south", "open", 2),
        ],
    )
    subscription = replace(CENTRES, topic=topic, group=f"g-{uuid.uuid4().hex[:8]}")
    running(centres_task(doc_store, event_bus, clock, subscription=subscription))
    wait_for(
        lambda: (centre := centres.get(centre_id)) is not None and centre.version == 2,
        60,
        "the centre's second version",
    )

    admin = staff_headers(role="admin", area=None)
    created = client.post("/api/v1/contacts", json=letter | {"centre_id": centre_id}, headers=admin)
    assert created.status_code == 201 and created.json["area"] == "south"

    publish_centres(event_bus, topic, [("centre.closed.v1", centre_id, "south", "closed", 3)])
    wait_for(lambda: centres.get(centre_id).status == "closed", 60, "the centre closed")
    refused = client.post("/api/v1/contacts", json=letter | {"centre_id": centre_id}, headers=admin)
    assert refused.status_code == 422 and "centre_id" in refused.json["error"]["fields"]


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_the_centre_read_model_follows_the_embedded_log(
    doc_store, clock, centres, running, client, letter, staff_headers, tmp_path
):
    event_bus = bus.connect(f"sqlite:///{tmp_path}/bus.db")
    _centre_read_model_follows_the_directory(
        event_bus, "centres", doc_store, clock, centres, running, client, letter, staff_headers
    )


@pytest.mark.kafka
@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_the_centre_read_model_follows_real_kafka(
    doc_store, clock, centres, running, client, letter, staff_headers, kafka, kafka_topic_prefix
):
    event_bus = bus.connect(f"kafka://{kafka.bootstrap}")
    topic = f"{kafka_topic_prefix}centres"
    event_bus.ensure_topics([topic])
    _centre_read_model_follows_the_directory(
        event_bus, topic, doc_store, clock, centres, running, client, letter, staff_headers
    )


def test_old_or_repeated_centre_events_do_not_overwrite_newer_ones(centres):
    read_model = CentreReadModel(centres)
    read_model.apply(centre_event("centre-x", "Test X", "north", "L4 1AA", "open", 3, "centre.updated.v1"))
    read_model.apply(centre_event("centre-x", "Test X", "north", "L4 1AA", "closed", 4, "centre.closed.v1"))

    read_model.apply(
        centre_event("centre-x", "Test X old", "south", "L4 1AA", "open", 2, "centre.updated.v1")
    )
    read_model.apply(
        centre_event("centre-x", "Test X again", "south", "L4 1AA", "open", 4, "centre.verified.v1")
    )

    centre = centres.get("centre-x")
    assert (centre.status, centre.area, centre.version, centre.name) == ("closed", "north", 4, "Test X")
