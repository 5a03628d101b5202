"""The directory's background work: relay centre events from the outbox to the bus, and
import partners' ORUK feeds (when ORUK_IMPORT_FEEDS names any)."""

from __future__ import annotations

import logging
import threading
from typing import Unpack

from ccshared import worker
from ccshared.bus import Bus
from ccshared.contracts import CENTRES_TOPIC
from ccshared.outbox import Relay
from ccshared.retrying import until_done
from ccshared.store import Store
from ccshared.timeutil import Clock
from ccshared.worker import Given, Task

from . import bootstrap
from .config import Settings
from .importer import import_task
from .repository import CentreRepository

log = logging.getLogger(__name__)


def _ensure_topic(bus: Bus, stop: threading.Event) -> None:
    """Wait for the broker at start rather than dying while it boots."""
    until_done(stop, lambda: bus.ensure_topics([CENTRES_TOPIC]), "waiting for the event bus")


def relay_task(store: Store, bus: Bus, clock: Clock) -> Task:
    def relay_centre_events(stop: threading.Event) -> None:
        _ensure_topic(bus, stop)
        producer = bus.producer()
        try:
            Relay([(CentreRepository(store, clock).collection, CENTRES_TOPIC)], producer).run(stop)
        finally:
            producer.close()

    return relay_centre_events


def tasks(settings: Settings | None = None, **given: Unpack[Given]) -> list[Task]:
    """The worker's tasks for ccshared.runner."""
    settings = settings or Settings.from_env()
    store, bus, clock = worker.connect(settings, given)
    found = [relay_task(store, bus, clock)]
    if settings.partner_import.feeds:
        found.append(import_task(bootstrap.importer(settings, store, clock)))
    return found
