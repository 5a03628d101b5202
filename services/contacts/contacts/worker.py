"""The contacts service's background work: the outbox relay (contact events, and
agency events from the agencies' profiles), the consumers that build the centre
read model and the referrals' due dates (the SLA monitor's events), the partner
webhooks (the consumer that records deliveries and the loop that sends them), and the
timers: the Idempotency-Key purge and the daily retention erasure, and the check that
pays a scrub an erasure owes."""

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
from prometheus_client import Counter, Gauge

from . import bootstrap
from .config import Settings
from .crypto import PersonalDataCipher
from .repository import PROCESSED, ContactRepository
from .scrubbing import OwedScrub, ScrubOwed
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
DUE_DATES = Subscription("contacts-due-dates", c.SLA_TOPIC, "contacts-due-dates")
KEEP = timedelta(days=30)  # how long a handled event's id is remembered, unless the settings say
DAY_SECONDS = 24 * 3600
# How often each worker looks for a scrub owed (one read of one mark): an erasure on request
# whose scrub failed answered with it owed, and its caller need never retry.
SCRUB_CHECK_SECONDS = 60.0

ERASED = Counter(
    "cc_retention_erased_contacts_total",
    "Contacts whose personal data the worker's retention erasure erased (CONTACTS_RETENTION_DAYS after they ended or were answered)",
)
ERASURE_LAST_RUN = Gauge(
    "cc_retention_last_run_timestamp_seconds",
    "When the worker's retention erasure last ran to the end (Unix time); a day or more ago: it is not running",
    multiprocess_mode="mostrecent",
)
SCRUB_OWED = Gauge(
    "cc_retention_scrub_owed",
    "1 while the scrub after an erasure has failed (erased data may linger in the SQLite WAL); the worker retries it until it succeeds, then 0",
    multiprocess_mode="mostrecent",
)


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
    """Keeps the read model of the centres contacts may be logged against, and moves a
    centre's unanswered contacts with it when it moves to another area."""

    def handlers() -> dict[str, Handler]:
        return bootstrap.centre_read_model(store, clock).handlers()

    return _consumer_task(subscription, store, bus, clock, keep_processed, handlers)


def due_dates_task(store: Store, bus: Bus, clock: Clock, keep_processed: timedelta = KEEP) -> Task:
    """Keeps each referral's due date from the SLA monitor's events, for its agency's reads."""

    def handlers() -> dict[str, Handler]:
        return bootstrap.due_date_read_model(store).handlers()

    return _consumer_task(DUE_DATES, store, bus, clock, keep_processed, handlers)


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


def retention_erasure_task(
    settings: Settings, store: Store, clock: Clock, every_seconds: float = DAY_SECONDS
) -> Task:
    """Erases the personal data of contacts ended, or answered and never closed, over
    CONTACTS_RETENTION_DAYS ago: at start, then daily. Every replica runs it; a contact two of
    them reach at once is erased by the one whose write lands first (the other's is a version
    conflict, skipped), and audited once. A run whose scrub fails is retried as an outage is,
    and the retry scrubs though nothing is left to erase (scrubbing.py)."""

    def erase(stop: threading.Event) -> None:
        erase_expired = bootstrap.retention(settings, store, clock)

        def ran(erased: int) -> None:
            ERASED.inc(erased)
            log.info(
                "retention erasure ran",
                extra={"erased": erased, "retention_days": settings.retention_days},
            )

        def once() -> None:
            try:
                erased = erase_expired()
            except ScrubOwed as exc:
                SCRUB_OWED.set(1)
                ran(exc.erased)  # erased all the same: the retry finds nothing left to count
                log.warning(
                    "retention erasure's scrub failed, retried until it succeeds", extra={"error": str(exc)}
                )
                raise
            SCRUB_OWED.set(0)
            ran(erased)
            ERASURE_LAST_RUN.set(clock.now().timestamp())

        every(stop, every_seconds, once, "retention erasure waits for the store")

    erase.__name__ = "contacts-retention-erasure"
    return erase


def owed_scrub_task(store: Store, clock: Clock, every_seconds: float = SCRUB_CHECK_SECONDS) -> Task:
    """Pays a scrub owed, whichever erasure owed it (on request, by retention or the command):
    checked every minute, and a failed scrub tried again with the outage backoff; sets
    cc_retention_scrub_owed from the mark in the store."""

    def pay(stop: threading.Event) -> None:
        scrub = OwedScrub(store, clock)

        def once() -> None:
            owed = scrub.owed()
            SCRUB_OWED.set(int(owed))
            if owed:
                scrub.pay()  # ScrubOwed: tried again after the backoff, the gauge left at 1
                SCRUB_OWED.set(int(scrub.owed()))

        every(stop, every_seconds, once, "owed scrub not done, retried until it succeeds")

    pay.__name__ = "contacts-owed-scrub"
    return pay


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
        due_dates_task(store, bus, clock, keep_processed=keep_processed),
        webhooks_task(store, bus, clock, keep_processed=keep_processed, hints=recorded),
        webhook_delivery_task(store, clock, cipher, hints=recorded),
        idempotency_purge_task(settings, store, clock),
        retention_erasure_task(settings, store, clock),
        owed_scrub_task(store, clock),
    ]
