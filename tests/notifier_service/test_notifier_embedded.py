"""The embedded run: SQLite event log and store, the file transport, and the HTTP API over it."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path

import pytest
from ccshared import bus as buses
from ccshared import contracts as c
from ccshared import events
from ccshared import store as stores
from ccshared.auth import STAFF_ISSUER, StaffUser, TokenIssuer
from ccshared.runner import run_tasks
from notifier import bootstrap, domain
from notifier.app import create_app
from notifier.config import Settings
from notifier.file_transport import FileTransport
from notifier.mail import compose
from notifier.rendering import RenderedMessage
from notifier.repository import repositories
from notifier.worker import tasks
from notifier_testkit import MONDAY_MORNING, Notifier, centre_event, environment, sla_event, stale_event

from tests.infra import tokens
from tests.infra.waiting import wait_for

PRINCIPAL = StaffUser("test.principal", c.ROLE_PRINCIPAL)
NORTH = StaffUser("test.coordinator", c.ROLE_COORDINATOR, c.NORTH)
SOUTH = StaffUser("test.coordinator2", c.ROLE_COORDINATOR, c.SOUTH)
WORKER = StaffUser("test.worker", c.ROLE_STAFF, c.NORTH)


def headers(user: StaffUser) -> tokens.TokenHeaders:
    return tokens.staff_headers(user, "notifier")


def emls(mail_dir: Path) -> list[Path]:
    return sorted(mail_dir.glob("*.eml"))


@pytest.fixture
def embedded(tmp_path: Path) -> Iterator[Settings]:
    """`python -m notifier worker` in-process with the embedded defaults (no NOTIFIER_TRANSPORT)."""
    env = environment(tmp_path)
    settings = Settings.from_env(env)
    stop = threading.Event()
    runner = threading.Thread(target=run_tasks, args=(tasks(settings), stop))
    runner.start()
    yield settings
    stop.set()
    runner.join(timeout=20)


def publish(settings: Settings, topic: str, envelope: dict) -> None:
    buses.connect(settings.bus_url).producer().publish(topic, envelope["subject"], events.encode(envelope))


def test_embedded_defaults_choose_the_file_transport(tmp_path):
    settings = Settings.from_env(tokens.key_env("notifier"))
    assert settings.delivery.transport == "file"
    assert settings.delivery.mail_dir == Path("var/mail")
    assert settings.bus_url == "sqlite:///var/events.db"
    assert settings.store_url == "sqlite:///var/notifier.db"
    assert isinstance(bootstrap.transport(settings), FileTransport)


def test_a_breach_in_the_embedded_run_is_one_eml_per_recipient_shown_to_staff(embedded: Settings):
    mail_dir = embedded.delivery.mail_dir
    breach = sla_event()
    notifications, centres = repositories(stores.connect(embedded.store_url))
    publish(embedded, c.CENTRES_TOPIC, centre_event())
    # Topics carry no order between them: the breach follows once the centre is known, as in life.
    wait_for(lambda: centres.get("centre-north-1") is not None, 90, "the centre known")
    publish(embedded, c.SLA_TOPIC, breach)
    wait_for(lambda: len(emls(mail_dir)) == 2, 90, "two mails")

    publish(embedded, c.SLA_TOPIC, breach)  # a redelivery
    sentinel = sla_event(c.SLA_AT_RISK, assignee="test.worker")  # same contact: same key, after it
    publish(embedded, c.SLA_TOPIC, sentinel)
    wait_for(lambda: len(emls(mail_dir)) == 3, 90, "three mails")
    wait_for(
        lambda: {n.status for n in notifications.search()} == {domain.SENT}, 90, "every notification sent"
    )
    assert len(notifications.search()) == 3
    assert not list(mail_dir.glob(".*.tmp"))

    client = create_app(embedded).test_client()
    everything = client.get("/api/v1/messages", headers=headers(PRINCIPAL)).get_json()["items"]
    assert len(everything) == 3
    breach_copies = [m for m in everything if m["event_type"] == c.SLA_BREACHED]
    assert sorted(m["delivered_to"] for m in breach_copies) == [
        "coordinator.north@example.org",
        "principal.officer@example.org",
    ]
    assert {m["subject"] for m in breach_copies} == {
        "Overdue: letter LCC-TEST-0001 at Test Park Children's Centre"
    }

    shown = client.get(f"/api/v1/messages/{breach_copies[0]['id']}", headers=headers(PRINCIPAL)).get_json()
    assert "LCC-TEST-0001" in shown["text"]
    assert "http://localhost:8000/staff/contacts/contact-0001" in shown["html"]
    assert shown["to"] == "coordinator.north@example.org"
    assert shown["cc"] == "principal.officer@example.org"

    mine = client.get("/api/v1/messages", headers=headers(WORKER)).get_json()["items"]
    assert [m["event_type"] for m in mine] == [c.SLA_AT_RISK]
    assert len(client.get("/api/v1/messages", headers=headers(NORTH)).get_json()["items"]) == 3
    assert client.get("/api/v1/messages", headers=headers(SOUTH)).get_json()["items"] == []
    hidden = client.get(f"/api/v1/messages/{breach_copies[0]['id']}", headers=headers(SOUTH))
    assert hidden.status_code == 404


def test_a_due_date_moved_is_skipped_and_the_contacts_next_event_still_mailed(embedded: Settings):
    """sla.due_moved is for contacts (a referral's respond-by date): the notifier records and sends
    nothing for it, sends it to no dead letters, and is not held up by it."""
    mail_dir = embedded.delivery.mail_dir
    notifications, centres = repositories(stores.connect(embedded.store_url))
    publish(embedded, c.CENTRES_TOPIC, centre_event())
    wait_for(lambda: centres.get("centre-north-1") is not None, 90, "the centre known")
    breach = sla_event()
    moved = {name: breach["data"][name] for name in ("contact_id", "reference", "centre_id", "area")}
    moved |= {"channel": c.REFERRAL, "due_at": datetime.fromisoformat(breach["data"]["due_at"]), "move": 1}
    publish(
        embedded,
        c.SLA_TOPIC,
        events.make(c.SLA_DUE_MOVED, "contact-0001", moved, source="sla-monitor", time=MONDAY_MORNING),
    )
    publish(embedded, c.SLA_TOPIC, breach)  # same contact: same key, after it
    wait_for(lambda: len(emls(mail_dir)) == 2, 90, "the breach's two mails")

    assert {n.event_type for n in notifications.search()} == {c.SLA_BREACHED}
    dead = buses.connect(embedded.bus_url).consumer("test-dead-letters", [c.DEAD_LETTER_TOPIC])
    try:
        assert dead.poll(0.5) == []
    finally:
        dead.close()


def test_messages_api_needs_a_staff_token_and_rejects_unsafe_ids(tmp_path):
    client = create_app(Settings.from_env(environment(tmp_path))).test_client()
    unauthenticated = client.get("/api/v1/messages")
    assert unauthenticated.status_code == 401
    assert unauthenticated.get_json()["error"]["code"] == "unauthorized"
    for unsafe in ("..", ".hidden", "a..b", "x%2F..%2Fnotifier.db"):
        assert client.get(f"/api/v1/messages/{unsafe}", headers=headers(PRINCIPAL)).status_code == 404


def test_the_delivery_log_lists_and_filters_by_role(file_notifier: Notifier):
    file_notifier.receive(sla_event())
    file_notifier.receive(sla_event(c.SLA_AT_RISK, contact_id="contact-0002", reference="LCC-TEST-0002"))
    file_notifier.receive(stale_event())
    file_notifier.clock.advance(minutes=5)
    file_notifier.receive(sla_event(c.SLA_AT_RISK, contact_id="contact-0003", reference="LCC-TEST-0003"))
    file_notifier.deliver()
    client = create_app(file_notifier.settings, store=file_notifier.store).test_client()

    def log(user: StaffUser, query: str = "") -> list[dict]:
        response = client.get(f"/api/v1/notifications{query}", headers=headers(user))
        assert response.status_code == 200, response.get_json()
        return response.get_json()["items"]

    everything = log(PRINCIPAL)
    assert len(everything) == 5
    assert {n["status"] for n in everything} == {domain.SENT}
    assert everything[0]["reference"] == "LCC-TEST-0003"  # newest first
    assert {n["event_type"] for n in log(PRINCIPAL, f"?event_type={c.SLA_BREACHED}")} == {c.SLA_BREACHED}
    assert len(log(PRINCIPAL, "?since=2026-07-06T09:01:00Z")) == 1
    assert log(PRINCIPAL, "?status=failed") == []
    assert {n["area"] for n in log(NORTH)} == {c.NORTH}
    assert [n["event_type"] for n in log(SOUTH)] == [c.CENTRE_STALE]
    first = everything[-1]
    assert first["server_reply"].startswith("250 written")
    assert first["message_id"].endswith("@childrens-centres.notifier>")

    assert client.get("/api/v1/notifications", headers=headers(WORKER)).status_code == 403
    bad = client.get("/api/v1/notifications?status=lost", headers=headers(PRINCIPAL))
    assert bad.status_code == 422
    assert "status" in bad.get_json()["error"]["fields"]


def test_the_api_judges_a_staff_token_by_the_clock_it_is_given(file_notifier: Notifier):
    """create_app takes the clock, as the worker does: a test's fixed time is the API's time too."""
    issuer = TokenIssuer(STAFF_ISSUER, tokens.STAFF_KEY, file_notifier.clock)
    issued_at_fixed_time = tokens.TokenHeaders(issuer, PRINCIPAL, "notifier")
    fixed = create_app(file_notifier.settings, store=file_notifier.store, clock=file_notifier.clock)
    assert fixed.test_client().get("/api/v1/notifications", headers=issued_at_fixed_time).status_code == 200
    system = create_app(file_notifier.settings, store=file_notifier.store)
    assert system.test_client().get("/api/v1/notifications", headers=issued_at_fixed_time).status_code == 401


def test_file_transport_restart_trusts_the_file_and_never_duplicates(file_notifier: Notifier):
    mail_dir = file_notifier.settings.delivery.mail_dir
    file_notifier.receive(sla_event(c.SLA_AT_RISK, contact_id="contact-a"))
    file_notifier.receive(sla_event(c.SLA_AT_RISK, contact_id="contact-b", area=c.SOUTH))
    written, unwritten = sorted(file_notifier.notifications.search(), key=lambda n: n.area)
    now = file_notifier.clock.now()
    for pending in (written, unwritten):
        assert file_notifier.notifications.transition(pending, lambda n: n.claim(now))
    # The killed process had written one file before it died.
    FileTransport(mail_dir).deliver(EmailMessage(), written.recipient, written.message_key)
    before = (mail_dir / f"{written.message_key}.eml").stat().st_mtime_ns

    file_notifier.clock.advance(seconds=file_notifier.settings.delivery.sending_timeout_seconds + 1)
    file_notifier.deliver()
    file_notifier.deliver()

    found = file_notifier.notifications.get(written.id)
    assert found.status == domain.SENT
    assert found.attempts == 1
    assert found.server_reply.startswith("250 found")
    assert (mail_dir / f"{written.message_key}.eml").stat().st_mtime_ns == before
    resent = file_notifier.notifications.get(unwritten.id)
    assert resent.status == domain.SENT
    assert resent.attempts == 2
    assert len(emls(mail_dir)) == 2


def test_a_username_that_spells_a_role_mailbox_reads_none_of_its_mail(file_notifier: Notifier):
    """Mail to the Principal Officer's or a coordinator's address is read by role and area,
    not by whoever is named like the address (principal.officer@ is the default)."""
    file_notifier.receive(sla_event())  # a breach in the north: coordinator and Principal Officer
    file_notifier.receive(sla_event(c.SLA_AT_RISK, contact_id="contact-0002", assignee="test.worker"))
    file_notifier.deliver()
    client = create_app(file_notifier.settings, store=file_notifier.store).test_client()
    everything = client.get("/api/v1/messages", headers=headers(PRINCIPAL)).get_json()["items"]
    to_principal = next(m for m in everything if m["delivered_to"] == "principal.officer@example.org")
    to_north = next(m for m in everything if m["delivered_to"] == "coordinator.north@example.org")
    impostors = (
        StaffUser("principal.officer", c.ROLE_STAFF, c.SOUTH),
        StaffUser("coordinator.north", c.ROLE_STAFF, c.SOUTH),
        StaffUser("coordinator.north", c.ROLE_COORDINATOR, c.SOUTH),
    )

    for impostor in impostors:
        listed = client.get("/api/v1/messages", headers=headers(impostor)).get_json()["items"]
        assert listed == [], impostor
        for message in (to_principal, to_north):
            shown = client.get(f"/api/v1/messages/{message['id']}", headers=headers(impostor))
            assert shown.status_code == 404, (impostor, message["delivered_to"])
    mine = client.get("/api/v1/messages", headers=headers(WORKER)).get_json()["items"]
    assert [m["event_type"] for m in mine] == [c.SLA_AT_RISK], "staff still read mail to their own address"
    north = client.get("/api/v1/messages", headers=headers(NORTH)).get_json()["items"]
    assert to_north["id"] in {m["id"] for m in north}


def partner_mail(notifier: Notifier, event_type: str, address: str, area: str) -> None:
    """A partner's notice as delivery writes it once the contacts service has named the address."""
    notice = domain.own_mail(
        f"event-{event_type}-{area}",
        f"{domain.AGENCY_OF}:contact-0009",
        notifier.clock.now(),
        kind=domain.EVENT,
        event_type=event_type,
        area=area,
        data={},
    )
    rendered = RenderedMessage("Referral LCC-TEST-0009", "Your referral", "<p>Your referral</p>")
    message = compose(
        notice, rendered, notifier.settings.delivery.sender, notifier.clock.now(), to=(address,)
    )
    FileTransport(notifier.settings.delivery.mail_dir).deliver(message, address, notice.message_key)


def readable(client, user: StaffUser) -> set[str]:
    """The ids `user` is shown in the list, once each message's own page agrees."""
    listed = {m["id"] for m in client.get("/api/v1/messages", headers=headers(user)).get_json()["items"]}
    everything = client.get("/api/v1/messages", headers=headers(PRINCIPAL)).get_json()["items"]
    for message in everything:
        shown = client.get(f"/api/v1/messages/{message['id']}", headers=headers(user)).status_code
        assert shown == (200 if message["id"] in listed else 404), (user, message["delivered_to"])
    return listed


def test_a_username_that_spells_a_centre_or_partner_address_reads_none_of_its_mail(file_notifier: Notifier):
    """Read access goes by role and area: being named like a centre's inbox or an agency's
    notification address gives a user none of the mail sent there."""
    file_notifier.receive(centre_event())  # its inbox: centre@example.org
    referral = sla_event(c.SLA_STARTED, contact_id="contact-0009", channel=c.REFERRAL)
    referral["data"] |= {"urgency": "urgent", "support_needed": ["stay-and-play"], "target_working_days": 1}
    file_notifier.receive(referral)
    file_notifier.deliver()
    partner_mail(file_notifier, c.SLA_STARTED, "demo.health.visitors@example.org", c.NORTH)
    partner_mail(file_notifier, c.REFERRAL_DECLINED, "other@example.org", c.SOUTH)
    client = create_app(file_notifier.settings, store=file_notifier.store).test_client()
    everything = client.get("/api/v1/messages", headers=headers(PRINCIPAL)).get_json()["items"]
    assert "centre@example.org" in {m["delivered_to"] for m in everything}
    impostors = (
        StaffUser("centre", c.ROLE_STAFF, c.SOUTH),  # a south user named like a north centre's inbox
        StaffUser("centre", c.ROLE_STAFF, c.NORTH),
        StaffUser("demo.health.visitors", c.ROLE_STAFF, c.NORTH),  # like the agency's mailbox
        StaffUser("other", c.ROLE_STAFF, c.CENTRAL),  # another area's decline mail
    )
    for impostor in impostors:
        assert readable(client, impostor) == set(), impostor
    south = StaffUser("test.coordinator2", c.ROLE_COORDINATOR, c.SOUTH)
    assert {m["delivered_to"] for m in everything if m["id"] in readable(client, south)} == {
        "other@example.org"
    }


def test_staff_read_their_own_notices_only_in_their_own_area(file_notifier: Notifier):
    file_notifier.receive(sla_event(c.SLA_AT_RISK, assignee="test.worker"))
    file_notifier.receive(
        sla_event(c.SLA_AT_RISK, contact_id="contact-0002", area=c.SOUTH, assignee="test.worker")
    )
    file_notifier.deliver()
    client = create_app(file_notifier.settings, store=file_notifier.store).test_client()
    everything = client.get("/api/v1/messages", headers=headers(PRINCIPAL)).get_json()["items"]
    assert {m["delivered_to"] for m in everything} == {"test.worker@example.org"}
    north = next(m["id"] for m in everything if m["area"] == c.NORTH)
    assert readable(client, WORKER) == {north}
    assert readable(client, StaffUser("test.worker", c.ROLE_STAFF, c.CENTRAL)) == set()


def test_a_long_subject_folded_over_lines_reads_back_as_it_was_written(file_notifier: Notifier):
    """A fold right after "Subject:" (what the writer does when a first word fills the line)
    once showed as a leading space on the staff mail page; a space before a fold doubled."""
    subject = "Overdue: LCC-TEST-0009 for Test Centre North, not answered within five working days"
    partner_mail(file_notifier, c.SLA_BREACHED, "coordinator.north@example.org", c.NORTH)
    [written] = emls(file_notifier.settings.delivery.mail_dir)
    folded = b"Subject:\r\n Overdue: LCC-TEST-0009 for Test Centre North, not \r\n answered within five working days"
    written.write_bytes(re.sub(rb"Subject: [^\r]*(\r\n [^\r]*)*", folded, written.read_bytes(), count=1))
    client = create_app(file_notifier.settings, store=file_notifier.store).test_client()

    [listed] = client.get("/api/v1/messages", headers=headers(PRINCIPAL)).get_json()["items"]
    shown = client.get(f"/api/v1/messages/{listed['id']}", headers=headers(PRINCIPAL)).get_json()

    assert listed["subject"] == subject
    assert shown["subject"] == subject
