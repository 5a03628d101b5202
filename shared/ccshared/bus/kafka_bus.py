"""Apache Kafka adapter (kafka-python): keyed messages, consumer groups, manual commits."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError
from kafka.structs import OffsetAndMetadata

from .base import BusUnavailable, Message

log = logging.getLogger(__name__)

SEND_TIMEOUT_SECONDS = 30
DEFAULT_PARTITIONS = 6
LAG_TIMEOUT_MS = 2000
VISIBLE_WITHIN_SECONDS = 30.0


class KafkaBus:
    def __init__(self, bootstrap: list[str], partitions: int = DEFAULT_PARTITIONS):
        self.bootstrap = bootstrap
        self.partitions = partitions

    def producer(self) -> KafkaBusProducer:
        return KafkaBusProducer(self.bootstrap)

    def consumer(self, group: str, topics: Sequence[str]) -> KafkaBusConsumer:
        return KafkaBusConsumer(self.bootstrap, group, topics)

    def ensure_topics(self, topics: Sequence[str]) -> None:
        """Create the missing topics and return once the broker's metadata lists them all.

        create_topics returns when the controller has made a topic, a moment before the
        broker's metadata shows it: a consumer subscribing in that moment logs "Topic ...
        not found in cluster metadata" at error level, which alerts must be able to trust.
        """
        try:
            admin = KafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=15000)
        except KafkaError as exc:
            raise BusUnavailable(f"kafka admin: {exc}") from exc
        try:
            existing = set(admin.list_topics())
            wanted = [
                NewTopic(name, num_partitions=self.partitions, replication_factor=1)
                for name in topics
                if name not in existing
            ]
            if wanted:
                try:
                    admin.create_topics(wanted, timeout_ms=15000)
                except TopicAlreadyExistsError:
                    pass
            _wait_until_visible(admin, list(topics))
        except KafkaError as exc:
            raise BusUnavailable(f"kafka create topics: {exc}") from exc
        finally:
            admin.close()

    def ping(self) -> None:
        try:
            admin = KafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=3000)
        except KafkaError as exc:
            raise BusUnavailable(f"kafka: {exc}") from exc
        admin.close()


def _wait_until_visible(admin: KafkaAdminClient, topics: list[str]) -> None:
    """Wait (bounded) until the metadata has every topic with a leader for each partition."""
    give_up = time.monotonic() + VISIBLE_WITHIN_SECONDS
    while True:
        missing = set(topics) - _visible(admin.describe_topics(topics))
        if not missing:
            return
        if time.monotonic() > give_up:
            raise BusUnavailable(f"kafka topics {sorted(missing)} not in the metadata yet")
        time.sleep(0.1)


def _visible(described: list[dict]) -> set[str]:
    return {
        topic["name"]
        for topic in described
        if topic.get("error_code") == 0
        and topic.get("partitions")
        and all(part.get("leader_id", -1) >= 0 for part in topic["partitions"])
    }


class KafkaBusProducer:
    def __init__(self, bootstrap: list[str]):
        self.bootstrap = bootstrap
        self._producer: KafkaProducer | None = None

    def _client(self) -> KafkaProducer:
        if self._producer is None:
            try:
                self._producer = KafkaProducer(
                    bootstrap_servers=self.bootstrap,
                    acks="all",
                    linger_ms=5,
                    max_block_ms=10000,
                    request_timeout_ms=10000,
                    delivery_timeout_ms=25000,
                )
            except KafkaError as exc:
                raise BusUnavailable(f"kafka producer: {exc}") from exc
        return self._producer

    def publish(self, topic: str, key: str, value: bytes) -> None:
        self.publish_all([(topic, key, value)])

    def publish_all(self, items: Sequence[tuple[str, str, bytes]]) -> None:
        if not items:
            return
        client = self._client()
        try:
            futures = [client.send(topic, key=_encode(key), value=value) for topic, key, value in items]
            client.flush(timeout=SEND_TIMEOUT_SECONDS)
            for future in futures:
                future.get(timeout=SEND_TIMEOUT_SECONDS)
        except KafkaError as exc:
            self._discard()
            raise BusUnavailable(f"kafka publish failed: {exc!r}") from exc

    def _discard(self) -> None:
        """Give up on a producer whose sends failed, so the next publish starts afresh.

        After a broker outage kafka-python's idempotent producer can keep a failed batch
        incomplete for ever: every later flush times out, and an outbox relay on that
        producer never publishes again. Unsent events are still in the outbox.
        """
        producer, self._producer = self._producer, None
        if producer is None:
            return
        try:
            producer.close(timeout=0)
        except KafkaError:
            sender = getattr(producer, "_sender", None)  # close() gave up before stopping it
            if sender is not None:
                sender.force_close()

    def close(self) -> None:
        if self._producer is not None:
            self._producer.close(timeout=5)
            self._producer = None


class KafkaBusConsumer:
    def __init__(self, bootstrap: list[str], group: str, topics: Sequence[str]):
        self.group = group
        try:
            self._consumer = KafkaConsumer(
                *topics,
                bootstrap_servers=bootstrap,
                group_id=group,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                session_timeout_ms=10000,
                heartbeat_interval_ms=3000,
                max_poll_interval_ms=60000,
            )
        except KafkaError as exc:
            raise BusUnavailable(f"kafka consumer: {exc}") from exc

    def poll(self, timeout: float, max_messages: int = 100) -> list[Message]:
        try:
            batches = self._consumer.poll(timeout_ms=int(timeout * 1000), max_records=max_messages)
        except KafkaError as exc:
            raise BusUnavailable(f"kafka poll: {exc!r}") from exc
        messages = [
            Message(
                record.topic,
                record.partition,
                record.offset,
                _key(record.key),
                record.value,
                record.timestamp / 1000 if record.timestamp and record.timestamp > 0 else None,
            )
            for records in batches.values()
            for record in records
        ]
        return messages

    def commit(self, messages: Iterable[Message]) -> None:
        latest: dict[TopicPartition, int] = {}
        for message in messages:
            tp = TopicPartition(message.topic, message.partition)
            latest[tp] = max(latest.get(tp, -1), message.offset)
        if not latest:
            return
        offsets = {tp: OffsetAndMetadata(offset + 1, "", -1) for tp, offset in latest.items()}
        try:
            self._consumer.commit(offsets=offsets)
        except KafkaError as exc:
            raise BusUnavailable(f"kafka commit: {exc!r}") from exc

    def rewind(self, message: Message) -> None:
        tp = TopicPartition(message.topic, message.partition)
        try:
            self._consumer.seek(tp, message.offset)
        except (KafkaError, AssertionError, ValueError) as exc:
            log.warning("rewind skipped: partition no longer assigned", extra={"error": repr(exc)})

    def lag(self) -> dict[tuple[str, int], int]:
        """Log end minus position for each assigned partition, with short timeouts."""
        try:
            assigned = list(self._consumer.assignment())
            if not assigned:
                return {}
            ends = self._consumer.end_offsets(assigned, timeout_ms=LAG_TIMEOUT_MS)
            lags = {}
            for tp in assigned:
                position = self._consumer.position(tp, timeout_ms=LAG_TIMEOUT_MS)
                if position is not None and tp in ends:
                    lags[(tp.topic, tp.partition)] = max(0, ends[tp] - position)
            return lags
        except (KafkaError, AssertionError, ValueError) as exc:
            raise BusUnavailable(f"kafka lag: {exc!r}") from exc

    def close(self) -> None:
        self._consumer.close()


def _encode(key: str | None) -> bytes | None:
    return key.encode() if key is not None else None


def _key(raw: bytes | None) -> str | None:
    return raw.decode() if raw is not None else None
