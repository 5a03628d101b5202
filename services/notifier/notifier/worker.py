"""The background worker: the event consumer, the delivery loop and the digest scheduler."""

from __future__ import annotations

import threading
from collections.abc import Callable

from ccshared import bus as buses
from ccshared import contracts as c
from ccshared import logs
from ccshared import store as stores
from ccshared.bus import Bus
from ccshared.consumer import ConsumerLoop
from ccshared.store import Store
from ccshared.timeutil import Clock, SystemClock

from . import bootstrap
from .config import Settings
from .mail import Transport

Task = Callable[[threading.Event], None]
TOPICS = (c.SLA_TOPIC, c.CENTRES_TOPIC)


def tasks(
    settings: Settings | None = None,
    *,
    store: Store | None = None,
    bus: Bus | None = None,
    clock: Clock | None = None,
    transport: Transport | None = None,
) -> list[Task]:
    settings = settings or Settings.from_env()
    logs.configure("notifier", settings.log_level)
    store = store or stores.connect(settings.store_url)
    bus = bus or buses.connect(settings.bus_url)
    clock = clock or SystemClock()

    def consume(stop: threading.Event) -> None:
        bus.ensure_topics([*TOPICS, c.DEAD_LETTER_TOPIC])
        ConsumerLoop(
            name="notifier",
            consumer=bus.consumer(settings.consumer_group, TOPICS),
            handlers=bootstrap.intake(settings, store, clock).handlers(),
            dead_letters=bus.producer(),
            processed=store.collection("processed"),
            clock=clock,
        ).run(stop)

    def deliver(stop: threading.Event) -> None:
        bootstrap.delivery(settings, store, bus.producer(), clock, transport).run(stop)

    def digest(stop: threading.Event) -> None:
        bootstrap.digest(settings, store, clock).run(stop)

    return [consume, deliver, digest]
