"""Sending a failed e-mail again: what ops do once the address or the relay is fixed."""

from __future__ import annotations

import pytest
from ccshared import contracts as c
from ccshared.auth import STAFF_ISSUER, StaffUser, TokenIssuer
from flask.testing import FlaskClient
from notifier import domain
from notifier.app import create_app
from notifier_testkit import Notifier, SmtpServer, sla_event

from tests.infra import tokens

COORDINATOR = "coordinator.north@example.org"
PRINCIPAL_ADDRESS = "principal.officer@example.org"
NORTH = StaffUser("test.coordinator", c.ROLE_COORDINATOR, c.NORTH)
SOUTH = StaffUser("test.coordinator2", c.ROLE_COORDINATOR, c.SOUTH)
PRINCIPAL = StaffUser("test.principal", c.ROLE_PRINCIPAL)
WORKER = StaffUser("test.worker", c.ROLE_STAFF, c.NORTH)


def api(notifier: Notifier) -> FlaskClient:
    return create_app(notifier.settings, store=notifier.store, clock=notifier.clock).test_client()


def headers(notifier: Notifier, user: StaffUser) -> tokens.TokenHeaders:
    """The user's token, issued at the test clock's time (the API's time)."""
    return tokens.TokenHeaders(TokenIssuer(STAFF_ISSUER, tokens.STAFF_KEY, notifier.clock), user, "notifier")


def resend(client: FlaskClient, notifier: Notifier, user: StaffUser, notification_id: str):
    return client.post(f"/api/v1/notifications/{notification_id}/resend", headers=headers(notifier, user))


@pytest.fixture
def failed_breach(smtp_notifier: Notifier, smtp_server: SmtpServer) -> dict:
    """A breach notice the relay refused for good (both copies failed and dead-lettered)."""
    smtp_server.refuse("550 5.1.1 Mailbox unavailable")
    breach = sla_event()
    smtp_notifier.receive(breach)
    smtp_notifier.deliver()
    assert {n.status for n in smtp_notifier.notifications.search()} == {domain.FAILED}
    smtp_server.accept()  # the relay is fixed
    return breach


def test_a_failed_breach_notice_is_sent_again_once_with_the_same_message_id(
    smtp_notifier: Notifier, smtp_server: SmtpServer, failed_breach: dict
):
    client = api(smtp_notifier)
    notice_id = domain.notification_id(failed_breach["id"], COORDINATOR)
    smtp_notifier.clock.advance(hours=1)

    answer = resend(client, smtp_notifier, NORTH, notice_id)

    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert (body["status"], body["attempts"], body["last_error"]) == (domain.PENDING, 0, None)
    assert body["resent_by"] == NORTH.username
    assert body["resent_at"] == smtp_notifier.clock.now().isoformat()
    second = resend(client, smtp_notifier, NORTH, notice_id)
    assert second.status_code == 409
    assert second.get_json()["error"]["current_status"] == domain.PENDING
    assert "pending" in second.get_json()["error"]["message"]

    smtp_notifier.deliver()
    smtp_notifier.deliver()

    sent = smtp_notifier.notifications.get(notice_id)
    assert (sent.status, sent.attempts, sent.resent_by) == (domain.SENT, 1, NORTH.username)
    [copy] = smtp_server.received
    assert copy.rcpt_tos == [COORDINATOR]
    assert copy.message["Message-ID"] == sent.message_id
    listed = client.get("/api/v1/notifications", headers=headers(smtp_notifier, PRINCIPAL))
    shown = next(n for n in listed.get_json()["items"] if n["id"] == notice_id)
    assert shown["resent_by"] == NORTH.username and shown["resent_at"]
    after = resend(client, smtp_notifier, PRINCIPAL, notice_id)
    assert after.status_code == 409 and after.get_json()["error"]["current_status"] == domain.SENT
    # The Principal Officer's copy was not asked for: it stays failed, and is sent by no one.
    assert smtp_notifier.notifications.get(
        domain.notification_id(failed_breach["id"], PRINCIPAL_ADDRESS)
    ).status == (domain.FAILED)


def test_a_resent_notice_that_fails_again_has_all_its_attempts_and_is_dead_lettered_again(
    smtp_notifier: Notifier, smtp_server: SmtpServer, failed_breach: dict
):
    notice_id = domain.notification_id(failed_breach["id"], COORDINATOR)
    assert resend(api(smtp_notifier), smtp_notifier, PRINCIPAL, notice_id).status_code == 200
    smtp_server.refuse("451 4.3.0 Try again later")

    for _ in range(smtp_notifier.settings.delivery.max_attempts):
        smtp_notifier.deliver()
        smtp_notifier.clock.advance(hours=2)

    again = smtp_notifier.notifications.get(notice_id)
    assert again.status == domain.FAILED
    assert again.attempts == smtp_notifier.settings.delivery.max_attempts
    assert again.dead_lettered is True
    assert resend(api(smtp_notifier), smtp_notifier, PRINCIPAL, notice_id).status_code == 200


def test_who_may_send_a_failed_notice_again(smtp_notifier: Notifier, failed_breach: dict):
    client = api(smtp_notifier)
    coordinators_copy = domain.notification_id(failed_breach["id"], COORDINATOR)
    principals_copy = domain.notification_id(failed_breach["id"], PRINCIPAL_ADDRESS)

    refused = resend(client, smtp_notifier, WORKER, coordinators_copy)
    assert refused.status_code == 403  # staff read no delivery log
    assert resend(client, smtp_notifier, WORKER, "no-such-notification").status_code == 403
    assert resend(client, smtp_notifier, SOUTH, coordinators_copy).status_code == 404  # another area's
    assert resend(client, smtp_notifier, NORTH, "no-such-notification").status_code == 404
    anonymous = client.post(f"/api/v1/notifications/{coordinators_copy}/resend")
    assert anonymous.status_code == 401
    assert smtp_notifier.notifications.get(coordinators_copy).status == domain.FAILED

    assert resend(client, smtp_notifier, PRINCIPAL, principals_copy).status_code == 200
    assert resend(client, smtp_notifier, NORTH, coordinators_copy).status_code == 200


def test_a_coordinator_may_send_again_what_went_to_their_mailbox_of_no_one_area(smtp_notifier: Notifier):
    now = smtp_notifier.clock.now()
    digest = domain.own_mail(
        "test-digest-1",
        COORDINATOR,
        now,
        kind=domain.DIGEST,
        event_type=domain.DIGEST_TYPE,
        area=None,
        data={},
    )
    digest.claim(now)
    digest.failed_permanently(now, "550 5.1.1 Test refusal")
    smtp_notifier.notifications.add(digest)
    client = api(smtp_notifier)

    assert resend(client, smtp_notifier, SOUTH, digest.id).status_code == 404
    assert resend(client, smtp_notifier, NORTH, digest.id).status_code == 200


def test_only_a_failed_notification_is_sent_again(smtp_notifier: Notifier):
    smtp_notifier.receive(sla_event())
    [pending, *_] = smtp_notifier.notifications.search()
    with pytest.raises(domain.NotFailed, match="is pending, not failed"):
        pending.resend("test.coordinator", smtp_notifier.clock.now())
    assert pending.status == domain.PENDING and pending.resent_by is None
