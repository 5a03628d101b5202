"""The intake hands what it records straight to delivery in the same worker.

Delivery's query for due mail is the sweep for what no hand-off named (retries, mail
recorded by another process); a new breach must not wait for it.
"""

from __future__ import annotations

import threading
from pathlib import Path

from ccshared import events
from ccshared.hints import Hints
from notifier import bootstrap
from notifier_testkit import sla_event, wire

from tests.infra.waiting import wait_for

NEVER = 3600.0  # a sweep or housekeeping interval longer than any test


def test_a_recorded_breach_is_sent_at_once_not_at_the_next_sweep(tmp_path: Path):
    notifier = wire(tmp_path)
    recorded = Hints()
    intake = bootstrap.intake(notifier.settings, notifier.store, notifier.clock, recorded)
    delivery = bootstrap.delivery(
        notifier.settings, notifier.store, notifier.bus.producer(), notifier.clock, recorded=recorded
    )
    delivery.sweep_seconds = delivery.housekeeping_seconds = NEVER
    sweeps: list[tuple[int, bool]] = []
    sweep = delivery.send_due

    def counted(batch: int = 50) -> tuple[int, bool]:
        sweeps.append(sweep(batch))
        return sweeps[-1]

    delivery.send_due = counted

    stop = threading.Event()
    worker = threading.Thread(target=delivery.run, args=(stop,))
    worker.start()
    try:
        wait_for(
            lambda: len(sweeps) == 1, 30, "the start-up sweep"
        )  # the start-up sweep, which found nothing
        intake.notify(events.decode(events.encode(sla_event())))
        mail_dir = notifier.settings.delivery.mail_dir
        wait_for(lambda: len(list(mail_dir.glob("*.eml"))) == 2, 30, "two mails")
    finally:
        stop.set()
        worker.join(timeout=20)
    assert sweeps == [(0, False)]
    assert {n.status for n in notifier.notifications.search()} == {"sent"}


def test_hints_come_back_once_each_in_the_order_written():
    hints = Hints()
    for key in ("b", "a", "b", "c"):
        hints.add(key)
    assert hints.wait(0.0)
    assert hints.take() == ["b", "a", "c"]
    assert hints.take() == []
    assert not hints.wait(0.01)
