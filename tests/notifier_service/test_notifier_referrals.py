"""A referral's notices: the centre hears at once, the referrer on receipt and on each change.

Real parts throughout: the contacts service answers over HTTP on loopback (the
notifier asks it for the referrer's addresses at send time), mail goes to a
real SMTP server, the stores are SQLite in tmp_path; the clock is a test clock.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from ccshared import contracts as c
from ccshared import events
from ccshared import store as stores
from ccshared.auth import StaffUser
from ccshared.outbox import OUTBOX
from ccshared.timeutil import FixedClock
from contacts.agencies import AgencyKeys
from contacts.app import create_app as create_contacts_app
from contacts.config import Settings as ContactsSettings
from contacts.read_model import CentreReadModel
from contacts.repository import AgencyRepository, CentreRepository
from cryptography.fernet import Fernet
from notifier.domain import FAILED, PENDING, RETRYING, SENT, SKIPPED
from notifier.file_transport import FileTransport, Mailbox
from notifier_testkit import (
    MONDAY_MORNING,
    Notifier,
    SmtpServer,
    centre_event,
    dead_letters,
    smtp_wired,
    wire,
)
from werkzeug.serving import make_server

from tests.infra import payloads, tokens
from tests.infra.common import free_port

CENTRE = "centre-north-1"
REFERRAL = payloads.REFERRAL | {
    "centre_id": CENTRE,
    "support_needed": ["speech-and-language", "stay-and-play"],
    "urgency": "urgent",
    # Before the test clock's Monday morning: consent recorded later would be refused.
    "consent": payloads.REFERRAL["consent"] | {"recorded_at": "2026-07-06T08:30:00+00:00"},
}
FAMILY_VALUES = ("Test Family Carer", "07700 900123", "Test note", "Test Referrer", "age_years")


class Contacts:
    """The real contacts service, served over HTTP on loopback; it can be stopped and started."""

    def __init__(self, tmp_path) -> None:
        settings = ContactsSettings(
            store_url=f"sqlite:///{tmp_path}/contacts.db",
            bus_url=f"sqlite:///{tmp_path}/contacts-events.db",
            staff_token_public_key=tokens.STAFF_PUBLIC,
            service_token_public_key=tokens.SERVICE_PUBLIC,
            encryption_key=Fernet.generate_key().decode(),
            blind_index_key=secrets.token_urlsafe(32),
        )
        self.store = stores.connect(settings.store_url)
        centre = events.decode(events.encode(centre_event(CENTRE)))
        CentreReadModel(CentreRepository(self.store)).apply(centre)
        self.app = create_contacts_app(settings, store=self.store, clock=FixedClock(MONDAY_MORNING))
        self.client = self.app.test_client()
        self.keys = AgencyKeys(AgencyRepository(self.store), FixedClock(MONDAY_MORNING))
        self.port = free_port()
        self.server = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def staff(self, action: str, contact_id: str, body: dict | None = None) -> None:
        """A staff action on the contact: `withdraw`, or on its referral `referral/open`..."""
        headers = tokens.staff_headers(StaffUser("test.coordinator", "coordinator", "north"), "contacts")
        url = f"/api/v1/contacts/{contact_id}/{action}"
        answer = self.client.post(url, json=body or {}, headers=headers)
        assert answer.status_code == 200, answer.json

    def refer(self, notify_email: str, referral: dict = REFERRAL) -> dict:
        """A referral posted by a new agency whose notification address is `notify_email`."""
        issued = self.keys.create("Example Health Visitors", notify_email=notify_email)
        return self.client.post("/api/v1/referrals", json=referral, headers={"X-API-Key": issued.key}).json

    def erase(self, contact_id: str) -> None:
        """The family asked to be erased (a subject access erasure, as an admin makes it)."""
        headers = tokens.staff_headers(StaffUser("test.admin", "admin", None), "contacts")
        body = {"phone": "07700 900123", "contact_ids": [contact_id], "reason": "erasure_request"}
        answer = self.client.post("/api/v1/subject-access/erase", json=body, headers=headers)
        assert answer.status_code == 200 and answer.json["erased"] == [contact_id], answer.json

    def staged(self, contact_id: str) -> list[dict]:
        """The contact's events as its relay would publish them."""
        return list(self.store.collection("contacts").get(contact_id)[OUTBOX])


@pytest.fixture
def contacts(tmp_path) -> Iterator[Contacts]:
    service = Contacts(tmp_path)
    service.start()
    yield service
    service.stop()


def started_event(contact: dict, urgency: str = "urgent") -> dict:
    """The SLA monitor's sla.started for the referral (its due date: two working days on)."""
    data = {
        "contact_id": contact["id"],
        "reference": contact["reference"],
        "channel": c.REFERRAL,
        "centre_id": contact["centre_id"],
        "area": c.NORTH,
        "assignee": None,
        "received_at": MONDAY_MORNING,
        "due_at": datetime(2026, 7, 7, 22, 59, 59, tzinfo=UTC),
        "target_working_days": 1,
        "urgency": urgency,
        "support_needed": ["speech-and-language", "stay-and-play"],
    }
    return events.make(c.SLA_STARTED, contact["id"], data, source="sla-monitor", time=MONDAY_MORNING)


def by_recipient(smtp_server: SmtpServer) -> dict[str, list]:
    mail: dict[str, list] = {}
    for received in smtp_server.received:
        for rcpt in received.rcpt_tos:
            mail.setdefault(rcpt, []).append(received.message)
    return mail


def hears_of_it_all(notifier, contacts: Contacts, referral: dict) -> None:
    """The notifier hears of the centre, the referral's clock and each of its changes, and sends."""
    notifier.receive(centre_event(CENTRE))
    notifier.receive(started_event(referral))
    for envelope in contacts.staged(referral["id"]):
        notifier.receive(envelope)
    notifier.deliver()


def body(message) -> str:
    return message.get_body(("plain",)).get_content()


def test_the_centre_and_the_referrer_hear_of_a_new_referral_at_once(tmp_path, smtp_server, contacts):
    referral = contacts.refer("hv-team@example.org")
    notifier = smtp_wired(tmp_path, smtp_server, CONTACTS_URL=contacts.url)
    notifier.receive(centre_event(CENTRE))

    started = started_event(referral)
    notifier.receive(started)
    notifier.receive(started)  # redelivered: nothing more
    notifier.clock.advance(hours=3)  # sent later than the referral came in
    notifier.deliver()

    mail = by_recipient(smtp_server)
    assert sorted(mail) == sorted(
        ["coordinator.north@example.org", "centre@example.org", "hv-team@example.org", "referrer@example.org"]
    )
    assert all(len(messages) == 1 for messages in mail.values())
    centre_notice = mail["coordinator.north@example.org"][0]
    assert (
        centre_notice["Subject"]
        == f"URGENT referral: {referral['reference']} for Test Park Children's Centre"
    )
    text = body(centre_notice)
    assert "Speech and language, Stay and play" in text and "Tuesday 7 July 2026, 23:59" in text
    assert f"/staff/contacts/{referral['id']}" in text
    receipt = mail["referrer@example.org"][0]
    assert receipt["To"] == "referrer@example.org"
    assert (
        f"We have your referral {referral['reference']}, for Test Park Children's Centre. "
        "We will respond by Tuesday 7 July 2026, 23:59." in body(receipt)
    )
    assert "When:       Monday 6 July 2026, 10:00" in body(receipt)  # received, not sent
    for messages in mail.values():
        for value in FAMILY_VALUES:
            assert value not in messages[0].as_string()


def told_twice(tmp_path, smtp_server, contacts: Contacts, referral: dict) -> dict[str, list]:
    """The notifier hears of each of the referral's events twice (told once all the same) and
    sends: the mail each address got."""
    notifier = smtp_wired(tmp_path, smtp_server, CONTACTS_URL=contacts.url)
    notifier.receive(centre_event(CENTRE))
    for envelope in contacts.staged(referral["id"]) * 2:
        notifier.receive(envelope)
    notifier.deliver()
    return by_recipient(smtp_server)


def test_each_change_is_told_once_to_each_referrer_with_the_decline_reason(tmp_path, smtp_server, contacts):
    referral = contacts.refer("hv-team@example.org")
    contacts.staff("referral/open", referral["id"])
    contacts.staff(
        "referral/decline",
        referral["id"],
        {"reason_code": "outside_area", "reason": "Test reason: outside our area"},
    )

    mail = told_twice(tmp_path, smtp_server, contacts, referral)

    assert sorted(mail) == ["hv-team@example.org", "referrer@example.org"]
    for messages in mail.values():
        subjects = sorted(message["Subject"].strip().split(":")[0] for message in messages)
        assert subjects == ["Your referral has been declined", "Your referral has been opened"]
    declined = next(m for m in mail["hv-team@example.org"] if "declined" in m["Subject"])
    # In the words the partner pages use for the reason (ccshared.labels).
    assert "Reason: Outside our area. Test reason: outside our area" in body(declined)
    assert "Test Family Carer" not in declined.as_string()
    # The footer must be true: the decline reason staff wrote may mention the family.
    opened = next(m for m in mail["hv-team@example.org"] if "opened" in m["Subject"])
    html = declined.get_body(("html",)).get_content()
    for text in (body(declined), html):
        assert "holds no details of the family" not in text
        assert "Of the family it holds only the decline reason the centre's staff wrote" in text
    assert "It holds no details of the family." in body(opened)


def test_a_withdrawn_referral_is_told_to_each_referrer_with_the_reason_in_words(
    tmp_path, smtp_server, contacts
):
    referral = contacts.refer("hv-team@example.org")
    contacts.staff("withdraw", referral["id"], {"reason_code": "family_withdrew"})

    mail = told_twice(tmp_path, smtp_server, contacts, referral)

    assert sorted(mail) == ["hv-team@example.org", "referrer@example.org"]
    for messages in mail.values():
        assert [m["Subject"] for m in messages] == [
            f"Your referral has been withdrawn: {referral['reference']} for Test Park Children's Centre"
        ]
    withdrawn = mail["hv-team@example.org"][0]
    html = withdrawn.get_body(("html",)).get_content()
    for text in (body(withdrawn), html):
        assert "has been withdrawn" in text and "Reason: The family withdrew." in text
        assert "family_withdrew" not in text and "It holds no details of the family." in text
    for value in FAMILY_VALUES:
        assert value not in withdrawn.as_string()


def test_a_referral_paused_waiting_on_the_partner_is_told_to_each_referrer_without_the_note(
    tmp_path, smtp_server, contacts
):
    """Staff wait on the agency: it and its referrer are asked to get in touch, with a link, never
    the note staff wrote (which may name the family); waiting on the family tells them nothing."""
    referral = contacts.refer("hv-team@example.org")
    contacts.staff("pause", referral["id"], {"reason_code": "waiting_on_partner", "note": "Test note"})
    again = contacts.keys.create(None, existing_id="example-health-visitors")
    quiet = contacts.client.post("/api/v1/referrals", json=REFERRAL, headers={"X-API-Key": again.key}).json
    contacts.staff("pause", quiet["id"], {"reason_code": "waiting_on_family"})

    notifier = smtp_wired(tmp_path, smtp_server, CONTACTS_URL=contacts.url)
    notifier.receive(centre_event(CENTRE))
    for envelope in (contacts.staged(referral["id"]) + contacts.staged(quiet["id"])) * 2:
        notifier.receive(envelope)
    notifier.deliver()
    mail = by_recipient(smtp_server)

    assert sorted(mail) == ["hv-team@example.org", "referrer@example.org"]
    for messages in mail.values():  # one each: the pause waiting on the family is no news
        assert [m["Subject"] for m in messages] == [
            f"The centre is waiting on you about your referral: {referral['reference']} "
            "for Test Park Children's Centre"
        ]
    waiting = mail["referrer@example.org"][0]
    html = waiting.get_body(("html",)).get_content()
    for text in (body(waiting), html):
        assert f"/partners/referrals/{referral['id']}" in text
        assert "It holds no details of the family." in text
    for value in FAMILY_VALUES:
        assert value not in waiting.as_string()


@pytest.mark.parametrize("then", ["resume", "respond"])
def test_a_waiting_on_you_not_yet_sent_when_the_centre_stops_waiting_is_not_sent(
    tmp_path, smtp_server, contacts, then
):
    """The mail server was away while staff waited on the agency; they resumed (or answered)
    before it was back: the agency is not told the centre waits on it."""
    referral = contacts.refer("hv-team@example.org")
    contacts.staff("pause", referral["id"], {"reason_code": "waiting_on_partner"})
    notifier = smtp_wired(tmp_path, smtp_server, CONTACTS_URL=contacts.url)
    notifier.receive(centre_event(CENTRE))
    for envelope in contacts.staged(referral["id"]):
        notifier.receive(envelope)
    waiting = statuses_of(notifier, c.CONTACT_PAUSED)
    assert set(waiting.values()) == {PENDING} and len(waiting) == 2

    contacts.staff(then, referral["id"], {} if then == "resume" else {"method": "telephone"})
    for envelope in contacts.staged(referral["id"]):
        notifier.receive(envelope)
    notifier.deliver()

    assert set(statuses_of(notifier, c.CONTACT_PAUSED).values()) == {SKIPPED}
    sent = [m["Subject"] for messages in by_recipient(smtp_server).values() for m in messages]
    assert not [subject for subject in sent if "waiting on you" in subject], sent


def test_a_withdrawal_to_a_referrer_whose_address_is_the_agencys_goes_once(tmp_path, smtp_server, contacts):
    referral = contacts.refer("Referrer@Example.org")
    contacts.staff("withdraw", referral["id"], {"reason_code": "logged_in_error"})
    notifier = smtp_wired(tmp_path, smtp_server, CONTACTS_URL=contacts.url)

    hears_of_it_all(notifier, contacts, referral)

    statuses = statuses_of(notifier, c.CONTACT_WITHDRAWN)
    assert statuses == {f"agency-of:{referral['id']}": SENT, f"referrer-of:{referral['id']}": SKIPPED}
    withdrawn = [m for m in by_recipient(smtp_server)["Referrer@Example.org"] if "withdrawn" in m["Subject"]]
    assert len(withdrawn) == 1 and "Reason: Logged in error." in body(withdrawn[0])


def test_the_referrer_is_told_when_contacts_is_back_and_not_at_all_without_an_address(
    tmp_path, smtp_server, contacts
):
    issued = contacts.keys.create("Example Voluntary Group")  # no notification address
    phone_only = REFERRAL | {"referrer": {"name": "Test Referrer", "phone": "0151 496 0000"}}
    referral = contacts.client.post(
        "/api/v1/referrals", json=phone_only, headers={"X-API-Key": issued.key}
    ).json
    contacts.keys.update("example-voluntary-group", notify_email="group@example.org")
    notifier = smtp_wired(tmp_path, smtp_server, CONTACTS_URL=contacts.url)
    notifier.receive(centre_event(CENTRE))
    contacts.stop()

    notifier.receive(started_event(referral, urgency="routine"))
    notifier.deliver()

    statuses = statuses_of(notifier, c.SLA_STARTED)
    assert statuses[f"agency-of:{referral['id']}"] == RETRYING
    assert statuses["coordinator.north@example.org"] == SENT
    assert sorted(by_recipient(smtp_server)) == ["centre@example.org", "coordinator.north@example.org"]

    contacts.start()
    notifier.clock.advance(hours=2)
    notifier.deliver()

    statuses = statuses_of(notifier, c.SLA_STARTED)
    assert statuses[f"agency-of:{referral['id']}"] == SENT
    assert statuses[f"referrer-of:{referral['id']}"] == SKIPPED
    assert FAILED not in statuses.values()
    assert "group@example.org" in by_recipient(smtp_server)


def test_a_referrer_whose_address_is_the_agencys_gets_one_copy(tmp_path, smtp_server, contacts):
    referral = contacts.refer("Referrer@Example.org")
    contacts.staff("referral/open", referral["id"])
    notifier = smtp_wired(tmp_path, smtp_server, CONTACTS_URL=contacts.url)

    hears_of_it_all(notifier, contacts, referral)

    to_partner = [r for r in smtp_server.received if "referrer@example.org" in map(str.lower, r.rcpt_tos)]
    assert len(to_partner) == 2  # the receipt and the opening, each once
    for event_type in (c.SLA_STARTED, c.REFERRAL_OPENED):
        statuses = statuses_of(notifier, event_type)
        assert statuses[f"agency-of:{referral['id']}"] == SENT
        assert statuses[f"referrer-of:{referral['id']}"] == SKIPPED
    skipped = notifier.store.collection("notifications").find({"recipient": f"referrer-of:{referral['id']}"})
    assert all("same address as the referring agency" in doc["last_error"] for doc in skipped)


def statuses_of(notifier, event_type: str) -> dict[str, str]:
    docs = notifier.store.collection("notifications").find({"event_type": event_type})
    return {doc["recipient"]: doc["status"] for doc in docs}


def test_an_agency_whose_webhook_receiver_keeps_failing_is_told_once(tmp_path, smtp_server, contacts):
    contacts.keys.create("Example Health Visitors", notify_email="hv-team@example.org")
    data = {
        "agency_id": "example-health-visitors",
        "failing_since": MONDAY_MORNING,
        "consecutive_failures": 5,
        "last_status_code": 503,
    }
    failing = events.make(
        c.AGENCY_WEBHOOK_FAILING, "example-health-visitors", data, source="contacts", time=MONDAY_MORNING
    )
    unknown = events.make(
        c.AGENCY_WEBHOOK_FAILING,
        "nobody",
        data | {"agency_id": "nobody"},
        source="contacts",
        time=MONDAY_MORNING,
    )
    notifier = smtp_wired(tmp_path, smtp_server, CONTACTS_URL=contacts.url)

    for envelope in (failing, failing, unknown):
        notifier.receive(envelope)
    notifier.deliver()

    mail = by_recipient(smtp_server)
    assert list(mail) == ["hv-team@example.org"] and len(mail["hv-team@example.org"]) == 1
    message = mail["hv-team@example.org"][0]
    assert message["Subject"] == "Your webhook receiver is failing"
    assert "HTTP 503" in body(message) and "Failed attempts in a row: 5" in body(message)
    assert statuses_of(notifier, c.AGENCY_WEBHOOK_FAILING)["agency:nobody"] == SKIPPED


DECLINE = {"reason_code": "outside_area", "reason": "Test reason: Test Family Carer has moved away"}


def declined_referral(contacts: Contacts) -> dict:
    referral = contacts.refer("hv-team@example.org")
    contacts.staff("referral/open", referral["id"])
    contacts.staff("referral/decline", referral["id"], DECLINE)
    return referral


def erasures(contacts: Contacts, contact_id: str) -> list[dict]:
    return [e for e in contacts.staged(contact_id) if e["type"] == c.CONTACT_PERSONAL_ERASED]


def erasure_arriving(contacts: Contacts, notifier, contact_id: str) -> Callable[[], None]:
    """Contacts erasing the contact and the notifier hearing of it, to happen mid-send."""

    def arrives() -> None:
        contacts.erase(contact_id)
        [erased] = erasures(contacts, contact_id)
        notifier.receive(erased)

    return arrives


def partner_notices(notifier, contact_id: str) -> list[dict]:
    docs = notifier.store.collection("notifications").find({"data.contact_id": contact_id})
    return [doc for doc in docs if doc["recipient"].split(":")[0] in ("agency-of", "referrer-of")]


def test_an_erased_referrals_kept_mail_loses_the_decline_reason_and_the_referrers_address(tmp_path, contacts):
    referral = declined_referral(contacts)
    notifier = wire(tmp_path, CONTACTS_URL=contacts.url)  # the file transport keeps each message
    hears_of_it_all(notifier, contacts, referral)
    mailbox = Mailbox(notifier.settings.delivery.mail_dir)
    kept = {m.id: mailbox.get(m.id) for m in mailbox.list()}
    declined = [m for m in kept.values() if m.event_type == c.REFERRAL_DECLINED]
    assert len(declined) == 2 and all(DECLINE["reason"] in m.text for m in declined)
    assert any(m.to == "referrer@example.org" for m in kept.values())
    sent = {doc["_id"]: doc for doc in partner_notices(notifier, referral["id"])}
    assert len(sent) == 6 and {doc["status"] for doc in sent.values()} == {SENT}

    contacts.erase(referral["id"])
    notifier.clock.advance(days=3)
    [erased] = erasures(contacts, referral["id"])
    notifier.receive(erased)

    after = {m.id: mailbox.get(m.id) for m in mailbox.list()}
    assert after.keys() == kept.keys(), "each message stays listed, by the same id"
    for message in after.values():
        whole = f"{message.to} {message.delivered_to} {message.text} {message.html}"
        assert DECLINE["reason"] not in whole and "referrer@example.org" not in whole
    staff = {"coordinator.north@example.org", "centre@example.org"}
    for key, message in after.items():
        if kept[key].to in staff:
            assert message == kept[key], "staff notices hold no personal data and stay"
        else:
            assert message.to == "undisclosed-recipients:;" and message.delivered_to is None
            assert message.erased_at == "2026-07-09T09:00:00.000000Z"
            assert message.subject == kept[key].subject and message.date == kept[key].date
            assert "erased on 9 July 2026, 10:00" in message.text
    for doc in partner_notices(notifier, referral["id"]):
        before = sent[doc["_id"]]
        assert doc["erased_at"] == "2026-07-09T09:00:00.000000Z"
        assert {k: doc[k] for k in ("status", "sent_at", "created_at", "kind", "recipient")} == {
            k: before[k] for k in ("status", "sent_at", "created_at", "kind", "recipient")
        }

    files = {path.name: path.read_bytes() for path in (tmp_path / "mail").glob("*.eml")}
    notifier.clock.advance(days=1)
    notifier.receive(erased)  # redelivered: nothing more
    assert {path.name: path.read_bytes() for path in (tmp_path / "mail").glob("*.eml")} == files
    assert {doc["erased_at"] for doc in partner_notices(notifier, referral["id"])} == {
        "2026-07-09T09:00:00.000000Z"
    }


def test_a_decline_not_yet_sent_when_the_referral_is_erased_goes_without_its_reason(
    tmp_path, smtp_server, contacts
):
    referral = declined_referral(contacts)
    notifier = smtp_wired(tmp_path, smtp_server, CONTACTS_URL=contacts.url)
    notifier.receive(centre_event(CENTRE))
    for envelope in contacts.staged(referral["id"]):
        notifier.receive(envelope)
    assert {doc["status"] for doc in partner_notices(notifier, referral["id"])} == {PENDING}

    contacts.erase(referral["id"])
    [erased] = erasures(contacts, referral["id"])
    notifier.receive(erased)
    notifier.deliver()

    mail = by_recipient(smtp_server)
    assert list(mail) == ["hv-team@example.org"], "the referrer's address went with the erasure"
    declined = next(m for m in mail["hv-team@example.org"] if "declined" in m["Subject"])
    assert "Reason: Outside our area." in body(declined)
    assert DECLINE["reason"] not in declined.as_string()
    statuses = statuses_of(notifier, c.REFERRAL_DECLINED)
    assert statuses[f"referrer-of:{referral['id']}"] == SKIPPED


class ErasedMidSend(FileTransport):
    """The file transport, with the erasure arriving after a decline was composed (its facts
    read from contacts) and before it is written."""

    on_decline = None

    def deliver(self, message, recipient: str, key: str) -> str:
        if self.on_decline and message["X-CC-Event-Type"] == c.REFERRAL_DECLINED:
            self.on_decline, arrive = None, self.on_decline
            arrive()
        return super().deliver(message, recipient, key)


def test_a_decline_being_sent_when_the_erasure_arrives_keeps_no_copy_of_its_reason(tmp_path, contacts):
    referral = declined_referral(contacts)
    transport = ErasedMidSend(tmp_path / "mail")
    notifier = wire(tmp_path, transport=transport, CONTACTS_URL=contacts.url)
    notifier.receive(centre_event(CENTRE))
    for envelope in contacts.staged(referral["id"]):
        notifier.receive(envelope)

    transport.on_decline = erasure_arriving(contacts, notifier, referral["id"])
    notifier.deliver()

    assert transport.on_decline is None, "the erasure came during a decline's send"
    mailbox = Mailbox(tmp_path / "mail")
    for message in (mailbox.get(m.id) for m in mailbox.list()):
        assert DECLINE["reason"] not in f"{message.text} {message.html}"
        assert "referrer@example.org" not in f"{message.to} {message.delivered_to}"


class Killed(BaseException):
    """The process dying: nothing of the send after it runs, the notice left "sending"."""


class DiesAfterWriting(ErasedMidSend):
    """The erasure arrives mid-send, the decline's copy is written, then the process dies."""

    def deliver(self, message, recipient: str, key: str) -> str:
        dies = self.on_decline is not None and message["X-CC-Event-Type"] == c.REFERRAL_DECLINED
        reply = super().deliver(message, recipient, key)
        if dies:
            raise Killed
        return reply


class OutlastedMidSend(FileTransport):
    """The erasure arrives mid-send of the referrer's decline, which then outlasts the sending
    timeout: another worker settles the notice (no copy yet) before this one writes it."""

    on_decline = None
    settle_elsewhere = None

    def deliver(self, message, recipient: str, key: str) -> str:
        declined = message["X-CC-Event-Type"] == c.REFERRAL_DECLINED
        if self.on_decline and declined and recipient == "referrer@example.org":
            self.on_decline, arrive = None, self.on_decline
            arrive()
            self.settle_elsewhere()
        return super().deliver(message, recipient, key)


def decline_to_send(tmp_path, contacts: Contacts, transport) -> tuple[dict, Notifier]:
    """A declined referral's notices recorded, one sent at a time, not yet sent; the erasure set
    to arrive during the send `transport` waits for (its on_decline)."""
    referral = declined_referral(contacts)
    notifier = wire(tmp_path, transport=transport, CONTACTS_URL=contacts.url, NOTIFIER_DELIVERY_THREADS="1")
    notifier.receive(centre_event(CENTRE))
    for envelope in contacts.staged(referral["id"]):
        notifier.receive(envelope)
    transport.on_decline = erasure_arriving(contacts, notifier, referral["id"])
    return referral, notifier


def assert_no_copy_keeps_what_was_erased(mail_dir) -> None:
    mailbox = Mailbox(mail_dir)
    for message in (mailbox.get(m.id) for m in mailbox.list()):
        assert DECLINE["reason"] not in f"{message.text} {message.html}", message.id
        assert "referrer@example.org" not in f"{message.to} {message.delivered_to}", message.id


def test_a_decline_whose_send_died_after_the_erasure_keeps_no_copy_of_its_reason(tmp_path, contacts):
    transport = DiesAfterWriting(tmp_path / "mail")
    referral, notifier = decline_to_send(tmp_path, contacts, transport)
    with pytest.raises(Killed):
        notifier.deliver()
    notifier.clock.advance(seconds=notifier.settings.delivery.sending_timeout_seconds + 1)
    notifier.deliver()  # the next run recovers the interrupted send: its copy was written

    assert transport.on_decline is None, "the erasure came during a decline's send"
    partner = partner_notices(notifier, referral["id"])
    assert {doc["status"] for doc in partner} <= {SENT, SKIPPED} and all(doc["erased_at"] for doc in partner)
    assert_no_copy_keeps_what_was_erased(tmp_path / "mail")


def test_a_decline_settled_elsewhere_after_the_erasure_keeps_no_copy_of_its_reason(tmp_path, contacts):
    transport = OutlastedMidSend(tmp_path / "mail")
    _, notifier = decline_to_send(tmp_path, contacts, transport)

    def settle_elsewhere() -> None:
        notifier.clock.advance(seconds=notifier.settings.delivery.sending_timeout_seconds + 1)
        assert notifier.delivery.recover_interrupted() == 1

    transport.settle_elsewhere = settle_elsewhere
    notifier.deliver()
    notifier.deliver()  # the notice the other worker settled as interrupted is due again

    assert transport.on_decline is None, "the erasure came during a decline's send"
    assert_no_copy_keeps_what_was_erased(tmp_path / "mail")


# What mail servers answer: the recipient's address repeated among the codes and diagnostics.
REFUSED = "550 5.1.1 <referrer@example.org>: Recipient address rejected: Test mailbox unknown"
QUEUED = "250 2.0.0 Ok: queued as TEST01 for referrer@example.org"
QUEUED_AGENCY = "250 2.0.0 Ok: queued as TEST02 for <hv-team@example.org>"


def notices(notifier) -> dict[str, dict]:
    return {doc["_id"]: doc for doc in notifier.store.collection("notifications").find({})}


def servers_texts(doc: dict) -> str:
    return f"{doc.get('last_error')} {doc.get('server_reply')}"


def test_an_erased_referrals_delivery_log_keeps_the_servers_codes_but_no_address(
    tmp_path, smtp_server, contacts
):
    referral = declined_referral(contacts)
    smtp_server.handler.rcpt_replies["referrer@example.org"] = REFUSED
    smtp_server.handler.data_replies["hv-team@example.org"] = QUEUED_AGENCY
    notifier = smtp_wired(tmp_path, smtp_server, CONTACTS_URL=contacts.url)
    hears_of_it_all(notifier, contacts, referral)

    before = notices(notifier)
    referrer = {key for key, doc in before.items() if doc["recipient"].startswith("referrer-of:")}
    assert len(referrer) == 3 and {before[key]["status"] for key in referrer} == {FAILED}
    assert all(REFUSED in before[key]["last_error"] for key in referrer), "the log says why, until erased"
    letters = dead_letters(notifier, 3)
    assert {letter["notification_id"] for letter in letters} == referrer
    for letter in letters:
        assert letter["reason"].endswith(
            "RCPT TO: 550 5.1.1 <address erased>: Recipient address rejected: Test mailbox unknown"
        )
        assert "referrer@example.org" not in json.dumps(letter), "no personal data in events"

    erasure_arriving(contacts, notifier, referral["id"])()

    after = notices(notifier)
    partner = {doc["_id"] for doc in partner_notices(notifier, referral["id"])}
    assert len(partner) == 6
    for key, doc in after.items():
        if key in referrer:
            assert doc["last_error"] == (
                "RCPT TO: 550 5.1.1 <address erased>: Recipient address rejected: Test mailbox unknown"
            )
        elif key in partner:
            assert doc["server_reply"] == "250 2.0.0 Ok: queued as TEST02 for <address erased>"
        else:
            assert doc == before[key], "staff notices hold no personal data and stay"
        if key in partner:
            assert "@" not in servers_texts(doc) and doc["status"] == before[key]["status"]


def test_a_reply_written_after_the_erasure_keeps_no_address(tmp_path, smtp_server, contacts):
    referral = declined_referral(contacts)
    # One at a time: the erasure comes during the first referrer's send, and before the rest.
    notifier = smtp_wired(tmp_path, smtp_server, CONTACTS_URL=contacts.url, NOTIFIER_DELIVERY_THREADS="1")
    notifier.receive(centre_event(CENTRE))
    for envelope in contacts.staged(referral["id"]):
        notifier.receive(envelope)

    smtp_server.handler.data_replies["referrer@example.org"] = QUEUED
    smtp_server.handler.data_replies["hv-team@example.org"] = QUEUED_AGENCY
    smtp_server.handler.while_rcpt["referrer@example.org"] = erasure_arriving(
        contacts, notifier, referral["id"]
    )
    notifier.deliver()

    assert not smtp_server.handler.while_rcpt, "the erasure came while a referrer's notice was sent"
    partner = partner_notices(notifier, referral["id"])
    [under_way] = [
        doc for doc in partner if doc["recipient"].startswith("referrer-of:") and doc["status"] == SENT
    ]
    assert under_way["server_reply"] == "250 2.0.0 Ok: queued as TEST01 for <address erased>"
    assert under_way["erased_at"] is not None
    agency = [doc for doc in partner if doc["recipient"].startswith("agency-of:") and doc["status"] == SENT]
    assert len(agency) == 2
    for doc in partner:
        assert "@" not in servers_texts(doc), doc
