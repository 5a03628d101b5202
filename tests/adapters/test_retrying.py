"""The one periodic-task loop every worker uses: an outage delays it, never ends it."""

from __future__ import annotations

import threading

from ccshared.retrying import every, hinted_loop
from ccshared.store import StoreUnavailable

from tests.infra.waiting import wait_for


def _run(action, **kwargs) -> tuple[threading.Event, threading.Thread]:
    stop = threading.Event()
    thread = threading.Thread(target=every, args=(stop, 3600.0, action), kwargs=kwargs, daemon=True)
    thread.start()
    return stop, thread


def test_an_outage_is_retried_soon_not_a_whole_period_later():
    calls: list[str] = []

    def action() -> int:
        calls.append("try")
        if len(calls) < 3:
            raise StoreUnavailable("the store is down")
        return 0

    stop, thread = _run(action)
    try:
        # The period is an hour: only the outage backoff (well under 5 s) can bring three tries.
        wait_for(lambda: len(calls) >= 3, 10, "the task to get through a two-try outage")
    finally:
        stop.set()
        thread.join(5)
    assert not thread.is_alive()


def test_a_full_batch_runs_again_at_once_and_a_short_one_waits_the_period():
    batches = [100, 100, 7, 100]
    taken: list[int] = []

    def action() -> int:
        taken.append(batches[len(taken)])
        return taken[-1]

    stop, thread = _run(action, again_at_once=lambda size: size >= 100)
    try:
        wait_for(lambda: len(taken) >= 3, 10, "three batches back to back")
        thread.join(0.5)
        assert taken == [100, 100, 7], "the short batch must wait the period"
    finally:
        stop.set()
        thread.join(5)
    assert not thread.is_alive()


def test_a_wait_set_by_the_result_is_cut_short_when_woken():
    """The SLA scanner's way: sleep until the next clock falls due, unless a clock changes first."""
    woken = threading.Event()
    rounds: list[float] = []

    def action() -> float:
        woken.clear()  # the action clears it, so that only a change after it started wakes the wait
        rounds.append(0.01 if not rounds else 3600.0)
        return rounds[-1]

    stop = threading.Event()
    thread = threading.Thread(
        target=every, args=(stop, lambda wait: wait, action), kwargs={"woken": woken}, daemon=True
    )
    thread.start()
    try:
        # The first round asks for a 10 ms wait, the second for an hour.
        wait_for(lambda: len(rounds) >= 2, 10, "the round after a 10 ms wait")
        thread.join(0.5)
        assert len(rounds) == 2, "the hour-long wait must hold until woken"
        woken.set()
        wait_for(lambda: len(rounds) >= 3, 10, "the round the wake-up brings")
    finally:
        stop.set()
        thread.join(5)
    assert not thread.is_alive()


def test_an_error_that_is_not_an_outage_is_not_swallowed():
    errors: list[BaseException] = []

    def action() -> int:
        raise ValueError("a bug, not an outage")

    stop = threading.Event()

    def run() -> None:
        try:
            every(stop, 3600.0, action)
        except ValueError as exc:
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(5)
    assert [str(e) for e in errors] == ["a bug, not an outage"]


def test_a_failing_chore_never_keeps_a_hinted_loop_from_its_work():
    """A chore that keeps failing (a backlog count timing out, say) waits its period; the
    hinted work and the sweep go on in between."""
    chores: list[str] = []
    hinted: list[str] = []
    sweeps: list[str] = []

    def count_backlog() -> None:
        chores.append("try")
        raise StoreUnavailable("the count timed out")

    stop = threading.Event()
    thread = threading.Thread(
        target=hinted_loop,
        args=(stop, "test loop waiting"),
        kwargs={
            "hints": None,
            "hinted": lambda: hinted.append("hint"),
            "sweep": lambda: sweeps.append("sweep") is not None,  # never full
            "sweep_seconds": 0.05,
            "chores": [(3600.0, count_backlog)],
        },
        daemon=True,
    )
    thread.start()
    try:
        wait_for(lambda: len(sweeps) >= 3 and len(hinted) >= 3, 10, "sweeps while the chore fails")
    finally:
        stop.set()
        thread.join(5)
    assert not thread.is_alive()
    assert chores == ["try"], "a failed chore waits its period, not the next round"
