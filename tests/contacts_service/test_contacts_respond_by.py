"""A referral's respond-by date for its agency: the SLA monitor's due date, kept from its
sla.started and sla.due_moved events in a read model of contacts' own (the rule stays there)."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import permutations

import pytest
from ccshared import bus, events
from ccshared import contracts as c
from ccshared.bus import Bus
from contacts.read_model import DueDateReadModel
from contacts.repository import DueDateRepository
from contacts.worker import due_dates_task
from contacts_testkit import NOW

from tests.infra.waiting import wait_for

REFERRALS = "/api/v1/referrals"
DUE = datetime.fromisoformat("2026-11-30T23:59:59+00:00")
MOVED = datetime.fromisoformat("2026-12-03T23:59:59+00:00")
LATER = datetime.fromisoformat("2026-12-07T23:59:59+00:00")


def sla_event(type_: str, contact_id: str, due_at: datetime, at: datetime, **extra: object) -> dict:
    """An SLA monitor's event about a referral, as it stages it (started, or its due date moved)."""
    data = {
        "contact_id": contact_id,
        "reference": f"REF-{contact_id}",
        "channel": c.REFERRAL,
        "centre_id": "centre-south-1",
        "area": c.SOUTH,
        "due_at": due_at,
        **extra,
    }
    if type_ == c.SLA_STARTED:
        data |= {"received_at": NOW, "target_working_days": 5, "urgency": c.ROUTINE}
    return events.make(type_, contact_id, data, source="sla-monitor", time=at)


def started(contact_id: str, due_at: datetime = DUE, at: datetime = NOW) -> dict:
    return sla_event(c.SLA_STARTED, contact_id, due_at, at)


def moved(contact_id: str, due_at: datetime, at: datetime, move: int = 1) -> dict:
    return sla_event(c.SLA_DUE_MOVED, contact_id, due_at, at, move=move)


def apply(read_model: DueDateReadModel, envelope: dict) -> None:
    event = events.decode(events.encode(envelope))
    read_model.handlers()[event.type](event)


def due_of(doc_store, contact_id: str) -> datetime | None:
    return DueDateRepository(doc_store).of([contact_id]).get(contact_id)


@pytest.mark.parametrize("order", list(permutations(range(3))), ids=str)
def test_the_newest_due_date_is_kept_whatever_order_the_events_arrive_in(doc_store, order):
    read_model = DueDateReadModel(DueDateRepository(doc_store))
    sent = [
        started("k1"),
        moved("k1", MOVED, NOW + timedelta(days=2), move=1),
        moved("k1", LATER, NOW + timedelta(days=4), move=2),
    ]
    for index in order:
        apply(read_model, sent[index])
    apply(read_model, sent[1])  # a redelivery of an older one

    assert due_of(doc_store, "k1") == LATER


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_the_clocks_own_order_wins_over_the_events_times(doc_store):
    """Two SLA monitor replicas' clocks differ: a later move stamped earlier than the move before
    it, or than the start, is still the newer date."""
    read_model = DueDateReadModel(DueDateRepository(doc_store))
    apply(read_model, moved("k1", LATER, NOW - timedelta(seconds=2), move=2))
    apply(read_model, moved("k1", MOVED, NOW, move=1))
    apply(read_model, started("k1", DUE, NOW + timedelta(seconds=1)))

    assert due_of(doc_store, "k1") == LATER


def publish(event_bus: Bus, *envelopes: dict) -> None:
    producer = event_bus.producer()
    for envelope in envelopes:
        producer.publish(c.SLA_TOPIC, envelope["subject"], events.encode(envelope))


def respond_by(client, agency_headers, contact_id: str) -> tuple[str | None, str | None]:
    """What the agency reads as the respond-by date: in its list, and in the single read."""
    listed = client.get(REFERRALS, headers=agency_headers).json["items"]
    single = client.get(f"{REFERRALS}/{contact_id}", headers=agency_headers).json
    return next(item["respond_by"] for item in listed if item["id"] == contact_id), single["respond_by"]


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_the_agency_reads_the_sla_monitors_due_date_as_respond_by_and_its_moves(
    client, agency_headers, referral, doc_store, clock, tmp_path, running
):
    made = client.post(REFERRALS, json=referral, headers=agency_headers).json
    assert made["respond_by"] is None, "not heard from the SLA monitor yet"
    assert respond_by(client, agency_headers, made["id"]) == (None, None)
    event_bus = bus.connect(f"sqlite:///{tmp_path}/bus.db")
    running(due_dates_task(doc_store, event_bus, clock))

    first = started(made["id"])
    publish(event_bus, first)
    wait_for(lambda: due_of(doc_store, made["id"]) == DUE, 60, "the started due date")
    assert respond_by(client, agency_headers, made["id"]) == (first["data"]["due_at"],) * 2

    publish(event_bus, moved(made["id"], MOVED, NOW + timedelta(days=2)), first, started("sentinel"))
    wait_for(lambda: due_of(doc_store, "sentinel") is not None, 60, "the events after the move")
    moved_to = datetime.fromisoformat(respond_by(client, agency_headers, made["id"])[1])
    assert moved_to == MOVED, "the start redelivered after the move changes nothing"
    assert (
        respond_by(client, agency_headers, made["id"])[0] == respond_by(client, agency_headers, made["id"])[1]
    )
