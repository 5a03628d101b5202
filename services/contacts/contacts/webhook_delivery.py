"""The webhook delivery loop: POSTs due deliveries to agencies' callback URLs, signed.

Each send is claimed (pending/retrying -> sending, a compare-and-set) before the
request and settled after it, so several worker processes never send the same
delivery at once. A delivery waits while an older one of the same referral is
still open: at least once, and in order.

A worker that dies mid-request leaves its delivery "sending"; after
`sending_timeout` (well past the request timeout) it counts as a failed attempt
and is retried with the same `webhook-id`, which receivers use to drop a copy.

Logs carry delivery and agency ids and outcomes: never a URL (its query string
may hold a receiver's token), a secret or a body.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

import requests
from ccshared.hints import Hints
from ccshared.retrying import hinted_loop
from ccshared.timeutil import Clock, SystemClock
from prometheus_client import Counter
from standardwebhooks import Webhook

from .crypto import PersonalDataCipher, UnreadableToken
from .webhook_repository import DeliveryRepository, ReceiverRepository
from .webhooks import (
    CONNECTION_ERROR,
    DUE_STATUSES,
    REQUEST_ERROR,
    SECRET_UNREADABLE,
    TIMEOUT,
    Delivery,
    Outcome,
    Receiver,
    RetryPolicy,
)

log = logging.getLogger(__name__)

OUTCOMES = Counter(
    "cc_webhook_deliveries_total", "Webhook delivery attempts settled, by outcome", ["outcome"]
)
BATCH = 100
REQUEST_TIMEOUT_SECONDS = 10.0
USER_AGENT = "childrens-centres-contacts-webhooks/1"


class Sender(Protocol):
    def post(self, url: str, delivery_id: str, body: str, secret: str) -> Outcome: ...


class HttpSender:
    """POSTs a body signed per Standard Webhooks; redirects are not followed (they count as failures).

    The signature's timestamp is the real time of sending (`wall_clock`): receivers
    check it against their own clocks, whatever clock schedules the retries.
    """

    def __init__(
        self,
        timeout: float = REQUEST_TIMEOUT_SECONDS,
        session: requests.Session | None = None,
        wall_clock: Clock | None = None,
    ):
        self.timeout = timeout
        self.session = session or requests.Session()
        self.wall_clock = wall_clock or SystemClock()
        # urllib3 logs each request line, query string and all, at DEBUG; a receiver's
        # URL may carry its token there, so that line must not reach our logs.
        logging.getLogger("urllib3.connectionpool").setLevel(logging.INFO)

    def post(self, url: str, delivery_id: str, body: str, secret: str) -> Outcome:
        at = self.wall_clock.now()
        headers = {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "webhook-id": delivery_id,
            "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": Webhook(secret).sign(delivery_id, at, body),
        }
        try:
            response = self.session.post(
                url, data=body.encode(), headers=headers, timeout=self.timeout, allow_redirects=False
            )
        except requests.Timeout:
            return Outcome(error=TIMEOUT)
        except requests.ConnectionError:
            return Outcome(error=CONNECTION_ERROR)
        except requests.RequestException:
            return Outcome(error=REQUEST_ERROR)
        response.close()
        return Outcome(status_code=response.status_code)


@dataclass(eq=False, kw_only=True)
class WebhookDelivery:
    deliveries: DeliveryRepository
    receivers: ReceiverRepository
    sender: Sender
    cipher: PersonalDataCipher
    clock: Clock
    policy: RetryPolicy | None = None  # None: RetryPolicy()'s defaults
    rng: random.Random = field(default_factory=random.Random)
    hints: Hints | None = None
    sending_timeout: timedelta = timedelta(minutes=2)
    sweep_seconds: float = 1.0
    housekeeping_seconds: float = 15.0

    def __post_init__(self) -> None:
        self.policy = self.policy or RetryPolicy()

    def run_once(self) -> int:
        """Recover interrupted sends, then send what is due; return the sends tried."""
        self.recover_interrupted()
        return self.send_hinted() + self.send_due()[0]

    def send_hinted(self) -> int:
        if self.hints is None:
            return 0
        now = self.clock.now()
        found = (self.deliveries.get(key) for key in self.hints.take())  # type: ignore[arg-type]
        due = [d for d in found if d and d.status in DUE_STATUSES and _due(d.next_attempt_at, now)]
        return sum(self.send(delivery) is not None for delivery in due)

    def send_due(self, batch: int = BATCH) -> tuple[int, bool]:
        """Send one batch of due deliveries: (sends tried, whether the batch was full)."""
        due = self.deliveries.due(self.clock.now(), batch)
        return sum(self.send(delivery) is not None for delivery in due), len(due) >= batch

    def send(self, delivery: Delivery) -> Delivery | None:
        """Try one due delivery, changed in place; None when it must wait its turn or another worker has it."""
        now = self.clock.now()
        older = self.deliveries.older_open(delivery)
        if older is not None:
            if delivery.turn_after(older, now) != delivery.next_attempt_at:
                self.deliveries.transition(delivery, lambda waiting: waiting.waiting_for(older, now))
            return None
        receiver = self.receivers.get(delivery.agency_id)
        if receiver is None:
            return self._settle(delivery, lambda due: due.cancelled(now))
        if not self.deliveries.transition(delivery, lambda due: due.claim(now)):
            return None
        outcome = self._post(delivery, receiver)
        self._settle(
            delivery, lambda claimed: claimed.settled(outcome, self.clock.now(), self.policy, self.rng)
        )
        self._record_health(receiver, outcome)
        return delivery

    def _post(self, claimed: Delivery, receiver: Receiver) -> Outcome:
        """The attempt's outcome; a fault on our side is a failed attempt too, retried like any."""
        try:
            secret = self.cipher.decrypt(receiver.secret_token)
        except UnreadableToken:
            log.error("webhook secret unreadable with this key", extra={"agency_id": receiver.agency_id})
            return Outcome(error=SECRET_UNREADABLE)
        try:
            return self.sender.post(receiver.callback_url, claimed.id, claimed.body, secret)
        except Exception as exc:  # noqa: BLE001 - bounded retries end in failed; the message may hold the URL
            log.error("webhook send failed", extra={"delivery": claimed.id, "error": type(exc).__name__})
            return Outcome(error=REQUEST_ERROR)

    def _settle(self, delivery: Delivery, change: Callable[[Delivery], None]) -> Delivery:
        """Apply `change` (cancelled, settled, interrupted) and store it, unless another worker did first."""
        if not self.deliveries.transition(delivery, change):
            log.warning("webhook delivery settled elsewhere", extra={"delivery": delivery.id})
            return delivery
        OUTCOMES.labels(delivery.status).inc()
        log.info(
            "webhook delivery attempt",
            extra={
                "delivery": delivery.id,
                "agency_id": delivery.agency_id,
                "status": delivery.status,
                "attempts": delivery.attempts,
                "status_code": delivery.last_status_code,
                "error": delivery.last_error,
            },
        )
        return delivery

    def _record_health(self, receiver: Receiver, outcome: Outcome) -> None:
        health = self.receivers.record(receiver.agency_id, outcome, self.clock.now())
        if health is not None and health.became_failing(receiver.health):
            log.warning(
                "webhook receiver marked failing",
                extra={"agency_id": receiver.agency_id, "failures": health.failures},
            )

    def recover_interrupted(self) -> int:
        now = self.clock.now()
        recovered = 0
        for stuck in self.deliveries.sending_since(now - self.sending_timeout):
            self._settle(stuck, lambda interrupted: interrupted.interrupted(now, self.policy, self.rng))
            recovered += 1
        return recovered

    def run(self, stop: threading.Event) -> None:
        hinted_loop(
            stop,
            "webhook delivery waiting for an outage to end",
            hints=self.hints,
            hinted=self.send_hinted,
            sweep=lambda: self.send_due()[1],
            sweep_seconds=self.sweep_seconds,
            chores=[(self.housekeeping_seconds, self.recover_interrupted)],
        )


def _due(next_attempt_at: datetime | None, now: datetime) -> bool:
    return next_attempt_at is not None and next_attempt_at <= now
