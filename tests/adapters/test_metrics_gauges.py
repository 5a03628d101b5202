"""The shared gauges: a consumer's lag, oldest unhandled event and last poll, a relay's backlog,
dead letters.

Each runs on both bus adapters (SQLite log, real Kafka) and both stores; the figures are read
from the process's Prometheus registry, as /metrics serves them.
"""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

from ccshared import contracts as c
from ccshared import events
from ccshared.consumer import ConsumerLoop, Handler
from ccshared.outbox import AggregateStore, Relay
from ccshared.store import StoreUnavailable
from ccshared.timeutil import Clock, FixedClock
from prometheus_client import REGISTRY

from tests.infra.waiting import wait_for

DEADLINE = 60.0


def total(metric: str, **labels: str) -> float:
    """The sum of the metric's samples that carry these labels."""
    return sum(
        sample.value
        for family in REGISTRY.collect()
        for sample in family.samples
        if sample.name == metric and labels.items() <= sample.labels.items()
    )


def largest(metric: str, **labels: str) -> float:
    values = [
        sample.value
        for family in REGISTRY.collect()
        for sample in family.samples
        if sample.name == metric and labels.items() <= sample.labels.items()
    ]
    return max(values, default=0.0)


def consumer_loop(
    event_bus, doc_store, topic: str, group: str, handler: Handler | None = None, clock: Clock | None = None
) -> ConsumerLoop:
    """A loop of a group of its own (`group` and a random suffix) on `topic`; `handler` takes
    centre.created events (none: every event is ignored)."""
    name = f"{group}-{uuid.uuid4().hex[:6]}"
    return ConsumerLoop(
        name=name,
        consumer=event_bus.consumer(name, [topic]),
        handlers={c.CENTRE_CREATED: handler} if handler else {},
        dead_letters=event_bus.producer(),
        processed=doc_store.collection("processed_events"),
        clock=clock,
    )


def centre_event(centre_id: str, at: datetime) -> dict:
    data = {
        "centre_id": centre_id,
        "name": "Test Centre",
        "area": "south",
        "ward": "Speke",
        "postcode": "L24 0AA",
        "status": "open",
        "version": 1,
    }
    return events.make(c.CENTRE_CREATED, centre_id, data, source="test", time=at)


def test_a_consumer_reports_its_lag_and_the_age_of_what_waits_until_it_catches_up(
    event_bus, doc_store, topic
):
    event_bus.ensure_topics([topic, c.DEAD_LETTER_TOPIC])
    now = datetime.now(UTC)
    event_bus.producer().publish_all(
        [(topic, f"c{i}", events.encode(centre_event(f"c{i}", now))) for i in range(3)]
    )
    store_down = True

    def handler(event: events.Event) -> None:
        if store_down:
            raise StoreUnavailable("the store is down for this test")

    an_hour_later = FixedClock(now + timedelta(hours=1))  # an hour after the events were logged
    loop = consumer_loop(event_bus, doc_store, topic, "lag", handler, an_hour_later)
    name = loop.name

    def reported(want_lag: float, want_age: bool):
        def check() -> bool:
            loop.run_once(0.2)
            loop.report_metrics()
            lag = total("cc_consumer_lag_messages", consumer=name, topic=topic)
            age = largest("cc_consumer_oldest_unprocessed_age_seconds", consumer=name, topic=topic)
            return lag == want_lag and (age > 3500 if want_age else age == 0)

        return check

    wait_for(reported(3, want_age=True), DEADLINE, "lag 3 and an hour-old event waiting")
    store_down = False
    wait_for(reported(0, want_age=False), DEADLINE, "lag 0 and nothing waiting")
    loop.consumer.close()


def test_a_consumer_stamps_each_poll_so_one_stuck_on_an_event_shows_for_how_long(event_bus, doc_store, topic):
    """Its lag gauges come from its own thread and stand still when it hangs (a frozen worker
    read lag 0 and looked healthy); the time of its last poll is what ConsumerStalled reads."""
    event_bus.ensure_topics([topic, c.DEAD_LETTER_TOPIC])
    started = datetime.now(UTC)
    clock = FixedClock(started)
    taken, release = threading.Event(), threading.Event()

    def hang(event: events.Event) -> None:
        taken.set()
        release.wait(DEADLINE)

    loop = consumer_loop(event_bus, doc_store, topic, "beat", hang, clock)

    def last_poll() -> float:
        return total("cc_consumer_last_poll_timestamp_seconds", consumer=loop.name)

    assert last_poll() == started.timestamp()
    event_bus.producer().publish(topic, "c1", events.encode(centre_event("c1", started)))
    stop = threading.Event()
    running = threading.Thread(target=loop.run, args=(stop, 0.2))
    running.start()
    try:
        wait_for(taken.is_set, DEADLINE, "the handler to take the event")
        clock.advance(minutes=10)
        assert last_poll() == started.timestamp()  # stuck in the handler: no poll since it took the event

        release.set()
        later = clock.now().timestamp()
        wait_for(lambda: last_poll() == later, DEADLINE, lambda: f"a poll stamped {later}, not {last_poll()}")
    finally:
        release.set()
        stop.set()
        running.join(DEADLINE)


def test_a_dead_letter_counts_once_per_message(event_bus, doc_store, topic):
    event_bus.ensure_topics([topic, c.DEAD_LETTER_TOPIC])
    loop = consumer_loop(event_bus, doc_store, topic, "dlq")
    name = loop.name
    assert total("cc_dead_letters_total", consumer=name) == 0
    event_bus.producer().publish_all([(topic, "k", b"{not json"), (topic, "k", b"[]")])

    def counted() -> bool:
        loop.run_once(0.2)
        return total("cc_dead_letters_total", consumer=name) == 2

    wait_for(counted, DEADLINE, "two dead letters counted")
    loop.consumer.close()


def test_a_relay_reports_its_backlog_and_its_oldest_event_until_published(event_bus, doc_store, topic):
    event_bus.ensure_topics([topic])
    collection = doc_store.collection(f"centres_{uuid.uuid4().hex[:6]}")
    staged_at = datetime.now(UTC) - timedelta(minutes=10)
    aggregates = AggregateStore(collection, "test", FixedClock(staged_at))
    for centre_id in ("c1", "c2"):
        aggregates.add(
            {"_id": centre_id}, [aggregates.event(c.CENTRE_CREATED, centre_id, centre_data(centre_id))]
        )
    aggregates.add(
        {"_id": "c3"},
        [
            aggregates.event(c.CENTRE_CREATED, "c3", centre_data("c3")),
            aggregates.event(c.CENTRE_UPDATED, "c3", centre_data("c3", 2)),
        ],
    )
    relay = Relay([(collection, topic)], event_bus.producer())
    published_before = total("cc_events_published_total", topic=topic)

    relay.report_metrics()
    assert total("cc_outbox_pending_events", collection=collection.name) == 4
    assert 590 < total("cc_outbox_oldest_pending_age_seconds", collection=collection.name) < 3600

    relay.run_once()
    relay.report_metrics()
    assert total("cc_outbox_pending_events", collection=collection.name) == 0
    assert total("cc_outbox_oldest_pending_age_seconds", collection=collection.name) == 0
    assert total("cc_events_published_total", topic=topic) - published_before == 4


def centre_data(centre_id: str, version: int = 1) -> dict:
    return {
        "centre_id": centre_id,
        "name": f"Centre {centre_id}",
        "area": "north",
        "ward": "Anfield",
        "postcode": "L4 0AA",
        "status": "open",
        "version": version,
    }
