"""Transactional outbox: an aggregate's new events ride inside its own document.

A state change and the events it causes are one single-document write (atomic
on MongoDB, FerretDB and SQLite alike). The relay publishes pending events and
then clears them with a compare-and-set on `_version`; a relay killed between
the two publishes them again on restart, which consumers absorb by event id.
Clearing does not bump `_version`, so it never turns a user's edit into a
conflict. The relay reports its backlog (events waiting, and the age of the
oldest among the first batch) to the shared gauges in ccshared.metrics.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from . import events, metrics, tracing
from .bus import Producer
from .hints import Hints
from .retrying import hinted_loop
from .store import Collection, Document
from .timeutil import Clock

log = logging.getLogger(__name__)

OUTBOX = "_outbox"
PENDING = "_outbox_pending"
VERSION = "_version"
# How long the relay waits after a hint for the rest of a burst, so it goes out as one
# batch. 10 ms, not 50: in the breach storm the 50 ms linger was the whole p50 of due ->
# breach event (docs/benchmarks.md, "Due -> breach event: where the time goes").
HINT_LINGER_SECONDS = 0.01


class VersionConflict(Exception):
    """The document changed since it was read (optimistic concurrency)."""

    def __init__(self, doc_id: str, expected: int):
        self.doc_id = doc_id
        self.expected = expected
        super().__init__(f"{doc_id} is no longer at version {expected}")


class AggregateStore:
    """Writes aggregate documents together with the events they raise."""

    def __init__(self, collection: Collection, source: str, clock: Clock, hints: Hints | None = None):
        self.collection = collection
        self.source = source
        self.clock = clock
        self.hints = hints
        collection.ensure_index([PENDING])

    def event(self, type_: str, subject: str, data: dict[str, Any]) -> dict:
        return events.make(type_, subject, data, source=self.source, time=self.clock.now())

    def add(self, doc: Document, new_events: Sequence[dict] = ()) -> Document:
        doc[VERSION] = 1
        _stage(doc, new_events)
        self.collection.insert(doc)
        self._staged(doc)
        return doc

    def save(self, doc: Document, new_events: Sequence[dict] = ()) -> Document:
        """Write doc if nobody else has since it was read; bump its version."""
        expected = doc[VERSION]
        doc[VERSION] = expected + 1
        _stage(doc, new_events)
        if not self.collection.replace(doc, expected_version=expected):
            doc[VERSION] = expected
            raise VersionConflict(doc["_id"], expected)
        self._staged(doc)
        return doc

    def _staged(self, doc: Document) -> None:
        """Tell this process's relay, if it listens, that doc has events to publish."""
        if self.hints is not None and doc[PENDING]:
            self.hints.add((self.collection.name, doc["_id"]))


def _stage(doc: Document, new_events: Sequence[dict]) -> None:
    pending = list(doc.get(OUTBOX) or [])
    pending.extend(new_events)
    doc[OUTBOX] = pending
    doc[PENDING] = bool(pending)


def public(doc: Document) -> Document:
    """The document without its bookkeeping fields."""
    return {key: value for key, value in doc.items() if key not in (OUTBOX, PENDING)}


class Relay:
    """Publishes pending outbox events of the given collections to their topics.

    Given the Hints that this process's AggregateStores report staged documents
    to, it publishes those at once, reading them by id, and sweeps for pending
    documents only every `sweep_seconds`. Without hints the sweep is all it has,
    so keep that short.
    """

    def __init__(
        self,
        routes: Sequence[tuple[Collection, str]],
        producer: Producer,
        batch: int = 200,
        hints: Hints | None = None,
        sweep_seconds: float = 0.2,
    ):
        self.routes = routes
        self.producer = producer
        self.batch = batch
        self.hints = hints
        self.sweep_seconds = sweep_seconds

    def run_once(self) -> int:
        """Publish what was hinted, then sweep each collection once; return events published."""
        return self.publish_hinted() + self.sweep()[0]

    def publish_hinted(self) -> int:
        if self.hints is None:
            return 0
        wanted: dict[str, list[Any]] = {}
        for name, doc_id in self.hints.take():  # type: ignore[misc]
            wanted.setdefault(name, []).append(doc_id)
        published = 0
        for collection, topic in self.routes:
            ids = wanted.get(collection.name, [])
            for start in range(0, len(ids), self.batch):
                docs = [collection.get(doc_id) for doc_id in ids[start : start + self.batch]]
                published += self._publish(
                    collection, topic, [doc for doc in docs if doc and doc.get(PENDING)]
                )
        return published

    def sweep(self) -> tuple[int, bool]:
        """One batch of pending documents per collection: (events published, whether a batch was full)."""
        published, full = 0, False
        for collection, topic in self.routes:
            docs = collection.find({PENDING: True}, limit=self.batch)
            published += self._publish(collection, topic, docs)
            full = full or len(docs) >= self.batch
        return published, full

    def _publish(self, collection: Collection, topic: str, docs: list[Document]) -> int:
        envelopes = [envelope for doc in docs for envelope in doc.get(OUTBOX) or []]
        spans, items = [], []
        for envelope in envelopes:
            traced = _publish_span(topic, envelope)
            if traced is not None:
                spans.append(traced[0])
                envelope = {**envelope, tracing.TRACEPARENT: traced[1]}
            items.append((topic, envelope["subject"], events.encode(envelope)))
        try:
            self.producer.publish_all(items)
        except BaseException as exc:
            tracing.end(spans, exc)
            raise
        tracing.end(spans)
        collection.update_each(
            [({"_id": doc["_id"], VERSION: doc[VERSION]}, {OUTBOX: [], PENDING: False}) for doc in docs]
        )
        if items:
            metrics.EVENTS_PUBLISHED.labels(topic).inc(len(items))
        return len(items)

    def report_metrics(self) -> None:
        """Set each collection's backlog gauges: events waiting, and the oldest one's age.

        The age is that of the oldest event among the first `batch` pending documents
        (no index orders them by age); a backlog that large is old anyway.
        """
        now = time.time()
        for collection, _ in self.routes:
            docs = collection.find({PENDING: True}, limit=self.batch)
            waiting = sum(len(doc.get(OUTBOX) or []) for doc in docs)
            if len(docs) >= self.batch:
                waiting += collection.count({PENDING: True}) - len(docs)  # about one event each
            times = [_instant(envelope.get("time")) for doc in docs for envelope in doc.get(OUTBOX) or []]
            known = [t for t in times if t is not None]
            metrics.OUTBOX_PENDING.labels(collection.name).set(waiting)
            metrics.OUTBOX_OLDEST_AGE.labels(collection.name).set(
                max(0.0, now - min(known)) if known else 0.0
            )

    def run(self, stop: threading.Event) -> None:
        hinted_loop(
            stop,
            "outbox relay waiting",
            hints=self.hints,
            hinted=self.publish_hinted,
            sweep=lambda: self.sweep()[1],
            sweep_seconds=self.sweep_seconds,
            chores=[(metrics.REFRESH_SECONDS, self.report_metrics)],
            linger=HINT_LINGER_SECONDS,
        )


def _publish_span(topic: str, envelope: dict) -> tuple[tracing.Span, str] | None:
    """A publish span, child of the span that staged the event (its traceparent, kept in the
    outbox); the event goes out carrying the publish span's context instead, so its consumers'
    spans follow the publish."""
    return tracing.start_child(
        f"publish {envelope['type']}",
        envelope.get(tracing.TRACEPARENT),
        kind=tracing.PRODUCER,
        attributes={
            "messaging.operation.type": "publish",
            "messaging.destination.name": topic,
            "cc.event.type": envelope["type"],
        },
    )


def _instant(text: object) -> float | None:
    try:
        return datetime.fromisoformat(str(text)).timestamp()
    except ValueError:
        return None
