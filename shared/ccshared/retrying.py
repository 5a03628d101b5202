"""Waiting out an outage of the store or the bus: one backoff and one retry loop for every worker.

A worker never dies of an outage: it logs a warning, waits a little longer each
time (with jitter, so replicas do not retry in step) and tries again, until the
outage ends or the process is asked to stop.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

from .bus import BusUnavailable
from .hints import STOP_CHECK_SECONDS, Hints, pause
from .store import StoreUnavailable

log = logging.getLogger(__name__)
T = TypeVar("T")

TRANSIENT = (StoreUnavailable, BusUnavailable)


def doubling(tries: int, base: float, cap: float) -> float:
    """The one backoff schedule: `base` after the first failed try, then twice as long after
    each next one, never more than `cap` (an outage here, a notice's or a partner feed's retries)."""
    return min(cap, base * 2 ** min(max(tries - 1, 0), 30))


def backoff_seconds(attempt: int, base: float = 0.2, cap: float = 30.0) -> float:
    """The wait before try number `attempt + 1`: doubling from `base` up to `cap`, jittered."""
    return doubling(attempt + 1, base, cap) * random.uniform(0.5, 1.0)


class Outage:
    """The failures in a row of one loop that keeps going: `wait` after each, `over` after a success."""

    def __init__(self, message: str):
        self.message = message
        self.attempts = 0

    def wait(self, stop: threading.Event, error: Exception) -> None:
        self.attempts += 1
        log.warning(self.message, extra={"error": str(error), "attempt": self.attempts})
        stop.wait(backoff_seconds(self.attempts))

    def over(self) -> None:
        self.attempts = 0


def until_done(
    stop: threading.Event, action: Callable[[], T], message: str = "waiting for an outage to end"
) -> T | None:
    """Run `action` until it gets through an outage; None if the process is stopped first."""
    outage = Outage(message)
    while not stop.is_set():
        try:
            return action()
        except TRANSIENT as exc:
            outage.wait(stop, exc)
    return None


def every(
    stop: threading.Event,
    seconds: float | Callable[[T], float],
    action: Callable[[], T],
    message: str = "periodic task waiting for an outage to end",
    again_at_once: Callable[[T], bool] = lambda _: False,
    woken: threading.Event | None = None,
) -> None:
    """The one periodic-task loop: run `action` every `seconds` until the process stops.

    An outage is waited out with the backoff above, not a whole period, so the task resumes
    soon after the store or bus is back; `again_at_once(result)` runs it again without
    waiting (a batch that came back full). `seconds` may be a function of the result: the
    wait it calls for (the SLA scanner sleeps until the next clock falls due, the partner
    import until its next feed is). Setting `woken` cuts a wait short (a clock changed).
    """
    outage = Outage(message)
    while not stop.is_set():
        try:
            result = action()
            outage.over()
        except TRANSIENT as exc:
            outage.wait(stop, exc)
            continue
        if not again_at_once(result):
            sleep(stop, woken, seconds(result) if callable(seconds) else seconds)


def sleep(stop: threading.Event, woken: threading.Event | None, seconds: float) -> None:
    """Wait `seconds`, or less if woken or stopped; a stop is looked at every STOP_CHECK_SECONDS
    (the SLA monitor's first scan waits so for its consumer to catch up)."""
    if woken is None:
        stop.wait(seconds)
        return
    deadline = time.monotonic() + seconds
    while not (stop.is_set() or woken.is_set()):
        left = deadline - time.monotonic()
        if left <= 0:
            return
        woken.wait(min(left, STOP_CHECK_SECONDS))


def hinted_loop(
    stop: threading.Event,
    message: str,
    *,
    hints: Hints | None,
    hinted: Callable[[], object],
    sweep: Callable[[], bool],
    sweep_seconds: float,
    chores: Sequence[tuple[float, Callable[[], object]]] = (),
    linger: float = 0.0,
) -> None:
    """The loop of a worker that acts at once on work hinted to it and sweeps for the rest
    (the outbox relay, the notifier's and the webhooks' delivery; ccshared.hints).

    Each round runs every chore whose period (seconds) has passed, then `hinted`, then
    `sweep` when due: again at once when it returns True (its batch came back full), else
    `sweep_seconds` later. Between rounds it waits for a hint or the next due instant. An
    outage is waited out with the backoff above, as `every` does.
    """
    outage = Outage(message)
    next_chore = [0.0] * len(chores)
    next_sweep = 0.0
    while not stop.is_set():
        try:
            for index, (seconds, chore) in enumerate(chores):
                if time.monotonic() >= next_chore[index]:
                    # Due again a period on even if it fails now: a chore (a backlog count, say)
                    # must never keep the loop from its work.
                    next_chore[index] = time.monotonic() + seconds
                    chore()
            hinted()
            if time.monotonic() >= next_sweep:
                full = sweep()
                next_sweep = time.monotonic() + (0.0 if full else sweep_seconds)
            outage.over()
        except TRANSIENT as exc:
            outage.wait(stop, exc)
            continue
        pause(stop, hints, min(next_sweep, *next_chore) - time.monotonic(), linger)
