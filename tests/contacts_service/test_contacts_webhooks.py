"""Signed status webhooks to partner agencies, end to end: contact events in
through the outbox relay and the webhooks consumer, deliveries out to a real
receiver on 127.0.0.1 that verifies every signature. The retry schedule runs on
a fixed clock that the tests move, so 24 hours take no time."""

from __future__ import annotations

import json
import logging
import random
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from ccshared import bus, events
from ccshared import contracts as c
from ccshared.outbox import OUTBOX, PENDING
from ccshared.store import Store
from ccshared.timeutil import FixedClock, SystemClock, from_str
from contacts.agencies import AgencyKeys, CallbackChange
from contacts.config import Settings
from contacts.crypto import PersonalDataCipher
from contacts.repository import AGENCY_PROFILES
from contacts.webhook_delivery import HttpSender, WebhookDelivery
from contacts.webhook_repository import DeliveryRepository, ReceiverRepository
from contacts.webhook_service import WebhookIntake
from contacts.webhooks import (
    CONNECTION_ERROR,
    DELIVERED,
    FAILED,
    RETRYING,
    TIMEOUT,
    Delivery,
    Outcome,
    ReceiverHealth,
)
from contacts.webhooks import Receiver as AgencyReceiver
from contacts.worker import relay_task, tasks, webhooks_task
from contacts_testkit import PERSONAL_VALUES
from flask.testing import FlaskClient
from prometheus_client import REGISTRY
from webhook_receiver import TOKEN, Receiver

from tests.infra.waiting import drain, wait_for

AGENCY = "example-health-visitors"
NOT_IN_ANY_BODY = (*PERSONAL_VALUES, "Test reason", "Example Health Visitors", TOKEN)
# A delivery's document: its fields, and nothing of the aggregate's bookkeeping.
STORED_FIELDS = {
    "_id",
    "agency_id",
    "contact_id",
    "reference",
    "area",
    "type",
    "sequence",
    "body",
    "created_at",
    "status",
    "attempts",
    "next_attempt_at",
    "first_attempt_at",
    "attempt_started_at",
    "last_status_code",
    "last_error",
    "delivered_at",
    "updated_at",
}
DATA_FIELDS = {
    "referral_id",
    "reference",
    "status",
    "decline_reason_code",
    "withdraw_reason_code",
    "centre_id",
    "received_at",
    "occurred_at",
}


@dataclass
class Webhooks:
    """One agency with a callback URL to `receiver`, and the loop that delivers to it."""

    client: FlaskClient
    agency_headers: dict
    south: dict
    receiver: Receiver
    secret: str
    deliveries: DeliveryRepository
    receivers: ReceiverRepository
    loop: WebhookDelivery
    clock: FixedClock
    store: Store
    event_bus: bus.Bus
    referral_body: dict

    def referral(self, *steps: tuple[str, dict | None], centre_id: str = "centre-south") -> str:
        body = self.referral_body | {"centre_id": centre_id}
        made = self.client.post("/api/v1/referrals", json=body, headers=self.agency_headers)
        assert made.status_code == 201, made.json
        for step, body in steps:
            done = self.client.post(
                f"/api/v1/contacts/{made.json['id']}/{step}", json=body, headers=self.south
            )
            assert done.status_code == 200, done.json
        return made.json["id"]

    def recorded(self, count: int) -> list[Delivery]:
        """Wait for the consumer to have recorded `count` deliveries."""
        wait_for(lambda: self.deliveries.collection.count({}) >= count, 30, f"{count} deliveries recorded")
        found = [self.deliveries.get(doc["_id"]) for doc in self.deliveries.collection.find({})]
        assert len(found) == count
        return found  # type: ignore[return-value]

    def settle(self) -> int:
        """Run the delivery loop until a round sends nothing; return the sends tried."""
        total = 0
        for _ in range(50):
            tried = self.loop.run_once()
            if not tried:
                return total
            total += tried
        raise AssertionError("the delivery loop never settled")

    def of(self, contact_id: str) -> list[Delivery]:
        docs = self.deliveries.collection.find({"contact_id": contact_id}, sort=[("sequence", 1)])
        return [self.deliveries.get(doc["_id"]) for doc in docs]  # type: ignore[misc]

    def profile(self) -> dict:
        return self.store.collection(AGENCY_PROFILES).get(AGENCY)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver()
    yield made
    made.stop()


@pytest.fixture
def webhooks(
    client,
    agency_headers,
    staff_headers,
    referral,
    agency_keys: AgencyKeys,
    settings: Settings,
    doc_store,
    clock,
    receiver,
    running,
    tmp_path,
) -> Webhooks:
    secret = agency_keys.update(AGENCY, callback=CallbackChange(receiver.url)).webhook_secret
    assert secret and secret.startswith("whsec_")
    receiver.secret = secret
    event_bus = bus.connect(f"sqlite:///{tmp_path}/bus.db")
    deliveries, receivers = DeliveryRepository(doc_store), ReceiverRepository(doc_store, clock)
    loop = WebhookDelivery(
        deliveries=deliveries,
        receivers=receivers,
        sender=HttpSender(timeout=2.0),
        cipher=PersonalDataCipher(settings.encryption_key),
        clock=clock,
        rng=random.Random(7),
    )
    running(relay_task(doc_store, event_bus, clock), webhooks_task(doc_store, event_bus, clock))
    return Webhooks(
        client,
        agency_headers,
        staff_headers(area="south"),
        receiver,
        secret,
        deliveries,
        receivers,
        loop,
        clock,
        doc_store,
        event_bus,
        referral,
    )


def check_bodies(received: list) -> None:
    for request in received:
        assert request.verified
        for value in NOT_IN_ANY_BODY:
            assert value not in request.body
        payload = request.payload
        assert set(payload) == {"type", "timestamp", "data"}
        assert set(payload["data"]) == DATA_FIELDS


def arrival_order(received: list) -> dict[str, list[str]]:
    """Each referral's webhook types in the order first accepted by the receiver."""
    seen: set[str] = set()
    order: dict[str, list[str]] = {}
    for request in received:
        if request.webhook_id not in seen:
            seen.add(request.webhook_id)
            order.setdefault(request.payload["data"]["referral_id"], []).append(request.payload["type"])
    return order


def test_every_change_reaches_the_receiver_once_signed_in_order_through_an_outage_and_500s(webhooks):
    opened_and_accepted = webhooks.referral(("referral/open", None), ("referral/accept", None))
    declined = webhooks.referral(
        ("referral/decline", {"reason_code": "outside_area", "reason": "Test reason for Test Family Carer"})
    )
    withdrawn = webhooks.referral(("withdraw", {"reason_code": "no_longer_needed"}))
    answered = webhooks.referral(("respond", {"method": "telephone"}))
    recorded = webhooks.recorded(9)
    receiver = webhooks.receiver

    receiver.stop()
    assert webhooks.settle() == 4  # the first of each referral; the rest wait their turn
    firsts = [d for d in map(webhooks.deliveries.get, (d.id for d in recorded)) if d.attempts]
    assert {d.type for d in firsts} == {"referral.received"} and len(firsts) == 4
    assert all(d.status == RETRYING and d.last_error == CONNECTION_ERROR for d in firsts)

    webhooks.clock.advance(seconds=6)
    receiver.status = 500
    receiver.start()
    assert webhooks.settle() == 4
    assert all(webhooks.deliveries.get(d.id).last_status_code == 500 for d in firsts)

    webhooks.clock.advance(seconds=400)
    receiver.status = 204
    webhooks.settle()

    assert all(webhooks.deliveries.get(d.id).status == DELIVERED for d in recorded)
    check_bodies(receiver.received)
    assert {r.webhook_id for r in receiver.accepted()} == {d.id for d in recorded}
    assert len(receiver.accepted()) == 9
    for first in firsts:
        tries = [r for r in receiver.received if r.webhook_id == first.id]
        assert [r.answered for r in tries] == [500, 204] and tries[0].body == tries[1].body
    assert arrival_order(receiver.accepted()) == {
        opened_and_accepted: ["referral.received", "referral.opened", "referral.accepted"],
        declined: ["referral.received", "referral.declined"],
        withdrawn: ["referral.received", "referral.withdrawn"],
        answered: ["referral.received", "referral.responded"],
    }
    outcome = {r.payload["type"]: r.payload["data"] for r in receiver.accepted()}
    assert outcome["referral.declined"]["decline_reason_code"] == "outside_area"
    assert outcome["referral.declined"]["status"] == "declined"
    assert outcome["referral.accepted"]["status"] == "accepted"
    assert outcome["referral.responded"]["status"] == "responded"
    assert outcome["referral.received"]["status"] == "new"
    assert outcome["referral.withdrawn"]["withdraw_reason_code"] == "no_longer_needed"
    assert outcome["referral.declined"]["withdraw_reason_code"] is None


def test_a_referral_paused_waiting_on_the_partner_is_news_to_it_and_waiting_on_the_family_is_not(webhooks):
    """The agency hears it is being waited on (ids and codes only: never the staff's note)."""
    on_partner = webhooks.referral(
        ("pause", {"reason_code": "waiting_on_partner", "note": "Test note naming Test Family Carer"})
    )
    on_family = webhooks.referral(("pause", {"reason_code": "waiting_on_family"}), ("resume", {}))
    webhooks.recorded(3)
    webhooks.settle()

    check_bodies(webhooks.receiver.received)
    assert "Test note" not in "".join(r.body for r in webhooks.receiver.received)
    assert arrival_order(webhooks.receiver.accepted()) == {
        on_partner: ["referral.received", "referral.waiting_on_partner"],
        on_family: ["referral.received"],
    }
    waiting = {r.payload["type"]: r.payload["data"] for r in webhooks.receiver.accepted()}
    assert waiting["referral.waiting_on_partner"]["status"] == "new"


def test_a_redelivered_event_adds_no_second_delivery(webhooks, doc_store, clock):
    webhooks.referral()
    (delivery,) = webhooks.recorded(1)
    intake = WebhookIntake(webhooks.deliveries, webhooks.receivers, clock)
    consumer = webhooks.event_bus.consumer("test-replay", ["contacts"])
    replayed = [events.decode(message.value) for message in drain(consumer, 1, 30)]
    consumer.close()

    for event in replayed * 2:
        intake.record(event)

    assert webhooks.deliveries.collection.count({}) == 1
    assert webhooks.deliveries.get(delivery.id) == delivery


def drive_until_settled(webhooks: Webhooks, delivery_id: str) -> list[datetime]:
    """Step the clock to each retry of the delivery until it settles; its attempts' start times."""
    starts: list[datetime] = []
    for _ in range(30):
        webhooks.settle()
        current = webhooks.deliveries.get(delivery_id)
        if current.attempt_started_at and current.attempt_started_at not in starts:
            starts.append(current.attempt_started_at)
        if current.status != RETRYING:
            return starts
        webhooks.clock.at = current.next_attempt_at
    raise AssertionError("the delivery never settled")


class AgencyEvents:
    """The failing events the relay has published to the contacts topic, each once (by event id)."""

    def __init__(self, event_bus: bus.Bus):
        self.consumer = event_bus.consumer(f"test-agency-{uuid.uuid4().hex[:6]}", ["contacts"])
        self.seen: dict[str, events.Event] = {}

    def _poll(self) -> int:
        for message in self.consumer.poll(0.2):
            event = events.decode(message.value)
            if event.type == c.AGENCY_WEBHOOK_FAILING:
                self.seen[event.id] = event
        return len(self.seen)

    def failing(self, want: int) -> list[events.Event]:
        """Wait for `want` of them, then a while longer for any unexpected one."""
        wait_for(lambda: self._poll() >= want, 30, f"{want} failing event(s) on the bus")
        quiet_until = time.monotonic() + 1.5
        while time.monotonic() < quiet_until:
            self._poll()
        return list(self.seen.values())


def drive_step(webhooks: Webhooks, delivery_id: str) -> None:
    current = webhooks.deliveries.get(delivery_id)
    webhooks.clock.at = max(webhooks.clock.at, current.next_attempt_at)
    webhooks.settle()


def test_retries_back_off_for_24_hours_then_fail_and_a_failing_receiver_is_marked_once(webhooks):
    published = AgencyEvents(webhooks.event_bus)
    referral_id = webhooks.referral(("referral/accept", None))
    webhooks.recorded(2)
    first, second = webhooks.of(referral_id)
    webhooks.receiver.stop()

    starts = drive_until_settled(webhooks, first.id)

    assert webhooks.deliveries.get(first.id).status == FAILED
    assert starts[-1] - starts[0] > timedelta(hours=24) >= starts[-2] - starts[0]
    gaps = [(later - earlier).total_seconds() for earlier, later in zip(starts, starts[1:], strict=False)]
    for gap, planned in zip(gaps, (5, 300, 1800, 7200, 18000, 36000, 36000), strict=False):
        assert planned * 0.9 <= gap <= planned * 1.1
    (event,) = published.failing(1)
    assert event.subject == AGENCY and event.data["agency_id"] == AGENCY
    assert event.data["consecutive_failures"] == 5 and event.data["failing_since"] == starts[0]
    assert event.data["error_kind"] == CONNECTION_ERROR and event.data["last_status_code"] is None
    assert TOKEN not in json.dumps(event.data, default=str)
    assert from_str(webhooks.profile()["webhook_failing_since"]) == starts[0]

    assert webhooks.deliveries.get(second.id).attempts >= 1  # its turn came once the first had failed
    webhooks.receiver.start()
    drive_step(webhooks, second.id)
    assert webhooks.deliveries.get(second.id).status == DELIVERED
    assert [r.webhook_id for r in webhooks.receiver.accepted()] == [second.id]
    assert webhooks.profile()["webhook_failing_since"] is None and webhooks.profile()["webhook_failures"] == 0

    webhooks.receiver.status = 500
    another = webhooks.referral()
    (third,) = [d for d in webhooks.recorded(3) if d.contact_id == another]
    for _ in range(5):
        drive_step(webhooks, third.id)
    spells = sorted(published.failing(2), key=lambda e: e.data["failing_since"])
    assert len(spells) == 2 and spells[1].data["last_status_code"] == 500


def test_the_mark_and_its_event_are_one_write_once_per_failing_spell(agency_keys, doc_store, clock):
    agency_keys.create("Example Health Visitors", callback_url="https://hooks.example.org/in")
    receivers = ReceiverRepository(doc_store, clock)
    profiles = doc_store.collection(AGENCY_PROFILES)

    def fail(times: int, every: timedelta, outcome: Outcome = Outcome(error=CONNECTION_ERROR)) -> None:
        for _ in range(times):
            receivers.record(AGENCY, outcome, clock.now())
            clock.advance(seconds=every.total_seconds())

    def staged() -> list[dict]:
        return [e for e in profiles.get(AGENCY).get(OUTBOX) or [] if e["type"] == c.AGENCY_WEBHOOK_FAILING]

    started = clock.now()
    fail(8, timedelta(seconds=5))
    assert profiles.get(AGENCY)["webhook_failures"] == 8 and staged() == []  # many, but within a minute
    clock.at = started + timedelta(hours=1)
    fail(1, timedelta(0))
    assert from_str(profiles.get(AGENCY)["webhook_failing_since"]) == started
    assert len(staged()) == 1 and profiles.get(AGENCY)[PENDING] is True
    fail(10, timedelta(hours=1))
    assert len(staged()) == 1

    receivers.record(AGENCY, Outcome(status_code=200), clock.now())
    assert profiles.get(AGENCY)["webhook_failing_since"] is None
    fail(4, timedelta(minutes=30), Outcome(status_code=503))
    assert len(staged()) == 1
    fail(1, timedelta(0), Outcome(status_code=503))
    assert len(staged()) == 2 and staged()[1]["data"]["last_status_code"] == 503


def test_a_receiver_records_its_failing_event_when_marked_and_not_again_that_spell():
    receiver = AgencyReceiver(AGENCY, "https://hooks.example.org/in", "sealed", ReceiverHealth())
    started = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
    for minutes in (0, 15, 30, 45, 60, 75):
        receiver.count(Outcome(status_code=503), started + timedelta(minutes=minutes))

    (event,) = receiver.collect_events()
    assert event.type == c.AGENCY_WEBHOOK_FAILING
    assert event.data == {
        "agency_id": AGENCY,
        "failing_since": started,
        "consecutive_failures": 5,
        "last_status_code": 503,
        "error_kind": None,
    }
    assert receiver.health.failures == 6 and receiver.events == []


def test_a_delivery_left_sending_by_a_dead_worker_is_sent_again_with_the_same_id(webhooks):
    webhooks.referral()
    (delivery,) = webhooks.recorded(1)
    now = webhooks.clock.now()
    assert webhooks.deliveries.transition(delivery, lambda due: due.claim(now))

    assert webhooks.settle() == 0
    webhooks.clock.advance(minutes=3)
    webhooks.loop.recover_interrupted()
    recovered = webhooks.deliveries.get(delivery.id)
    assert recovered.status == RETRYING and recovered.last_error == "interrupted"
    webhooks.clock.advance(seconds=10)
    webhooks.settle()

    assert webhooks.deliveries.get(delivery.id).status == DELIVERED
    assert [r.webhook_id for r in webhooks.receiver.received] == [delivery.id]
    assert set(webhooks.deliveries.collection.get(delivery.id)) == STORED_FIELDS  # never `events`


def test_two_workers_never_send_the_same_delivery(webhooks):
    webhooks.referral()
    (delivery,) = webhooks.recorded(1)
    stale = webhooks.deliveries.get(delivery.id)  # the other worker read it too, before the first sent it
    other = WebhookDelivery(
        deliveries=webhooks.deliveries,
        receivers=webhooks.receivers,
        sender=webhooks.loop.sender,
        cipher=webhooks.loop.cipher,
        clock=webhooks.clock,
    )

    assert webhooks.loop.send(delivery) is not None
    assert other.send(stale) is None  # its copy is stale: the claim does not match

    assert len(webhooks.receiver.received) == 1
    assert webhooks.deliveries.get(delivery.id).status == DELIVERED


def test_a_receiver_that_times_out_is_retried(webhooks):
    webhooks.referral()
    (delivery,) = webhooks.recorded(1)
    webhooks.loop.sender = HttpSender(timeout=0.3)
    webhooks.receiver.delay_seconds = 1.0

    webhooks.settle()

    assert webhooks.deliveries.get(delivery.id).last_error == TIMEOUT
    webhooks.receiver.delay_seconds = 0.0
    drive_step(webhooks, delivery.id)
    assert webhooks.deliveries.get(delivery.id).status == DELIVERED


def test_removing_the_callback_url_cancels_what_is_still_due(webhooks, agency_keys):
    webhooks.referral()
    (delivery,) = webhooks.recorded(1)

    agency_keys.update(AGENCY, callback=CallbackChange(remove=True))
    webhooks.settle()

    assert webhooks.deliveries.get(delivery.id).status == "cancelled"
    assert webhooks.receiver.received == []
    webhooks.referral()
    wait_for(lambda: webhooks.store.collection("processed_events").count({}) >= 2, 30, "events consumed")
    assert webhooks.deliveries.collection.count({}) == 1


def test_logs_carry_neither_url_nor_secret(webhooks, caplog):
    """Ours and the HTTP client's, even at DEBUG. (pymongo's DEBUG command log echoes
    whole stored documents, the URL among them, so production does not run at DEBUG.)"""
    webhooks.referral(("referral/accept", None))
    webhooks.recorded(2)
    webhooks.receiver.status = 500
    with caplog.at_level(logging.DEBUG):
        webhooks.settle()
        webhooks.clock.advance(minutes=10)
        webhooks.receiver.status = 200
        webhooks.settle()

    records = [r for r in caplog.records if not r.name.startswith("pymongo")]
    assert any("webhook delivery attempt" in r.getMessage() for r in records)
    text = json.dumps([r.__dict__ for r in records], default=str)
    assert TOKEN not in text and webhooks.secret not in text


def sample(outcome: str) -> float:
    return REGISTRY.get_sample_value("cc_webhook_deliveries_total", {"outcome": outcome}) or 0.0


def test_outcomes_are_counted(webhooks):
    before = sample(DELIVERED), sample(RETRYING)
    webhooks.referral()
    webhooks.recorded(1)
    webhooks.receiver.status = 503
    webhooks.settle()
    webhooks.receiver.status = 200
    webhooks.clock.advance(seconds=10)
    webhooks.settle()

    assert (sample(DELIVERED), sample(RETRYING)) == (before[0] + 1, before[1] + 1)


# The staff delivery log ---------------------------------------------------------


def test_staff_read_the_delivery_log_of_their_own_area_newest_first(webhooks, client, staff_headers):
    south = webhooks.referral(("referral/accept", None))
    north = webhooks.referral(centre_id="centre-north")
    webhooks.recorded(3)
    webhooks.settle()

    def listed(headers: dict, query: str = "") -> list[dict]:
        answer = client.get(f"/api/v1/webhook-deliveries{query}", headers=headers)
        assert answer.status_code == 200, answer.json
        return answer.json["items"]

    everything = listed(staff_headers(role="principal_officer", area=None))
    assert len(everything) == 3 == len(listed(staff_headers(role="admin", area=None)))
    assert [item["referral_id"] for item in listed(staff_headers(area="north"))] == [north]
    assert [item["type"] for item in listed(staff_headers(role="coordinator", area="south"))] == [
        "referral.accepted",
        "referral.received",
    ]
    assert {item["referral_id"] for item in listed(staff_headers(area="south"))} == {south}
    assert listed(staff_headers(area="central")) == []
    item = everything[0]
    assert set(item) == {
        "id",
        "agency_id",
        "referral_id",
        "reference",
        "type",
        "status",
        "attempts",
        "last_status_code",
        "last_error",
        "created_at",
        "next_attempt_at",
        "delivered_at",
    }
    assert item["status"] == DELIVERED and item["attempts"] == 1 and item["last_status_code"] == 204
    body = json.dumps(everything)
    assert TOKEN not in body and "whsec_" not in body and "127.0.0.1" not in body

    po = staff_headers(role="principal_officer", area=None)
    assert len(listed(po, f"?agency_id={AGENCY}&status=delivered&per_page=2")) == 2
    assert listed(po, "?agency_id=someone-else") == []
    assert listed(po, "?status=failed") == []
    page = client.get("/api/v1/webhook-deliveries?per_page=2&page=2", headers=po).json
    assert page["total"] == 3 and len(page["items"]) == 1


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("?status=lost", "status"),
        ("?agency_id=Not%20An%20Id", "agency_id"),
        ("?per_page=0", "per_page"),
    ],
)
def test_a_bad_log_query_is_refused_naming_the_field(client, staff_headers, query, field):
    answer = client.get(f"/api/v1/webhook-deliveries{query}", headers=staff_headers())
    assert answer.status_code == 422
    assert field in json.dumps(answer.json["error"])


def test_the_delivery_log_is_for_staff_only(client, agency_headers):
    assert client.get("/api/v1/webhook-deliveries").status_code == 401
    assert client.get("/api/v1/webhook-deliveries", headers=agency_headers).status_code == 401


# The worker as it runs --------------------------------------------------------


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_the_worker_delivers_webhooks_as_it_runs(
    settings,
    doc_store,
    client,
    agency_headers,
    agency_keys,
    staff_headers,
    referral,
    receiver,
    running,
    tmp_path,
):
    receiver.secret = agency_keys.update(AGENCY, callback=CallbackChange(receiver.url)).webhook_secret
    event_bus = bus.connect(f"sqlite:///{tmp_path}/worker-bus.db")
    made = client.post("/api/v1/referrals", json=referral, headers=agency_headers).json["id"]
    assert (
        client.post(
            f"/api/v1/contacts/{made}/referral/accept", headers=staff_headers(area="south")
        ).status_code
        == 200
    )

    running(*tasks(settings, store=doc_store, bus=event_bus, clock=SystemClock()))

    wait_for(lambda: len(receiver.accepted()) >= 2, 30, "both webhooks at the receiver")
    assert [r.payload["type"] for r in receiver.accepted()] == ["referral.received", "referral.accepted"]
    check_bodies(receiver.received)


def test_letters_and_agencies_without_a_callback_make_no_deliveries(
    client, staff_headers, letter, referral, agency_headers, doc_store, clock, running, tmp_path
):
    event_bus = bus.connect(f"sqlite:///{tmp_path}/bus.db")
    client.post("/api/v1/contacts", json=letter, headers=staff_headers())
    client.post("/api/v1/referrals", json=referral, headers=agency_headers)
    running(relay_task(doc_store, event_bus, clock), webhooks_task(doc_store, event_bus, clock))

    wait_for(lambda: doc_store.collection("processed_events").count({}) >= 2, 30, "both events consumed")
    assert DeliveryRepository(doc_store).collection.count({}) == 0
