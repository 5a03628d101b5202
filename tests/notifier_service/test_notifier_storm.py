"""Storm grouping (Alertmanager's group_wait / group_interval) and the escalation reminder mail.

Many notices for one recipient close together: the first goes at once, the
rest wait and go as one e-mail per recipient per window, listing each
contact's reference, centre and due date. Nothing is dropped but reminders of
contacts answered since: every notice is in the delivery log with the
Message-ID of the mail that carried it.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from ccshared import contracts as c
from ccshared import events
from ccshared.auth import StaffUser
from ccshared.config import ConfigError
from ccshared.timeutil import to_str
from notifier import domain
from notifier.app import create_app
from notifier.config import Settings
from notifier.grouping import Window
from notifier_testkit import Notifier, SmtpServer, centre_event, environment, sla_event, smtp_wired

from tests.infra import tokens

COORDINATOR = "coordinator.north@example.org"
PRINCIPAL = "principal.officer@example.org"
GROUPING = {"NOTIFIER_GROUP_INTERVAL_SECONDS": "300", "NOTIFIER_GROUP_WAIT_SECONDS": "30"}


def breach(n: int, **kw) -> dict:
    return sla_event(contact_id=f"contact-{n:04d}", reference=f"LCC-STORM-{n:04d}", **kw)


def body(received) -> str:
    return received.message.get_body(("plain",)).get_content()


def mails_to(server: SmtpServer, recipient: str) -> list:
    return [r for r in server.received if r.rcpt_tos == [recipient]]


def carried_references(server: SmtpServer, recipient: str) -> Counter:
    """How many mails to the recipient list each storm reference."""
    found: Counter = Counter()
    for received in mails_to(server, recipient):
        for n in range(100):
            if f"LCC-STORM-{n:04d}" in body(received):
                found[f"LCC-STORM-{n:04d}"] += 1
    return found


@pytest.fixture
def storm(tmp_path: Path, smtp_server: SmtpServer) -> Notifier:
    notifier = smtp_wired(tmp_path, smtp_server, **GROUPING)
    notifier.receive(centre_event())
    return notifier


def test_the_first_goes_at_once_and_the_rest_go_as_one_mail_per_recipient_per_window(
    storm: Notifier, smtp_server: SmtpServer
) -> None:
    start = storm.clock.now()
    for n in range(10):
        storm.receive(breach(n))
        storm.clock.advance(milliseconds=10)
    storm.clock.at = start
    storm.deliver()
    assert [len(mails_to(smtp_server, who)) for who in (COORDINATOR, PRINCIPAL)] == [1, 1]
    assert "LCC-STORM-0000" in mails_to(smtp_server, COORDINATOR)[0].message["Subject"]

    storm.clock.at = start + timedelta(seconds=29)
    storm.deliver()
    assert len(smtp_server.received) == 2, "the rest wait for group_wait"
    storm.clock.at = start + timedelta(seconds=30)
    storm.deliver()
    for who in (COORDINATOR, PRINCIPAL):
        [_, group] = mails_to(smtp_server, who)
        assert group.message["Subject"] == "9 contact notices: 9 overdue"
        assert group.message["X-CC-Event-Type"] == domain.GROUP_TYPE
        text = body(group)
        assert (
            "LCC-STORM-0005, letter at Test Park Children's Centre (north area), due by Friday 3 July 2026"
            in text
        )
        assert "/staff/contacts/contact-0009" in text

    storm.clock.at = start + timedelta(seconds=60)
    for n in range(10, 15):
        storm.receive(breach(n))
    storm.deliver()
    assert len(smtp_server.received) == 4, "after a group mail, the next waits for group_interval"
    storm.clock.at = start + timedelta(seconds=329)
    storm.deliver()
    assert len(smtp_server.received) == 4
    storm.clock.at = start + timedelta(seconds=330)
    storm.deliver()
    assert [len(mails_to(smtp_server, who)) for who in (COORDINATOR, PRINCIPAL)] == [3, 3]

    storm.clock.at = start + timedelta(seconds=330 + 300)
    storm.receive(breach(15))
    storm.deliver()
    assert [len(mails_to(smtp_server, who)) for who in (COORDINATOR, PRINCIPAL)] == [4, 4], (
        "a recipient quiet for group_interval gets the next notice at once"
    )
    for who in (COORDINATOR, PRINCIPAL):
        assert carried_references(smtp_server, who) == Counter({f"LCC-STORM-{n:04d}": 1 for n in range(16)})


def test_every_notice_is_in_the_log_with_the_message_that_carried_it(
    storm: Notifier, smtp_server: SmtpServer
) -> None:
    for n in range(6):
        storm.receive(breach(n))
    storm.deliver()
    storm.clock.advance(seconds=30)
    storm.deliver()
    notices = storm.notifications.search(event_type=c.SLA_BREACHED)
    assert len(notices) == 12
    sent_ids = {r.message["Message-ID"].strip() for r in smtp_server.received}
    assert {n.status for n in notices} == {domain.SENT, domain.GROUPED}
    assert {n.carried_by for n in notices} <= sent_ids, sent_ids
    by_carrier = Counter(n.carried_by for n in notices)
    assert sorted(by_carrier.values()) == [1, 1, 5, 5]
    [group] = storm.notifications.search(event_type=domain.GROUP_TYPE, status=domain.SENT, limit=1)
    assert storm.notifications.get(group.item_ids[0]).digest_id == group.id

    client = create_app(storm.settings, store=storm.store).test_client()
    principal = tokens.staff_headers(StaffUser("test.principal", c.ROLE_PRINCIPAL), "notifier")
    response = client.get(f"/api/v1/notifications?status={domain.GROUPED}", headers=principal)
    assert response.status_code == 200, response.get_json()
    listed = response.get_json()["items"]
    assert len(listed) == 10
    assert {n["carried_by"] for n in listed} <= sent_ids
    assert {n["digest_id"] for n in listed} <= {
        n.id for n in storm.notifications.search(event_type=domain.GROUP_TYPE)
    }


@pytest.mark.parametrize(
    ("answered", "carried"),
    [((1,), ["LCC-STORM-0002", "LCC-STORM-0003"]), ((1, 2, 3), [])],
)
def test_a_group_mail_goes_without_reminders_of_contacts_answered_since_it_was_made(
    storm: Notifier, smtp_server: SmtpServer, answered: tuple[int, ...], carried: list[str]
) -> None:
    """A group mail held up by the relay still told a coordinator that answered contacts were due today."""
    for n in range(4):
        storm.receive(breach(n, type_=c.SLA_AT_RISK))
        storm.clock.advance(milliseconds=10)
    storm.deliver()
    smtp_server.refuse("451 4.3.0 Try again later")
    storm.clock.advance(seconds=30)
    storm.deliver()
    [group] = storm.notifications.search(event_type=domain.GROUP_TYPE)
    assert group.status == domain.RETRYING and len(group.item_ids) == 3

    for n in answered:
        storm.receive(sla_event(c.SLA_MET, contact_id=f"contact-{n:04d}", reference=f"LCC-STORM-{n:04d}"))
    smtp_server.accept()
    storm.clock.advance(seconds=60)
    storm.deliver()

    [first, *rest] = mails_to(smtp_server, COORDINATOR)
    assert "LCC-STORM-0000" in first.message["Subject"]
    assert sorted(carried_references(smtp_server, COORDINATOR) - Counter(["LCC-STORM-0000"])) == carried
    if carried:
        assert [mail.message["Subject"] for mail in rest] == ["2 contact notices: 2 due today"]
    else:
        assert rest == []
    group = storm.notifications.get(group.id)
    assert group.status == (domain.SENT if carried else domain.SKIPPED)
    notices = {n.data["contact_id"]: n for n in storm.notifications.search(event_type=c.SLA_AT_RISK)}
    for n in answered:
        notice = notices[f"contact-{n:04d}"]
        assert (notice.status, notice.last_error) == (
            domain.SKIPPED,
            "no longer needed: the contact was answered",
        )


def test_other_notices_are_not_held_back(storm: Notifier, smtp_server: SmtpServer) -> None:
    storm.receive(breach(1))
    storm.receive(breach(2))
    storm.deliver()
    stale = events.make(
        c.CENTRE_STALE,
        "centre-north-1",
        {
            "centre_id": "centre-north-1",
            "name": "Test Park Children's Centre",
            "area": c.NORTH,
            "last_verified_at": storm.clock.now() - timedelta(days=200),
            "stale_since": storm.clock.now() - timedelta(days=20),
        },
        source="directory",
        time=storm.clock.now(),
    )
    storm.receive(stale)
    storm.deliver()
    subjects = [r.message["Subject"] for r in mails_to(smtp_server, COORDINATOR)]
    assert len(subjects) == 2 and subjects[1].startswith("Centre details need checking")


def test_a_group_made_before_a_crash_is_not_made_twice(storm: Notifier, smtp_server: SmtpServer) -> None:
    for n in range(4):
        storm.receive(breach(n))
    storm.deliver()
    storm.clock.advance(seconds=30)
    made = storm.delivery.grouper.flush()
    assert len(made) == 2
    # As if the process died after making the groups and before marking their items.
    for group in made:
        for item_id in group.item_ids:
            storm.store.collection("notifications").update(
                {"_id": item_id}, {"status": domain.WAITING, "digest_id": None}
            )
        storm.store.collection("group_windows").update(
            {"_id": group.recipient}, {"flush_at": to_str(storm.clock.now()), "last_was_group": False}
        )
    storm.deliver()
    storm.clock.advance(seconds=300)
    storm.deliver()
    for who in (COORDINATOR, PRINCIPAL):
        assert carried_references(smtp_server, who) == Counter({f"LCC-STORM-{n:04d}": 1 for n in range(4)})
    assert {n.status for n in storm.notifications.search(event_type=c.SLA_BREACHED)} <= {
        domain.SENT,
        domain.GROUPED,
    }


def test_a_notice_left_waiting_without_a_group_mail_gets_one(
    storm: Notifier, smtp_server: SmtpServer
) -> None:
    storm.receive(breach(1))
    storm.receive(breach(2))
    storm.deliver()
    # Two instances crossed: the window's group mail went before this notice was marked waiting.
    storm.store.collection("group_windows").update({}, {"flush_at": None})
    storm.clock.advance(seconds=400)
    storm.deliver()
    storm.deliver()
    for who in (COORDINATOR, PRINCIPAL):
        assert carried_references(smtp_server, who) == Counter({"LCC-STORM-0001": 1, "LCC-STORM-0002": 1})


@pytest.mark.parametrize("engine", ["sqlite", pytest.param("mongo", marks=pytest.mark.mongo)])
def test_racing_delivery_workers_carry_each_notice_once(
    tmp_path: Path, smtp_server: SmtpServer, engine: str, request: pytest.FixtureRequest
) -> None:
    store = {}
    if engine == "mongo":
        mongo, database = request.getfixturevalue("mongo"), request.getfixturevalue("fresh_mongo_db")
        store = {"STORE_URL": mongo.store_url(database)}
    workers = [smtp_wired(tmp_path, smtp_server, **GROUPING, **store) for _ in range(3)]
    workers[0].receive(centre_event())
    for n in range(40):
        workers[0].receive(breach(n, area=c.NORTH))
    clock = workers[0].clock
    for worker in workers[1:]:
        worker.clock = clock
        worker.delivery.clock = clock
        worker.delivery.grouper.clock = clock
    barrier = threading.Barrier(len(workers))

    def race(worker: Notifier) -> None:
        barrier.wait()
        for _ in range(5):
            worker.deliver()

    threads = [threading.Thread(target=race, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    clock.advance(seconds=30)
    for worker in workers:
        worker.deliver()
    for who in (COORDINATOR, PRINCIPAL):
        assert carried_references(smtp_server, who) == Counter({f"LCC-STORM-{n:04d}": 1 for n in range(40)})


def test_a_reminder_mails_the_coordinator_and_the_principal_officer(
    storm: Notifier, smtp_server: SmtpServer
) -> None:
    reminder = sla_event(c.SLA_STILL_BREACHED, late_seconds=None)
    reminder["data"]["reminder"] = 2
    reminder["data"]["late_seconds"] = 6 * 86400
    storm.receive(reminder)
    storm.deliver()
    assert sorted(r.rcpt_tos[0] for r in smtp_server.received) == [COORDINATOR, PRINCIPAL]
    [mail] = mails_to(smtp_server, COORDINATOR)
    assert mail.message["Subject"] == "Still overdue: letter LCC-TEST-0001 at Test Park Children's Centre"
    assert mail.message["Cc"] == PRINCIPAL
    assert (
        "Reminder 2: the letter LCC-TEST-0001 at Test Park Children's Centre is still not answered, 6 days after it was due."
        in body(mail)
    )


@pytest.mark.parametrize(
    ("name", "raw"), [("NOTIFIER_GROUP_WAIT_SECONDS", "-1"), ("NOTIFIER_GROUP_INTERVAL_SECONDS", "soon")]
)
def test_bad_grouping_settings_are_refused_by_name(tmp_path: Path, name: str, raw: str) -> None:
    with pytest.raises(ConfigError, match=name):
        Settings.from_env(environment(tmp_path, **{name: raw}))


def test_grouping_is_on_by_default_and_zero_turns_it_off(tmp_path: Path) -> None:
    env = environment(tmp_path)
    del env["NOTIFIER_GROUP_INTERVAL_SECONDS"]
    defaults = Settings.from_env(env).delivery
    assert (defaults.group_wait_seconds, defaults.group_interval_seconds) == (30.0, 300.0)
    assert Settings.from_env(environment(tmp_path)).delivery.group_interval_seconds == 0


def test_a_window_changes_in_place_with_the_grouping_timing() -> None:
    wait, interval = timedelta(seconds=30), timedelta(seconds=300)
    start = datetime(2026, 7, 1, 9, tzinfo=UTC)
    window = Window(COORDINATOR, start)
    window.scheduled(start + timedelta(seconds=1), wait, interval)
    assert window.flush_at == start + wait, "the first group mail, group_wait after the lone notice"
    window.scheduled(start + timedelta(seconds=2), wait, interval)
    assert window.flush_at == start + wait, "one group mail due at a time"
    window.flushed()
    assert (window.last_mail_at, window.last_was_group, window.flush_at) == (start + wait, True, None)
    window.scheduled(start + timedelta(seconds=40), wait, interval)
    assert window.flush_at == start + wait + interval, "then group_interval after the group mail"
    window.emptied()
    assert not window.is_open(start + wait + interval, interval)
    window.reopened(start + timedelta(hours=1))
    assert (window.last_mail_at, window.last_was_group) == (start + timedelta(hours=1), False)
    assert window.collect_events() == []  # a window publishes nothing


def test_a_window_is_written_compare_and_set_on_the_version_it_was_read_at(storm: Notifier) -> None:
    windows = storm.delivery.grouper.windows
    now = storm.clock.now()
    assert windows.add(Window(COORDINATOR, now))
    assert not windows.add(Window(COORDINATOR, now)), "one window per recipient"
    mine, rival = windows.get(COORDINATOR), windows.get(COORDINATOR)
    assert windows.transition(mine, lambda w: w.scheduled(now, timedelta(seconds=30), timedelta(seconds=300)))
    assert mine.version == 1
    assert not windows.transition(rival, lambda w: w.stranded(now)), "a rival's change loses"
    assert windows.collection.get(COORDINATOR) == {
        "_id": COORDINATOR,
        "last_mail_at": to_str(now),
        "last_was_group": False,
        "flush_at": to_str(now + timedelta(seconds=30)),
        "version": 1,
    }  # the window's own fields: never its events
    assert windows.get(COORDINATOR) == mine
