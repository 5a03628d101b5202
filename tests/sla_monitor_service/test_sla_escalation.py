"""The escalation ladder: reminders of breaches still unanswered, each step once per contact.

Letter received Monday 1 June 2026 is due Monday 8 June (end of day, London).
With reminders every 3 working days, reminder 1 falls due when Tue 9, Wed 10
and Thu 11 have passed (Friday 12 June 00:00 London), reminder 2 after Fri 12,
Mon 15, Tue 16 (Wednesday 17 June 00:00), reminder 3 after Fri 19 (Saturday 20
June 00:00), as a breach falls on the first instant after the due day.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from ccshared import contracts
from ccshared.calendar import Closures, WorkingCalendar
from ccshared.config import ConfigError
from sla_monitor import bootstrap, config
from sla_monitor.escalation import Ladder
from sla_monitor.policy import Policy
from sla_monitor.service import Monitor
from sla_testkit import as_event, received, responded, staged

RECEIVED = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
BREACH = datetime(2026, 6, 8, 23, 0, tzinfo=UTC)  # Tuesday 9 June 00:00 London
REMINDER_1 = datetime(2026, 6, 11, 23, 0, tzinfo=UTC)  # Friday 12 June 00:00 London
REMINDER_2 = datetime(2026, 6, 16, 23, 0, tzinfo=UTC)  # Wednesday 17 June 00:00 London
REMINDER_3 = datetime(2026, 6, 19, 23, 0, tzinfo=UTC)  # Saturday 20 June 00:00 London
TICK = timedelta(microseconds=1)


def handle(monitor: Monitor, envelope: dict) -> None:
    event = as_event(envelope)
    monitor.handlers()[event.type](event)


def reminders(store) -> list[tuple[str, int]]:
    return [
        (envelope["subject"], envelope["data"]["reminder"])
        for envelope in staged(store)
        if envelope["type"] == contracts.SLA_STILL_BREACHED
    ]


@pytest.fixture
def laddered(make_monitor):
    def make(every: int = 3, calendar: WorkingCalendar | None = None, **kw) -> Monitor:
        calendar = calendar or WorkingCalendar()
        return make_monitor(Policy(calendar), ladder=Ladder(calendar, every), **kw)

    return make


def test_a_breach_left_unanswered_is_raised_again_every_three_working_days(laddered, store, clock) -> None:
    monitor = laddered()
    handle(monitor, received("c1", RECEIVED))
    clock.at = BREACH
    monitor.scan()
    assert store.collection("clocks").get("c1")["next_check_at"] == "2026-06-11T23:00:00.000000Z"
    clock.at = REMINDER_1 - TICK
    assert monitor.scan() == 0
    clock.at = REMINDER_1
    assert monitor.scan() == 1
    assert monitor.scan() == 0
    clock.at = REMINDER_2 - TICK
    assert monitor.scan() == 0
    clock.at = REMINDER_2
    assert monitor.scan() == 1
    clock.at = REMINDER_3
    assert monitor.scan() == 1
    assert reminders(store) == [("c1", 1), ("c1", 2), ("c1", 3)]
    last = [e for e in staged(store) if e["type"] == contracts.SLA_STILL_BREACHED][-1]["data"]
    assert (last["reference"], last["area"], last["due_at"]) == (
        "REF-c1",
        "north",
        "2026-06-08T22:59:59+00:00",
    )
    assert last["late_seconds"] == int((REMINDER_3 - BREACH).total_seconds()) + 1
    claims = sorted(doc["_id"] for doc in store.collection("sla_events").find({}))
    assert claims == [
        "c1:sla.breached.v1",
        "c1:sla.still_breached.v1:reminder-1-every-3",
        "c1:sla.still_breached.v1:reminder-2-every-3",
        "c1:sla.still_breached.v1:reminder-3-every-3",
    ]


def test_an_answer_ends_the_reminders(laddered, store, clock) -> None:
    monitor = laddered()
    handle(monitor, received("c1", RECEIVED))
    clock.at = REMINDER_1
    monitor.scan()
    handle(monitor, responded("c1", RECEIVED, REMINDER_1 + timedelta(hours=1)))
    assert store.collection("clocks").get("c1")["next_check_at"] is None
    clock.at = REMINDER_3
    assert monitor.scan() == 0
    assert reminders(store) == []


def test_bank_holidays_and_the_areas_own_closures_move_the_reminder(laddered, store, clock) -> None:
    calendar = WorkingCalendar(Closures(frozenset(), {"north": frozenset({datetime(2026, 6, 10).date()})}))
    monitor = laddered(calendar=calendar)
    handle(monitor, received("north-1", RECEIVED, area="north"))
    handle(monitor, received("south-1", RECEIVED, area="south"))
    clock.at = BREACH
    monitor.scan()
    clock.at = REMINDER_1
    monitor.scan()
    assert reminders(store) == [("south-1", 1)], "Wednesday 10 June is no working day in the north"
    clock.at = datetime(2026, 6, 14, 23, 0, tzinfo=UTC)  # Monday 15 June 00:00 London
    monitor.scan()
    assert sorted(reminders(store)) == [("north-1", 1), ("south-1", 1)]
    # Late August: Monday 31 August 2026 is the summer bank holiday.
    handle(monitor, received("c2", datetime(2026, 8, 17, 9, tzinfo=UTC)))  # due Monday 24 August
    clock.at = datetime(2026, 8, 24, 23, 0, tzinfo=UTC)
    monitor.scan()
    clock.at = datetime(2026, 8, 27, 23, 0, tzinfo=UTC)  # Friday 28 August 00:00: 3 working days
    monitor.scan()
    monitor.scan()
    assert ("c2", 1) in reminders(store)
    clock.at = datetime(2026, 9, 1, 23, 0, tzinfo=UTC)  # Wednesday 2 September: Fri, Mon?, Tue
    monitor.scan()
    assert ("c2", 2) not in reminders(store), "Monday 31 August does not count"
    clock.at = datetime(2026, 9, 2, 23, 0, tzinfo=UTC)  # Thursday 3 September: Fri, Tue, Wed
    monitor.scan()
    assert ("c2", 2) in reminders(store)


def test_zero_turns_the_reminders_off(laddered, store, clock) -> None:
    monitor = laddered(every=0)
    handle(monitor, received("c1", RECEIVED))
    clock.at = BREACH
    monitor.scan()
    assert store.collection("clocks").get("c1")["next_check_at"] is None
    clock.at = REMINDER_3
    assert monitor.scan() == 0
    assert reminders(store) == []


def test_a_late_breach_brings_no_burst_of_reminders_and_a_catch_up_only_the_latest(
    laddered, store, clock
) -> None:
    monitor = laddered()
    clock.at = REMINDER_2 + timedelta(hours=1)
    handle(monitor, received("c1", RECEIVED))
    handle(monitor, received("c2", RECEIVED - timedelta(days=7)))  # a bank holiday: due Monday 1 June
    clock.advance(seconds=10)  # the grace a late receipt waits for a response queued behind it
    monitor.scan()
    assert [e["type"] for e in staged(store)] == [contracts.SLA_BREACHED] * 2
    assert store.collection("clocks").get("c1")["next_check_at"] == "2026-06-19T23:00:00.000000Z"
    clock.at = datetime(2026, 7, 1, 12, tzinfo=UTC)  # the monitor was down for two weeks
    monitor.scan()
    # 16 and 21 working days past their due days: the latest steps only, 5 and 7.
    assert sorted(reminders(store)) == [("c1", 5), ("c2", 7)]


def test_restarts_and_racing_instances_raise_each_step_once(laddered, store, clock, store_url) -> None:
    from ccshared import store as ccstore

    first = laddered()
    for n in range(20):
        handle(first, received(f"c{n}", RECEIVED))
    clock.at = BREACH
    first.scan()
    clock.at = REMINDER_1
    stores = [ccstore.connect(store_url) for _ in range(3)]
    racers = [laddered(on=s) for s in stores]
    start = threading.Barrier(len(racers))

    def race(monitor: Monitor) -> None:
        start.wait()
        for _ in range(20):
            monitor.scan(limit=3)

    threads = [threading.Thread(target=race, args=(m,)) for m in racers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    restarted = laddered()
    assert restarted.replan_reminders() == 0
    restarted.scan()
    assert sorted(reminders(store)) == sorted((f"c{n}", 1) for n in range(20))
    for opened in stores:
        opened.close()


def test_a_changed_interval_replans_breached_clocks_at_start(laddered, store, clock) -> None:
    off = laddered(every=0)
    handle(off, received("c1", RECEIVED))
    clock.at = REMINDER_1
    off.scan()
    turned_on = laddered(every=3)
    assert turned_on.replan_reminders() == 1
    assert reminders(store) == [], "turning reminders on raises none for the days already past"
    assert store.collection("clocks").get("c1")["next_check_at"] == "2026-06-16T23:00:00.000000Z"
    shorter = laddered(every=1)
    assert shorter.replan_reminders() == 1
    assert reminders(store) == [], "a new interval counts from now too"
    assert store.collection("clocks").get("c1")["next_check_at"] == "2026-06-12T23:00:00.000000Z"
    assert shorter.replan_reminders() == 0
    clock.at = REMINDER_2  # six working days after the due day: steps 4, 5 and 6 of N=1 passed
    shorter.scan()
    assert reminders(store) == [("c1", 6)]
    longer = laddered(every=3)
    assert longer.replan_reminders() == 1
    assert store.collection("clocks").get("c1")["next_check_at"] == "2026-06-19T23:00:00.000000Z", (
        "back to every 3 working days: the next at 9 working days, not after step 6 of the new N"
    )
    clock.at = REMINDER_3
    longer.scan()
    assert sorted(reminders(store)) == [("c1", 3), ("c1", 6)], "its own claim: reminder 3 of N=3"


@pytest.mark.parametrize("raw", ["-1", "abc"])
def test_the_reminder_interval_is_a_setting_refused_by_name(raw) -> None:
    env = {"SLA_ESCALATION_REMINDER_DAYS": raw}
    with pytest.raises(ConfigError, match="SLA_ESCALATION_REMINDER_DAYS"):
        config.WorkerSettings.from_env(env)
    assert bootstrap.ladder(config.WorkerSettings.from_env({})).reminder_working_days == 3
    assert (
        bootstrap.ladder(
            config.WorkerSettings.from_env({"SLA_ESCALATION_REMINDER_DAYS": "0"})
        ).reminder_working_days
        == 0
    )


def test_the_worker_settings_build_the_configured_ladder(tmp_path) -> None:
    settings = config.WorkerSettings.from_env(
        {"SLA_ESCALATION_REMINDER_DAYS": "5", "STORE_URL": f"sqlite:///{tmp_path}/s.db"}
    )
    assert bootstrap.ladder(settings) == Ladder(settings.calendar.calendar, 5)
