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
from ccshared.bus import Bus
from ccshared.consumer import ConsumerLoop, join_group
from ccshared.hints import Hints
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
        consumer = join_group(stop, bus, settings.consumer_group, TOPICS)
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
