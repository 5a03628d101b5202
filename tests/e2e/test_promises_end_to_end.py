"""The promise end to end: a contact left unanswered past its due instant gives
exactly one breach event and one e-mail to each person who can still act;
a contact answered in time gives none."""

from __future__ import annotations

import email
import email.policy
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import requests
from ccshared import bus, events
from ccshared import contracts as c
from ccshared.timeutil import LONDON

from tests.infra.payloads import REFERRAL, TELEPHONE
from tests.infra.waiting import drain_quiet, wait_for

DEADLINE = 90.0
COORDINATOR_NORTH = "coordinator.north@example.org"
PRINCIPAL = "principal.officer@example.org"
AGENCY = "hv-team@example.org"
REFERRER = REFERRAL["referrer"]["email"]


def first_centre_in(system, area: str) -> dict:
    centres = requests.get(
        f"{system.url('directory')}/api/v1/centres", params={"area": area}, timeout=10
    ).json()
    return next(centre for centre in centres["items"] if centre["status"] == "open")


def log_contact(system, centre_id: str, channel: str, received_at: datetime) -> dict:
    """POST a contact, waiting while the contacts service's centre read model catches up."""
    body = {**TELEPHONE, "channel": channel, "centre_id": centre_id, "received_at": received_at.isoformat()}
    headers = system.staff("contacts", "coordinator", "north", "coordinator-north")
    return post_until_created(f"{system.url('contacts')}/api/v1/contacts", body, headers)


def post_until_created(url: str, body: dict, headers: dict) -> dict:
    """POST, again while the contacts service's centre read model catches up; the created record."""

    last: list[requests.Response] = []

    def created() -> dict | None:
        last[:] = [requests.post(url, json=body, headers=headers, timeout=10)]
        return last[0].json() if last[0].status_code == 201 else None

    def said() -> str:
        return f"201 Created from {url}; last answer {last[0].status_code}: {last[0].text[:500]}"

    return wait_for(created, DEADLINE, said, interval=0.5)


def sla_events(
    system, group: str, until, deadline_s: float = DEADLINE, quiet_s: float = 3.0
) -> list[events.Event]:
    """SLA events read from the bus until `until(events)` holds, then for `quiet_s` more."""
    consumer = bus.connect(system.bus_url).consumer(group, [c.SLA_TOPIC])
    seen: list[events.Event] = []

    def settled() -> bool:
        seen.extend(events.decode(m.value) for m in consumer.poll(0.5))
        return until(seen)

    try:
        wait_for(settled, deadline_s, "the SLA events awaited", interval=0)
        seen.extend(events.decode(m.value) for m in drain_quiet(consumer, want=0, quiet_s=quiet_s))
    finally:
        consumer.close()
    return seen


def recipients_of_mail_about(system, reference: str, want: int) -> Counter:
    """Messages about a contact, counted per delivery (envelope) recipient."""

    def counted() -> Counter | None:
        counts: Counter = Counter()
        for path in system.mail_dir.rglob("*.eml"):
            message = email.message_from_bytes(path.read_bytes())
            if reference in (message["Subject"] or ""):
                counts[message["Delivered-To"]] += 1
        return counts if sum(counts.values()) >= want else None

    return wait_for(counted, DEADLINE, f"{want} messages about {reference}", interval=0.5)


def test_an_unanswered_letter_is_breached_once_and_escalated_once(system):
    centre = first_centre_in(system, "north")
    now = datetime.now(UTC)
    overdue = log_contact(system, centre["id"], c.LETTER, now - timedelta(days=14))
    on_time = log_contact(system, centre["id"], c.TELEPHONE, now - timedelta(minutes=5))
    respond = requests.post(
        f"{system.url('contacts')}/api/v1/contacts/{on_time['id']}/respond",
        json={"method": "telephone"},
        headers=system.staff("contacts", "coordinator", "north", "coordinator-north"),
        timeout=10,
    )
    assert respond.status_code == 200, respond.text

    def settled(seen: list[events.Event]) -> bool:
        kinds = {(e.type, e.subject) for e in seen}
        return (c.SLA_BREACHED, overdue["id"]) in kinds and (c.SLA_MET, on_time["id"]) in kinds

    seen = sla_events(system, f"e2e-reader-{uuid.uuid4().hex[:6]}", settled)

    breaches = Counter(e.subject for e in seen if e.type == c.SLA_BREACHED)
    assert breaches[overdue["id"]] == 1
    assert breaches[on_time["id"]] == 0
    assert [e.type for e in seen if e.subject == on_time["id"]] == [c.SLA_MET]

    recipients = recipients_of_mail_about(system, overdue["reference"], want=2)
    assert recipients == Counter({COORDINATOR_NORTH: 1, PRINCIPAL: 1})
    assert not any(
        on_time["reference"] in p.read_text(errors="replace") for p in system.mail_dir.rglob("*.eml")
    )


def test_no_personal_data_leaves_the_contacts_service(system):
    centre = first_centre_in(system, "north")
    contact = log_contact(system, centre["id"], c.TELEPHONE, datetime.now(UTC) - timedelta(days=10))

    seen = sla_events(
        system,
        f"e2e-pii-{uuid.uuid4().hex[:6]}",
        lambda s: any(e.subject == contact["id"] and e.type == c.SLA_BREACHED for e in s),
    )
    raw = [str(e.data) for e in seen] + [
        p.read_text(errors="replace") for p in system.mail_dir.rglob("*.eml")
    ]
    raw += [system.log(name) for name in ("directory", "contacts", "sla-monitor", "notifier")]

    assert any(contact["reference"] in text for text in raw)
    for personal in ("Test Parent", "07700 900123", "07700900123"):
        assert not any(personal in text for text in raw), personal


def mail_about(system, reference: str, until, deadline_s: float = DEADLINE) -> list:
    """Messages about a reference, read from the mail directory until `until(messages)` holds."""

    def found() -> list | None:
        messages = [
            email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            for path in system.mail_dir.rglob("*.eml")
        ]
        about = [m for m in messages if reference in (m["Subject"] or "")]
        return about if until(about) else None

    return wait_for(found, deadline_s, f"the messages awaited about {reference}", interval=0.5)


def test_a_partners_referral_is_answered_and_the_referrer_told_at_each_step(system):
    created = system.command(
        "contacts", "agency-key", "create", "--agency", "Example Health Visitors", "--notify-email", AGENCY
    )
    key = next(
        line.split(":", 1)[1].strip() for line in created.stdout.splitlines() if line.startswith("API key")
    )
    centre = first_centre_in(system, "north")
    referral = REFERRAL | {
        "centre_id": centre["id"],
        "support_needed": [centre["services"][0]["id"]],
        "urgency": "urgent",
    }
    made = post_until_created(f"{system.url('contacts')}/api/v1/referrals", referral, {"X-API-Key": key})
    reference = made["reference"]

    def delivered_to(messages) -> Counter:
        return Counter(m["Delivered-To"] for m in messages)

    # The centre's own address may hear too: wait for each of the three this test is about.
    received = mail_about(
        system, reference, lambda found: {COORDINATOR_NORTH, AGENCY, REFERRER} <= set(delivered_to(found))
    )
    assert delivered_to(received)[COORDINATOR_NORTH] == 1
    assert delivered_to(received)[AGENCY] == 1 and delivered_to(received)[REFERRER] == 1
    centre_notice = next(m for m in received if m["Delivered-To"] == COORDINATOR_NORTH)
    assert centre_notice["Subject"].startswith("URGENT referral")
    # The agency reads the date its receipt gave: the SLA monitor's, through contacts' read model.
    receipt = next(m for m in received if m["Delivered-To"] == REFERRER).get_body(("plain",)).get_content()
    respond_by = wait_for(
        lambda: requests.get(
            f"{system.url('contacts')}/api/v1/referrals/{made['id']}", headers={"X-API-Key": key}, timeout=10
        ).json()["respond_by"],
        DEADLINE,
        "the agency's respond_by",
        interval=0.5,
    )
    local = datetime.fromisoformat(respond_by).astimezone(LONDON)
    assert f"We will respond by {local:%A} {local.day} {local:%B %Y, %H:%M}." in " ".join(receipt.split())

    accepted = requests.post(
        f"{system.url('contacts')}/api/v1/contacts/{made['id']}/referral/accept",
        headers=system.staff("contacts", "coordinator", "north", "coordinator-north"),
        timeout=10,
    )
    assert accepted.status_code == 200, accepted.text

    def told_of_acceptance(found) -> bool:
        return sum("accepted" in (m["Subject"] or "") for m in found) >= 2

    after = mail_about(system, reference, told_of_acceptance)
    acceptance = [m for m in after if "accepted" in (m["Subject"] or "")]
    assert delivered_to(acceptance) == Counter({AGENCY: 1, REFERRER: 1})
    status = requests.get(
        f"{system.url('contacts')}/api/v1/referrals/{made['id']}", headers={"X-API-Key": key}, timeout=10
    )
    assert status.json()["referral_status"] == "accepted"
    everything = [m.as_string() for m in after] + [
        system.log(n) for n in ("contacts", "sla-monitor", "notifier")
    ]
    for personal in ("Test Family Carer", "07700 900123", "Test Referrer"):
        assert not any(personal in text for text in everything), personal
