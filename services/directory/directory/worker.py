"""The directory's background work: relay centre events from the outbox to the bus."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from ccshared import bus as buses
from ccshared import logs
from ccshared import store as stores
from ccshared.bus import BusUnavailable
from ccshared.contracts import CENTRES_TOPIC
from ccshared.outbox import Relay
from ccshared.timeutil import SystemClock

from .config import SERVICE, Settings, load
from .repository import CentreRepository

log = logging.getLogger(__name__)

Task = Callable[[threading.Event], None]


def _ensure_topic(bus: buses.Bus, stop: threading.Event) -> None:
    """Wait for the broker at start rather than dying while it boots."""
    attempt = 0
    while not stop.is_set():
        try:
            bus.ensure_topics([CENTRES_TOPIC])
            return
        except BusUnavailable as exc:
            attempt += 1
            log.warning("waiting for the event bus", extra={"error": str(exc), "attempt": attempt})
            stop.wait(min(30.0, 0.5 * 2 ** min(attempt, 6)))


def relay_task(settings: Settings) -> Task:
    def relay_centre_events(stop: threading.Event) -> None:
        store = stores.connect(settings.store_url)
        bus = buses.connect(settings.bus_url)
        _ensure_topic(bus, stop)
        repository = CentreRepository(store, SystemClock())
        producer = bus.producer()
        try:
            Relay([(repository.collection, CENTRES_TOPIC)], producer).run(stop)
        finally:
            producer.close()
            store.close()

    return relay_centre_events


def tasks(settings: Settings | None = None) -> list[Task]:
    settings = settings or load()
    logs.configure(SERVICE, settings.log_level)
    return [relay_task(settings)]
