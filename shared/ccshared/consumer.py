"""The idempotent consumer loop shared by every service.

- A message that is not a valid event of a known type goes to the dead-letter
  topic with the reason, and the loop goes on.
- Events already handled (by event id, per consumer) are skipped.
- Offsets are committed only after the handler has written its state.
- A store or bus outage rewinds and backs off: work is delayed, never dropped.
- Any other handler error is retried a bounded number of times, then the event
  goes to the dead-letter topic: an explicit terminal status, never silence.
- Its lag per partition and the age of the oldest event it has read and not
  yet handled go to the shared gauges (ccshared.metrics) every few seconds.
  Each poll that reaches the bus stamps its heartbeat gauge: those figures come
  from this loop's own thread, so when it hangs they stand still, and only the
  time since its last poll shows it.
- The markers of handled events are kept for `keep_processed`, then pruned (at
  start and about hourly): the stores have no TTL index we can rely on (FerretDB
  has none), so the loop deletes them itself.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import timedelta

from prometheus_client import Counter

from . import events, metrics, tracing
from .bus import Bus, BusUnavailable, Consumer, Message, Producer
from .contracts import DEAD_LETTER_TOPIC
from .retrying import TRANSIENT, backoff_seconds, until_done
from .store import Collection, StoreError, StoreUnavailable, insert_new
from .timeutil import Clock, SystemClock, to_str

log = logging.getLogger(__name__)

CONSUMED = Counter("cc_events_consumed_total", "Events taken off the bus", ["consumer", "type", "outcome"])

Handler = Callable[[events.Event], None]
PRUNE_EVERY_SECONDS = 3600.0


def join_group(stop: threading.Event, bus: Bus, group: str, topics: Sequence[str]) -> Consumer | None:
    """Join `group` on `topics` once the bus is up, the topics (and the dead-letter topic the
    loop writes to) made first; None if the process is stopped while the bus is still away."""

    def join() -> Consumer:
        bus.ensure_topics([*topics, DEAD_LETTER_TOPIC])
        return bus.consumer(group, list(topics))

    return until_done(stop, join, "waiting for the event bus")


class Rejected(Exception):
    """A handler's verdict that an event can never be handled; it goes to dead letters."""


class ConsumerLoop:
    def __init__(
        self,
        *,
        name: str,
        consumer: Consumer,
        handlers: Mapping[str, Handler],
        dead_letters: Producer,
        processed: Collection,
        max_attempts: int = 5,
        clock: Clock | None = None,
        keep_processed: timedelta = timedelta(days=30),
        batch: Callable[[], AbstractContextManager[None]] | None = None,
    ):
        """`batch`: what groups the writes of one polled batch (a store's `batch`); the
        offsets are committed only after it has committed them."""
        if keep_processed <= timedelta(0):
            raise ValueError("keep_processed must be positive")
        self.name = name
        self.consumer = consumer
        self.handlers = handlers
        self.dead_letters = dead_letters
        self.processed = processed
        self.max_attempts = max_attempts
        self.clock = clock or SystemClock()
        self.keep_processed = keep_processed
        self.batch = batch or nullcontext
        self._attempts: dict[tuple[str, int, int], int] = {}
        self._outages = 0
        self._next_prune: float | None = None  # time.monotonic(); None: at the first chance
        self._next_metrics: float | None = None  # likewise, for the lag and age gauges
        self._waiting: dict[tuple[str, int], float | None] = {}  # first unhandled message's log time
        self._reported: set[tuple[str, int]] = set()
        metrics.DEAD_LETTERS.labels(name)  # exported as 0 from the start: the first one is an increase
        self._polled()  # from the start too: a loop that never gets to poll ages like a stuck one
        self._indexed = self._ensure_index()

    def run(self, stop: threading.Event, poll_seconds: float = 0.5) -> None:
        try:
            while not stop.is_set():
                self._prune_when_due()
                delay = self.run_once(poll_seconds)
                if delay:
                    stop.wait(delay)
        finally:
            self.consumer.close()

    def prune(self) -> int:
        """Delete this consumer's markers older than keep_processed; return how many.

        A redelivery older than that is handled again, which handlers must allow
        anyway (the marker check is only a fast path).
        """
        cutoff = to_str(self.clock.now() - self.keep_processed)
        mine = "^" + re.escape(f"{self.name}:")
        deleted = self.processed.delete({"_id": {"$regex": mine}, "at": {"$lt": cutoff}})
        if deleted:
            log.info(
                "pruned processed-event markers",
                extra={"consumer": self.name, "deleted": deleted, "cutoff": cutoff},
            )
        return deleted

    def _prune_when_due(self) -> None:
        now = time.monotonic()
        if self._next_prune is not None and now < self._next_prune:
            return
        self._next_prune = now + PRUNE_EVERY_SECONDS
        try:
            if not self._indexed:
                self._indexed = self._ensure_index()
            self.prune()
        except StoreUnavailable as exc:
            log.warning(
                "pruning processed-event markers failed; trying again later",
                extra={"consumer": self.name, "error": str(exc), "retry_in_seconds": PRUNE_EVERY_SECONDS},
            )
        except StoreError as exc:  # housekeeping must not stop the handling of events
            log.error(
                "pruning processed-event markers failed; trying again later",
                extra={"consumer": self.name, "error": str(exc), "retry_in_seconds": PRUNE_EVERY_SECONDS},
            )

    def _ensure_index(self) -> bool:
        """Index "at" for prune's range; an outage now is retried at the next prune."""
        try:
            self.processed.ensure_index(["at"])
            return True
        except StoreError as exc:
            log.warning(
                "cannot index processed-event markers yet",
                extra={"consumer": self.name, "error": str(exc)},
            )
            return False

    def run_once(self, poll_seconds: float = 0.5) -> float:
        """Handle one batch; return how long to wait before the next (0 when healthy)."""
        try:
            messages = self.consumer.poll(poll_seconds)
        except BusUnavailable as exc:
            self._report_when_due()
            return self._outage("poll", exc)
        self._polled()
        for message in messages:
            self._waiting.setdefault((message.topic, message.partition), message.timestamp)
        self._report_when_due()
        done: list[Message] = []
        outage: Exception | None = None
        retry = False
        try:
            with self.batch() if messages else nullcontext():
                for message in messages:
                    try:
                        retry = self._handle(message)
                    except TRANSIENT as exc:
                        outage = exc
                        break
                    if retry:
                        break
                    done.append(message)
        except TRANSIENT as exc:  # the batch's writes did not commit: none of it is done
            done, outage = [], exc
        left = messages[len(done) :]
        if left:
            self._rewind(left)
            self._commit(done)
            self._note_waiting(messages, left)
            if outage is not None:
                return self._outage("handle", outage)
            key = (left[0].topic, left[0].partition, left[0].offset)
            return backoff_seconds(self._attempts.get(key, 1))
        self._outages = 0
        self._note_waiting(messages, [])
        return 0.0 if self._commit(done) else backoff_seconds(1)

    def _note_waiting(self, batch: list[Message], left: list[Message]) -> None:
        """Remember, per partition of the batch, when its first message still to handle was logged."""
        for message in batch:
            self._waiting.pop((message.topic, message.partition), None)
        for message in left:
            self._waiting.setdefault((message.topic, message.partition), message.timestamp)

    def report_metrics(self) -> None:
        """Set the lag and oldest-unhandled-age gauges of the partitions this consumer owns.

        Partitions it reported before and owns no more drop to 0: their new owner reports them.
        """
        lag = getattr(self.consumer, "lag", None)
        if lag is None:
            return
        try:
            lags = lag()
        except BusUnavailable as exc:
            log.info("consumer lag unknown for now", extra={"consumer": self.name, "error": str(exc)})
            return
        now = self.clock.now().timestamp()
        for topic, partition in self._reported - set(lags):
            metrics.CONSUMER_LAG.labels(self.name, topic, str(partition)).set(0)
            metrics.CONSUMER_OLDEST_AGE.labels(self.name, topic, str(partition)).set(0)
        for (topic, partition), behind in lags.items():
            logged = self._waiting.get((topic, partition))
            age = max(0.0, now - logged) if logged is not None else 0.0
            metrics.CONSUMER_LAG.labels(self.name, topic, str(partition)).set(behind)
            metrics.CONSUMER_OLDEST_AGE.labels(self.name, topic, str(partition)).set(age)
        self._reported = set(lags)

    def _polled(self) -> None:
        metrics.CONSUMER_LAST_POLL.labels(self.name).set(self.clock.now().timestamp())

    def _report_when_due(self) -> None:
        now = time.monotonic()
        if self._next_metrics is not None and now < self._next_metrics:
            return
        self._next_metrics = now + metrics.REFRESH_SECONDS
        self.report_metrics()

    def _handle(self, message: Message) -> bool:
        """Handle one message; True when it should be tried again later."""
        try:
            event = events.decode(message.value)
        except events.InvalidEvent as exc:
            self._dead_letter(message, str(exc))
            CONSUMED.labels(self.name, "invalid", "dead_letter").inc()
            return False
        handler = self.handlers.get(event.type)
        if handler is None:
            CONSUMED.labels(self.name, event.type, "ignored").inc()
            return False
        marker = f"{self.name}:{event.id}"
        if self.processed.get(marker) is not None:
            CONSUMED.labels(self.name, event.type, "duplicate").inc()
            return False
        with self._span(message, event) as span:
            try:
                handler(event)
            except TRANSIENT:
                raise
            except Rejected as exc:
                tracing.failed(span, exc)
                self._dead_letter(message, f"rejected by {self.name}: {exc}")
                CONSUMED.labels(self.name, event.type, "dead_letter").inc()
                return False
            except Exception as exc:  # noqa: BLE001 - bounded retries, then dead letter
                tracing.failed(span, exc)
                return self._failed(message, event, exc)
            self._mark(marker, event)
        CONSUMED.labels(self.name, event.type, "handled").inc()
        return False

    def _span(self, message: Message, event: events.Event):  # noqa: ANN202 - a context manager
        """The handling span: a child of the publish span whose context the event carries, so
        what the handler stages (its events carry the handling span's context) follows on."""
        return tracing.span(
            f"{self.name} handle {event.type}",
            parent=event.traceparent,
            kind=tracing.CONSUMER,
            attributes={
                "messaging.operation.type": "process",
                "messaging.destination.name": message.topic,
                "messaging.consumer.group.name": self.name,
                "cc.event.type": event.type,
            },
        )

    def _failed(self, message: Message, event: events.Event, exc: Exception) -> bool:
        key = (message.topic, message.partition, message.offset)
        attempts = self._attempts.get(key, 0) + 1
        self._attempts[key] = attempts
        log.error(
            "handler failed",
            extra={
                "consumer": self.name,
                "event_id": event.id,
                "type": event.type,
                "attempt": attempts,
                "error": repr(exc),
            },
        )
        if attempts < self.max_attempts:
            return True
        self._attempts.pop(key, None)
        self._dead_letter(message, f"{self.name} failed {attempts} times: {exc!r}")
        CONSUMED.labels(self.name, event.type, "dead_letter").inc()
        return False

    def _mark(self, marker: str, event: events.Event) -> None:
        insert_new(self.processed, {"_id": marker, "type": event.type, "at": to_str(self.clock.now())})

    def _dead_letter(self, message: Message, reason: str) -> None:
        record = {
            "reason": reason,
            "consumer": self.name,
            "topic": message.topic,
            "partition": message.partition,
            "offset": message.offset,
            "key": message.key,
            "value": message.value.decode("utf-8", errors="replace"),
            "failed_at": to_str(self.clock.now()),
        }
        self.dead_letters.publish(DEAD_LETTER_TOPIC, message.key or "", json.dumps(record).encode())
        metrics.DEAD_LETTERS.labels(self.name).inc()
        log.warning(
            "message sent to dead letters",
            extra={
                "consumer": self.name,
                "topic": message.topic,
                "offset": message.offset,
                "reason": reason[:500],
            },
        )

    def _rewind(self, remaining: list[Message]) -> None:
        seen: set[tuple[str, int]] = set()
        for message in remaining:
            partition = (message.topic, message.partition)
            if partition not in seen:
                seen.add(partition)
                self.consumer.rewind(message)

    def _commit(self, done: list[Message]) -> bool:
        try:
            self.consumer.commit(done)
            return True
        except BusUnavailable as exc:
            log.warning("commit failed; events will be redelivered", extra={"error": str(exc)})
            return False

    def _outage(self, stage: str, exc: Exception) -> float:
        self._outages += 1
        log.warning(
            "consumer waiting for an outage to end",
            extra={"consumer": self.name, "stage": stage, "error": str(exc), "attempt": self._outages},
        )
        return backoff_seconds(self._outages)
