"""Hand-offs inside one process from a writer to the loop that acts on what it wrote.

The outbox relay and the notifier's delivery find their work with a query
(pending events, notifications due). Run often, that query is most of the
database's load, and on a store without secondary indexes (FerretDB v1) it
reads the whole collection each time. A writer that knows the loop lives in
its own process hints the ids it wrote instead; the loop reads those by id at
once and keeps its query for a slower sweep, which still finds whatever a
hint missed: work written by another process, or before a crash.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Hashable, Iterator
from contextlib import contextmanager

STOP_CHECK_SECONDS = 1.0  # the longest a loop waiting here goes without looking at its stop


class Hints:
    """Keys written since the loop last looked, in the order written, each once."""

    def __init__(self) -> None:
        self._keys: dict[Hashable, None] = {}
        self._lock = threading.Lock()
        self._arrived = threading.Event()
        self._held = threading.local()

    def add(self, key: Hashable) -> None:
        held = getattr(self._held, "keys", None)
        if held is not None:
            held.append(key)
            return
        with self._lock:
            self._keys[key] = None
        self._arrived.set()

    @contextmanager
    def held(self) -> Iterator[None]:
        """Keep the keys this thread adds in the block until it ends, then add them: for
        writes in a transaction, which the loop could not read before it commits."""
        self._held.keys = keys = []
        try:
            yield
        finally:
            self._held.keys = None
            for key in keys:
                self.add(key)

    def take(self) -> list[Hashable]:
        """Every key added since the last take, oldest first."""
        with self._lock:
            keys, self._keys = list(self._keys), {}
            self._arrived.clear()
        return keys

    def wait(self, timeout: float, linger: float = 0.0) -> bool:
        """Block until a key is added or timeout seconds pass; True if keys are waiting.

        With linger, wait that much longer once a key has come, so that the keys of a
        burst (one consumer batch, say) are taken, and acted on, together.
        """
        arrived = self._arrived.wait(max(0.0, timeout))
        if arrived and linger > 0:
            time.sleep(linger)
        return arrived


def pause(stop: threading.Event, hints: Hints | None, seconds: float, linger: float = 0.0) -> None:
    """A loop's wait before its next round: until hints arrive (if it has any) or `seconds` pass.

    Never longer than STOP_CHECK_SECONDS, so the caller's `while not stop.is_set()` notices a stop.
    """
    seconds = min(seconds, STOP_CHECK_SECONDS)
    if hints is None:
        stop.wait(seconds)
    else:
        hints.wait(seconds, linger)
