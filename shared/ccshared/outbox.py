"""Transactional outbox: an aggregate's new events ride inside its own document.

A state change and the events it causes are one single-document write (atomic
on MongoDB, FerretDB and SQLite alike). The relay publishes pending events and
then clears them with a compare-and-set on `_version`; a relay killed between
the two publishes them again on restart, which consumers absorb by event id.
Clearing does not bump `_version`, so it never turns a user's edit into a
conflict.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

from . import events
from .bus import BusUnavailable, Producer
from .store import Collection, Document, StoreUnavailable
from .timeutil import Clock

log = logging.getLogger(__name__)

OUTBOX = "_outbox"
PENDING = "_outbox_pending"
VERSION = "_version"


class VersionConflict(Exception):
    """The document changed since it was read (optimistic concurrency)."""

    def __init__(self, doc_id: str, expected: int):
        self.doc_id = doc_id
        self.expected = expected
        super().__init__(f"{doc_id} is no longer at version {expected}")


class AggregateStore:
    """Writes aggregate documents together with the events they raise."""

    def __init__(self, collection: Collection, source: str, clock: Clock):
        self.collection = collection
        self.source = source
        self.clock = clock
        collection.ensure_index([PENDING])

    def event(self, type_: str, subject: str, data: dict[str, Any]) -> dict:
        return events.make(type_, subject, data, source=self.source, time=self.clock.now())

    def add(self, doc: Document, new_events: Sequence[dict] = ()) -> Document:
        doc[VERSION] = 1
        _stage(doc, new_events)
        self.collection.insert(doc)
        return doc

    def save(self, doc: Document, new_events: Sequence[dict] = ()) -> Document:
        """Write doc if nobody else has since it was read; bump its version."""
        expected = doc[VERSION]
        doc[VERSION] = expected + 1
        _stage(doc, new_events)
        if not self.collection.replace(doc, expected_version=expected):
            doc[VERSION] = expected
            raise VersionConflict(doc["_id"], expected)
        return doc


def _stage(doc: Document, new_events: Sequence[dict]) -> None:
    pending = list(doc.get(OUTBOX) or [])
    pending.extend(new_events)
    doc[OUTBOX] = pending
    doc[PENDING] = bool(pending)


def public(doc: Document) -> Document:
    """The document without its bookkeeping fields."""
    return {key: value for key, value in doc.items() if key not in (OUTBOX, PENDING)}


class Relay:
    """Publishes pending outbox events of the given collections to their topics."""

    def __init__(self, routes: Sequence[tuple[Collection, str]], producer: Producer, batch: int = 200):
        self.routes = routes
        self.producer = producer
        self.batch = batch

    def run_once(self) -> int:
        published = 0
        for collection, topic in self.routes:
            docs = collection.find({PENDING: True}, limit=self.batch)
            items = [
                (topic, envelope["subject"], events.encode(envelope))
                for doc in docs
                for envelope in doc.get(OUTBOX) or []
            ]
            self.producer.publish_all(items)
            collection.update_each(
                [({"_id": doc["_id"], VERSION: doc[VERSION]}, {OUTBOX: [], PENDING: False}) for doc in docs]
            )
            published += len(items)
        return published

    def run(self, stop: threading.Event, idle_seconds: float = 0.2) -> None:
        failures = 0
        while not stop.is_set():
            try:
                published = self.run_once()
                failures = 0
            except (BusUnavailable, StoreUnavailable) as exc:
                failures += 1
                log.warning("outbox relay waiting", extra={"error": str(exc), "attempt": failures})
                stop.wait(min(30.0, 0.5 * 2 ** min(failures, 6)))
                continue
            if not published:
                stop.wait(idle_seconds)
