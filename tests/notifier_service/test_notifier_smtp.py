"""Delivery over SMTP to a real server (aiosmtpd on loopback)."""

from __future__ import annotations

import hashlib
import json
import socket
import threading
from datetime import timedelta

import pytest
from ccshared import contracts as c
from ccshared import events
from notifier import domain
from notifier.repository import repositories
from notifier_testkit import (
    Notifier,
    ScriptedPeer,
    SmtpServer,
    centre_event,
    dead_letters,
    sla_event,
    smtp_wired,
)
from prometheus_client import REGISTRY

COORDINATOR = "coordinator.north@example.org"
PRINCIPAL = "principal.officer@example.org"


def metric(name: str, event_type: str) -> float:
    return REGISTRY.get_sample_value(name, {"event_type": event_type}) or 0.0


def statuses(notifier: Notifier) -> dict[str, str]:
    return {n.recipient: n.status for n in notifier.notifications.search()}


def at_risk_notice_sent_to(tmp_path, peer: ScriptedPeer, timeout: str = "2") -> domain.Notification:
    """One notice's first delivery to a server that misbehaves as `peer` scripts; its record after."""
    with peer:
        notifier = smtp_wired(tmp_path, peer, NOTIFIER_SMTP_TIMEOUT=timeout)
        notifier.receive(sla_event(c.SLA_AT_RISK))
        notifier.deliver()
    [n] = notifier.notifications.search()
    return n


def test_a_line_break_in_a_centre_name_does_not_stop_its_mail(smtp_notifier: Notifier, smtp_server):
    """A centre named before the directory refused control characters still gets its
    mail: the subject is put on one line."""
    smtp_notifier.receive(centre_event(name="Test Park\r\nChildren's\tCentre "))
    smtp_notifier.receive(sla_event())

    assert smtp_notifier.deliver() == 2

    subjects = {copy.message["Subject"] for copy in smtp_server.received}
    assert subjects == {"Overdue: letter LCC-TEST-0001 at Test Park Children's Centre"}
    assert set(statuses(smtp_notifier).values()) == {domain.SENT}


def test_breach_mail_has_the_facts_headers_and_both_parts(smtp_notifier: Notifier, smtp_server: SmtpServer):
    smtp_notifier.receive(centre_event())
    breach = sla_event()
    smtp_notifier.receive(breach)

    assert smtp_notifier.deliver() == 2

    received = {r.rcpt_tos[0]: r for r in smtp_server.received}
    assert set(received) == {COORDINATOR, PRINCIPAL}
    for recipient, copy in received.items():
        message = copy.message
        assert copy.mail_from == "sla-monitor@example.org"
        assert copy.rcpt_tos == [recipient]
        sha = hashlib.sha1(recipient.encode(), usedforsecurity=False).hexdigest()[:12]
        assert message["Message-ID"] == f"<{breach['id']}.{sha}@childrens-centres.notifier>"
        assert message["From"] == "Children's Centres SLA monitor <sla-monitor@example.org>"
        assert message["To"] == COORDINATOR
        assert message["Cc"] == PRINCIPAL
        assert message["Subject"] == "Overdue: letter LCC-TEST-0001 at Test Park Children's Centre"
        assert message["Date"].endswith("+0100")  # London summer time
        text = message.get_body(("plain",)).get_content()
        html = message.get_body(("html",)).get_content()
        for part in (text, html):
            assert "LCC-TEST-0001" in part
            assert "letter" in part
            assert "Friday 26 June 2026, 15:30" in part  # 14:30 UTC received, shown in BST
            assert "Friday 3 July 2026, 23:59" in part  # end of the fifth working day
            assert "3 days 1 hour" in part
            assert "http://localhost:8000/staff/contacts/contact-0001" in part
        assert "Test Park Children's Centre" in text
        assert "Test Park Children&#39;s Centre" in html  # autoescaped
        assert '<a href="http://localhost:8000/staff/contacts/contact-0001">' in html

    log = {n.recipient: n for n in smtp_notifier.notifications.search()}
    assert {n.status for n in log.values()} == {domain.SENT}
    assert all(n.server_reply.startswith("250") for n in log.values())


def test_messages_hold_no_personal_data_even_if_an_event_smuggles_some(
    smtp_notifier: Notifier, smtp_server: SmtpServer
):
    breach = sla_event(c.SLA_AT_RISK)
    breach["data"].update({"name": "Test Parent", "phone": "07700 900123", "postcode": "L1 0AA"})

    smtp_notifier.receive(breach)
    smtp_notifier.deliver()

    [copy] = smtp_server.received
    raw = copy.message.as_string()
    for personal in ("Test Parent", "07700 900123", "L1 0AA"):
        assert personal not in raw
        assert personal not in json.dumps([n.data for n in smtp_notifier.notifications.search()])


def test_duplicate_events_and_competing_workers_send_one_mail_per_recipient(
    tmp_path, smtp_notifier: Notifier, smtp_server: SmtpServer
):
    breach = sla_event()
    for _ in range(3):
        smtp_notifier.receive(breach)
    rival = smtp_wired(tmp_path, smtp_server, smtp_notifier.clock)

    workers = [threading.Thread(target=n.deliver) for n in (smtp_notifier, rival, smtp_notifier)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)
    smtp_notifier.receive(breach)
    smtp_notifier.deliver()

    assert sorted(r.rcpt_tos[0] for r in smtp_server.received) == sorted([COORDINATOR, PRINCIPAL])


def test_at_risk_goes_to_the_assignee_and_unassigned_to_the_coordinator(
    smtp_notifier: Notifier, smtp_server: SmtpServer
):
    smtp_notifier.receive(sla_event(c.SLA_AT_RISK, contact_id="contact-a", assignee="test.worker"))
    smtp_notifier.receive(sla_event(c.SLA_AT_RISK, contact_id="contact-b", area=c.SOUTH))
    smtp_notifier.deliver()

    got = {r.message["To"]: r.message for r in smtp_server.received}
    assert set(got) == {"test.worker@example.org", "coordinator.south@example.org"}
    assert all(m["Cc"] is None for m in got.values())
    assert got["test.worker@example.org"]["Subject"].startswith("Due today: letter LCC-TEST-0001")


def test_temporary_refusals_and_outages_are_retried_with_backoff_until_accepted(
    smtp_notifier: Notifier, smtp_server: SmtpServer
):
    retried_before = metric("cc_notifications_retried_total", c.SLA_BREACHED)
    sent_before = metric("cc_notifications_sent_total", c.SLA_BREACHED)
    smtp_notifier.receive(sla_event())
    clock = smtp_notifier.clock

    smtp_server.refuse("451 4.3.0 Try again later")
    smtp_notifier.deliver()
    first = smtp_notifier.notifications.search()
    assert {n.status for n in first} == {domain.RETRYING}
    for n in first:
        assert "451" in n.last_error
        assert timedelta(seconds=30) <= n.next_attempt_at - clock.now() <= timedelta(seconds=60)
    assert smtp_notifier.deliver() == 0  # not due yet

    smtp_server.stop()  # connection refused
    clock.advance(seconds=61)
    smtp_notifier.deliver()
    second = smtp_notifier.notifications.search()
    assert {n.status for n in second} == {domain.RETRYING}
    for n in second:
        assert n.attempts == 2
        assert "Connection" in n.last_error
        assert timedelta(seconds=60) <= n.next_attempt_at - clock.now() <= timedelta(seconds=120)

    smtp_server.accept()
    smtp_server.start()
    clock.advance(seconds=121)
    smtp_notifier.deliver()

    assert statuses(smtp_notifier) == {COORDINATOR: domain.SENT, PRINCIPAL: domain.SENT}
    assert len(smtp_server.received) == 2
    assert metric("cc_notifications_retried_total", c.SLA_BREACHED) - retried_before == 4
    assert metric("cc_notifications_sent_total", c.SLA_BREACHED) - sent_before == 2


def test_a_server_that_never_answers_times_out_and_is_retried(tmp_path):
    n = at_risk_notice_sent_to(tmp_path, ScriptedPeer(), timeout="0.3")

    assert n.status == domain.RETRYING
    assert "timed out" in n.last_error
    assert not n.maybe_delivered  # it had nothing of the message


def test_permanent_refusal_fails_at_once_and_dead_letters_the_event(
    smtp_notifier: Notifier, smtp_server: SmtpServer
):
    failed_before = metric("cc_notifications_failed_total", c.SLA_BREACHED)
    smtp_server.refuse("550 5.1.1 Mailbox unavailable")
    breach = sla_event()
    smtp_notifier.receive(breach)

    smtp_notifier.deliver()

    assert statuses(smtp_notifier) == {COORDINATOR: domain.FAILED, PRINCIPAL: domain.FAILED}
    assert all(n.attempts == 1 for n in smtp_notifier.notifications.search())
    letters = dead_letters(smtp_notifier, 2)
    assert len(letters) == 2
    for letter in letters:
        assert "550 5.1.1 Mailbox unavailable" in letter["reason"]
        assert json.loads(letter["value"])["id"] == breach["id"]
        assert letter["key"] == "contact-0001"
    assert metric("cc_notifications_failed_total", c.SLA_BREACHED) - failed_before == 2


def test_exhausted_retries_fail_and_dead_letter_without_holding_up_others(
    smtp_notifier: Notifier, smtp_server: SmtpServer
):
    smtp_server.handler.rcpt_replies[PRINCIPAL] = "452 4.2.2 Mailbox full"
    breach = sla_event()
    smtp_notifier.receive(breach)

    for _ in range(smtp_notifier.settings.delivery.max_attempts):
        smtp_notifier.deliver()
        smtp_notifier.clock.advance(hours=2)
    smtp_notifier.deliver()

    assert statuses(smtp_notifier) == {COORDINATOR: domain.SENT, PRINCIPAL: domain.FAILED}
    principal = smtp_notifier.notifications.get(domain.notification_id(breach["id"], PRINCIPAL))
    assert principal.attempts == 4
    assert principal.last_error.startswith("gave up after 4 attempts")
    [letter] = dead_letters(smtp_notifier, 1)
    assert "452 4.2.2 Mailbox full" in letter["reason"]
    assert letter["notification_id"] == principal.id
    assert [r.rcpt_tos for r in smtp_server.received] == [[COORDINATOR]]


def test_a_send_interrupted_by_a_killed_process_is_resent_once_with_the_same_message_id(
    tmp_path, smtp_notifier: Notifier, smtp_server: SmtpServer
):
    smtp_notifier.receive(sla_event(c.SLA_AT_RISK))
    [pending] = smtp_notifier.notifications.search()
    now = smtp_notifier.clock.now()
    assert smtp_notifier.notifications.transition(pending, lambda n: n.claim(now))  # then the process died

    restarted = smtp_wired(tmp_path, smtp_server, smtp_notifier.clock)
    restarted.deliver()
    assert restarted.notifications.get(pending.id).status == domain.SENDING  # maybe still in flight
    restarted.clock.advance(seconds=restarted.settings.delivery.sending_timeout_seconds + 1)
    restarted.deliver()
    restarted.deliver()

    after = restarted.notifications.get(pending.id)
    assert after.status == domain.SENT
    assert after.attempts == 2
    [copy] = smtp_server.received
    assert copy.message["Message-ID"] == pending.message_id


def test_sent_records_keep_the_servers_reply_and_are_never_sent_again(
    smtp_notifier: Notifier, smtp_server: SmtpServer
):
    smtp_notifier.receive(sla_event(c.SLA_AT_RISK))
    smtp_notifier.deliver()
    smtp_notifier.clock.advance(days=1)
    smtp_notifier.deliver()

    [n] = smtp_notifier.notifications.search()
    assert n.server_reply == "250 2.0.0 Ok: queued"
    assert n.sent_at == smtp_notifier.clock.now() - timedelta(days=1)
    assert len(smtp_server.received) == 1


@pytest.mark.parametrize("reply", ["421 4.7.0 Closing", "554 5.7.1 Rejected"])
def test_greeting_refusals_are_classified_by_code(tmp_path, reply):
    n = at_risk_notice_sent_to(tmp_path, ScriptedPeer(lambda conn: conn.sendall(f"{reply}\r\n".encode())))

    assert n.status == (domain.RETRYING if reply.startswith("4") else domain.FAILED)
    assert reply.split()[0] in n.last_error


def test_envelope_of_dead_letter_is_a_valid_event(smtp_notifier: Notifier, smtp_server: SmtpServer):
    smtp_server.refuse("550 5.7.1 No")
    breach = sla_event()
    smtp_notifier.receive(breach)
    smtp_notifier.deliver()

    letter = dead_letters(smtp_notifier, 1)[0]
    event = events.decode(letter["value"].encode())
    assert event.id == breach["id"]
    assert event.type == c.SLA_BREACHED
    assert repositories(smtp_notifier.store)[0].failed_not_dead_lettered() == []


def test_a_send_cut_off_after_the_message_went_over_may_have_been_delivered(tmp_path):
    """No reply to the message handed over (the connection dropped): the server may have it, so
    the record says so (a digest or group mail then leaves none of its items out); a server
    that never answered the greeting had nothing of it."""

    def take_the_message_and_hang_up(conn: socket.socket) -> None:
        with conn.makefile("rb") as lines:
            conn.sendall(b"220 test ready\r\n")
            for line in lines:
                if line.upper().startswith(b"EHLO"):
                    conn.sendall(b"250 test\r\n")
                elif line.upper().startswith((b"MAIL", b"RCPT")):
                    conn.sendall(b"250 ok\r\n")
                elif line.upper().startswith(b"DATA"):
                    conn.sendall(b"354 go ahead\r\n")
                elif line == b".\r\n":
                    return  # the whole message taken; no reply

    n = at_risk_notice_sent_to(tmp_path, ScriptedPeer(take_the_message_and_hang_up))

    assert (n.status, n.maybe_delivered) == (domain.RETRYING, True)
