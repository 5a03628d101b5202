"""Centre freshness: one directory.centre_stale.v1 per lapse of verification."""

from __future__ import annotations

from datetime import timedelta

from ccshared import contracts
from sla_testkit import as_event, centre_event, staged


def handle(monitor, envelope: dict) -> None:
    event = as_event(envelope)
    monitor.handlers()[event.type](event)


def stale_events(store) -> list[dict]:
    return [e for e in staged(store) if e["type"] == contracts.CENTRE_STALE]


def test_an_unverified_centre_goes_stale_once_per_lapse(monitor, store, clock) -> None:
    verified = clock.now() - timedelta(days=100)
    handle(monitor, centre_event(contracts.CENTRE_CREATED, "ctr1", 1, verified, at=verified))
    assert monitor.check_freshness() == 1
    assert monitor.check_freshness() == 0
    handle(monitor, centre_event(contracts.CENTRE_UPDATED, "ctr1", 2, verified, at=clock.now()))
    clock.advance(days=30)
    assert monitor.check_freshness() == 0, "an edit without verification does not start a new lapse"
    event = stale_events(store)[0]
    assert event["subject"] == "ctr1"
    assert event["data"]["stale_since"] == (verified + timedelta(days=90)).isoformat()
    assert event["data"]["last_verified_at"] == verified.isoformat()


def test_a_new_verification_resets_the_lapse(monitor, store, clock) -> None:
    old = clock.now() - timedelta(days=95)
    handle(monitor, centre_event(contracts.CENTRE_CREATED, "ctr1", 1, old, at=old))
    monitor.check_freshness()
    handle(monitor, centre_event(contracts.CENTRE_VERIFIED, "ctr1", 2, clock.now(), at=clock.now()))
    clock.advance(days=89)
    assert monitor.check_freshness() == 0
    clock.advance(days=1)
    assert monitor.check_freshness() == 1
    assert len(stale_events(store)) == 2


def test_older_centre_events_do_not_undo_newer_ones(monitor, store, clock) -> None:
    now = clock.now()
    handle(monitor, centre_event(contracts.CENTRE_VERIFIED, "ctr1", 3, now, at=now))
    handle(monitor, centre_event(contracts.CENTRE_CREATED, "ctr1", 1, now - timedelta(days=200), at=now))
    assert monitor.check_freshness() == 0
    assert monitor.centres.get("ctr1").version == 3


def test_closed_centres_are_not_checked(monitor, store, clock) -> None:
    old = clock.now() - timedelta(days=400)
    handle(monitor, centre_event(contracts.CENTRE_CLOSED, "ctr1", 4, old, at=old, status="closed"))
    assert monitor.check_freshness() == 0


def test_a_never_verified_centre_gets_the_same_grace_from_when_it_was_first_seen(monitor, clock) -> None:
    handle(monitor, centre_event(contracts.CENTRE_CREATED, "ctr1", 1, None, at=clock.now()))
    clock.advance(days=89)
    assert monitor.check_freshness() == 0
    clock.advance(days=1)
    assert monitor.check_freshness() == 1


def test_changing_the_stale_period_moves_every_centre_check(make_monitor, clock) -> None:
    verified = clock.now() - timedelta(days=40)
    handle(make_monitor(), centre_event(contracts.CENTRE_CREATED, "ctr1", 1, verified, at=verified))
    assert make_monitor().check_freshness() == 0
    shorter = make_monitor(stale_days=30)
    shorter.rearm_centres()
    assert shorter.check_freshness() == 1
