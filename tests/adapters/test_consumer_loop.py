"""The consumer loop: dead letters, dedupe by event id, and no loss through outages."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from itertools import chain, repeat

import pytest
from ccshared import bus, events, store
from ccshared import contracts as c
from ccshared.consumer import ConsumerLoop, Rejected
from ccshared.store import StoreUnavailable

from tests.infra.waiting import drain

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def centre_event(centre_id: str) -> dict:
    data = {
        "centre_id": centre_id,
        "name": "Test Centre",
        "area": "south",
        "ward": "Speke",
        "postcode": "L24 0AA",
        "status": "open",
        "version": 1,
    }
    return events.make(c.CENTRE_CREATED, centre_id, data, source="test", time=NOW)


@pytest.fixture
def setup(tmp_path):
    event_bus = bus.connect(f"sqlite:///{tmp_path}/events.db")
    doc_store = store.connect(f"sqlite:///{tmp_path}/store.db")
    return event_bus, doc_store


def make_loop(event_bus, doc_store, handler, **kwargs) -> ConsumerLoop:
    return ConsumerLoop(
        name="test",
        consumer=event_bus.consumer("test", [c.CENTRES_TOPIC]),
        handlers={c.CENTRE_CREATED: handler},
        dead_letters=event_bus.producer(),
        processed=doc_store.collection("processed_events"),
        **kwargs,
    )


def publish(event_bus, *values: bytes) -> None:
    event_bus.producer().publish_all([(c.CENTRES_TOPIC, "k", value) for value in values])


def dead_letters(event_bus) -> list[dict]:
    reader = event_bus.consumer("dlq-reader", [c.DEAD_LETTER_TOPIC])
    try:
        return [json.loads(m.value) for m in reader.poll(0.2)]
    finally:
        reader.close()


def run_until_idle(loop: ConsumerLoop, rounds: int = 20) -> None:
    for _ in range(rounds):
        loop.run_once(0.05)


@pytest.mark.parametrize(
    ("poison", "reason"),
    [
        (b"{not json", "not JSON"),
        (json.dumps({**centre_event("x"), "type": "centre.created.v9"}).encode(), "unknown event type"),
        (json.dumps({**centre_event("x"), "data": {"centre_id": "x"}}).encode(), "bad data"),
        (json.dumps({**centre_event("x"), "specversion": "0.3"}).encode(), "bad envelope"),
    ],
)
def test_a_poison_message_goes_to_dead_letters_and_the_loop_goes_on(setup, poison, reason):
    event_bus, doc_store = setup
    handled = []
    publish(event_bus, poison, events.encode(centre_event("good")))

    run_until_idle(make_loop(event_bus, doc_store, handled.append))

    assert [e.subject for e in handled] == ["good"]
    [letter] = dead_letters(event_bus)
    assert reason in letter["reason"]
    assert letter["topic"] == c.CENTRES_TOPIC


def test_an_event_delivered_twice_is_handled_once(setup):
    event_bus, doc_store = setup
    handled = []
    same = events.encode(centre_event("c1"))
    publish(event_bus, same, same)

    run_until_idle(make_loop(event_bus, doc_store, handled.append))

    assert len(handled) == 1


def test_a_database_outage_delays_the_event_and_loses_nothing(setup):
    event_bus, doc_store = setup
    outcomes = chain([StoreUnavailable("down"), StoreUnavailable("still down")], repeat(None))
    handled = []

    def handler(event):
        failure = next(outcomes)
        if failure:
            raise failure
        handled.append(event.subject)

    publish(event_bus, events.encode(centre_event("c1")), events.encode(centre_event("c2")))
    loop = make_loop(event_bus, doc_store, handler)
    for _ in range(40):
        loop.run_once(0.05)
        if len(handled) == 2:
            break

    assert handled == ["c1", "c2"]
    assert dead_letters(event_bus) == []
    assert drain(event_bus.consumer("test", [c.CENTRES_TOPIC]), 1, deadline_s=0.5) == []


def test_a_handler_that_keeps_failing_ends_in_dead_letters(setup):
    event_bus, doc_store = setup
    calls = []

    def handler(event):
        calls.append(event.subject)
        raise ValueError("cannot handle")

    publish(event_bus, events.encode(centre_event("c1")))
    loop = make_loop(event_bus, doc_store, handler, max_attempts=3)
    for _ in range(40):
        loop.run_once(0.05)
        if dead_letters(event_bus):
            break

    assert calls == ["c1", "c1", "c1"]
    [letter] = dead_letters(event_bus)
    assert "failed 3 times" in letter["reason"]


def test_a_rejected_event_goes_to_dead_letters_at_once(setup):
    event_bus, doc_store = setup

    def handler(event):
        raise Rejected("centre id unknown")

    publish(event_bus, events.encode(centre_event("c1")))
    run_until_idle(make_loop(event_bus, doc_store, handler))

    [letter] = dead_letters(event_bus)
    assert "centre id unknown" in letter["reason"]
