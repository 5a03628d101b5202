"""Against real Apache Kafka and the MongoDB-wire database (FerretDB).

Topics carry a prefix unique to each test, so runs on one broker keep apart.
A breach is counted by its event id: a relay killed between publishing and
clearing its outbox publishes the same event again (same id), which consumers
absorb by id; what must never happen is a second breach event for a contact.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from ccshared import bus as ccbus
from ccshared import contracts
from ccshared import store as ccstore
from ccshared.runner import run_tasks
from ccshared.timeutil import FixedClock, to_str
from sla_monitor import config
from sla_monitor.policy import Policy
from sla_monitor.repository import repositories
from sla_monitor.service import Monitor
from sla_monitor.worker import tasks
from sla_testkit import (
    Instance,
    SlaLog,
    as_event,
    check_pause_and_resume,
    check_racing_publications_store_one_snapshot,
    check_reminders_once,
    check_targets_by_urgency_and_area,
    publish,
    received,
    responded,
)

from tests.infra.waiting import wait_for

REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.kafka, pytest.mark.mongo]


@pytest.fixture
def engine_env(kafka, mongo, fresh_mongo_db, kafka_topic_prefix) -> dict:
    return {
        "EVENT_BUS_URL": f"kafka://{kafka.bootstrap}?topic_prefix={kafka_topic_prefix}",
        "STORE_URL": mongo.store_url(fresh_mongo_db),
        "SLA_CONSUMER_GROUP": f"sla-{uuid.uuid4().hex[:8]}",
        "SLA_LATE_RECEIPT_GRACE_SECONDS": "1",
        # The tests move a FixedClock by hand, which a scanner sleeping until the next due
        # instant cannot see; it looks again at least this often.
        "SLA_SCAN_SECONDS": "0.2",
        "LOG_LEVEL": "WARNING",
    }


@pytest.fixture
def engine_bus(engine_env):
    bus = ccbus.connect(engine_env["EVENT_BUS_URL"])
    bus.ensure_topics(contracts.ALL_TOPICS)
    return bus


@pytest.fixture
def sla_log(engine_env, engine_bus):
    consumer = engine_bus.consumer(f"reader-{uuid.uuid4().hex[:8]}", [contracts.SLA_TOPIC])
    yield SlaLog(consumer)
    consumer.close()


@pytest.fixture
def contacts(engine_env, engine_bus):
    producer = engine_bus.producer()
    topic = contracts.CONTACTS_TOPIC
    yield lambda envelopes: publish(producer, topic, envelopes)
    producer.close()


@pytest.fixture
def monitors():
    """Start monitor instances on the engines under test, as a shared check asks; all stop at the end."""
    started: list[Instance] = []

    def start(env: dict, clock) -> Instance:  # noqa: ANN001 - a FixedClock
        started.append(Instance(config.WorkerSettings.from_env(env), clock))
        return started[-1]

    yield start
    for instance in started:
        instance.stop()


def counts(ids_by_subject: dict[str, set[str]]) -> dict[str, int]:
    return {subject: len(ids) for subject, ids in ids_by_subject.items()}


def test_late_duplicate_and_out_of_order_events(engine_env, contacts, sla_log) -> None:
    settings = config.WorkerSettings.from_env(engine_env)
    store = ccstore.connect(settings.store_url)
    stop = threading.Event()
    worker = threading.Thread(target=run_tasks, args=(tasks(settings, store=store), stop), daemon=True)
    worker.start()
    try:
        long_ago = datetime.now(UTC) - timedelta(days=30)
        in_time = long_ago + timedelta(days=1)
        late = long_ago + timedelta(days=20)
        duplicate = received("dup", long_ago)
        duplicate_answer = responded("dup", long_ago, in_time)
        contacts(
            [
                responded("out-of-order", long_ago, in_time),
                received("out-of-order", long_ago),
                duplicate,
                duplicate,
                duplicate_answer,
                duplicate_answer,
                received("late", long_ago),
                received("backdated-after-breach", long_ago),
            ]
        )
        sla_log.wait_until(
            lambda log: set(log.subjects(contracts.SLA_BREACHED)) == {"late", "backdated-after-breach"},
            timeout=60,
            what="breaches for the two unanswered contacts",
        )
        contacts([responded("late", long_ago, late), responded("backdated-after-breach", long_ago, in_time)])
        # A response dated in time but recorded after the breach was raised stays a breach.
        sla_log.wait_until(
            lambda log: {"late", "backdated-after-breach"} <= set(log.subjects(contracts.SLA_RESPONDED_LATE)),
            timeout=60,
            what="the outcomes of the late responses",
        )
        sla_log.settle(2.0)
        assert counts(sla_log.ids_by_subject(contracts.SLA_BREACHED)) == {
            "late": 1,
            "backdated-after-breach": 1,
        }
        assert counts(sla_log.ids_by_subject(contracts.SLA_MET)) == {"out-of-order": 1, "dup": 1}
        assert counts(sla_log.ids_by_subject(contracts.SLA_RESPONDED_LATE)) == {
            "late": 1,
            "backdated-after-breach": 1,
        }
        assert store.collection("clocks").get("backdated-after-breach")["state"] == "responded_late"
    finally:
        stop.set()
        worker.join(timeout=30)
        store.close()


def start_worker(env: dict, log_path: Path) -> subprocess.Popen:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLA_", "STORE_", "EVENT_"))}
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "sla_monitor", "worker"],
            cwd=REPO,
            env={**clean, **env, "TMPDIR": str(log_path.parent)},  # its metrics folder outlives a kill -9
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def test_two_processes_and_a_kill_9_yield_exactly_one_breach_per_overdue_contact(
    engine_env, contacts, sla_log, tmp_path
) -> None:
    now = datetime.now(UTC)
    long_ago = now - timedelta(days=30)
    overdue = [f"overdue-{n}" for n in range(40)]
    answered = [f"answered-{n}" for n in range(10)]
    fresh = [f"fresh-{n}" for n in range(5)]
    batch = [received(c, long_ago) for c in overdue]
    for contact_id in answered:
        batch += [received(contact_id, now), responded(contact_id, now, now + timedelta(minutes=5))]
    batch += [received(c, now) for c in fresh]
    contacts(batch)

    processes = [start_worker(engine_env, tmp_path / f"worker-{n}.log") for n in (1, 2)]
    try:
        sla_log.wait_until(
            lambda log: len(log.subjects(contracts.SLA_BREACHED)) >= 1, timeout=60, what="the first breach"
        )
        processes[0].send_signal(signal.SIGKILL)
        processes[0].wait(timeout=10)
        processes.append(start_worker(engine_env, tmp_path / "worker-3.log"))
        sla_log.wait_until(
            lambda log: (
                set(log.subjects(contracts.SLA_BREACHED)) >= set(overdue)
                and set(log.subjects(contracts.SLA_MET)) >= set(answered)
            ),
            timeout=90,
            what="a breach for every overdue contact and met for every answered one",
        )
        sla_log.settle(3.0)
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()

    assert counts(sla_log.ids_by_subject(contracts.SLA_BREACHED)) == dict.fromkeys(overdue, 1)
    assert counts(sla_log.ids_by_subject(contracts.SLA_MET)) == dict.fromkeys(answered, 1)
    assert not set(sla_log.subjects(contracts.SLA_AT_RISK)) & set(fresh + answered)
    assert processes[1].returncode in (0, -signal.SIGTERM), (tmp_path / "worker-2.log").read_text()[-3000:]


def test_racing_scanners_on_ferretdb_claim_each_breach_once(engine_env) -> None:
    """FerretDB v1 lets racing compare-and-sets all succeed; the claim by insert still holds."""
    url = engine_env["STORE_URL"]
    clock = FixedClock(datetime(2026, 6, 1, 9, tzinfo=UTC))
    policy = Policy()
    stores = [ccstore.connect(url) for _ in range(3)]
    monitors = [Monitor(*repositories(s, clock), policy, clock) for s in stores]
    for n in range(12):
        event = as_event(received(f"c{n}", clock.now()))
        monitors[0].handlers()[event.type](event)
    clock.advance(days=10)
    start = threading.Barrier(len(monitors))

    def race(monitor: Monitor) -> None:
        start.wait()
        for _ in range(50):
            if not monitor.clocks.falling_due(clock.now(), 1):
                return
            monitor.scan(limit=4)

    threads = [threading.Thread(target=race, args=(m,)) for m in monitors]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    claims = stores[0].collection("sla_events").find({"type": contracts.SLA_BREACHED})
    outboxed = [envelope["subject"] for doc in claims for envelope in doc["_outbox"]]
    assert sorted(outboxed) == sorted(f"c{n}" for n in range(12))
    for opened in stores:
        opened.close()


def test_the_range_scan_on_next_check_at_works_on_the_mongodb_wire_store(
    engine_env, contacts, sla_log
) -> None:
    # Without reminders a breached clock has nothing left to check: only the open one is due.
    settings = config.WorkerSettings.from_env({**engine_env, "SLA_ESCALATION_REMINDER_DAYS": "0"})
    store = ccstore.connect(settings.store_url)
    stop = threading.Event()
    worker = threading.Thread(target=run_tasks, args=(tasks(settings, store=store), stop), daemon=True)
    worker.start()
    try:
        now = datetime.now(UTC)
        contacts([received("open-now", now), received("overdue", now - timedelta(days=40))])
        sla_log.wait_until(
            lambda log: "overdue" in log.subjects(contracts.SLA_BREACHED), timeout=60, what="the breach"
        )
        wait_for(lambda: store.collection("clocks").get("open-now"), 20, "the open clock")
        due = store.collection("clocks").find({"next_check_at": {"$lte": to_str(now + timedelta(days=30))}})
        assert [doc["_id"] for doc in due] == ["open-now"]
    finally:
        stop.set()
        worker.join(timeout=30)
        store.close()


def test_urgency_and_area_closures_pick_and_move_deadlines_on_kafka_and_ferretdb(
    engine_env, contacts, monitors
) -> None:
    check_targets_by_urgency_and_area(monitors, engine_env, contacts)


def test_a_pause_stands_the_clock_still_and_a_resume_moves_its_due_date_on_kafka_and_ferretdb(
    engine_env, contacts, monitors
) -> None:
    check_pause_and_resume(monitors, engine_env, contacts)


def test_two_instances_and_a_restart_raise_each_reminder_once_on_kafka_and_ferretdb(
    engine_env, contacts, sla_log, monitors
) -> None:
    check_reminders_once(monitors, engine_env, contacts, sla_log)


def test_racing_first_publications_on_ferretdb_store_one_snapshot(mongo, fresh_mongo_db) -> None:
    """Replicas publishing one month at once agree on one snapshot: the insert of the month's id."""
    check_racing_publications_store_one_snapshot(mongo.store_url(fresh_mongo_db))
