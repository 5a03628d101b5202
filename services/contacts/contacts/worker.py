"""Composition root of the contacts service's background worker: the outbox
relay (contact events, and agency events from the agencies' profiles), the
consumer that builds the centre read model, and the partner webhooks (the
consumer that records deliveries and the loop that sends them)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
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
from .read_model import CentreReadModel
from .repository import PROCESSED, CentreRepository, ContactRepository
from .webhook_delivery import HttpSender, Sender, WebhookDelivery
from .webhook_repository import DeliveryRepository, ReceiverRepository
from .webhook_service import WebhookIntake
from .webhooks import RetryPolicy

log = logging.getLogger(__name__)

CENTRES_GROUP = "contacts-centres"
WEBHOOKS_GROUP = "contacts-webhooks"


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
    topic: str = c.CENTRES_TOPIC,
    group: str = CENTRES_GROUP,
    keep_processed: timedelta = timedelta(days=30),
) -> Task:
    return _consumer_task(
        "contacts-centre-read-model",
        store,
        bus,
        clock,
        topic,
        group,
        keep_processed,
        lambda: CentreReadModel(CentreRepository(store)).handlers(),
    )


def webhooks_task(
    store: Store,
    bus: Bus,
    clock: Clock,
    topic: str = c.CONTACTS_TOPIC,
    group: str = WEBHOOKS_GROUP,
    keep_processed: timedelta = timedelta(days=30),
    hints: Hints | None = None,
) -> Task:
    """Records a delivery for each referral change of an agency with a callback URL."""

    return _consumer_task(
        "contacts-webhook-intake",
        store,
        bus,
        clock,
        topic,
        group,
        keep_processed,
        lambda: WebhookIntake(
            DeliveryRepository(store), ReceiverRepository(store, clock), clock, hints
        ).handlers(),
    )


def _consumer_task(
    name: str,
    store: Store,
    bus: Bus,
    clock: Clock,
    topic: str,
    group: str,
    keep_processed: timedelta,
    handlers: Callable[[], dict[str, Handler]],
) -> Task:
    """One consumer group on one topic, waiting out a broker that is not up yet."""

    def consume(stop: threading.Event) -> None:
        consumer = join_group(stop, bus, group, [topic])
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

    consume.__name__ = name
    return consume


def webhook_delivery_task(
    store: Store,
    clock: Clock,
    cipher: PersonalDataCipher,
    hints: Hints | None = None,
    sender: Sender | None = None,
    policy: RetryPolicy | None = None,
) -> Task:
    def deliver(stop: threading.Event) -> None:
        WebhookDelivery(
            deliveries=DeliveryRepository(store),
            receivers=ReceiverRepository(store, clock),
            sender=sender or HttpSender(),
            cipher=cipher,
            clock=clock,
            policy=policy,
            hints=hints,
        ).run(stop)

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
