"""A bus whose topics all carry a prefix; callers keep using the plain names."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Generic, TypeVar

from .base import Bus, Consumer, Message, Producer

T = TypeVar("T")


@dataclass(eq=False)
class _Prefixed(Generic[T]):
    """A wrapper of the bus, or of one of its producers or consumers, that prefixes topic names."""

    inner: T
    prefix: str

    def _topic(self, name: str) -> str:
        return self.prefix + name


class PrefixedBus(_Prefixed[Bus]):
    def producer(self) -> Producer:
        return _Producer(self.inner.producer(), self.prefix)

    def consumer(self, group: str, topics: Sequence[str]) -> Consumer:
        return _Consumer(self.inner.consumer(group, [self._topic(t) for t in topics]), self.prefix)

    def ensure_topics(self, topics: Sequence[str]) -> None:
        self.inner.ensure_topics([self._topic(t) for t in topics])

    def ping(self) -> None:
        self.inner.ping()


class _Producer(_Prefixed[Producer]):
    def publish(self, topic: str, key: str, value: bytes) -> None:
        self.inner.publish(self._topic(topic), key, value)

    def publish_all(self, items: Sequence[tuple[str, str, bytes]]) -> None:
        self.inner.publish_all([(self._topic(topic), key, value) for topic, key, value in items])

    def close(self) -> None:
        self.inner.close()


class _Consumer(_Prefixed[Consumer]):
    def _outer(self, message: Message) -> Message:
        return replace(message, topic=message.topic.removeprefix(self.prefix))

    def _inner(self, message: Message) -> Message:
        return replace(message, topic=self._topic(message.topic))

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
