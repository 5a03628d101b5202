"""The outbox: state and events written together, and a relay that loses nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from datetime import UTC, datetime

import pytest
from ccshared import contracts as c
from ccshared import events
from ccshared.hints import Hints
from ccshared.outbox import PENDING, AggregateStore, Relay, VersionConflict
from ccshared.store import StoreUnavailable
from ccshared.timeutil import FixedClock

from tests.infra.waiting import drain, wait_for

CLOCK = FixedClock(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))


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


def test_a_saved_change_carries_its_events_until_the_relay_publishes_them(doc_store, event_bus, topic):
    collection = doc_store.collection("centres")
    aggregates = AggregateStore(collection, "test", CLOCK)
    doc = aggregates.add(
        {"_id": "c1", "name": "One"}, [aggregates.event(c.CENTRE_CREATED, "c1", centre_data("c1"))]
    )
    aggregates.save(doc | {"name": "Uno"}, [aggregates.event(c.CENTRE_UPDATED, "c1", centre_data("c1", 2))])
    stored = collection.get("c1")
    assert [e["type"] for e in stored["_outbox"]] == [c.CENTRE_CREATED, c.CENTRE_UPDATED]

    event_bus.ensure_topics([topic])
    Relay([(collection, topic)], event_bus.producer()).run_once()

    got = [events.decode(m.value) for m in drain(event_bus.consumer(f"{topic}-g", [topic]), 2)]
    assert [e.type for e in got] == [c.CENTRE_CREATED, c.CENTRE_UPDATED]
    assert collection.get("c1")["_outbox"] == []
    assert collection.count({PENDING: True}) == 0


def test_a_stale_save_is_refused_and_stages_nothing(doc_store):
    collection = doc_store.collection("centres")
    aggregates = AggregateStore(collection, "test", CLOCK)
    first = aggregates.add({"_id": "c1", "name": "One"})
    stale = dict(first)
    aggregates.save(first | {"name": "Two"})

    with pytest.raises(VersionConflict):
        aggregates.save(
            stale | {"name": "Three"}, [aggregates.event(c.CENTRE_UPDATED, "c1", centre_data("c1", 2))]
        )

    assert collection.get("c1")["name"] == "Two"
    assert collection.get("c1")["_outbox"] == []


RELAY_SCRIPT = """
import sys, time
from ccshared import bus, store
from ccshared.outbox import Relay


class StopsAfterTwoBatches:
    # Publishes two batches, then says so and hangs before the relay can clear the
    # second: the test's SIGKILL lands between publish and clear, the worst moment.
    def __init__(self, producer):
        self.producer, self.calls = producer, 0

    def publish_all(self, items):
        self.producer.publish_all(items)
        self.calls += 1
        if self.calls == 2:
            print("published", flush=True)
            time.sleep(3600)


collection = store.connect(sys.argv[1]).collection("centres")
producer = StopsAfterTwoBatches(bus.connect(sys.argv[2]).producer())
relay = Relay([(collection, sys.argv[3])], producer, batch=25)
while relay.run_once():
    pass
"""


def test_no_event_is_lost_when_the_relay_is_killed_mid_batch(
    shim_store, shim_store_url, event_bus, bus_url, topic
):
    """Hundreds of conditional clears: on FerretDB, through the shim only (tests/adapters/conftest.py)."""
    collection = shim_store.collection("centres")
    aggregates = AggregateStore(collection, "test", CLOCK)
    total = 600
    for n in range(total):
        cid = f"c{n:05d}"
        aggregates.add({"_id": cid}, [aggregates.event(c.CENTRE_CREATED, cid, centre_data(cid))])
    event_bus.ensure_topics([topic])
    consumer = event_bus.consumer(f"{topic}-audit", [topic])

    relay = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(RELAY_SCRIPT), shim_store_url, bus_url, topic],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        # readline returns "" if the relay dies first, so this cannot hang.
        assert relay.stdout.readline().strip() == "published", "the relay died before its second batch"
    finally:
        os.kill(relay.pid, signal.SIGKILL)
        relay.wait(timeout=30)
        relay.stdout.close()
    first = drain(consumer, 50, deadline_s=60)
    assert len(first) == 50, "both batches were published before the kill"
    assert collection.count({PENDING: True}) == total - 25, "the second batch was published, not cleared"

    restarted = Relay([(collection, topic)], event_bus.producer(), batch=200)

    def outbox_empty() -> bool:
        try:
            return not restarted.run_once()
        except StoreUnavailable:
            # On FerretDB the killed relay may have died holding a document lock; like
            # Relay.run, wait for it to go stale instead of giving up.
            time.sleep(1)
            return False

    wait_for(outbox_empty, 120, "the restarted relay to publish the rest", interval=0)

    seen = {events.decode(m.value).subject for m in first}

    def all_seen() -> bool:
        seen.update(events.decode(m.value).subject for m in consumer.poll(0.5))
        return len(seen) >= total

    wait_for(all_seen, 120, f"all {total} centres on the bus", interval=0)
    assert len(seen) == total
    assert collection.count({PENDING: True}) == 0


def _relay_running(relay: Relay) -> tuple[threading.Event, threading.Thread]:
    stop = threading.Event()
    thread = threading.Thread(target=relay.run, args=(stop,), daemon=True)
    thread.start()
    return stop, thread


def _relay_recording_sweeps(
    collection, event_bus, topic, staged: Hints
) -> tuple[Relay, list[tuple[int, bool]]]:
    """A relay that sweeps once at start and then hourly, keeping the result of each sweep."""
    relay = Relay([(collection, topic)], event_bus.producer(), hints=staged, sweep_seconds=3600)
    sweeps: list[tuple[int, bool]] = []
    sweep = relay.sweep

    def counted() -> tuple[int, bool]:
        sweeps.append(sweep())
        return sweeps[-1]

    relay.sweep = counted
    return relay, sweeps


def test_events_staged_in_this_process_go_out_without_waiting_for_the_sweep(doc_store, event_bus, topic):
    collection = doc_store.collection("claims")
    staged = Hints()
    aggregates = AggregateStore(collection, "test", CLOCK, staged)
    event_bus.ensure_topics([topic])
    relay, sweeps = _relay_recording_sweeps(collection, event_bus, topic, staged)
    stop, thread = _relay_running(relay)
    try:
        wait_for(lambda: sweeps, 30, "the relay's start-up sweep")
        for n in range(3):
            aggregates.add(
                {"_id": f"c{n}"}, [aggregates.event(c.CENTRE_CREATED, f"c{n}", centre_data(f"c{n}"))]
            )
        got = drain(event_bus.consumer(f"{topic}-g", [topic]), 3, deadline_s=30)
        wait_for(lambda: collection.count({PENDING: True}) == 0, 30, "the outbox cleared")
    finally:
        stop.set()
        thread.join(timeout=20)
    assert sorted(events.decode(m.value).subject for m in got) == ["c0", "c1", "c2"]
    assert sweeps == [(0, False)], "published by the hand-off, not by a sweep"


def test_the_sweep_publishes_what_no_hint_named(doc_store, event_bus, topic):
    """Staged by another process (or before a crash): only the sweep can find it."""
    collection = doc_store.collection("claims")
    elsewhere = AggregateStore(collection, "test", CLOCK)
    event_bus.ensure_topics([topic])
    relay = Relay([(collection, topic)], event_bus.producer(), hints=Hints(), sweep_seconds=0.3)
    stop, thread = _relay_running(relay)
    try:
        elsewhere.add({"_id": "c9"}, [elsewhere.event(c.CENTRE_CREATED, "c9", centre_data("c9"))])
        got = drain(event_bus.consumer(f"{topic}-g", [topic]), 1, deadline_s=30)
    finally:
        stop.set()
        thread.join(timeout=20)
    assert [events.decode(m.value).subject for m in got] == ["c9"]


def test_events_staged_in_a_batch_are_handed_over_once_it_has_committed(doc_store, event_bus, topic):
    """Held hints: a relay told of a document before its transaction commits would find
    nothing to publish and drop the hint, leaving the event to the next sweep."""
    collection = doc_store.collection("claims")
    staged = Hints()
    aggregates = AggregateStore(collection, "test", CLOCK, staged)
    event_bus.ensure_topics([topic])
    relay, sweeps = _relay_recording_sweeps(collection, event_bus, topic, staged)
    stop, thread = _relay_running(relay)
    try:
        wait_for(lambda: sweeps, 30, "the relay's start-up sweep")
        with staged.held(), doc_store.batch():
            for n in range(3):
                aggregates.add(
                    {"_id": f"b{n}"}, [aggregates.event(c.CENTRE_CREATED, f"b{n}", centre_data(f"b{n}"))]
                )
                time.sleep(0.1)  # the relay's linger passes while the batch is still open
        got = drain(event_bus.consumer(f"{topic}-g", [topic]), 3, deadline_s=30)
    finally:
        stop.set()
        thread.join(timeout=20)
    assert sorted(events.decode(m.value).subject for m in got) == ["b0", "b1", "b2"]
    assert sweeps == [(0, False)], "published by the hand-off, not by a sweep"
