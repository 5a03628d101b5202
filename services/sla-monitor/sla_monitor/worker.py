"""The background worker: consumer loop, deadline scanner, freshness checker, relay.

Any number of instances may run against one store and bus. The consumer group
splits the contact events between them; the scanners all look at the same
clocks and each event is claimed by the insert of a document with its identity, so only one
instance claims each event (repository.py says how); the relays publish what
is staged.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Unpack

from ccshared import contracts, worker
from ccshared.bus import Consumer, Message
from ccshared.consumer import ConsumerLoop, join_group
from ccshared.hints import Hints
from ccshared.outbox import Relay
from ccshared.retrying import every, sleep, until_done
from ccshared.worker import Given, Task

from . import bootstrap, config, metrics
from .repository import PROCESSED
from .service import SCAN_BATCH, Monitor

log = logging.getLogger(__name__)

SETTLE_SECONDS = 3.0
# Events staged here reach the relay as hints; the sweep only finds what a crash left.
RELAY_SWEEP_SECONDS = 5.0
REPORT_SECONDS = 15.0  # how often the clock gauges are counted from the store
PUBLISH_SECONDS = 600.0  # how often the last months are looked at, to publish them once settled


class WatchedConsumer:
    """Notes when the consumer has drained its backlog, so the first scan can wait for it.

    Drained means a poll came back empty after messages had been read, or after
    a few seconds of polling (a group that is still joining also polls empty).
    """

    def __init__(
        self, consumer: Consumer, caught_up: threading.Event, settle_seconds: float = SETTLE_SECONDS
    ):
        self.consumer = consumer
        self.caught_up = caught_up
        self.settle_until = time.monotonic() + settle_seconds
        self.seen_any = False

    def poll(self, timeout: float, max_messages: int = 100) -> list[Message]:
        messages = self.consumer.poll(timeout, max_messages)
        if messages:
            self.seen_any = True
        elif self.seen_any or time.monotonic() >= self.settle_until:
            self.caught_up.set()
        return messages

    def commit(self, messages) -> None:
        self.consumer.commit(messages)

    def rewind(self, message: Message) -> None:
        self.consumer.rewind(message)

    def lag(self) -> dict[tuple[str, int], int]:
        return self.consumer.lag()

    def close(self) -> None:
        self.consumer.close()


def tasks(settings: config.WorkerSettings | None = None, **given: Unpack[Given]) -> list[Task]:
    """The worker's tasks for ccshared.runner (composition root of the worker process)."""
    settings = settings or config.WorkerSettings.from_env()
    store, bus, clock = worker.connect(settings, given)
    staged = Hints()
    changed = threading.Event()  # the consumer wrote clocks: the next due instant may be sooner
    monitor = bootstrap.monitor(settings, store, clock, staged)
    clocks = monitor.clocks
    producer = bus.producer()
    caught_up = threading.Event()

    def consume(stop: threading.Event) -> None:
        topics = [contracts.CONTACTS_TOPIC, contracts.CENTRES_TOPIC]
        consumer = join_group(stop, bus, settings.consumer_group, topics)
        if consumer is None:
            return
        ConsumerLoop(
            name=settings.consumer_group,
            consumer=WatchedConsumer(consumer, caught_up),
            handlers=monitor.handlers(),
            dead_letters=producer,
            processed=store.collection(PROCESSED),
            clock=clock,
            keep_processed=timedelta(days=settings.processed_retention_days),
            batch=one_batch,
        ).run(stop)

    @contextmanager
    def one_batch() -> Iterator[None]:
        """One SQLite transaction per polled batch (the handlers write only to `store`); the
        relay and the scanner hear of its writes once they are committed and readable."""
        with staged.held(), store.batch():
            yield
        changed.set()  # a clock may now fall due sooner than the scanner planned

    def scan(stop: threading.Event) -> None:
        sleep(stop, caught_up, settings.startup_wait_seconds)
        if until_done(stop, monitor.recompute) is None:
            return
        if until_done(stop, monitor.replan_reminders) is None:
            return
        _until_due(stop, changed, settings.scan_seconds, monitor)

    def freshness(stop: threading.Event) -> None:
        if until_done(stop, lambda: monitor.rearm_centres() or True) is None:
            return
        _every(stop, settings.freshness_seconds, monitor.check_freshness)

    def relay(stop: threading.Event) -> None:
        routes = [(clocks.claims.collection, contracts.SLA_TOPIC)]
        Relay(routes, producer, hints=staged, sweep_seconds=RELAY_SWEEP_SECONDS).run(stop)

    def report(stop: threading.Event) -> None:
        _every(stop, REPORT_SECONDS, lambda: metrics.report(clocks.collection, clock.now()) or 0)

    def publish(stop: threading.Event) -> None:
        sleep(stop, caught_up, settings.startup_wait_seconds)  # a month settles on all its contacts
        publisher = bootstrap.publisher(clocks, store, clock)
        every(stop, PUBLISH_SECONDS, publisher.publish_due, "periodic task waiting")

    return [consume, scan, freshness, relay, report, publish]


def _until_due(stop: threading.Event, changed: threading.Event, longest: float, monitor: Monitor) -> None:
    """Scan, then sleep until the next clock falls due (at most `longest`), or until a
    contact event changes a clock, whichever comes first; so a breach is staged as the
    clock passes due, not up to a polling interval later."""

    def scan() -> float:
        changed.clear()
        monitor.scan()
        return monitor.seconds_to_next_due(longest)

    every(stop, lambda seconds: seconds, scan, "periodic task waiting", woken=changed)


def _every(stop: threading.Event, seconds: float, action: Callable[[], int]) -> None:
    """Run action every `seconds`; at once again while it finds full batches."""
    every(stop, seconds, action, "periodic task waiting", again_at_once=lambda done: done >= SCAN_BATCH)
