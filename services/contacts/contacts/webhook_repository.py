"""Repositories of the webhooks: the delivery log, and each agency's receiver.

The receiver (callback URL, encrypted secret, health and failing mark) lives in
the agency's profile document, so that the failing mark and the event that
announces it (which the `Receiver` records) are one atomic write through that
document's outbox.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from ccshared.aggregate import state_doc, state_values
from ccshared.outbox import AggregateStore, VersionConflict
from ccshared.store import Document, Filter, Store, insert_new
from ccshared.timeutil import Clock, from_str, to_str

from .config import SERVICE
from .repository import AGENCY_PROFILES, SAVE_ATTEMPTS
from .webhooks import DUE_STATUSES, OPEN_STATUSES, SENDING, Delivery, Outcome, Receiver, ReceiverHealth

WEBHOOK_DELIVERIES = "webhook_deliveries"
_INSTANTS = {
    "created_at",
    "next_attempt_at",
    "first_attempt_at",
    "attempt_started_at",
    "delivered_at",
    "updated_at",
}


def _doc(delivery: Delivery) -> Document:
    return state_doc(delivery, _INSTANTS)


def _delivery(doc: Mapping[str, Any]) -> Delivery:
    return Delivery(**state_values(Delivery, doc, _INSTANTS))


class DeliveryRepository:
    """One document per delivery, `_id` = the event's id.

    Every change is a compare-and-set on the (status, attempts) the delivery had
    before it (`transition`), so two workers never both claim, or both settle, the
    same delivery. The record never holds the aggregate's `events`.
    """

    def __init__(self, store: Store):
        self.collection = store.collection(WEBHOOK_DELIVERIES)
        self.collection.ensure_index(["status", "next_attempt_at"])
        self.collection.ensure_index(["status", "attempt_started_at"])
        self.collection.ensure_index(["contact_id", "sequence"])
        self.collection.ensure_index(["created_at"])

    def add(self, delivery: Delivery) -> bool:
        """Record a delivery; False if its event was recorded before (a redelivery)."""
        return insert_new(self.collection, _doc(delivery))

    def get(self, delivery_id: str) -> Delivery | None:
        doc = self.collection.get(delivery_id)
        return _delivery(doc) if doc else None

    def next_sequence(self, contact_id: str) -> int:
        """One more than the referral's last: its events are consumed in order (one partition)."""
        last = self.collection.find({"contact_id": contact_id}, sort=[("sequence", -1)], limit=1)
        return last[0]["sequence"] + 1 if last else 1

    def transition(self, delivery: Delivery, change: Callable[[Delivery], None]) -> bool:
        """Apply `change` (its methods) to `delivery` and store what it changed; True if stored.

        A compare-and-set: the write happens only if the stored delivery still has the
        status and attempts `delivery` had before `change` ran, taken here first so no
        caller can compare against the changed object. On False another worker got there
        first and `delivery` holds a change that was not stored: drop it.
        """
        before = _doc(delivery)
        guard = {"_id": delivery.id, "status": delivery.status, "attempts": delivery.attempts}
        change(delivery)
        changed = {name: value for name, value in _doc(delivery).items() if value != before.get(name)}
        return self.collection.update(guard, changed or {"status": delivery.status}) == 1

    def due(self, now: datetime, limit: int) -> list[Delivery]:
        docs = self.collection.find(
            {"status": {"$in": list(DUE_STATUSES)}, "next_attempt_at": {"$lte": to_str(now)}},
            sort=[("next_attempt_at", 1), ("sequence", 1)],
            limit=limit,
        )
        return [_delivery(doc) for doc in docs]

    def older_open(self, delivery: Delivery) -> Delivery | None:
        """An older delivery of the same referral that is not settled yet, if any."""
        docs = self.collection.find(
            {
                "contact_id": delivery.contact_id,
                "sequence": {"$lt": delivery.sequence},
                "status": {"$in": list(OPEN_STATUSES)},
            },
            sort=[("sequence", 1)],
            limit=1,
        )
        return _delivery(docs[0]) if docs else None

    def sending_since(self, started_before: datetime, limit: int = 50) -> list[Delivery]:
        docs = self.collection.find(
            {"status": SENDING, "attempt_started_at": {"$lte": to_str(started_before)}}, limit=limit
        )
        return [_delivery(doc) for doc in docs]

    def page(self, filter: Filter, skip: int, limit: int) -> tuple[list[Delivery], int]:
        """Newest first."""
        docs = self.collection.find(
            filter, sort=[("created_at", -1), ("sequence", -1)], skip=skip, limit=limit
        )
        return [_delivery(doc) for doc in docs], self.collection.count(filter)


def _health(doc: Mapping[str, Any]) -> ReceiverHealth:
    def instant(name: str) -> datetime | None:
        return from_str(doc[name]) if doc.get(name) else None

    return ReceiverHealth(
        failures=doc.get("webhook_failures") or 0,
        failures_from=instant("webhook_failures_from"),
        failing_since=instant("webhook_failing_since"),
        last_status_code=doc.get("webhook_last_status_code"),
        last_error=doc.get("webhook_last_error"),
    )


def _receiver(agency_id: str, doc: Mapping[str, Any]) -> Receiver:
    return Receiver(agency_id, doc["callback_url"], doc.get("webhook_secret"), _health(doc))


def health_fields(health: ReceiverHealth) -> dict[str, Any]:
    """The profile fields that hold a receiver's health (all None or zero: a fresh start)."""

    def instant(value: datetime | None) -> str | None:
        return to_str(value) if value is not None else None

    return {
        "webhook_failures": health.failures,
        "webhook_failures_from": instant(health.failures_from),
        "webhook_failing_since": instant(health.failing_since),
        "webhook_last_status_code": health.last_status_code,
        "webhook_last_error": health.last_error,
    }


class ReceiverRepository:
    """Agencies' receivers, read from and written to their profile documents."""

    def __init__(self, store: Store, clock: Clock):
        self.collection = store.collection(AGENCY_PROFILES)
        self.aggregates = AggregateStore(self.collection, SERVICE, clock)

    def get(self, agency_id: str) -> Receiver | None:
        """The agency's receiver, or None if it has no callback URL."""
        doc = self.collection.get(agency_id)
        if not doc or not doc.get("callback_url") or not doc.get("webhook_secret"):
            return None
        return _receiver(agency_id, doc)

    def record(self, agency_id: str, outcome: Outcome, now: datetime) -> ReceiverHealth | None:
        """Count an attempt's outcome on the stored receiver (`Receiver.count`) and write its
        health with the events it recorded; read again and retry on a version conflict."""
        for _ in range(SAVE_ATTEMPTS):
            doc = self.collection.get(agency_id)
            if not doc or not doc.get("callback_url"):
                return None
            receiver = _receiver(agency_id, doc)
            before = receiver.health
            receiver.count(outcome, now)
            if receiver.health == before:
                return before
            staged = [self.aggregates.event(e.type, agency_id, e.data) for e in receiver.collect_events()]
            try:
                self.aggregates.save(doc | health_fields(receiver.health), staged)
            except VersionConflict:
                continue
            return receiver.health
        raise VersionConflict(agency_id, -1)
