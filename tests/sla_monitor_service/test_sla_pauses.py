"""Pauses: while a contact waits on the family or a partner its clock stands still;
on resume the due date moves on by the working time paused, in whole working days;
a breach stays a breach.

A letter received Monday 1 June 2026 is due by the end of Monday 8 June (BST).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta
from types import MappingProxyType

import holidays
import pytest
from ccshared import contracts
from ccshared.auth import StaffUser
from ccshared.calendar import Closures, WorkingCalendar
from ccshared.timeutil import LONDON
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

CALL = datetime(2026, 11, 30, 10, tzinfo=LONDON)  # Monday: a telephone message due by the end of Wednesday
CALL_DUE = datetime(2026, 12, 2, 23, 59, 59, tzinfo=LONDON)
LETTER_DUE = datetime(2026, 12, 7, 23, 59, 59, tzinfo=LONDON)


def local(day: int, hour: int, minute: int = 0) -> datetime:
    """A local instant (GMT) by its day of December 2026: 0 is Monday 30 November."""
    return datetime(2026, 11, 30, hour, minute, tzinfo=LONDON) + timedelta(days=day)


def handle(monitor, envelope: dict) -> None:
    event = as_event(envelope)
    monitor.handlers()[event.type](event)


def types(store) -> list[str]:
    return [envelope["type"] for envelope in staged(store)]


def test_the_calendar_counts_the_working_time_a_pause_held_in_whole_working_days() -> None:
    calendar = WorkingCalendar()
    assert calendar.paused_working_days(TUESDAY, TUESDAY + timedelta(hours=5)) == 0
    assert calendar.paused_working_days(TUESDAY, THURSDAY_AFTER) == 7, "13 hours, 6 whole days, 11 hours"
    friday = datetime(2026, 5, 22, 12, tzinfo=UTC)
    assert calendar.paused_working_days(friday, friday + timedelta(days=4)) == 1, "bank holiday Monday"


def test_a_pause_moves_the_due_date_by_the_working_time_it_held_not_the_dates_it_touched() -> None:
    calendar = WorkingCalendar()
    assert calendar.paused_working_days(local(2, 23, 59), local(3, 0, 1)) == 0, "2 minutes across midnight"
    assert calendar.paused_working_days(local(1, 0, 1), local(1, 23, 58)) == 0, "almost all of one day"
    assert calendar.paused_working_days(local(4, 17), local(7, 8)) == 0, "Friday evening to Monday morning"
    assert calendar.paused_working_days(local(1, 9), local(3, 9)) == 2, "Tuesday 09:00 to Thursday 09:00"
    assert calendar.paused_working_days(local(1, 9), local(4, 8, 59)) == 2, "a minute short of three"
    assert calendar.paused_working_days(local(1, 9), local(4, 9)) == 3
    assert calendar.paused_working_days(local(3, 9), local(1, 9)) == 0, "a pause that ends before it began"


def test_the_closure_days_of_the_contacts_area_hold_no_paused_time() -> None:
    north_closed = WorkingCalendar(
        Closures(by_area=MappingProxyType({"north": frozenset({date(2026, 12, 2)})}))
    )
    assert north_closed.paused_working_days(local(1, 9), local(4, 8), "north") == 1, "Wednesday closed"
    assert north_closed.paused_working_days(local(1, 9), local(4, 8), "south") == 2


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


@pytest.mark.parametrize(
    ("channel", "paused_at", "resumed_at", "due_at", "days"),
    [
        (contracts.TELEPHONE, local(2, 23, 59), local(3, 0, 1), CALL_DUE, 0),  # was moved to Thursday
        (contracts.TELEPHONE, local(1, 0, 1), local(1, 23, 58), CALL_DUE, 0),
        (contracts.LETTER, local(4, 17), local(7, 8), LETTER_DUE, 0),  # was moved to Tuesday 8 December
        (contracts.TELEPHONE, local(1, 9), local(3, 9), datetime(2026, 12, 4, 23, 59, 59, tzinfo=LONDON), 2),
    ],
    ids=["two-minutes-across-the-due-midnight", "almost-a-whole-day", "over-a-weekend", "two-whole-days"],
)
def test_on_resume_the_due_date_moves_by_the_whole_working_days_the_pause_held(
    monitor, clock, channel, paused_at, resumed_at, due_at, days
) -> None:
    clock.at = CALL
    handle(monitor, received("c1", CALL, channel=channel))
    clock.at = paused_at
    handle(monitor, paused("c1", CALL, paused_at, channel=channel))
    clock.at = resumed_at
    handle(monitor, resumed("c1", CALL, paused_at, resumed_at, channel=channel))

    after = monitor.clocks.get("c1")
    assert (after.due_at, after.paused_working_days) == (due_at, days)


def test_two_minutes_paused_across_the_due_midnight_cannot_hide_the_breach(
    monitor, store, store_url, clock
) -> None:
    clock.at = CALL
    handle(monitor, received("c1", CALL, channel=contracts.TELEPHONE, area="south"))
    clock.at = local(2, 9)
    monitor.scan()
    handle(monitor, paused("c1", CALL, local(2, 23, 59), channel=contracts.TELEPHONE, area="south"))
    clock.at = local(3, 0, 1)
    handle(
        monitor, resumed("c1", CALL, local(2, 23, 59), clock.at, channel=contracts.TELEPHONE, area="south")
    )

    assert types(store) == [contracts.SLA_AT_RISK, contracts.SLA_BREACHED]
    settings = config.Settings.from_env({**tokens.key_env("sla-monitor"), "STORE_URL": store_url})
    client = create_app(settings, store=store, clock=clock).test_client()
    headers = tokens.staff_headers(StaffUser("test.coordinator", "coordinator", "south"), "sla-monitor")
    row = client.get("/api/v1/clocks/c1", headers=headers).json
    assert (row["state"], row["due_at"], row["paused_working_days"]) == (
        "breached",
        "2026-12-02T23:59:59+00:00",
        0,
    )


class CalendarDateRule(WorkingCalendar):
    """The rule before December 2026: the working dates after the pause began up to the one it
    ended, under the fingerprint the monitors stored then."""

    @property
    def fingerprint(self) -> str:
        text = f"holidays={holidays.__version__}|closed={self.closures.describe()}"
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def paused_working_days(self, paused_at: datetime, resumed_at: datetime, area: str | None = None) -> int:
        start, end = paused_at.astimezone(LONDON).date(), resumed_at.astimezone(LONDON).date()
        return max(0, self.working_days_between(start, end, area))


def test_a_clock_whose_pause_the_calendar_date_rule_counted_is_recounted_at_start(
    make_monitor, clock
) -> None:
    before = make_monitor(Policy(CalendarDateRule()))
    clock.at = CALL
    handle(before, received("c1", CALL))
    handle(before, paused("c1", CALL, local(4, 17)))
    clock.at = local(7, 8)
    handle(before, resumed("c1", CALL, local(4, 17), local(7, 8)))
    assert before.clocks.get("c1").due_at == LETTER_DUE + timedelta(days=1), "a weekend moved it a day"

    after = make_monitor()
    assert after.recompute() == 1
    recounted = after.clocks.get("c1")
    assert (recounted.state, recounted.due_at, recounted.paused_working_days) == ("at_risk", LETTER_DUE, 0)


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


def test_a_resume_that_moves_a_referrals_due_date_announces_the_new_date_once(monitor, store, clock) -> None:
    referral = {"channel": contracts.REFERRAL, "urgency": contracts.ROUTINE}
    handle(monitor, received("r1", RECEIVED, **referral))
    clock.at = TUESDAY
    handle(monitor, paused("r1", RECEIVED, TUESDAY, **referral))
    clock.at = THURSDAY_AFTER
    resume = resumed("r1", RECEIVED, TUESDAY, THURSDAY_AFTER, **referral)
    handle(monitor, resume)
    handle(monitor, resume)  # a redelivery

    types = sorted(envelope["type"] for envelope in staged(store))
    assert types == [contracts.SLA_DUE_MOVED, contracts.SLA_STARTED], "each once, the redelivery none"
    by_type = {envelope["type"]: envelope for envelope in staged(store)}
    started, moved = by_type[contracts.SLA_STARTED], by_type[contracts.SLA_DUE_MOVED]
    assert datetime.fromisoformat(started["data"]["due_at"]) == DUE
    moved_due = datetime.fromisoformat(moved["data"].pop("due_at"))
    assert moved_due == datetime(2026, 6, 17, 22, 59, 59, tzinfo=UTC) == monitor.clocks.get("r1").due_at
    assert moved["data"] == {
        "contact_id": "r1",
        "reference": "REF-r1",
        "channel": contracts.REFERRAL,
        "centre_id": "centre-test-1",
        "area": contracts.NORTH,
        "move": 1,
    }


def test_a_new_target_for_a_running_referral_announces_its_new_date(make_monitor, store, clock) -> None:
    """The agency's respond_by follows a changed target too, not only a resume."""
    referral = {"channel": contracts.REFERRAL, "urgency": contracts.ROUTINE}
    before = make_monitor()
    handle(before, received("r1", RECEIVED, **referral))
    longer = {**Targets().cells, (contracts.REFERRAL, contracts.ROUTINE): 7}

    after = make_monitor(Policy(targets=Targets(cells=longer)))
    assert after.recompute() == 1
    after.recompute()  # a second start changes nothing, and announces nothing

    by_type = {envelope["type"]: envelope for envelope in staged(store)}
    moves = [envelope for envelope in staged(store) if envelope["type"] == contracts.SLA_DUE_MOVED]
    assert len(moves) == 1 and moves[0]["data"]["move"] == 1
    moved_to = datetime.fromisoformat(moves[0]["data"]["due_at"])
    assert moved_to == after.clocks.get("r1").due_at
    assert moved_to > datetime.fromisoformat(by_type[contracts.SLA_STARTED]["data"]["due_at"])


def test_a_resume_that_leaves_the_due_date_where_it_was_announces_nothing(monitor, store, clock) -> None:
    referral = {"channel": contracts.REFERRAL, "urgency": contracts.ROUTINE}
    handle(monitor, received("r1", RECEIVED, **referral))
    handle(monitor, paused("r1", RECEIVED, TUESDAY, **referral))
    clock.at = TUESDAY + timedelta(hours=2)
    handle(monitor, resumed("r1", RECEIVED, TUESDAY, clock.at, **referral))

    assert types(store) == [contracts.SLA_STARTED]
