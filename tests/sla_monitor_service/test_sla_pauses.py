"""Pauses: while a contact waits on the family or a partner its clock stands still;
on resume the due date moves on by the working days paused; a breach stays a breach.

A letter received Monday 1 June 2026 is due by the end of Monday 8 June (BST).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ccshared import contracts
from ccshared.auth import StaffUser
from ccshared.calendar import WorkingCalendar
from sla_monitor import config
from sla_monitor.app import create_app
from sla_monitor.policy import Policy, Targets
from sla_testkit import as_event, contact_event, paused, received, responded, resumed, staged

from tests.infra import tokens

RECEIVED = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
DUE = datetime(2026, 6, 8, 22, 59, 59, tzinfo=UTC)
BREACH = DUE + timedelta(seconds=1)
TUESDAY = datetime(2026, 6, 2, 10, 0, tzinfo=UTC)
THURSDAY_AFTER = datetime(2026, 6, 11, 10, 0, tzinfo=UTC)  # 7 working days after Tuesday 2 June


def handle(monitor, envelope: dict) -> None:
    event = as_event(envelope)
    monitor.handlers()[event.type](event)


def types(store) -> list[str]:
    return [envelope["type"] for envelope in staged(store)]


def test_the_calendar_counts_the_working_days_after_the_pause_began_up_to_its_end() -> None:
    calendar = WorkingCalendar()
    assert calendar.paused_working_days(TUESDAY, TUESDAY + timedelta(hours=5)) == 0
    assert calendar.paused_working_days(TUESDAY, THURSDAY_AFTER) == 7
    friday = datetime(2026, 5, 22, 12, tzinfo=UTC)
    assert calendar.paused_working_days(friday, friday + timedelta(days=4)) == 1, "bank holiday Monday"


def test_a_paused_clock_neither_goes_at_risk_nor_breaches(monitor, store, clock) -> None:
    handle(monitor, received("c1", RECEIVED))
    clock.at = TUESDAY
    handle(monitor, paused("c1", RECEIVED, TUESDAY))
    stored = store.collection("clocks").get("c1")
    assert (stored["state"], stored["next_check_at"]) == ("paused", None)

    for at in (DUE - timedelta(hours=1), BREACH, BREACH + timedelta(days=20)):
        clock.at = at
        assert monitor.scan() == 0
    assert types(store) == []
    assert monitor.clocks.get("c1").state == "paused"


def test_on_resume_the_due_date_moves_by_the_paused_working_days(monitor, store, clock) -> None:
    handle(monitor, received("c1", RECEIVED))
    handle(monitor, paused("c1", RECEIVED, TUESDAY))
    clock.at = THURSDAY_AFTER
    handle(monitor, resumed("c1", RECEIVED, TUESDAY, THURSDAY_AFTER))

    moved = monitor.clocks.get("c1")
    assert (moved.state, moved.paused_working_days) == ("open", 7)
    assert moved.due_at == datetime(2026, 6, 17, 22, 59, 59, tzinfo=UTC)
    assert moved.at_risk_at == datetime(2026, 6, 16, 23, 0, tzinfo=UTC)
    assert moved.target_working_days == 5
    clock.at = moved.at_risk_at
    monitor.scan()
    clock.at = moved.breach_at
    monitor.scan()
    assert types(store) == [contracts.SLA_AT_RISK, contracts.SLA_BREACHED]
    assert staged(store)[1]["data"]["due_at"] == "2026-06-17T22:59:59+00:00"


def test_a_response_while_paused_is_judged_against_the_moved_due_date(monitor, store, clock) -> None:
    handle(monitor, received("c1", RECEIVED))
    handle(monitor, paused("c1", RECEIVED, TUESDAY))
    answered = datetime(2026, 6, 12, 10, tzinfo=UTC)  # after the first due date: 8 working days paused
    clock.at = answered
    handle(monitor, responded("c1", RECEIVED, answered))

    clock_now = monitor.clocks.get("c1")
    assert (clock_now.state, clock_now.paused_working_days) == ("met", 8)
    assert clock_now.pause_now is None
    assert types(store) == [contracts.SLA_MET]


def test_a_contact_breached_before_its_pause_stays_breached(monitor, store, clock) -> None:
    handle(monitor, received("c1", RECEIVED))
    clock.at = BREACH
    monitor.scan()
    clock.at = BREACH + timedelta(hours=10)
    handle(monitor, paused("c1", RECEIVED, clock.at))
    assert monitor.clocks.get("c1").state == "breached"
    resumed_at = clock.at + timedelta(days=2)
    clock.at = resumed_at
    handle(monitor, resumed("c1", RECEIVED, BREACH + timedelta(hours=10), resumed_at))
    handle(monitor, responded("c1", RECEIVED, resumed_at))

    after = monitor.clocks.get("c1")
    assert (after.state, after.due_at, after.paused_working_days) == ("responded_late", DUE, 2)
    assert types(store) == [contracts.SLA_BREACHED, contracts.SLA_RESPONDED_LATE]


def test_a_pause_begun_after_the_breach_instant_raises_the_breach_it_cannot_hide(
    monitor, store, clock
) -> None:
    handle(monitor, received("c1", RECEIVED))
    late = BREACH + timedelta(hours=2)
    clock.at = late  # the scanner has not run since the due instant
    handle(monitor, paused("c1", RECEIVED, late))
    clock.at = late + timedelta(days=3)
    handle(monitor, resumed("c1", RECEIVED, late, clock.at))

    after = monitor.clocks.get("c1")
    assert (after.state, after.due_at) == ("breached", DUE)
    assert types(store) == [contracts.SLA_BREACHED]


def test_repeated_early_and_late_pause_events_apply_once(monitor, store, clock) -> None:
    clock.at = THURSDAY_AFTER
    handle(monitor, resumed("c1", RECEIVED, TUESDAY, THURSDAY_AFTER))  # before its pause and receipt
    handle(monitor, paused("c1", RECEIVED, TUESDAY))
    handle(monitor, received("c1", RECEIVED))
    handle(monitor, paused("c1", RECEIVED, TUESDAY))
    handle(monitor, resumed("c1", RECEIVED, TUESDAY, THURSDAY_AFTER))
    handle(monitor, paused("c1", RECEIVED, TUESDAY + timedelta(days=1)))  # inside the ended pause

    after = monitor.clocks.get("c1")
    assert (after.state, after.paused_working_days) == ("open", 7)
    assert after.due_at == datetime(2026, 6, 17, 22, 59, 59, tzinfo=UTC)
    assert len(after.pauses) == 1
    assert types(store) == []


def test_a_pause_held_before_the_receipt_leaves_the_clock_paused(monitor, store, clock) -> None:
    clock.at = TUESDAY
    handle(monitor, paused("c1", RECEIVED, TUESDAY))
    handle(monitor, received("c1", RECEIVED))
    assert monitor.clocks.get("c1").state == "paused"
    clock.at = BREACH + timedelta(days=3)
    assert monitor.scan() == 0


def test_a_withdrawal_while_paused_stops_the_clock(monitor, store, clock) -> None:
    handle(monitor, received("c1", RECEIVED))
    handle(monitor, paused("c1", RECEIVED, TUESDAY))
    withdrawn = contact_event(
        contracts.CONTACT_WITHDRAWN, "c1", received_at=RECEIVED, occurred_at=TUESDAY + timedelta(days=2)
    )
    handle(monitor, withdrawn)
    after = monitor.clocks.get("c1")
    assert (after.state, after.paused_working_days, after.pause_now) == ("withdrawn", 2, None)


def test_a_new_target_moves_a_paused_clock_and_keeps_it_paused(make_monitor, clock) -> None:
    before = make_monitor()
    handle(before, received("c1", RECEIVED))
    handle(before, paused("c1", RECEIVED, TUESDAY))
    clock.at = THURSDAY_AFTER
    handle(before, resumed("c1", RECEIVED, TUESDAY, THURSDAY_AFTER))
    clock.at = THURSDAY_AFTER + timedelta(hours=1)
    handle(before, paused("c1", RECEIVED, clock.at))

    after = make_monitor(Policy(targets=Targets(channels={**Targets().channels, contracts.LETTER: 2})))
    assert after.recompute() == 1
    moved = after.clocks.get("c1")
    # 2 working days from Monday 1 June is Wednesday 3 June, and 7 paused days on: Friday 12 June.
    assert (moved.state, moved.target_working_days) == ("paused", 2)
    assert moved.due_at == datetime(2026, 6, 12, 22, 59, 59, tzinfo=UTC)


def test_the_clocks_list_shows_paused_clocks_and_their_paused_days(monitor, store, store_url, clock) -> None:
    handle(monitor, received("c1", RECEIVED, area="south"))
    handle(monitor, paused("c1", RECEIVED, TUESDAY, area="south"))
    handle(monitor, received("c2", RECEIVED, area="south"))
    handle(monitor, paused("c2", RECEIVED, TUESDAY, area="south"))
    clock.at = THURSDAY_AFTER
    handle(monitor, resumed("c2", RECEIVED, TUESDAY, THURSDAY_AFTER, area="south"))
    settings = config.Settings.from_env({**tokens.key_env("sla-monitor"), "STORE_URL": store_url})
    client = create_app(settings, store=store, clock=clock).test_client()
    headers = tokens.staff_headers(StaffUser("test.coordinator", "coordinator", "south"), "sla-monitor")

    rows = {row["contact_id"]: row for row in client.get("/api/v1/clocks", headers=headers).json["clocks"]}

    assert rows["c1"]["state"] == "paused"
    assert rows["c1"]["paused_since"] == "2026-06-02T11:00:00+01:00"
    assert rows["c1"]["pause_reason"] == contracts.WAITING_ON_FAMILY
    assert rows["c1"]["working_days_remaining"] == 4, "as when the pause began"
    assert (rows["c2"]["state"], rows["c2"]["paused_since"], rows["c2"]["paused_working_days"]) == (
        "open",
        None,
        7,
    )
    only_paused = client.get("/api/v1/clocks", headers=headers, query_string={"state": "paused"}).json
    assert [row["contact_id"] for row in only_paused["clocks"]] == ["c1"]
