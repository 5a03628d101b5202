"""The background worker: the event consumer, the delivery loop, the digest scheduler and
the monthly compliance report."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta

from ccshared import bus as buses
from ccshared import contracts as c
from ccshared import logs
from ccshared import store as stores
from ccshared.bus import Bus, Consumer
from ccshared.consumer import ConsumerLoop
from ccshared.hints import Hints
from ccshared.retrying import until_done
from ccshared.store import Store
from ccshared.timeutil import Clock, SystemClock

from . import bootstrap
from .config import Settings

log = logging.getLogger(__name__)

Task = Callable[[threading.Event], None]
# Contact events: a referral's changes, which its referrer is told of.
TOPICS = (c.SLA_TOPIC, c.CENTRES_TOPIC, c.CONTACTS_TOPIC)


def tasks(
    settings: Settings | None = None,
    *,
    store: Store | None = None,
    bus: Bus | None = None,
    clock: Clock | None = None,
) -> list[Task]:
    settings = settings or Settings.from_env()
    logs.configure("notifier", settings.log_level)
    store = store or stores.connect(settings.store_url)
    bus = bus or buses.connect(settings.bus_url)
    clock = clock or SystemClock()
    recorded = Hints()

    def consume(stop: threading.Event) -> None:
        consumer = _subscribe(bus, settings.consumer_group, list(TOPICS), c.DEAD_LETTER_TOPIC, stop)
        if consumer is None:
            return
        ConsumerLoop(
            name="notifier",
            consumer=consumer,
            handlers=bootstrap.intake(settings, store, clock, recorded).handlers(),
            dead_letters=bus.producer(),
            processed=store.collection("processed"),
            clock=clock,
            keep_processed=timedelta(days=settings.processed_retention_days),
        ).run(stop)

    def deliver(stop: threading.Event) -> None:
        dead_letters = bus.producer()
        bootstrap.delivery(settings, store, dead_letters, clock, recorded=recorded).run(stop)

    def digest(stop: threading.Event) -> None:
        bootstrap.digest(settings, store, clock).run(stop)

    def monthly_reports(stop: threading.Event) -> None:
        bootstrap.monthly_reports(settings, store, clock).run(stop)

    return [consume, deliver, digest, monthly_reports]


def _subscribe(
    bus: Bus, group: str, topics: list[str], dead_letter_topic: str, stop: threading.Event
) -> Consumer | None:
    """Join the consumer group, waiting out a broker that is not up yet; None if stopped first."""

    def join() -> Consumer:
        bus.ensure_topics([*topics, dead_letter_topic])
        return bus.consumer(group, topics)

    return until_done(stop, join, "waiting for the event bus")
