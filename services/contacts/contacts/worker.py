"""The contacts service's background work: the outbox relay (contact events, and
agency events from the agencies' profiles), the consumer that builds the centre
read model, and the partner webhooks (the consumer that records deliveries and the
loop that sends them)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Unpack

from ccshared import contracts as c
from ccshared import worker
from ccshared.bus import Bus
from ccshared.consumer import ConsumerLoop, Handler, join_group
from ccshared.hints import Hints
from ccshared.outbox import Relay
from ccshared.retrying import every
from ccshared.store import Store
from ccshared.timeutil import Clock
from ccshared.worker import Given, Task

from . import bootstrap
from .config import Settings
from .crypto import PersonalDataCipher
from .repository import PROCESSED, ContactRepository
from .webhook_repository import ReceiverRepository

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Subscription:
    """Which consumer group reads which topic, and the task that runs it."""

    task: str
    topic: str
    group: str


CENTRES = Subscription("contacts-centre-read-model", c.CENTRES_TOPIC, "contacts-centres")
WEBHOOKS = Subscription("contacts-webhook-intake", c.CONTACTS_TOPIC, "contacts-webhooks")
KEEP = timedelta(days=30)  # how long a handled event's id is remembered, unless the settings say


def relay_task(store: Store, bus: Bus, clock: Clock, topic: str = c.CONTACTS_TOPIC) -> Task:
    def relay(stop: threading.Event) -> None:
        routes = [
            (ContactRepository(store, clock).collection, topic),
            (ReceiverRepository(store, clock).collection, topic),
        ]
        Relay(routes, bus.producer()).run(stop)

    relay.__name__ = "contacts-outbox-relay"
    return relay


def centres_task(
    store: Store,
    bus: Bus,
    clock: Clock,
    keep_processed: timedelta = KEEP,
    subscription: Subscription = CENTRES,
) -> Task:
    """Keeps the read model of the centres contacts may be logged against."""

    def handlers() -> dict[str, Handler]:
        return bootstrap.centre_read_model(store).handlers()

    return _consumer_task(subscription, store, bus, clock, keep_processed, handlers)


def webhooks_task(
    store: Store,
    bus: Bus,
    clock: Clock,
    keep_processed: timedelta = KEEP,
    hints: Hints | None = None,
    subscription: Subscription = WEBHOOKS,
) -> Task:
    """Records a delivery for each referral change of an agency with a callback URL."""

    def handlers() -> dict[str, Handler]:
        return bootstrap.webhook_intake(store, clock, hints).handlers()

    return _consumer_task(subscription, store, bus, clock, keep_processed, handlers)


def _consumer_task(
    subscription: Subscription,
    store: Store,
    bus: Bus,
    clock: Clock,
    keep_processed: timedelta,
    handlers: Callable[[], dict[str, Handler]],
) -> Task:
    """One consumer group on one topic, waiting out a broker that is not up yet."""
    group = subscription.group

    def consume(stop: threading.Event) -> None:
        consumer = join_group(stop, bus, group, [subscription.topic])
        if consumer is None:
            return
        ConsumerLoop(
            name=group,
            consumer=consumer,
            handlers=handlers(),
            dead_letters=bus.producer(),
            processed=store.collection(PROCESSED),
            clock=clock,
            keep_processed=keep_processed,
        ).run(stop)

    consume.__name__ = subscription.task
    return consume


def webhook_delivery_task(
    store: Store, clock: Clock, cipher: PersonalDataCipher, hints: Hints | None = None
) -> Task:
    def deliver(stop: threading.Event) -> None:
        bootstrap.webhook_delivery(store, clock, cipher, hints).run(stop)

    deliver.__name__ = "contacts-webhook-delivery"
    return deliver


def idempotency_purge_task(
    settings: Settings, store: Store, clock: Clock, every_seconds: float = 600
) -> Task:
    """Deletes Idempotency-Key records past their 24 hours, every few minutes."""

    def purge(stop: threading.Event) -> None:
        requests = bootstrap.requests(settings, store, clock)

        def once() -> None:
            if purged := requests.purge():
                log.info("purged idempotency records", extra={"count": purged})

        every(stop, every_seconds, once, "idempotency purge waits for the store")

    purge.__name__ = "contacts-idempotency-purge"
    return purge


def tasks(settings: Settings | None = None, **given: Unpack[Given]) -> list[Task]:
    """The worker's long-running tasks, for ccshared.runner."""
    settings = settings or Settings.from_env()
    store, bus, clock = worker.connect(settings, given)
    keep_processed = timedelta(days=settings.processed_retention_days)
    cipher = bootstrap.cipher(settings)
    recorded = Hints()
    return [
        relay_task(store, bus, clock),
        centres_task(store, bus, clock, keep_processed=keep_processed),
        webhooks_task(store, bus, clock, keep_processed=keep_processed, hints=recorded),
        webhook_delivery_task(store, clock, cipher, hints=recorded),
        idempotency_purge_task(settings, store, clock),
    ]
