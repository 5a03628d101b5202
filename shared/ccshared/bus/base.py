"""The event bus port: keyed, ordered-per-key topics with consumer groups."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol


class BusUnavailable(Exception):
    """The broker or log cannot be reached; the caller should retry later."""


@dataclass(frozen=True)
class Message:
    topic: str
    partition: int
    offset: int
    key: str | None
    value: bytes
    timestamp: float | None = None  # when the log took it (seconds since the epoch), if known


class Producer(Protocol):
    def publish(self, topic: str, key: str, value: bytes) -> None:
        """Write one message durably; raise BusUnavailable if it may not be written."""

    def publish_all(self, items: Sequence[tuple[str, str, bytes]]) -> None:
        """Write (topic, key, value) items in order; return only when all are durable."""

    def close(self) -> None: ...


class Consumer(Protocol):
    def poll(self, timeout: float, max_messages: int = 100) -> list[Message]:
        """Messages after this group's position, in order per partition."""

    def commit(self, messages: Iterable[Message]) -> None:
        """Record that these messages (and all before them) are handled."""

    def rewind(self, message: Message) -> None:
        """Deliver this message (and its successors) again on the next poll."""

    def lag(self) -> dict[tuple[str, int], int]:
        """Messages after this consumer's position, per (topic, partition) it owns now.

        Raise BusUnavailable when the log cannot say; metrics only, never blocks for long.
        """

    def close(self) -> None: ...


class Bus(Protocol):
    def producer(self) -> Producer: ...

    def consumer(self, group: str, topics: Sequence[str]) -> Consumer: ...

    def ensure_topics(self, topics: Sequence[str]) -> None: ...

    def ping(self) -> None:
        """Raise BusUnavailable unless the bus answers."""
