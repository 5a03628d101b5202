"""The background worker: the event consumer, the delivery loop, the digest scheduler and
the monthly compliance report."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from typing import Unpack

from ccshared import contracts as c
from ccshared import worker
from ccshared.consumer import ConsumerLoop, join_group
from ccshared.hints import Hints
from ccshared.worker import Given, Task

from . import bootstrap
from .config import Settings

log = logging.getLogger(__name__)

# Every topic's events but the dead letters: the SLA's and the directory's notices, and a
# referral's changes, which its referrer is told of.
TOPICS = tuple(topic for topic in c.ALL_TOPICS if topic != c.DEAD_LETTER_TOPIC)


def tasks(settings: Settings | None = None, **given: Unpack[Given]) -> list[Task]:
    """The worker's long-running tasks, for ccshared.runner."""
    settings = settings or Settings.from_env()
    store, bus, clock = worker.connect(settings, given)
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
