"""Builders for the SLA monitor's tests: contact and centre events, waiting, counting."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

from ccshared import bus as ccbus
from ccshared import contracts, events
from ccshared import store as ccstore
from ccshared.bus import Consumer
from ccshared.runner import run_tasks
from ccshared.store import Store
from ccshared.timeutil import FixedClock, SystemClock
from sla_monitor import config
from sla_monitor.repository import PUBLISHED_MONTHS, PublishedMonths
from sla_monitor.worker import tasks

from tests.infra.waiting import wait_for

SOURCE = "tests"


def contact_event(
    type_: str,
    contact_id: str,
    *,
    received_at: datetime,
    channel: str = contracts.LETTER,
    occurred_at: datetime | None = None,
    responded_at: datetime | None = None,
    assignee: str | None = None,
    area: str = contracts.NORTH,
    centre_id: str = "centre-test-1",
    urgency: str | None = None,
    paused_at: datetime | None = None,
    reason_code: str | None = None,
) -> dict:
    data = {
        "contact_id": contact_id,
        "reference": f"REF-{contact_id}",
        "channel": channel,
        "centre_id": centre_id,
        "area": area,
        "received_at": received_at,
        "status": type_.split(".")[1],
        "assignee": assignee,
        "responded_at": responded_at,
        "occurred_at": occurred_at or responded_at or received_at,
        "urgency": urgency,
        "paused_at": paused_at,
        "reason_code": reason_code,
    }
    return events.make(type_, contact_id, data, source=SOURCE, time=occurred_at or received_at)


def received(contact_id: str, at: datetime, **kw) -> dict:
    return contact_event(contracts.CONTACT_RECEIVED, contact_id, received_at=at, **kw)


def responded(contact_id: str, received_at: datetime, at: datetime, **kw) -> dict:
    return contact_event(
        contracts.CONTACT_RESPONDED, contact_id, received_at=received_at, responded_at=at, **kw
    )


def paused(
    contact_id: str, received_at: datetime, at: datetime, reason: str = contracts.WAITING_ON_FAMILY, **kw
) -> dict:
    return contact_event(
        contracts.CONTACT_PAUSED,
        contact_id,
        received_at=received_at,
        occurred_at=at,
        paused_at=at,
        reason_code=reason,
        **kw,
    )


def resumed(
    contact_id: str,
    received_at: datetime,
    paused_at: datetime,
    at: datetime,
    reason: str = contracts.WAITING_ON_FAMILY,
    **kw,
) -> dict:
    return contact_event(
        contracts.CONTACT_RESUMED,
        contact_id,
        received_at=received_at,
        occurred_at=at,
        paused_at=paused_at,
        reason_code=reason,
        **kw,
    )


def centre_event(
    type_: str,
    centre_id: str,
    version: int,
    last_verified_at: datetime | None,
    *,
    at: datetime,
    status: str = "open",
) -> dict:
    data = {
        "centre_id": centre_id,
        "name": "Test Centre",
        "area": contracts.SOUTH,
        "ward": "Test Ward",
        "postcode": "L1 0AA",
        "status": status,
        "last_verified_at": last_verified_at,
        "version": version,
    }
    return events.make(type_, centre_id, data, source=SOURCE, time=at)


def area_moved(
    contact_id: str, at: datetime, to_area: str, from_area: str = contracts.NORTH, move: int | None = None
) -> dict:
    """The contacts service's word that a contact followed its centre into another area (`move`:
    which of its moves, None as in events made before contacts counted them)."""
    data = {
        "contact_id": contact_id,
        "centre_id": "centre-test-1",
        "from_area": from_area,
        "to_area": to_area,
        "moved_at": at,
        "move": move,
    }
    return events.make(contracts.CONTACT_AREA_MOVED, contact_id, data, source=SOURCE, time=at)


def as_event(envelope: dict) -> events.Event:
    """The envelope as a consumer sees it after the bus."""
    return events.decode(events.encode(envelope))


def staged(store: Store, collection: str = "sla_events") -> list[dict]:
    """Every event staged in the outboxes and not yet relayed."""
    return [
        envelope for doc in store.collection(collection).find({}) for envelope in doc.get("_outbox") or []
    ]


class SlaLog:
    """Reads the sla topic and keeps every event seen, for counting by type and contact."""

    def __init__(self, consumer: Consumer):
        self.consumer = consumer
        self.seen: list[dict] = []

    def read(self) -> list[dict]:
        for message in self.consumer.poll(0.2, max_messages=500):
            self.seen.append(json.loads(message.value))
        return self.seen

    def ids_by_subject(self, type_: str) -> dict[str, set[str]]:
        found: dict[str, set[str]] = {}
        for envelope in self.seen:
            if envelope["type"] == type_:
                found.setdefault(envelope["subject"], set()).add(envelope["id"])
        return found

    def subjects(self, type_: str) -> Counter:
        return Counter(envelope["subject"] for envelope in self.seen if envelope["type"] == type_)

    def wait_until(self, check: Callable[[SlaLog], bool], timeout: float = 30.0, what: str = "") -> None:
        wait_for(lambda: (self.read(), check(self))[1], timeout, what)

    def settle(self, seconds: float) -> None:
        """Keep reading for a while, to catch any event that should not come."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.read()


def days(n: float) -> timedelta:
    return timedelta(days=n)


def publish(producer, topic: str, envelopes: Iterable[dict]) -> None:
    producer.publish_all([(topic, envelope["subject"], events.encode(envelope)) for envelope in envelopes])


class Instance:
    """One monitor instance running its tasks in threads until stopped."""

    def __init__(self, settings: config.WorkerSettings, clock=None):
        self.stop_event = threading.Event()
        self.store = ccstore.connect(settings.store_url)
        task_list = tasks(
            settings, store=self.store, bus=ccbus.connect(settings.bus_url), clock=clock or SystemClock()
        )
        self.thread = threading.Thread(target=run_tasks, args=(task_list, self.stop_event), daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join(timeout=30)
        self.store.close()


MONDAY = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def check_targets_by_urgency_and_area(start: Callable, env: dict, contacts: Callable) -> None:
    """Urgency on the events picks the target, the centre's area its closures; a change recomputes.

    `start(env, clock)` runs a monitor instance (with .store and .stop()) on the
    engines under test; `contacts(envelopes)` publishes contact events.
    """
    clock = FixedClock(MONDAY)  # nothing falls due while the test runs
    first = start({**env, "SLA_AREA_CLOSURE_DAYS": "north:2026-06-02"}, clock)
    referral = {"channel": contracts.REFERRAL, "urgency": contracts.URGENT}
    contacts(
        [
            received("n-urgent", MONDAY, area=contracts.NORTH, **referral),
            received("s-urgent", MONDAY, area=contracts.SOUTH, **referral),
            received("s-letter", MONDAY, area=contracts.SOUTH, urgency=contracts.URGENT),
        ]
    )

    def due_days(store: Store) -> dict[str, str]:
        docs = {cid: store.collection("clocks").get(cid) for cid in ("n-urgent", "s-urgent", "s-letter")}
        return {cid: doc["due_at"][:10] for cid, doc in docs.items() if doc}

    expected = {"n-urgent": "2026-06-03", "s-urgent": "2026-06-02", "s-letter": "2026-06-08"}
    wait_for(lambda: due_days(first.store) == expected, 60, f"due days {expected}")
    first.stop()

    changed = {"SLA_AREA_CLOSURE_DAYS": "north:2026-06-02..2026-06-03", "SLA_TARGET_LETTER_URGENT": "1"}
    second = start({**env, **changed}, clock)
    expected = {"n-urgent": "2026-06-04", "s-urgent": "2026-06-02", "s-letter": "2026-06-02"}
    wait_for(lambda: due_days(second.store) == expected, 60, f"recomputed due days {expected}")


def check_pause_and_resume(start: Callable, env: dict, contacts: Callable) -> None:
    """Paused, the clock stands still past its due date; resumed, its due date moves on by
    the whole working days paused; a contact breached before its pause stays breached.

    `start(env, clock)` runs a monitor instance (with .store and .stop()) on the engines
    under test; `contacts(envelopes)` publishes contact events.
    """
    paused_at = MONDAY + timedelta(days=1)  # Tuesday 2 June
    resumed_at = MONDAY + timedelta(days=10)  # Thursday 11 June: 7 working days later
    clock = FixedClock(paused_at + timedelta(hours=1))
    # Reminders off: this is about the pause (check_reminders_once covers the ladder).
    instance = start(
        {**env, "SLA_LATE_RECEIPT_GRACE_SECONDS": "0", "SLA_ESCALATION_REMINDER_DAYS": "0"}, clock
    )
    contacts(
        [
            received("waiting", MONDAY),
            paused("waiting", MONDAY, paused_at),
            received("breached-first", MONDAY - timedelta(days=14)),
        ]
    )

    def clock_doc(contact_id: str) -> dict:
        return instance.store.collection("clocks").get(contact_id) or {}

    wait_for(lambda: clock_doc("waiting").get("state") == "paused", 60, "the paused clock")
    wait_for(lambda: clock_doc("breached-first").get("state") == "breached", 60, "the first breach")
    clock.at = resumed_at  # past the first due date (Monday 8 June): the paused clock stands still
    late_pause = MONDAY + timedelta(days=9)
    contacts(
        [
            paused("breached-first", MONDAY - timedelta(days=14), late_pause),
            resumed("waiting", MONDAY, paused_at, resumed_at),
            resumed("breached-first", MONDAY - timedelta(days=14), late_pause, resumed_at),
        ]
    )
    wait_for(
        lambda: clock_doc("waiting").get("due_at") == "2026-06-17T22:59:59.000000Z",
        60,
        "the due date moved on by the 7 working days paused",
    )
    wait_for(
        lambda: clock_doc("breached-first").get("paused_working_days") == 1,
        60,
        "the breached clock's paused day counted",
    )
    waiting, breached = clock_doc("waiting"), clock_doc("breached-first")
    assert (waiting["state"], waiting["paused_working_days"]) == ("open", 7)
    assert breached["state"] == "breached"
    assert breached["due_at"] == "2026-05-26T22:59:59.000000Z"
    claims = instance.store.collection("sla_events").find({})
    assert sorted((doc["subject"], doc["type"]) for doc in claims) == [
        ("breached-first", contracts.SLA_BREACHED)
    ]


def check_reminders_once(start: Callable, env: dict, contacts: Callable, sla_log: SlaLog) -> None:
    """Two instances and a restart raise each reminder step of each breached contact once.

    `start(env, clock)` runs a monitor instance; the clock is moved past the
    breach, then past reminder 1 (with two instances running), then past
    reminder 2 after one instance is replaced by a new one.
    """
    clock = FixedClock(MONDAY)
    overdue = [f"overdue-{n}" for n in range(12)]
    first = start(env, clock)
    start(env, clock)  # a second instance, racing the first
    contacts([received(c, MONDAY) for c in overdue])
    wait_for(
        lambda: first.store.collection("clocks").count({"state": "open"}) == len(overdue),
        20,
        "every clock to start",
    )
    clock.at = datetime(2026, 6, 8, 23, 0, tzinfo=UTC)  # the breach: Tuesday 9 June, London
    sla_log.wait_until(
        lambda log: set(log.subjects(contracts.SLA_BREACHED)) == set(overdue), 60, "the breaches"
    )
    clock.at = datetime(2026, 6, 11, 23, 0, tzinfo=UTC)  # three working days on: reminder 1
    sla_log.wait_until(
        lambda log: set(reminders_seen(log)) == {(c, 1) for c in overdue}, timeout=60, what="reminder 1"
    )
    first.stop()
    third = start(env, clock)
    clock.at = datetime(2026, 6, 16, 23, 0, tzinfo=UTC)  # six working days on: reminder 2
    sla_log.wait_until(
        lambda log: set(reminders_seen(log)) == {(c, step) for c in overdue for step in (1, 2)},
        timeout=60,
        what="reminder 2",
    )
    sla_log.settle(2.0)
    assert {key: len(ids) for key, ids in reminders_seen(sla_log).items()} == {
        (c, step): 1 for c in overdue for step in (1, 2)
    }
    assert third.store.collection("clocks").count({"reminders_sent": 2}) == len(overdue)


def reminders_seen(log: SlaLog) -> dict[tuple[str, int], set[str]]:
    """Event ids of each (contact, reminder step) seen: a relay may publish one event twice, same id."""
    found: dict[tuple[str, int], set[str]] = {}
    for envelope in log.seen:
        if envelope["type"] == contracts.SLA_STILL_BREACHED:
            found.setdefault((envelope["subject"], envelope["data"]["reminder"]), set()).add(envelope["id"])
    return found


def check_racing_publications_store_one_snapshot(store_url: str, racers: int = 4) -> None:
    """Replicas publishing one month at once, each with figures of its own (one saw a contact
    more than another): every one answers with the same figures, the one document stored."""
    stores = [ccstore.connect(store_url) for _ in range(racers)]
    months = [PublishedMonths(opened.collection(PUBLISHED_MONTHS)) for opened in stores]
    at = datetime(2026, 7, 1, 9, tzinfo=UTC)
    start = threading.Barrier(racers)
    answers: list[dict] = []

    def publish(n: int) -> None:
        start.wait()
        figures = {("all",): {"key": "all", "met": 5 + n, "breached": 0, "open": 0, "total": 5 + n}}
        answers.append(months[n].publish("2026-06", figures, at))

    threads = [threading.Thread(target=publish, args=(n,)) for n in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    try:
        assert len(answers) == racers and all(answer == answers[0] for answer in answers), answers
        assert months[0].of(["2026-06"]) == {"2026-06": answers[0]}
        assert stores[0].collection(PUBLISHED_MONTHS).count() == 1
    finally:
        for opened in stores:
            opened.close()
