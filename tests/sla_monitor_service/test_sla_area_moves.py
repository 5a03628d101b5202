"""A contact that followed its centre into another area takes its clock with it:
breaches and reminders go to the new area, and a clock still running on time takes
the new area's closure days; an answered clock keeps the area it was handled in.

A letter received Monday 1 June 2026 is due by the end of Monday 8 June (BST).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ccshared import contracts
from ccshared.calendar import Closures, WorkingCalendar
from sla_monitor.policy import Policy
from sla_testkit import area_moved, as_event, received, responded, staged

RECEIVED = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
MOVED = RECEIVED + timedelta(days=1)
DUE = datetime(2026, 6, 8, 22, 59, 59, tzinfo=UTC)


def handle(monitor, envelope: dict) -> None:
    event = as_event(envelope)
    monitor.handlers()[event.type](event)


def raised(store, type_: str) -> list[dict]:
    return [envelope["data"] for envelope in staged(store) if envelope["type"] == type_]


def test_a_moved_contacts_breach_goes_to_its_new_area(monitor, store, clock) -> None:
    handle(monitor, received("k1", RECEIVED))

    handle(monitor, area_moved("k1", MOVED, contracts.CENTRAL))

    assert monitor.clocks.get("k1").area == contracts.CENTRAL
    clock.advance(days=10)
    monitor.scan()
    [breach] = raised(store, contracts.SLA_BREACHED)
    assert breach["area"] == contracts.CENTRAL


def test_an_answered_clock_keeps_the_area_it_was_handled_in(monitor, store) -> None:
    handle(monitor, received("k1", RECEIVED))
    handle(monitor, responded("k1", RECEIVED, MOVED))

    handle(monitor, area_moved("k1", MOVED + timedelta(hours=1), contracts.CENTRAL))

    assert monitor.clocks.get("k1").area == contracts.NORTH
    assert [met["area"] for met in raised(store, contracts.SLA_MET)] == [contracts.NORTH]


def test_a_move_that_came_before_the_receipt_sets_the_area_and_its_closure_days(
    make_monitor, store, clock
) -> None:
    north_closed = Closures(by_area={contracts.NORTH: frozenset({datetime(2026, 6, 3).date()})})
    monitor = make_monitor(Policy(WorkingCalendar(north_closed)))

    handle(monitor, area_moved("early", MOVED, contracts.SOUTH))
    handle(monitor, received("early", RECEIVED))

    early = monitor.clocks.get("early")
    assert (early.area, early.due_at) == (contracts.SOUTH, DUE), "south is open on 3 June"
    clock.advance(days=8)
    monitor.scan()
    [breach] = raised(store, contracts.SLA_BREACHED)
    assert (breach["area"], breach["due_at"]) == (contracts.SOUTH, DUE.isoformat())


def test_moves_apply_by_their_time_once_whatever_order_they_arrive_in(monitor) -> None:
    handle(monitor, received("k1", RECEIVED))
    handle(monitor, area_moved("k1", MOVED + timedelta(hours=2), contracts.CENTRAL, contracts.SOUTH))
    handle(monitor, area_moved("k1", MOVED, contracts.SOUTH))
    handle(monitor, area_moved("k1", MOVED + timedelta(hours=2), contracts.CENTRAL, contracts.SOUTH))
    assert monitor.clocks.get("k1").area == contracts.CENTRAL

    handle(monitor, received("answered", RECEIVED))
    handle(monitor, responded("answered", RECEIVED, MOVED + timedelta(hours=1)))
    handle(monitor, area_moved("answered", MOVED, contracts.CENTRAL))
    assert monitor.clocks.get("answered").area == contracts.CENTRAL, "moved before it was answered"


def test_counted_moves_apply_in_the_order_they_happened_whatever_their_time(monitor) -> None:
    """Two replicas of contacts stamped the moves with clocks that differ: the second move
    reads as older than the first, which kept the clock in the area the contact had left."""
    handle(monitor, received("k1", RECEIVED))
    handle(monitor, area_moved("k1", MOVED - timedelta(seconds=1), contracts.CENTRAL, contracts.SOUTH, 2))
    handle(monitor, area_moved("k1", MOVED, contracts.SOUTH, move=1))
    assert monitor.clocks.get("k1").area == contracts.CENTRAL

    handle(monitor, received("k2", RECEIVED))
    handle(monitor, area_moved("k2", MOVED, contracts.SOUTH, move=1))
    handle(monitor, area_moved("k2", MOVED - timedelta(seconds=1), contracts.CENTRAL, contracts.SOUTH, 2))
    handle(monitor, area_moved("k2", MOVED, contracts.SOUTH, move=1))  # redelivered
    assert monitor.clocks.get("k2").area == contracts.CENTRAL


def test_a_running_clock_takes_its_new_areas_closure_days(make_monitor, store, clock) -> None:
    north_closed = Closures(by_area={contracts.NORTH: frozenset({datetime(2026, 6, 3).date()})})
    monitor = make_monitor(Policy(WorkingCalendar(north_closed)))
    handle(monitor, received("k1", RECEIVED))
    assert monitor.clocks.get("k1").due_at == DUE + timedelta(days=1)

    handle(monitor, area_moved("k1", MOVED, contracts.CENTRAL))

    assert monitor.clocks.get("k1").due_at == DUE
    clock.advance(days=8)
    monitor.scan()
    [breach] = raised(store, contracts.SLA_BREACHED)
    assert (breach["area"], breach["due_at"]) == (contracts.CENTRAL, DUE.isoformat())


def test_a_breached_clock_moves_area_but_keeps_its_breach(monitor, store, clock) -> None:
    handle(monitor, received("k1", RECEIVED))
    clock.advance(days=8)
    monitor.scan()

    handle(monitor, area_moved("k1", clock.now(), contracts.SOUTH))

    moved = monitor.clocks.get("k1")
    assert (moved.state, moved.area, moved.due_at) == (contracts.CLOCK_BREACHED, contracts.SOUTH, DUE)
    assert len(raised(store, contracts.SLA_BREACHED)) == 1
