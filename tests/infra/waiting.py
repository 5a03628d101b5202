"""Waiting on the bus with a deadline, never a fixed sleep."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from ccshared.bus import Consumer, Message

T = TypeVar("T")


def drain(consumer: Consumer, want: int, deadline_s: float = 60.0) -> list[Message]:
    """Poll until `want` messages arrived or the deadline passed."""
    got: list[Message] = []
    deadline = time.monotonic() + deadline_s
    while len(got) < want and time.monotonic() < deadline:
        got.extend(consumer.poll(0.5))
    return got


def drain_quiet(
    consumer: Consumer, want: int, deadline_s: float = 60.0, quiet_s: float = 2.0
) -> list[Message]:
    """Like drain, then keep polling for `quiet_s` to catch any unexpected extra message."""
    got = drain(consumer, want, deadline_s)
    end = time.monotonic() + quiet_s
    while time.monotonic() < end:
        got.extend(consumer.poll(0.3))
    return got


def wait_for(
    condition: Callable[[], T], deadline_s: float, what: str | Callable[[], str], interval: float = 0.2
) -> T:
    """Poll until condition returns something truthy and return it; fail naming what was awaited
    (`what`, or what it returns when called at the deadline: say the last thing seen)."""
    deadline = time.monotonic() + deadline_s
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            said = what() if callable(what) else what
            raise TimeoutError(f"gave up after {deadline_s:.0f}s waiting for {said}")
        time.sleep(interval)
