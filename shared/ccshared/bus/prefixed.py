"""A bus whose topics all carry a prefix; callers keep using the plain names."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from .base import Bus, Consumer, Message, Producer


class PrefixedBus:
    def __init__(self, inner: Bus, prefix: str):
        self.inner = inner
        self.prefix = prefix

    def producer(self) -> Producer:
        return _Producer(self.inner.producer(), self.prefix)

    def consumer(self, group: str, topics: Sequence[str]) -> Consumer:
        return _Consumer(self.inner.consumer(group, [self.prefix + t for t in topics]), self.prefix)

    def ensure_topics(self, topics: Sequence[str]) -> None:
        self.inner.ensure_topics([self.prefix + t for t in topics])

    def ping(self) -> None:
        self.inner.ping()


class _Producer:
    def __init__(self, inner: Producer, prefix: str):
        self.inner = inner
        self.prefix = prefix

    def publish(self, topic: str, key: str, value: bytes) -> None:
        self.inner.publish(self.prefix + topic, key, value)

    def publish_all(self, items: Sequence[tuple[str, str, bytes]]) -> None:
        self.inner.publish_all([(self.prefix + topic, key, value) for topic, key, value in items])

    def close(self) -> None:
        self.inner.close()


class _Consumer:
    def __init__(self, inner: Consumer, prefix: str):
        self.inner = inner
        self.prefix = prefix

    def _outer(self, message: Message) -> Message:
        return replace(message, topic=message.topic.removeprefix(self.prefix))

    def _inner(self, message: Message) -> Message:
        return replace(message, topic=self.prefix + message.topic)

    def poll(self, timeout: float, max_messages: int = 100) -> list[Message]:
        return [self._outer(m) for m in self.inner.poll(timeout, max_messages)]

    def commit(self, messages: Iterable[Message]) -> None:
        self.inner.commit([self._inner(m) for m in messages])

    def rewind(self, message: Message) -> None:
        self.inner.rewind(self._inner(message))

    def lag(self) -> dict[tuple[str, int], int]:
        return {(topic.removeprefix(self.prefix), part): n for (topic, part), n in self.inner.lag().items()}

    def close(self) -> None:
        self.inner.close()
