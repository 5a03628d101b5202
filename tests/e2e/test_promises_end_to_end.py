"""The promise end to end: a contact left unanswered past its due instant gives
exactly one breach event and one e-mail to each person who can still act;
a contact answered in time gives none."""

from __future__ import annotations

import email
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import requests
from ccshared import bus, events
from ccshared import contracts as c

DEADLINE = 90.0
COORDINATOR_NORTH = "coordinator.north@example.org"
PRINCIPAL = "principal.officer@example.org"


def first_centre_in(system, area: str) -> dict:
    centres = requests.get(
        f"{system.url('directory')}/api/v1/centres", params={"area": area}, timeout=10
    ).json()
    return next(centre for centre in centres["items"] if centre["status"] == "open")


def log_contact(system, centre_id: str, channel: str, received_at: datetime) -> dict:
    """POST a contact, waiting while the contacts service's centre read model catches up."""
    body = {
        "channel": channel,
        "centre_id": centre_id,
        "received_at": received_at.isoformat(),
        "subject": "Test enquiry about stay and play",
        "requester": {"name": "Test Parent", "reply_by": "telephone", "phone": "07700 900123"},
    }
    headers = system.staff("coordinator", "north", "coordinator-north")
    deadline = time.monotonic() + DEADLINE
    while True:
        response = requests.post(
            f"{system.url('contacts')}/api/v1/contacts", json=body, headers=headers, timeout=10
        )
        if response.status_code == 201 or time.monotonic() > deadline:
            assert response.status_code == 201, response.text
            return response.json()
        time.sleep(0.5)


def sla_events(
    system, group: str, until, deadline_s: float = DEADLINE, quiet_s: float = 3.0
) -> list[events.Event]:
    """SLA events read from the bus until `until(events)` holds, then for `quiet_s` more."""
    consumer = bus.connect(system.bus_url).consumer(group, [c.SLA_TOPIC])
    seen: list[events.Event] = []
    deadline = time.monotonic() + deadline_s
    while not until(seen) and time.monotonic() < deadline:
        seen.extend(events.decode(m.value) for m in consumer.poll(0.5))
    quiet_end = time.monotonic() + quiet_s
    while time.monotonic() < quiet_end:
        seen.extend(events.decode(m.value) for m in consumer.poll(0.3))
    consumer.close()
    return seen


def recipients_of_mail_about(system, reference: str, want: int) -> Counter:
    """Messages about a contact, counted per delivery (envelope) recipient."""
    deadline = time.monotonic() + DEADLINE
    while True:
        counts: Counter = Counter()
        for path in system.mail_dir.rglob("*.eml"):
            message = email.message_from_bytes(path.read_bytes())
            if reference in (message["Subject"] or ""):
                counts[message["Delivered-To"]] += 1
        if sum(counts.values()) >= want or time.monotonic() > deadline:
            return counts
        time.sleep(0.5)


def test_an_unanswered_letter_is_breached_once_and_escalated_once(system):
    centre = first_centre_in(system, "north")
    now = datetime.now(UTC)
    overdue = log_contact(system, centre["id"], c.LETTER, now - timedelta(days=14))
    on_time = log_contact(system, centre["id"], c.TELEPHONE, now - timedelta(minutes=5))
    respond = requests.post(
        f"{system.url('contacts')}/api/v1/contacts/{on_time['id']}/respond",
        json={"method": "telephone"},
        headers=system.staff("coordinator", "north", "coordinator-north"),
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
