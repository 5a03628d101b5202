"""Signed status webhooks to partner agencies: the delivery model and its rules.

One delivery is one referral status change (ccshared.referrals.change_of) for
an agency that has a callback URL, recorded when the contact event is consumed
and keyed by the event's id, which is also its `webhook-id`: the same on every
retry, so a receiver can drop a copy it already has.

    pending/retrying --claim--> sending --2xx--> delivered
                                        --other--> retrying (failed once the retry window is over)
                                        --410 Gone--> failed
    pending/retrying --the agency's callback URL was removed--> cancelled

A referral's deliveries go out in the order their events were consumed
(`sequence`): one is not sent while an older one of the same referral is still
open. Only ids, codes and times go out; never a name, an address or the
free-text reason.

No flask, pymongo or requests here; the clock and the random source are passed in.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import random
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from ccshared import contracts as c
from ccshared.aggregate import Aggregate
from ccshared.referrals import DECLINED, WITHDRAWN, change_of
from ccshared.sending import Outgoing
from ccshared.timeutil import to_str

PENDING = c.DELIVERY_PENDING
SENDING = c.DELIVERY_SENDING
RETRYING = c.DELIVERY_RETRYING
DELIVERED = "delivered"
FAILED = c.DELIVERY_FAILED
CANCELLED = "cancelled"
STATUSES = (PENDING, SENDING, RETRYING, DELIVERED, FAILED, CANCELLED)
DUE_STATUSES = c.DELIVERY_DUE_STATUSES
OPEN_STATUSES = (PENDING, SENDING, RETRYING)

# Why an attempt failed without an HTTP status (the status code says it otherwise).
TIMEOUT = "timeout"
CONNECTION_ERROR = "connection_error"
REQUEST_ERROR = "request_error"
INTERRUPTED = "interrupted"
SECRET_UNREADABLE = "secret_unreadable"
ERROR_KINDS = (TIMEOUT, CONNECTION_ERROR, REQUEST_ERROR, INTERRUPTED, SECRET_UNREADABLE)

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
TYPE_PREFIX = "referral."
GONE = 410
MAX_URL_LENGTH = 2000
# While an older delivery of the same referral is being sent, look again this much later.
BLOCKED_RECHECK = timedelta(seconds=5)

# A receiver is marked failing after this many failed attempts in a row spread
# over at least this long: one slow restart is not a failing receiver, and a
# burst of referrals failing within a minute is one outage, not five.
FAILING_AFTER_ATTEMPTS = 5
FAILING_AFTER = timedelta(hours=1)


def new_secret() -> str:
    """A signing secret in the Standard Webhooks form: whsec_ + base64 of 256 random bits."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def checked_callback_url(url: str) -> str:
    """The URL, trimmed, if webhooks may go to it; ValueError naming the option otherwise.

    https only, except plain http to this machine (loopback), for local receivers and tests.
    """
    url = url.strip()
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        raise ValueError("--callback-url: not a URL") from None
    if len(url) > MAX_URL_LENGTH:
        raise ValueError(f"--callback-url: longer than {MAX_URL_LENGTH} characters")
    if parts.scheme not in ("https", "http") or not host:
        raise ValueError("--callback-url: give an https:// URL with a host name")
    if parts.scheme == "http" and not _loopback(host):
        raise ValueError("--callback-url: must use https (plain http only to localhost or 127.0.0.1)")
    if parts.username or parts.password:
        raise ValueError("--callback-url: must not carry a user name or password")
    if parts.fragment or any(character.isspace() for character in url):
        raise ValueError("--callback-url: must not have a #fragment or spaces")
    return url


@dataclass(frozen=True)
class Outcome:
    """What one attempt came to: the receiver's HTTP status, or why there was none."""

    status_code: int | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def final(self) -> bool:
        """410 Gone: the receiver says this will never be taken; no point retrying."""
        return self.status_code == GONE


@dataclass(frozen=True)
class RetryPolicy:
    """Standard Webhooks' schedule: retries for at least `window` after the first attempt.

    After the n-th failed attempt the next is `schedule[n-1]` seconds later (the last
    step repeats), each varied by +-`jitter` so that a receiver back from an outage is
    not hit by every waiting delivery at once. An attempt that fails once `window`
    has passed since the first is the last.
    """

    schedule: tuple[float, ...] = (5, 300, 1800, 7200, 18000, 36000)
    window: timedelta = timedelta(hours=24)
    jitter: float = 0.1

    def delay(self, attempts: int, rng: random.Random) -> timedelta:
        step = self.schedule[min(max(attempts, 1), len(self.schedule)) - 1]
        return timedelta(seconds=step * rng.uniform(1 - self.jitter, 1 + self.jitter))

    def gives_up(self, first_attempt_at: datetime, now: datetime) -> bool:
        return now - first_attempt_at > self.window


@dataclass
class Delivery(Outgoing):
    """One webhook to one agency (its sending: ccshared.sending.Outgoing; its
    compare-and-set: DeliveryRepository.transition)."""

    agency_id: str
    contact_id: str
    reference: str
    area: str
    type: str
    sequence: int
    body: str
    created_at: datetime
    first_attempt_at: datetime | None = None
    last_status_code: int | None = None
    delivered_at: datetime | None = None

    def claim(self, now: datetime) -> None:
        super().claim(now)
        self.first_attempt_at = self.first_attempt_at or now

    def settled(self, outcome: Outcome, now: datetime, policy: RetryPolicy, rng: random.Random) -> None:
        """The claimed attempt's result: delivered, due again later, or failed for good."""
        self.last_status_code = outcome.status_code
        self.last_error = outcome.error
        self.updated_at = now
        if outcome.ok:
            self.status = DELIVERED
            self.delivered_at = now
            self.next_attempt_at = None
        elif outcome.final or policy.gives_up(self.first_attempt_at or now, now):
            self.status = FAILED
            self.next_attempt_at = None
        else:
            self.status = RETRYING
            self.next_attempt_at = now + policy.delay(self.attempts, rng)

    def interrupted(self, now: datetime, policy: RetryPolicy, rng: random.Random) -> None:
        """An attempt that never reported back (the worker died): counted as failed, retried."""
        self.settled(Outcome(error=INTERRUPTED), now, policy, rng)

    def turn_after(self, older: Delivery, now: datetime) -> datetime:
        """When this may next be tried while `older`, of the same referral, is still open."""
        after = older.next_attempt_at if older.status in DUE_STATUSES else None
        return max(after or now + BLOCKED_RECHECK, now)

    def waiting_for(self, older: Delivery, now: datetime) -> None:
        """Not before the older delivery of the same referral has had its next try."""
        self.next_attempt_at = self.turn_after(older, now)
        self.updated_at = now

    def cancelled(self, now: datetime) -> None:
        self.status = CANCELLED
        self.next_attempt_at = None
        self.updated_at = now


def payload(change: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """The webhook body: the change and the referral's ids, codes and times, nothing personal.

    The event's reason code is a decline's or a withdrawal's, each in its own field."""
    return {
        "type": TYPE_PREFIX + change,
        "timestamp": to_str(data["occurred_at"]),
        "data": {
            "referral_id": data["contact_id"],
            "reference": data["reference"],
            "status": data.get("referral_status"),
            "decline_reason_code": data.get("reason_code") if change == DECLINED else None,
            "withdraw_reason_code": data.get("reason_code") if change == WITHDRAWN else None,
            "centre_id": data["centre_id"],
            "received_at": to_str(data["received_at"]),
            "occurred_at": to_str(data["occurred_at"]),
        },
    }


def new_delivery(
    event_id: str, event_type: str, data: Mapping[str, Any], sequence: int, now: datetime
) -> Delivery | None:
    """The delivery a contact event makes for its referral's agency, or None if it is no news."""
    change = change_of(event_type, data)
    if change is None or not data.get("agency_id"):
        return None
    body = payload(change, data)
    return Delivery(
        id=event_id,
        agency_id=data["agency_id"],
        contact_id=data["contact_id"],
        reference=data["reference"],
        area=data["area"],
        type=body["type"],
        sequence=sequence,
        body=json.dumps(body, separators=(",", ":")),
        created_at=now,
        next_attempt_at=now,
        updated_at=now,
    )


@dataclass(frozen=True)
class ReceiverHealth:
    """An agency's receiver as the deliveries found it: the current run of failures and the mark.

    `failures_from` is the first failure of the current run; `failing_since` is the
    mark, set once the run is long enough and kept until an attempt succeeds.

    A value, not an aggregate: it is a part of the agency's profile document, and
    its `Receiver` replaces it (`count`) and records the failing event.
    """

    failures: int = 0
    failures_from: datetime | None = None
    failing_since: datetime | None = None
    last_status_code: int | None = None
    last_error: str | None = None

    def after(self, outcome: Outcome, now: datetime) -> ReceiverHealth:
        if outcome.ok:
            return ReceiverHealth()
        start = self.failures_from or now
        failures = self.failures + 1
        long_enough = failures >= FAILING_AFTER_ATTEMPTS and now - start >= FAILING_AFTER
        return ReceiverHealth(
            failures=failures,
            failures_from=start,
            failing_since=self.failing_since or (start if long_enough else None),
            last_status_code=outcome.status_code,
            last_error=outcome.error,
        )

    def became_failing(self, before: ReceiverHealth) -> bool:
        return before.failing_since is None and self.failing_since is not None


@dataclass(frozen=True)
class ReceiverEvent:
    """What a receiver raised: the event's type and data (ids, counts, codes and times)."""

    type: str
    data: dict[str, Any]


@dataclass
class Receiver(Aggregate[ReceiverEvent]):
    """Where an agency takes its webhooks: URL, encrypted signing secret, and how it has fared."""

    agency_id: str
    callback_url: str
    secret_token: str
    health: ReceiverHealth

    def count(self, outcome: Outcome, now: datetime) -> None:
        """Take an attempt's outcome; record AGENCY_WEBHOOK_FAILING when it marks the receiver
        failing, once a spell: the mark stays until an attempt succeeds."""
        before, self.health = self.health, self.health.after(outcome, now)
        if self.health.became_failing(before):
            self.record(ReceiverEvent(c.AGENCY_WEBHOOK_FAILING, self._failing_data()))

    def _failing_data(self) -> dict[str, Any]:
        return {
            "agency_id": self.agency_id,
            "failing_since": self.health.failing_since,
            "consecutive_failures": self.health.failures,
            "last_status_code": self.health.last_status_code,
            "error_kind": self.health.last_error,
        }
