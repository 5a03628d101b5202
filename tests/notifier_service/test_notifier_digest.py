"""The daily digest for recipients who prefer one e-mail a day."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime

import pytest
from ccshared import contracts as c
from notifier import bootstrap, domain
from notifier_testkit import Interleaved, SmtpServer, contact_event, handle, sla_event, stale_event, wire

DIGEST_READER = "coordinator.north@example.org"
PRINCIPAL = "principal.officer@example.org"
# Friday 3 July 2026, 16:00 BST; the next working day is Monday 6 July.
FRIDAY_AFTERNOON = datetime(2026, 7, 3, 15, 0, tzinfo=UTC)


def test_digest_readers_get_one_mail_at_the_digest_time_on_the_next_working_day(
    tmp_path, smtp_server: SmtpServer
):
    notifier = wire(
        tmp_path,
        NOTIFIER_TRANSPORT="smtp",
        NOTIFIER_SMTP_HOST="127.0.0.1",
        NOTIFIER_SMTP_PORT=str(smtp_server.port),
        NOTIFIER_DIGEST_RECIPIENTS=DIGEST_READER,
        NOTIFIER_DIGEST_TIME="08:00",
    )
    notifier.clock.at = FRIDAY_AFTERNOON
    notifier.receive(sla_event(c.SLA_BREACHED, at=FRIDAY_AFTERNOON))
    notifier.receive(sla_event(c.SLA_AT_RISK, contact_id="contact-0002", reference="LCC-TEST-0002"))
    notifier.receive(stale_event(area=c.NORTH))
    notifier.digest.run_once()
    notifier.deliver()

    assert [r.rcpt_tos for r in smtp_server.received] == [[PRINCIPAL]]  # the Cc copy goes at once
    held = [n for n in notifier.notifications.search() if n.recipient == DIGEST_READER]
    assert {n.status for n in held} == {domain.HELD}

    notifier.clock.at = datetime(2026, 7, 4, 9, 0, tzinfo=UTC)  # Saturday
    notifier.digest.run_once()
    notifier.clock.at = datetime(2026, 7, 6, 6, 59, tzinfo=UTC)  # Monday 07:59 BST
    notifier.digest.run_once()
    notifier.deliver()
    assert len(smtp_server.received) == 1

    notifier.clock.at = datetime(2026, 7, 6, 7, 0, tzinfo=UTC)  # Monday 08:00 BST
    assert notifier.digest.run_once() == 1
    assert notifier.digest.run_once() == 0
    notifier.deliver()

    digests = [r for r in smtp_server.received if r.rcpt_tos == [DIGEST_READER]]
    assert len(digests) == 1
    message = digests[0].message
    assert message["Subject"] == "Daily digest for Monday 6 July 2026: 3 notifications"
    assert message["Message-ID"].startswith("<digest-2026-07-06.")
    text = message.get_body(("plain",)).get_content()
    for fact in ("LCC-TEST-0001", "LCC-TEST-0002", "Test Green Children's Centre", "Overdue", "Due today"):
        assert fact in text
    assert "http://localhost:8000/staff/contacts/contact-0002" in message.get_body(("html",)).get_content()
    log = {n.id: n for n in notifier.notifications.search()}
    assert {n.status for n in log.values() if n.recipient == DIGEST_READER and n.kind == domain.EVENT} == {
        domain.DIGESTED
    }

    notifier.clock.at = datetime(2026, 7, 6, 15, 0, tzinfo=UTC)
    notifier.receive(sla_event(c.SLA_AT_RISK, contact_id="contact-0009", reference="LCC-TEST-0009"))
    notifier.digest.run_once()
    notifier.deliver()
    assert len([r for r in smtp_server.received if r.rcpt_tos == [DIGEST_READER]]) == 1  # tomorrow's


def test_a_digest_interrupted_before_marking_its_items_does_not_repeat_them(tmp_path):
    notifier = wire(tmp_path, NOTIFIER_DIGEST_RECIPIENTS=DIGEST_READER)
    notifier.receive(sla_event(c.SLA_AT_RISK))
    [item] = notifier.notifications.search()
    notifier.clock.at = datetime(2026, 7, 7, 7, 0, tzinfo=UTC)  # Tuesday 08:00 BST
    assert notifier.digest.run_once() == 1
    # As if the process died after writing the digest and before marking its items.
    notifier.store.collection("notifications").update({"_id": item.id}, {"status": domain.HELD})

    notifier.clock.advance(minutes=5)
    assert notifier.digest.run_once() == 0
    assert notifier.notifications.get(item.id).status == domain.DIGESTED
    notifier.clock.at = datetime(2026, 7, 8, 7, 0, tzinfo=UTC)
    assert notifier.digest.run_once() == 0


def test_held_items_of_a_former_digest_reader_are_sent_on_their_own(tmp_path):
    before = wire(tmp_path, NOTIFIER_DIGEST_RECIPIENTS=DIGEST_READER)
    before.receive(sla_event(c.SLA_AT_RISK))
    after = wire(tmp_path, before.clock)

    after.digest.run_once()
    after.deliver()

    [n] = after.notifications.search()
    assert n.status == domain.SENT
    [eml] = (tmp_path / "mail").glob("*.eml")
    assert email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)["To"] == DIGEST_READER


def test_no_digest_on_a_closure_day_and_an_areas_items_wait_for_its_next_working_day(tmp_path):
    notifier = wire(
        tmp_path,
        NOTIFIER_DIGEST_RECIPIENTS=PRINCIPAL,
        SLA_CLOSURE_DAYS="2026-07-06",
        SLA_AREA_CLOSURE_DAYS="north:2026-07-07",
    )
    notifier.clock.at = FRIDAY_AFTERNOON
    notifier.receive(sla_event(c.SLA_BREACHED, at=FRIDAY_AFTERNOON))  # north
    south = {"contact_id": "contact-0003", "area": c.SOUTH, "centre_id": "centre-south-2"}
    notifier.receive(sla_event(c.SLA_BREACHED, at=FRIDAY_AFTERNOON, **south))
    notifier.clock.at = datetime(2026, 7, 6, 9, 0, tzinfo=UTC)  # Monday: every area closed
    assert notifier.digest.run_once() == 0

    notifier.clock.at = datetime(2026, 7, 7, 9, 0, tzinfo=UTC)  # Tuesday: north closed
    assert notifier.digest.run_once() == 1
    held = {
        n.area: n.status
        for n in notifier.notifications.search()
        if n.recipient == PRINCIPAL and n.kind == domain.EVENT
    }
    assert held == {c.NORTH: domain.HELD, c.SOUTH: domain.DIGESTED}

    notifier.clock.at = datetime(2026, 7, 8, 9, 0, tzinfo=UTC)  # Wednesday
    assert notifier.digest.run_once() == 1
    held = {
        n.area: n.status
        for n in notifier.notifications.search()
        if n.recipient == PRINCIPAL and n.kind == domain.EVENT
    }
    assert held == {c.NORTH: domain.DIGESTED, c.SOUTH: domain.DIGESTED}


@pytest.mark.parametrize(
    ("principal", "readers"),
    [(PRINCIPAL, "Principal.Officer@Example.org"), ("Principal.Officer@Example.org", PRINCIPAL)],
)
def test_a_digest_reader_is_known_whatever_the_case_of_the_address(tmp_path, principal, readers):
    """Principal.Officer@example.org in the digest list once still got every notice on its own."""
    notifier = wire(tmp_path, NOTIFIER_PRINCIPAL_EMAIL=principal, NOTIFIER_DIGEST_RECIPIENTS=readers)
    notifier.receive(sla_event(c.SLA_BREACHED))
    [held] = [n for n in notifier.notifications.search() if n.recipient == principal]
    assert held.status == domain.HELD

    notifier.clock.at = datetime(2026, 7, 7, 7, 0, tzinfo=UTC)  # Tuesday 08:00 BST
    assert notifier.digest.run_once() == 1
    notifier.deliver()
    assert notifier.notifications.get(held.id).status == domain.DIGESTED
    [digest] = [n for n in notifier.notifications.search() if n.kind == domain.DIGEST]
    assert digest.status == domain.SENT and digest.item_ids == (held.id,)


def stopped(how: str) -> dict:
    """The contact-0001 answered (the SLA monitor's word) or withdrawn (the contacts service's)."""
    if how == "answered":
        return sla_event(c.SLA_MET)
    return contact_event(
        c.CONTACT_WITHDRAWN, "contact-0001", datetime(2026, 6, 26, 14, 30, tzinfo=UTC), c.NORTH
    )


@pytest.mark.parametrize("how", ["answered", "withdrawn"])
def test_reminders_of_a_contact_answered_or_withdrawn_since_are_not_sent(tmp_path, how):
    """A digest once told its reader a contact was 'due today' that was answered that morning."""
    notifier = wire(tmp_path, NOTIFIER_DIGEST_RECIPIENTS=DIGEST_READER)
    notifier.receive(sla_event(c.SLA_AT_RISK, assignee="test.worker"))  # pending, to the worker
    notifier.receive(sla_event(c.SLA_AT_RISK))  # held for the coordinator's digest
    notifier.receive(sla_event(c.SLA_BREACHED))
    other = {"contact_id": "contact-0002", "reference": "LCC-TEST-0002"}
    notifier.receive(sla_event(c.SLA_AT_RISK, **other))

    notifier.receive(stopped(how))
    notifier.deliver()

    log = [n for n in notifier.notifications.search() if n.kind == domain.EVENT]
    about_answered = {(n.event_type, n.recipient): n for n in log if n.data["contact_id"] == "contact-0001"}
    dropped = [n for n in about_answered.values() if n.event_type == c.SLA_AT_RISK]
    assert len(dropped) == 2 and {n.status for n in dropped} == {domain.SKIPPED}
    assert all(f"no longer needed: the contact was {how}" in n.last_error for n in dropped)
    # A breach is never undone: its notices stay.
    assert about_answered[(c.SLA_BREACHED, DIGEST_READER)].status == domain.HELD
    assert about_answered[(c.SLA_BREACHED, PRINCIPAL)].status == domain.SENT
    [still_due] = [n for n in log if n.data["contact_id"] == "contact-0002"]
    assert still_due.status == domain.HELD
    assert not list((tmp_path / "mail").glob("*.eml"))[1:]  # the Principal Officer's breach copy only


@pytest.mark.parametrize("how", ["answered", "withdrawn"])
def test_a_digest_made_before_a_contact_was_answered_or_withdrawn_goes_without_its_reminder(tmp_path, how):
    """A digest made at 08:00 told its reader a contact answered at 08:01 was 'due today'."""
    notifier = wire(tmp_path, NOTIFIER_DIGEST_RECIPIENTS=DIGEST_READER)
    notifier.receive(sla_event(c.SLA_AT_RISK))
    notifier.receive(sla_event(c.SLA_AT_RISK, contact_id="contact-0002", reference="LCC-TEST-0002"))
    notifier.clock.at = datetime(2026, 7, 7, 7, 0, tzinfo=UTC)  # Tuesday 08:00 BST
    assert notifier.digest.run_once() == 1

    notifier.clock.advance(minutes=1)
    notifier.receive(stopped(how))
    notifier.deliver()

    [eml] = (tmp_path / "mail").glob("*.eml")
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert message["Subject"] == "Daily digest for Tuesday 7 July 2026: 1 notification"
    text = message.get_body(("plain",)).get_content()
    assert "LCC-TEST-0002" in text and "LCC-TEST-0001" not in text
    [answered] = [n for n in notifier.notifications.search() if n.data.get("contact_id") == "contact-0001"]
    assert answered.status == domain.SKIPPED and answered.carried_by is None
    assert answered.last_error == f"no longer needed: the contact was {how}"


@pytest.mark.parametrize("how", ["answered", "withdrawn"])
def test_a_reminder_whose_digest_went_while_the_answer_was_handled_stays_carried(tmp_path, how):
    """The digest was claimed and sent between the answer's reads and its write: it carried the
    reminder, which the delivery log still called skipped, 'no longer needed'."""
    notifier = wire(tmp_path, NOTIFIER_DIGEST_RECIPIENTS=DIGEST_READER)
    notifier.receive(sla_event(c.SLA_AT_RISK))
    notifier.clock.at = datetime(2026, 7, 7, 7, 0, tzinfo=UTC)  # Tuesday 08:00 BST
    assert notifier.digest.run_once() == 1

    notifier.clock.advance(minutes=1)
    racing = bootstrap.intake(
        notifier.settings, Interleaved(notifier.store, notifier.deliver), notifier.clock
    )
    handle(racing, stopped(how))

    [eml] = (tmp_path / "mail").glob("*.eml")
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert "LCC-TEST-0001" in message.get_body(("plain",)).get_content()
    [digest] = notifier.notifications.search(event_type=domain.DIGEST_TYPE)
    assert digest.status == domain.SENT
    [reminder] = [n for n in notifier.notifications.search() if n.data.get("contact_id") == "contact-0001"]
    assert (reminder.status, reminder.last_error) == (domain.DIGESTED, None)
    assert reminder.carried_by == digest.message_id


@pytest.mark.parametrize("engine", ["sqlite", pytest.param("mongo", marks=pytest.mark.mongo)])
@pytest.mark.parametrize("first", ["sent", "answered"])
def test_a_reminder_answered_before_its_digest_marked_it_is_carried_or_skipped_never_both(
    tmp_path, engine, first, request
):
    """The digest was sent between its storing and its marking of its items, and the contact
    answered in that window: the delivery log called the reminder skipped, 'no longer needed',
    though the digest carried it."""
    store = {}
    if engine == "mongo":
        mongo, database = request.getfixturevalue("mongo"), request.getfixturevalue("fresh_mongo_db")
        store = {"STORE_URL": mongo.store_url(database)}
    notifier = wire(tmp_path, NOTIFIER_DIGEST_RECIPIENTS=DIGEST_READER, **store)
    notifier.receive(sla_event(c.SLA_AT_RISK))
    notifier.receive(sla_event(c.SLA_AT_RISK, contact_id="contact-0002", reference="LCC-TEST-0002"))
    notifier.clock.at = datetime(2026, 7, 7, 7, 0, tzinfo=UTC)  # Tuesday 08:00 BST

    def between_the_digests_two_writes() -> None:
        steps = [notifier.deliver, lambda: notifier.receive(stopped("answered"))]
        for step in steps if first == "sent" else steps[::-1]:
            step()

    scheduler = bootstrap.digest(
        notifier.settings, Interleaved(notifier.store, between_the_digests_two_writes), notifier.clock
    )
    assert scheduler.run_once() == 1
    notifier.deliver()

    [eml] = (tmp_path / "mail").glob("*.eml")
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    carried = "LCC-TEST-0001" in message.get_body(("plain",)).get_content()
    [digest] = notifier.notifications.search(event_type=domain.DIGEST_TYPE)
    [reminder] = [n for n in notifier.notifications.search() if n.data.get("contact_id") == "contact-0001"]
    assert digest.status == domain.SENT
    if first == "sent":
        assert carried and (reminder.status, reminder.last_error) == (domain.DIGESTED, None)
        assert reminder.carried_by == digest.message_id
    else:
        assert not carried and reminder.status == domain.SKIPPED and reminder.carried_by is None


def test_a_digest_left_with_nothing_to_carry_is_not_sent(tmp_path):
    notifier = wire(tmp_path, NOTIFIER_DIGEST_RECIPIENTS=DIGEST_READER)
    notifier.receive(sla_event(c.SLA_AT_RISK))
    notifier.clock.at = datetime(2026, 7, 7, 7, 0, tzinfo=UTC)  # Tuesday 08:00 BST
    assert notifier.digest.run_once() == 1

    notifier.receive(sla_event(c.SLA_MET))
    notifier.deliver()

    assert not list((tmp_path / "mail").glob("*.eml"))
    [digest] = notifier.notifications.search(event_type=domain.DIGEST_TYPE)
    assert digest.status == domain.SKIPPED
    assert digest.last_error.startswith("no longer needed")
    assert notifier.digest.run_once() == 0
