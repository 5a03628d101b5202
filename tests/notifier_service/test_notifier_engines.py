"""On the real engines: a breach event through Apache Kafka, and the delivery log on MongoDB wire."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest
from ccshared import bus as buses
from ccshared import contracts as c
from ccshared import events
from ccshared import store as stores
from ccshared.runner import run_tasks
from ccshared.timeutil import FixedClock
from notifier import domain
from notifier.config import Settings
from notifier.repository import AreaMoveLog, NotificationRepository
from notifier.worker import tasks
from notifier_testkit import MONDAY_MORNING, SmtpServer, centre_event, environment, sla_event

from tests.infra.waiting import wait_for


@pytest.mark.kafka
def test_a_breach_event_on_kafka_becomes_one_email_to_each_recipient(
    tmp_path, kafka, kafka_topic_prefix, smtp_server: SmtpServer
):
    settings = Settings.from_env(
        environment(
            tmp_path,
            EVENT_BUS_URL=f"kafka://{kafka.bootstrap}?topic_prefix={kafka_topic_prefix}",
            NOTIFIER_CONSUMER_GROUP=f"notifier-test-{uuid.uuid4().hex[:8]}",
            NOTIFIER_TRANSPORT="smtp",
            NOTIFIER_SMTP_HOST="127.0.0.1",
            NOTIFIER_SMTP_PORT=str(smtp_server.port),
        )
    )
    contact_id = f"contact-{uuid.uuid4().hex[:8]}"
    centre_id = f"centre-{uuid.uuid4().hex[:8]}"
    breach = sla_event(contact_id=contact_id, centre_id=centre_id)
    producer = buses.connect(settings.bus_url).producer()
    stop = threading.Event()
    runner = threading.Thread(target=run_tasks, args=(tasks(settings), stop))
    runner.start()
    try:
        producer.publish(c.CENTRES_TOPIC, centre_id, events.encode(centre_event(centre_id)))
        producer.publish(c.SLA_TOPIC, contact_id, events.encode(breach))
        producer.publish(c.SLA_TOPIC, contact_id, events.encode(breach))  # redelivered
        sentinel = sla_event(c.SLA_AT_RISK, contact_id=contact_id, centre_id=centre_id)
        producer.publish(c.SLA_TOPIC, contact_id, events.encode(sentinel))  # same key: after both

        def mine() -> list:
            return [
                r for r in smtp_server.received if contact_id in r.message.get_body(("plain",)).get_content()
            ]

        wait_for(
            lambda: any(r.message["X-CC-Event-Id"] == sentinel["id"] for r in mine()), 90, "the sentinel mail"
        )
    finally:
        stop.set()
        runner.join(timeout=30)
        producer.close()

    breach_mail = [r for r in mine() if r.message["X-CC-Event-Id"] == breach["id"]]
    assert sorted(r.rcpt_tos[0] for r in breach_mail) == [
        "coordinator.north@example.org",
        "principal.officer@example.org",
    ]
    assert {r.message["Subject"] for r in breach_mail} == {
        "Overdue: letter LCC-TEST-0001 at Test Park Children's Centre"
    }


@pytest.mark.mongo
def test_claims_on_mongodb_let_exactly_one_worker_send_each_notification(mongo, fresh_mongo_db):
    repository = NotificationRepository(
        stores.connect(mongo.store_url(fresh_mongo_db)).collection("notifications")
    )
    clock = FixedClock(MONDAY_MORNING)
    n = domain.new_notifications(
        kind=domain.EVENT,
        event_id="event-1",
        event_type=c.SLA_BREACHED,
        addressing=domain.Addressing(to=("a@example.org",), cc=("b@example.org",)),
        area=c.NORTH,
        data={"contact_id": "contact-1"},
        envelope=None,
        digest_recipients=frozenset(),
        now=clock.now(),
    )
    assert [repository.add(x) for x in n] == [True, True]
    assert repository.add(n[0]) is False

    [first, second] = repository.due(clock.now())
    rival = repository.get(first.id)  # another worker's read of the same record
    assert repository.transition(first, lambda n: n.claim(clock.now()))
    assert first.status == domain.SENDING
    assert not repository.transition(rival, lambda n: n.claim(clock.now()))  # a rival's claim loses
    assert repository.get(first.id).attempts == 1
    assert "events" not in repository.collection.get(first.id)  # the aggregate's list is not state
    assert [x.id for x in repository.due(clock.now())] == [second.id]

    clock.advance(minutes=10)
    assert [x.id for x in repository.sending_since(clock.now() - timedelta(minutes=5))] == [first.id]
    assert repository.transition(first, lambda n: n.delivered(clock.now(), "250 ok"))
    assert repository.get(first.id).status == domain.SENT
    assert [x.id for x in repository.search(status=domain.SENT, event_type=c.SLA_BREACHED)] == [first.id]


@pytest.mark.mongo
def test_area_moves_on_mongodb_are_kept_once_followed_in_order_and_forgotten(mongo, fresh_mongo_db):
    moves = AreaMoveLog(stores.connect(f"{mongo.url}{fresh_mongo_db}").collection("area_moves"))
    there, back = MONDAY_MORNING, MONDAY_MORNING + timedelta(hours=1)
    moves.record("event-2", "contact-1", c.SOUTH, c.NORTH, back)
    moves.record("event-1", "contact-1", c.NORTH, c.SOUTH, there)
    moves.record("event-1", "contact-1", c.NORTH, c.SOUTH, there)  # redelivered
    moves.record("event-3", "contact-2", c.NORTH, c.CENTRAL, there)
    moves.record("event-5", "contact-3", c.SOUTH, c.CENTRAL, there, 2)  # a replica's clock behind
    moves.record("event-4", "contact-3", c.NORTH, c.SOUTH, back, 1)
    moves.record("event-4", "contact-3", c.NORTH, c.SOUTH, back, 1)  # redelivered

    assert len(moves.collection.get("contact-1")["moves"]) == 2
    assert moves.current_area("contact-1", c.NORTH) == c.NORTH  # there and back, in order
    assert moves.current_area("contact-1", c.CENTRAL) == c.CENTRAL
    assert moves.current_area("contact-3", c.NORTH) == c.CENTRAL  # in the order they happened
    assert (moves.forget("contact-1"), moves.forget("contact-1")) == (1, 0)
    assert moves.current_area("contact-1", c.NORTH) == c.NORTH
    assert moves.collection.get("contact-1") is None
    assert moves.current_area("contact-2", c.NORTH) == c.CENTRAL
