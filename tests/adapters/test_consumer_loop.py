"""The consumer loop: dead letters, dedupe by event id, and no loss through outages."""

from __future__ import annotations

import json
import logging
import threading
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from itertools import chain, repeat
from types import SimpleNamespace

import pytest
from ccshared import bus, consumer, events, store
from ccshared import contracts as c
from ccshared.consumer import PRUNE_EVERY_SECONDS, ConsumerLoop, Rejected
from ccshared.store import StoreUnavailable
from ccshared.timeutil import FixedClock, to_str

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


# Pruning of processed-event markers. `doc_store` (tests/adapters/conftest.py) runs each
# test on both store adapters; the bus is the embedded one, as it is not under test.

KEEP = timedelta(days=30)


def pruning_loop(tmp_path, doc_store, clock, handler=None, name="centres.v1") -> ConsumerLoop:
    event_bus = bus.connect(f"sqlite:///{tmp_path}/events.db")
    return ConsumerLoop(
        name=name,
        consumer=event_bus.consumer(name, [c.CENTRES_TOPIC]),
        handlers={c.CENTRE_CREATED: handler or (lambda event: None)},
        dead_letters=event_bus.producer(),
        processed=doc_store.collection("processed_events"),
        clock=clock,
        keep_processed=KEEP,
    )


def marker(marker_id: str, at: datetime) -> dict:
    return {"_id": marker_id, "type": c.CENTRE_CREATED, "at": to_str(at)}


def marker_ids(doc_store) -> set[str]:
    return {doc["_id"] for doc in doc_store.collection("processed_events").find()}


def test_prune_deletes_only_this_consumers_markers_older_than_the_retention(tmp_path, doc_store):
    clock = FixedClock(NOW)
    loop = pruning_loop(tmp_path, doc_store, clock, name="centres.v1")
    markers = doc_store.collection("processed_events")
    for doc in [
        marker("centres.v1:old", NOW - KEEP - timedelta(days=1)),
        marker("centres.v1:just-old", NOW - KEEP - timedelta(seconds=1)),
        marker("centres.v1:at-the-cutoff", NOW - KEEP),
        marker("centres.v1:recent", NOW - timedelta(days=1)),
        # Other consumers sharing the collection, including names the prefix must not match
        # when its "." is taken as "any character" or its ":" is left out.
        marker("other:old", NOW - timedelta(days=400)),
        marker("centresXv1:old", NOW - timedelta(days=400)),
        marker("centres.v1-replay:old", NOW - timedelta(days=400)),
        marker("x-centres.v1:old", NOW - timedelta(days=400)),
    ]:
        markers.insert(doc)

    assert loop.prune() == 2

    assert marker_ids(doc_store) == {
        "centres.v1:at-the-cutoff",
        "centres.v1:recent",
        "other:old",
        "centresXv1:old",
        "centres.v1-replay:old",
        "x-centres.v1:old",
    }
    assert loop.prune() == 0


def test_an_event_redelivered_within_the_retention_is_still_skipped_after_pruning(tmp_path, doc_store):
    clock = FixedClock(NOW)
    handled = []
    loop = pruning_loop(tmp_path, doc_store, clock, handled.append)
    event_bus = bus.connect(f"sqlite:///{tmp_path}/events.db")
    same = events.encode(centre_event("c1"))
    publish(event_bus, same)
    run_until_idle(loop)
    assert [e.subject for e in handled] == ["c1"]

    clock.advance(days=29)
    doc_store.collection("processed_events").insert(marker("centres.v1:older", NOW - timedelta(days=2)))
    assert loop.prune() == 1
    publish(event_bus, same)
    run_until_idle(loop)

    assert [e.subject for e in handled] == ["c1"]
    assert len(marker_ids(doc_store)) == 1


class FlakyDeletes:
    """A collection whose first `delete` finds the database down."""

    def __init__(self, collection):
        self.collection = collection
        self.deletes = 0

    def __getattr__(self, name):
        return getattr(self.collection, name)

    def delete(self, filter):
        self.deletes += 1
        if self.deletes == 1:
            raise StoreUnavailable("down")
        return self.collection.delete(filter)


def test_run_prunes_at_start_then_hourly_and_outlives_a_store_outage(
    tmp_path, doc_store, monkeypatch, caplog
):
    ticks = SimpleNamespace(now=1000.0)
    monkeypatch.setattr(consumer, "time", SimpleNamespace(monotonic=lambda: ticks.now))
    clock = FixedClock(NOW)
    loop = pruning_loop(tmp_path, doc_store, clock)
    flaky = FlakyDeletes(loop.processed)
    loop.processed = flaky
    flaky.insert(marker("centres.v1:old", NOW - timedelta(days=60)))
    stop = threading.Event()
    polls = 0
    real_poll = loop.consumer.poll

    def poll(timeout, max_messages=100):
        nonlocal polls
        polls += 1
        ticks.now += PRUNE_EVERY_SECONDS / 2
        if polls == 4:
            stop.set()
        return real_poll(0.01, max_messages)

    monkeypatch.setattr(loop.consumer, "poll", poll)

    with caplog.at_level(logging.INFO, logger="ccshared.consumer"):
        loop.run(stop, poll_seconds=0.01)

    assert flaky.deletes == 2  # at start (the outage), then one interval later; not on every poll
    assert marker_ids(doc_store) == set()
    warning = next(r for r in caplog.records if r.levelno == logging.WARNING)
    assert warning.consumer == "centres.v1"
    assert any(getattr(r, "deleted", None) == 1 for r in caplog.records)


def test_a_batch_commits_its_writes_before_its_offsets_and_a_failed_commit_loses_nothing(setup):
    """With `batch` (one SQLite transaction per polled batch), the events' writes and
    markers commit together; if that commit fails, none is kept and all come again."""
    event_bus, doc_store = setup
    seen = doc_store.collection("seen")
    failures = [StoreUnavailable("commit failed")]

    @contextmanager
    def batch():
        with doc_store.batch():
            yield
            if failures:
                raise failures.pop()

    def handler(event):
        seen.upsert({"_id": event.subject})

    publish(event_bus, events.encode(centre_event("c1")), events.encode(centre_event("c2")))
    loop = make_loop(event_bus, doc_store, handler, batch=batch)
    loop.run_once(0.5)
    assert (seen.count(), doc_store.collection("processed_events").count()) == (0, 0)

    run_until_idle(loop)

    assert sorted(doc["_id"] for doc in seen.find({})) == ["c1", "c2"]
    assert doc_store.collection("processed_events").count() == 2
    assert drain(event_bus.consumer("test", [c.CENTRES_TOPIC]), 1, deadline_s=0.5) == []
