"""The directory's background work: relay centre events from the outbox to the bus, and
import partners' ORUK feeds (when ORUK_IMPORT_FEEDS names any)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from ccshared import bus as buses
from ccshared import store as stores
from ccshared.contracts import CENTRES_TOPIC
from ccshared.outbox import Relay
from ccshared.retrying import until_done
from ccshared.timeutil import Clock, SystemClock
from ccshared.worker import Task

from . import bootstrap
from .config import Settings
from .importer import Fetcher, Importer, import_task
from .repository import CentreRepository

log = logging.getLogger(__name__)


def _ensure_topic(bus: buses.Bus, stop: threading.Event) -> None:
    """Wait for the broker at start rather than dying while it boots."""
    until_done(stop, lambda: bus.ensure_topics([CENTRES_TOPIC]), "waiting for the event bus")


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


def importer_task(settings: Settings, clock: Clock | None = None, fetcher: Fetcher | None = None) -> Task:
    def build() -> tuple[Importer, Callable[[], None]]:
        store = stores.connect(settings.store_url)
        importer = bootstrap.importer(settings, store, clock or SystemClock(), fetcher)
        return importer, store.close

    return import_task(build)


def tasks(settings: Settings | None = None) -> list[Task]:
    settings = settings or Settings.from_env()
    found = [relay_task(settings)]
    if settings.partner_import.feeds:
        found.append(importer_task(settings))
    return found
