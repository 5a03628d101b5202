"""The worker end to end on the embedded defaults: contact events in, sla events out.

Each "instance" is a full worker task set (consumer loop, scanner, freshness
checker, relay) with its own store and bus connections to the shared files,
as two processes on one machine would have.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from ccshared import bus as ccbus
from ccshared import contracts
from ccshared.config import ConfigError
from ccshared.timeutil import FixedClock
from sla_monitor import config
from sla_testkit import (
    Instance,
    SlaLog,
    check_pause_and_resume,
    check_reminders_once,
    check_targets_by_urgency_and_area,
    publish,
    received,
    responded,
)

from tests.infra.waiting import wait_for

MONDAY = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
MONDAY_DUE = datetime(2026, 6, 8, 22, 59, 59, tzinfo=UTC)


@pytest.fixture
def env(tmp_path) -> dict:
    return {
        "EVENT_BUS_URL": f"sqlite:///{tmp_path}/events.db",
        "STORE_URL": f"sqlite:///{tmp_path}/sla-monitor.db",
        "SLA_LATE_RECEIPT_GRACE_SECONDS": "1",
        # The tests move a FixedClock by hand, which a scanner sleeping until the next due
        # instant cannot see; it looks again at least this often.
        "SLA_SCAN_SECONDS": "0.2",
    }


@pytest.mark.parametrize("raw", ["0", "abc"])
def test_a_bad_processed_retention_is_refused_by_name(env, raw):
    with pytest.raises(ConfigError, match="PROCESSED_RETENTION_DAYS"):
        config.WorkerSettings.from_env(env | {"PROCESSED_RETENTION_DAYS": raw})
    assert config.WorkerSettings.from_env(env).processed_retention_days == 30
    assert (
        config.WorkerSettings.from_env(env | {"PROCESSED_RETENTION_DAYS": "90"}).processed_retention_days
        == 90
    )


@pytest.fixture
def running():
    started: list[Instance] = []

    def start(env: dict, clock=None) -> Instance:
        instance = Instance(config.WorkerSettings.from_env(env), clock)
        started.append(instance)
        return instance

    yield start
    for instance in started:
        instance.stop()


@pytest.fixture
def sla_log(env) -> SlaLog:
    bus = ccbus.connect(env["EVENT_BUS_URL"])
    return SlaLog(bus.consumer("test-reader", [contracts.SLA_TOPIC]))


@pytest.fixture
def contacts(env):
    producer = ccbus.connect(env["EVENT_BUS_URL"]).producer()
    return lambda envelopes: publish(producer, contracts.CONTACTS_TOPIC, envelopes)


def test_two_instances_emit_exactly_one_breach_per_overdue_contact(env, running, sla_log, contacts) -> None:
    now = datetime.now(UTC)
    long_ago = now - timedelta(days=30)
    overdue = [f"overdue-{n}" for n in range(20)]
    answered_in_time = [f"answered-{n}" for n in range(8)]
    not_yet_due = [f"fresh-{n}" for n in range(5)]
    batch = [received(c, long_ago) for c in overdue]
    for contact_id in answered_in_time:
        batch += [
            received(contact_id, long_ago),
            responded(contact_id, long_ago, long_ago + timedelta(days=1)),
        ]
    batch += [received(c, now) for c in not_yet_due]
    contacts(batch)

    running(env), running(env)
    sla_log.wait_until(
        lambda log: (
            set(log.ids_by_subject(contracts.SLA_BREACHED)) >= set(overdue)
            and set(log.ids_by_subject(contracts.SLA_MET)) >= set(answered_in_time)
        ),
        what="a breach for every overdue contact",
    )
    sla_log.settle(2.0)

    breaches = sla_log.ids_by_subject(contracts.SLA_BREACHED)
    assert {contact: len(ids) for contact, ids in breaches.items()} == dict.fromkeys(overdue, 1)
    assert {
        contact: len(ids) for contact, ids in sla_log.ids_by_subject(contracts.SLA_MET).items()
    } == dict.fromkeys(answered_in_time, 1)
    assert not set(sla_log.ids_by_subject(contracts.SLA_AT_RISK)) & set(not_yet_due)


def test_a_breach_is_emitted_within_a_second_of_its_due_instant(env, running, sla_log, contacts) -> None:
    clock = FixedClock(MONDAY)
    instance = running(env, clock)
    contacts([received("c1", MONDAY)])
    wait_for(lambda: instance.store.collection("clocks").get("c1"), 20, "the clock to start")
    clock.at = MONDAY_DUE + timedelta(seconds=1)
    started = time.monotonic()

    def breached() -> bool:
        sla_log.consumer.poll(0.02)
        sla_log.read()
        return bool(sla_log.subjects(contracts.SLA_BREACHED))

    wait_for(breached, 5, "the breach", interval=0)
    assert sla_log.subjects(contracts.SLA_BREACHED) == {"c1": 1}
    assert time.monotonic() - started < 1.0


def test_catch_up_on_start_emits_what_fell_due_while_down(env, running, sla_log, contacts) -> None:
    clock = FixedClock(MONDAY)
    first = running(env, clock)
    contacts([received("c1", MONDAY), received("c2", MONDAY, channel=contracts.TELEPHONE)])
    wait_for(
        lambda: first.store.collection("clocks").count({"state": "open"}) == 2, 20, "both clocks to start"
    )
    first.stop()
    clock.at = datetime(2026, 6, 5, 12, tzinfo=UTC)
    running(env, clock)
    sla_log.wait_until(
        lambda log: log.subjects(contracts.SLA_BREACHED) == {"c2": 1}, what="the telephone breach"
    )
    sla_log.settle(1.0)
    assert sla_log.subjects(contracts.SLA_BREACHED) == {"c2": 1}


def test_a_shorter_target_at_start_recomputes_open_clocks(env, running, sla_log, contacts) -> None:
    clock = FixedClock(MONDAY)
    first = running(env, clock)
    contacts([received("c1", MONDAY)])
    wait_for(lambda: first.store.collection("clocks").get("c1"), 20, "the clock to start")
    first.stop()
    clock.at = datetime(2026, 6, 3, 9, tzinfo=UTC)
    second = running({**env, "SLA_TARGET_LETTER": "1"}, clock)
    sla_log.wait_until(
        lambda log: log.subjects(contracts.SLA_BREACHED) == {"c1": 1}, what="the recomputed breach"
    )
    doc = second.store.collection("clocks").get("c1")
    assert (doc["due_at"], doc["target_working_days"]) == ("2026-06-02T22:59:59.000000Z", 1)


def test_urgency_and_area_closures_pick_and_move_deadlines(env, running, contacts) -> None:
    check_targets_by_urgency_and_area(running, env, contacts)


def test_a_pause_stands_the_clock_still_and_a_resume_moves_its_due_date(env, running, contacts) -> None:
    check_pause_and_resume(running, env, contacts)


def test_two_instances_and_a_restart_raise_each_reminder_once(env, running, contacts, sla_log) -> None:
    check_reminders_once(running, env, contacts, sla_log)


def test_a_late_receipt_breaches_as_its_grace_ends_not_at_the_next_poll(
    env, running, sla_log, contacts
) -> None:
    """The consumer's write wakes the scanner, which sleeps only until the clock falls due.

    The contact was received ten days ago, so its breach waits only for the 1-second
    late-receipt grace; the scanner's longest sleep is a minute, which a poll would wait.
    """
    running({**env, "SLA_SCAN_SECONDS": "60"})
    sla_log.settle(1.0)  # the scanner has looked once and gone to sleep
    contacts([received("late-1", datetime.now(UTC) - timedelta(days=10))])
    sla_log.wait_until(
        lambda log: log.subjects(contracts.SLA_BREACHED) == {"late-1": 1},
        20,
        "the breach as the grace ends, well before the next minute's poll",
    )


def test_a_breach_leaves_as_the_clock_passes_due_while_the_scanner_sleeps(env, running, sla_log) -> None:
    """A clock written by another process (here: straight into the store) falls due after
    the monitor's first scan; the scanner, whose longest sleep is a minute, wakes for it."""
    from ccshared import store as ccstore
    from ccshared.timeutil import SystemClock
    from sla_monitor.repository import repositories

    from benchmarks.clocks import fingerprint, open_clock

    settings = config.WorkerSettings.from_env(env)
    clocks, _ = repositories(ccstore.connect(settings.store_url), SystemClock())
    breach_at = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=8)
    clocks.outbox.add(clocks.to_doc(open_clock(1, breach_at, fingerprint(env))))
    running({**env, "SLA_SCAN_SECONDS": "60"})
    sla_log.wait_until(
        lambda log: log.subjects(contracts.SLA_BREACHED) == {"bench-00000001": 1},
        timeout=25,
        what="the breach at its due instant, well before the next minute's poll",
    )
