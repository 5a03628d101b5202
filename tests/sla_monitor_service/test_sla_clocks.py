"""Clocks from contact events: transitions, late, duplicate and out-of-order events.

The monitor runs on the embedded store with a clock the test moves; events are
decoded from the wire form, as the consumer loop hands them over.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from ccshared import contracts
from ccshared import store as ccstore
from ccshared.calendar import Closures, WorkingCalendar
from ccshared.consumer import Rejected
from sla_monitor import domain
from sla_monitor.policy import DEFAULT_TARGETS, Policy, Targets
from sla_testkit import as_event, contact_event, received, responded, staged

RECEIVED = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
AT_RISK = datetime(2026, 6, 7, 23, 0, tzinfo=UTC)
DUE = datetime(2026, 6, 8, 22, 59, 59, tzinfo=UTC)
BREACH = DUE + timedelta(seconds=1)


def handle(monitor, envelope: dict) -> None:
    event = as_event(envelope)
    monitor.handlers()[event.type](event)


def types(store) -> list[str]:
    return [envelope["type"] for envelope in staged(store)]


def state(monitor, contact_id: str = "c1") -> str:
    return monitor.clocks.get(contact_id).state


def test_receipt_starts_an_open_clock_with_its_deadlines(monitor, store) -> None:
    handle(monitor, received("c1", RECEIVED))
    clock = monitor.clocks.get("c1")
    assert (clock.state, clock.at_risk_at, clock.due_at, clock.target_working_days) == (
        "open",
        AT_RISK,
        DUE,
        5,
    )
    assert store.collection("clocks").get("c1")["next_check_at"] == "2026-06-07T23:00:00.000000Z"
    assert types(store) == []


def test_clock_goes_at_risk_then_breached_once_each(monitor, store, clock) -> None:
    handle(monitor, received("c1", RECEIVED))
    clock.at = AT_RISK - timedelta(microseconds=1)
    assert monitor.scan() == 0
    clock.at = AT_RISK
    assert monitor.scan() == 1
    assert monitor.scan() == 0
    clock.at = DUE + timedelta(milliseconds=999)
    assert monitor.scan() == 0, "the due second itself is still on time"
    clock.at = BREACH
    assert monitor.scan() == 1
    clock.advance(days=3)
    assert monitor.scan() == 0
    assert types(store) == [contracts.SLA_AT_RISK, contracts.SLA_BREACHED]
    breach = staged(store)[1]["data"]
    assert breach["late_seconds"] == 1
    assert breach["due_at"] == "2026-06-08T22:59:59+00:00"
    assert state(monitor) == "breached"


def test_catch_up_emits_the_breach_alone(monitor, store, clock) -> None:
    handle(monitor, received("c1", RECEIVED))
    clock.at = BREACH + timedelta(days=2)
    monitor.scan()
    assert types(store) == [contracts.SLA_BREACHED]


def test_a_response_dated_in_time_but_recorded_after_the_breach_stays_breached(monitor, store, clock) -> None:
    handle(monitor, received("c1", RECEIVED))
    clock.at = BREACH + timedelta(hours=1)
    monitor.scan()
    handle(monitor, responded("c1", RECEIVED, DUE - timedelta(hours=2)))
    assert types(store) == [contracts.SLA_BREACHED, contracts.SLA_RESPONDED_LATE]
    assert state(monitor) == "responded_late"
    handle(monitor, responded("c1", RECEIVED, DUE - timedelta(days=2)))
    assert state(monitor) == "responded_late", "an even earlier date changes nothing"
    assert types(store) == [contracts.SLA_BREACHED, contracts.SLA_RESPONDED_LATE]


def test_a_response_dated_in_time_and_recorded_before_any_breach_is_met(monitor, store, clock) -> None:
    handle(monitor, received("c1", RECEIVED))
    clock.at = BREACH + timedelta(hours=1)
    handle(monitor, responded("c1", RECEIVED, DUE - timedelta(hours=2)))
    assert monitor.scan() == 0
    assert types(store) == [contracts.SLA_MET]


def test_response_after_due_is_responded_late_with_how_late(monitor, store, clock) -> None:
    handle(monitor, received("c1", RECEIVED))
    clock.at = DUE + timedelta(hours=3)
    handle(monitor, responded("c1", RECEIVED, DUE + timedelta(hours=2)))
    assert types(store) == [contracts.SLA_RESPONDED_LATE]
    assert staged(store)[0]["data"]["late_seconds"] == 7200
    clock.advance(days=1)
    assert monitor.scan() == 0


def test_response_before_its_receipt_is_held_until_the_clock_exists(monitor, store, clock) -> None:
    clock.at = BREACH + timedelta(days=1)
    handle(monitor, responded("c1", RECEIVED, RECEIVED + timedelta(days=1)))
    assert state(monitor) == domain.AWAITING_RECEIPT
    assert monitor.scan() == 0
    handle(monitor, received("c1", RECEIVED))
    assert types(store) == [contracts.SLA_MET], "no breach: the response was known before the clock started"
    assert state(monitor) == "met"


def test_duplicate_events_change_nothing(monitor, store, clock) -> None:
    receipt = received("c1", RECEIVED)
    handle(monitor, receipt)
    version = store.collection("clocks").get("c1")["_version"]
    handle(monitor, receipt)
    handle(monitor, received("c1", RECEIVED))
    assert store.collection("clocks").get("c1")["_version"] == version
    answer = responded("c1", RECEIVED, RECEIVED + timedelta(days=1))
    handle(monitor, answer)
    handle(monitor, answer)
    handle(monitor, responded("c1", RECEIVED, RECEIVED + timedelta(days=2)))
    assert types(store) == [contracts.SLA_MET]


def test_an_earlier_stamped_response_arriving_later_decides(monitor, store, clock) -> None:
    handle(monitor, received("c1", RECEIVED))
    clock.at = BREACH + timedelta(days=1)
    handle(monitor, responded("c1", RECEIVED, BREACH + timedelta(hours=1)))
    handle(monitor, responded("c1", RECEIVED, DUE - timedelta(days=1)))
    assert sorted(types(store)) == [contracts.SLA_MET, contracts.SLA_RESPONDED_LATE]
    assert monitor.clocks.get("c1").responded_at == DUE - timedelta(days=1)


def test_withdrawn_contact_never_breaches(monitor, store, clock) -> None:
    handle(monitor, received("c1", RECEIVED))
    handle(
        monitor, contact_event(contracts.CONTACT_WITHDRAWN, "c1", received_at=RECEIVED, occurred_at=RECEIVED)
    )
    clock.at = BREACH + timedelta(days=1)
    assert monitor.scan() == 0
    assert state(monitor) == "withdrawn"
    handle(monitor, responded("c1", RECEIVED, RECEIVED + timedelta(hours=1)))
    assert types(store) == []


def test_a_breached_contact_withdrawn_keeps_its_breach_and_raises_nothing_more(monitor, store, clock) -> None:
    handle(monitor, received("c1", RECEIVED))
    clock.at = BREACH + timedelta(hours=1)
    monitor.scan()
    handle(
        monitor, contact_event(contracts.CONTACT_WITHDRAWN, "c1", received_at=RECEIVED, occurred_at=clock.at)
    )
    clock.advance(days=10)
    assert monitor.scan() == 0
    withdrawn = monitor.clocks.get("c1")
    assert (withdrawn.state, withdrawn.breach_emitted) == ("withdrawn", True)
    assert types(store) == [contracts.SLA_BREACHED]


def test_closing_without_a_response_stops_the_clock_at_the_closing_time(monitor, store, clock) -> None:
    handle(monitor, received("c1", RECEIVED))
    handle(monitor, received("c2", RECEIVED))
    closed_in_time = RECEIVED + timedelta(days=2)
    handle(
        monitor,
        contact_event(contracts.CONTACT_CLOSED, "c1", received_at=RECEIVED, occurred_at=closed_in_time),
    )
    clock.at = BREACH + timedelta(hours=5)
    monitor.scan()
    handle(monitor, contact_event(contracts.CONTACT_CLOSED, "c2", received_at=RECEIVED, occurred_at=clock.at))
    assert [(e["subject"], e["type"]) for e in staged(store)] == [
        ("c1", contracts.SLA_MET),
        ("c2", contracts.SLA_BREACHED),
        ("c2", contracts.SLA_RESPONDED_LATE),
    ]
    assert staged(store)[0]["data"]["responded_at"] == closed_in_time.isoformat()


def test_a_referral_decision_is_its_response(monitor, store) -> None:
    handle(monitor, received("r1", RECEIVED, channel=contracts.REFERRAL))
    decided = RECEIVED + timedelta(days=1)
    handle(
        monitor,
        contact_event(
            contracts.REFERRAL_ACCEPTED,
            "r1",
            received_at=RECEIVED,
            channel=contracts.REFERRAL,
            occurred_at=decided,
        ),
    )
    assert sorted(types(store)) == [contracts.SLA_MET, contracts.SLA_STARTED]
    assert monitor.clocks.get("r1").target_working_days == 2


def test_a_referrals_clock_announces_its_start_once_with_its_due_date(monitor, store) -> None:
    receipt = received("r1", RECEIVED, channel=contracts.REFERRAL)
    receipt["data"] |= {"urgency": "urgent", "support_needed": ["send-support", "childcare"]}
    handle(monitor, receipt)
    handle(monitor, received("r1", RECEIVED, channel=contracts.REFERRAL))
    handle(monitor, received("c1", RECEIVED))

    started = [envelope for envelope in staged(store) if envelope["type"] == contracts.SLA_STARTED]
    assert len(started) == 1
    data = started[0]["data"]
    assert (
        data["contact_id"] == "r1"
        and datetime.fromisoformat(data["due_at"]) == monitor.clocks.get("r1").due_at
    )
    assert (data["urgency"], data["support_needed"]) == ("urgent", ["send-support", "childcare"])


def test_a_referral_answered_before_its_receipt_arrived_announces_nothing(monitor, store) -> None:
    handle(
        monitor,
        contact_event(
            contracts.REFERRAL_DECLINED,
            "r1",
            received_at=RECEIVED,
            channel=contracts.REFERRAL,
            occurred_at=RECEIVED + timedelta(hours=1),
        ),
    )
    handle(monitor, received("r1", RECEIVED, channel=contracts.REFERRAL))
    assert types(store) == [contracts.SLA_MET]


def test_assignee_is_kept_latest_by_event_time(monitor, store, clock) -> None:
    handle(monitor, received("c1", RECEIVED))
    later, earlier = RECEIVED + timedelta(hours=2), RECEIVED + timedelta(hours=1)
    assign = contracts.CONTACT_ASSIGNED
    handle(monitor, contact_event(assign, "c1", received_at=RECEIVED, occurred_at=later, assignee="staff.b"))
    handle(
        monitor, contact_event(assign, "c1", received_at=RECEIVED, occurred_at=earlier, assignee="staff.a")
    )
    clock.at = BREACH
    monitor.scan()
    assert staged(store)[0]["data"]["assignee"] == "staff.b"


def test_a_receipt_processed_after_its_due_instant_waits_a_grace_for_its_response(
    make_monitor, store, clock
) -> None:
    monitor = make_monitor(late_receipt_grace=timedelta(seconds=5))
    clock.at = BREACH + timedelta(days=3)
    handle(monitor, received("answered", RECEIVED))
    handle(monitor, received("unanswered", RECEIVED))
    assert monitor.scan() == 0
    handle(monitor, responded("answered", RECEIVED, RECEIVED + timedelta(days=1)))
    clock.advance(seconds=5)
    assert monitor.scan() == 1
    assert [(e["subject"], e["type"]) for e in staged(store)] == [
        ("answered", contracts.SLA_MET),
        ("unanswered", contracts.SLA_BREACHED),
    ]


def test_a_contact_logged_late_with_its_answer_is_decided_by_the_answers_own_time(
    make_monitor, store, clock
) -> None:
    """Last week's letter, logged after its due date with the answer it already had: its
    receipt and response come as a pair, each carrying the answer, and no breach is raised,
    even if the response event is slow to follow (the monitor restarted between them, say)."""
    monitor = make_monitor(late_receipt_grace=timedelta(seconds=5))
    clock.at = BREACH + timedelta(days=3)
    in_time, late = DUE - timedelta(days=1), BREACH + timedelta(days=1)
    for contact_id, answered_at in (("in-time", in_time), ("late", late), ("receipt-only", in_time)):
        handle(monitor, received(contact_id, RECEIVED, responded_at=answered_at))
    clock.advance(minutes=10)
    assert monitor.scan() == 0
    handle(monitor, responded("in-time", RECEIVED, in_time))
    handle(monitor, responded("late", RECEIVED, late))
    decided = {(e["subject"], e["type"]) for e in staged(store)}
    assert decided == {
        ("in-time", contracts.SLA_MET),
        ("late", contracts.SLA_RESPONDED_LATE),
        ("receipt-only", contracts.SLA_MET),
    }
    assert len(staged(store)) == 3


def test_a_new_calendar_recomputes_running_clocks_and_emits_what_falls_due(
    make_monitor, store, clock
) -> None:
    before = make_monitor()
    for contact_id in ("open", "answered"):
        handle(before, received(contact_id, RECEIVED))
    handle(before, responded("answered", RECEIVED, RECEIVED + timedelta(hours=1)))
    clock.at = datetime(2026, 6, 3, 12, tzinfo=UTC)
    after = make_monitor(Policy(targets=Targets({**DEFAULT_TARGETS, "letter": 1})))
    assert after.recompute() == 1
    assert after.clocks.get("open").due_at == datetime(2026, 6, 2, 22, 59, 59, tzinfo=UTC)
    assert after.scan() == 0, "recompute itself staged the breach"
    assert [(e["subject"], e["type"]) for e in staged(store)] == [
        ("answered", contracts.SLA_MET),
        ("open", contracts.SLA_BREACHED),
    ]
    assert after.recompute() == 0


def test_closure_days_move_an_at_risk_clock_back_without_a_second_at_risk_event(
    make_monitor, store, clock
) -> None:
    handle(make_monitor(), received("c1", RECEIVED))
    clock.at = AT_RISK + timedelta(hours=1)
    make_monitor().scan()
    closed = Policy(WorkingCalendar({datetime(2026, 6, 8).date()}))
    monitor = make_monitor(closed)
    monitor.recompute()
    assert (state(monitor), monitor.clocks.get("c1").due_at.date().isoformat()) == ("open", "2026-06-09")
    clock.at = datetime(2026, 6, 8, 23, 30, tzinfo=UTC)
    monitor.scan()
    assert state(monitor) == "at_risk"
    assert types(store) == [contracts.SLA_AT_RISK]


def test_two_monitors_racing_stage_exactly_one_breach_per_clock(
    make_monitor, store, store_url, clock
) -> None:
    first = make_monitor()
    for n in range(24):
        handle(first, received(f"c{n}", RECEIVED))
    clock.at = BREACH + timedelta(minutes=1)
    second_store = ccstore.connect(store_url)
    monitors = [first, make_monitor(on=second_store), make_monitor(on=ccstore.connect(store_url))]
    start = threading.Barrier(len(monitors))

    errors: list[BaseException] = []

    def race(monitor) -> None:
        start.wait()
        try:
            for _ in range(200):
                if not monitor.clocks.falling_due(clock.now(), 1):
                    return
                monitor.scan(limit=7)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=race, args=(m,)) for m in monitors]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    breaches = Counter(e["subject"] for e in staged(store) if e["type"] == contracts.SLA_BREACHED)
    assert breaches == Counter({f"c{n}": 1 for n in range(24)})


def test_calendar_holidays_are_the_england_ones_in_clock_deadlines(monitor) -> None:
    handle(monitor, received("c1", datetime(2026, 8, 28, 10, tzinfo=UTC), channel=contracts.TELEPHONE))
    assert monitor.clocks.get("c1").due_at == datetime(2026, 9, 2, 22, 59, 59, tzinfo=UTC)


def test_clock_documents_carry_no_personal_data_fields(monitor, store) -> None:
    handle(monitor, received("c1", RECEIVED, assignee="staff.a"))
    doc = store.collection("clocks").get("c1")
    assert not {"name", "address", "phone", "email", "postcode", "child"} & set(doc)


def test_a_crash_between_claiming_a_breach_and_recording_it_is_repaired_by_the_next_scan(
    monitor, store, clock
) -> None:
    handle(monitor, received("c1", RECEIVED))
    clock.at = BREACH
    moved = monitor.clocks.get("c1")
    moved.advance(BREACH)
    [breach] = moved.collect_events()
    assert monitor.clocks.claims.stage("c1", breach), (
        "claimed, then the process died before writing the clock"
    )
    assert state(monitor) == "open"
    assert monitor.scan() == 0
    assert state(monitor) == "breached"
    assert types(store) == [contracts.SLA_BREACHED]


def test_a_clock_records_its_events_in_order_until_they_are_collected() -> None:
    policy = Policy()
    receipt = domain.Receipt("r1", "REF-r1", contracts.REFERRAL, "centre-test-1", contracts.NORTH, RECEIVED)
    deadline = policy.deadline(contracts.REFERRAL, RECEIVED)
    clock = domain.ContactClock("r1")
    caught_up_at = deadline.due_at + timedelta(days=1)
    clock.receive(receipt, deadline, policy.fingerprint, caught_up_at, timedelta(0), policy.calendar)
    assert [event.type for event in clock.events] == [contracts.SLA_STARTED, contracts.SLA_BREACHED]
    clock.respond(caught_up_at + timedelta(days=1), policy.calendar)
    events = clock.collect_events()
    assert [event.type for event in events] == [
        contracts.SLA_STARTED,
        contracts.SLA_BREACHED,
        contracts.SLA_RESPONDED_LATE,
    ]
    assert events[1].data["late_seconds"] == 86400
    assert clock.collect_events() == []


def test_the_events_a_clock_holds_are_not_stored_as_its_state(monitor, store, clock) -> None:
    handle(monitor, received("c1", RECEIVED))
    clock.at = BREACH
    monitor.scan()
    assert "events" not in store.collection("clocks").get("c1")
    assert monitor.clocks.get("c1").events == []
    assert types(store) == [contracts.SLA_BREACHED]


def test_a_change_that_leaves_events_uncollected_is_refused_not_lost(monitor, store, clock) -> None:
    handle(monitor, received("c1", RECEIVED))
    clock.at = BREACH
    with pytest.raises(RuntimeError, match="uncollected"):
        monitor.clocks.change("c1", lambda c: c.advance(BREACH) or [])
    assert (state(monitor), types(store)) == ("open", [])
    assert monitor.scan() == 1
    assert types(store) == [contracts.SLA_BREACHED]


def test_the_urgency_on_the_contacts_events_picks_the_target(monitor) -> None:
    handle(monitor, received("urgent", RECEIVED, channel=contracts.REFERRAL, urgency="urgent"))
    handle(monitor, received("routine", RECEIVED, channel=contracts.REFERRAL, urgency="routine"))
    handle(monitor, received("letter", RECEIVED, urgency="urgent"))
    clocks = {cid: monitor.clocks.get(cid) for cid in ("urgent", "routine", "letter")}
    assert {cid: c.target_working_days for cid, c in clocks.items()} == {
        "urgent": 1,
        "routine": 5,
        "letter": 5,
    }
    assert clocks["urgent"].due_at == datetime(2026, 6, 2, 22, 59, 59, tzinfo=UTC)
    assert clocks["routine"].due_at == DUE


def test_a_changed_urgency_target_recomputes_open_clocks(make_monitor, store, clock) -> None:
    before = make_monitor()
    handle(before, received("r1", RECEIVED, channel=contracts.REFERRAL, urgency="soon"))
    handle(before, received("l1", RECEIVED, urgency="soon"))
    assert before.clocks.get("r1").target_working_days == 2
    targets = Targets(cells={(contracts.REFERRAL, "soon"): 4, (contracts.LETTER, "soon"): 1})
    after = make_monitor(Policy(targets=targets))
    assert after.recompute() == 2
    assert after.clocks.get("r1").due_at == datetime(2026, 6, 5, 22, 59, 59, tzinfo=UTC)
    assert after.clocks.get("l1").due_at == datetime(2026, 6, 2, 22, 59, 59, tzinfo=UTC)
    assert after.recompute() == 0


def test_area_closures_move_only_their_areas_clocks(make_monitor, clock) -> None:
    before = make_monitor()
    for area in contracts.AREAS:
        handle(before, received(area, RECEIVED, area=area))
    assert {before.clocks.get(a).due_at for a in contracts.AREAS} == {DUE}
    north_closed = Closures(by_area={contracts.NORTH: frozenset({datetime(2026, 6, 3).date()})})
    after = make_monitor(Policy(WorkingCalendar(north_closed)))
    assert after.recompute() == 3
    due = {area: after.clocks.get(area).due_at for area in contracts.AREAS}
    assert due == {"north": DUE + timedelta(days=1), "central": DUE, "south": DUE}
    handle(after, received("n2", RECEIVED, area="north"))
    assert after.clocks.get("n2").due_at == DUE + timedelta(days=1)


def test_a_receipt_dated_outside_the_calendar_goes_to_the_dead_letters(monitor) -> None:
    with pytest.raises(Rejected, match="between 1990-01-01 and 2100-12-31"):
        handle(monitor, received("old", datetime(1989, 12, 29, 9, tzinfo=UTC)))
    assert monitor.clocks.get("old") is None


class RecordingClocks:
    """The clocks collection, noting every filter it is asked to read with."""

    def __init__(self, collection):
        self._collection = collection
        self.filters: list[dict] = []

    def __getattr__(self, name):
        return getattr(self._collection, name)

    def find(self, filter=None, **kw):
        self.filters.append(filter or {})
        return self._collection.find(filter, **kw)


def _fields(filter: dict) -> list[tuple[str, object]]:
    return [
        pair
        for key, value in filter.items()
        for pair in (
            [p for part in value for p in _fields(part)] if key in ("$or", "$and") else [(key, value)]
        )
    ]


def test_the_start_up_recompute_check_reads_one_indexed_field_by_range_or_equality(
    make_monitor, store, clock
) -> None:
    """So it costs the same at a million running clocks as at ten thousand: no `$ne`, which
    no index answers, and no filter on `state`, which every running clock matches."""
    before = make_monitor()
    for contact_id in ("open", "answered", "legacy", "legacy-answered"):
        handle(before, received(contact_id, RECEIVED))
    for contact_id in ("answered", "legacy-answered"):
        handle(before, responded(contact_id, RECEIVED, RECEIVED + timedelta(hours=1)))
    raw = store.collection("clocks")
    for contact_id in ("legacy", "legacy-answered"):  # as stored before adjustable_fingerprint
        doc = raw.get(contact_id)
        del doc["adjustable_fingerprint"]
        raw.replace(doc)
    after = make_monitor(Policy(targets=Targets({**DEFAULT_TARGETS, "letter": 1})))
    after.clocks.collection = recording = RecordingClocks(after.clocks.collection)

    assert after.recompute() == 2
    assert after.clocks.get("open").target_working_days == after.clocks.get("legacy").target_working_days == 1
    assert after.recompute() == 0
    indexed = set(after.clocks.index_fields) | {"_id"}
    for filter in recording.filters:
        for field, condition in _fields(filter):
            assert field == "adjustable_fingerprint", filter
            assert field in indexed
            assert not (isinstance(condition, dict) and {"$ne", "$nin"} & set(condition)), filter
    assert raw.count({"adjustable_fingerprint": None}) == 0, "old documents are given the field"


def test_a_clock_stored_before_pauses_and_reminders_existed_reads_back_with_their_defaults(
    monitor, store
) -> None:
    handle(monitor, received("c1", RECEIVED))
    raw = store.collection("clocks")
    doc = raw.get("c1")
    for name in ("pauses", "paused_working_days", "reminders_sent", "next_reminder_at", "ladder_fingerprint"):
        del doc[name]
    raw.replace(doc)

    clock = monitor.clocks.get("c1")

    assert (clock.pauses, clock.paused_working_days, clock.reminders_sent) == ([], 0, 0)
