"""A poison message on any topic goes to the dead-letter topic with its reason,
and every consumer of that topic goes on to handle the good event behind it."""

from __future__ import annotations

import email
import email.policy
import json
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from ccshared import contracts as c
from ccshared import events
from ccshared.bus import Message
from fault_testkit import Run, centre_created, contact_received, dead_letters

from tests.infra.payloads import LETTER
from tests.infra.system import System
from tests.infra.waiting import wait_for

pytestmark = [pytest.mark.kafka, pytest.mark.mongo]

DEADLINE = 90.0
# Each consumer group, by the topics it reads (the name it writes into its dead letters).
CONSUMERS = {
    c.CENTRES_TOPIC: ("contacts-centres", "sla-monitor", "notifier"),
    c.CONTACTS_TOPIC: ("contacts-webhooks", "sla-monitor", "notifier"),
    c.SLA_TOPIC: ("contacts-due-dates", "notifier"),
}
POISON_KINDS = {
    "bad json": "not JSON",
    "unknown type": "unknown event type 'centre.demolished.v1'",
    "wrong version": ".v9'",
    "bad data": "bad data for",
}


def _raw(envelope: dict) -> bytes:
    return json.dumps(envelope, default=str).encode()


def poison(good: dict, bad_field: str, bad_value: object) -> list[bytes]:
    """The four kinds of poison, made from a good envelope of the topic's own kind."""
    unknown = {**good, "id": str(uuid.uuid4()), "type": "centre.demolished.v1"}
    versioned = {**good, "id": str(uuid.uuid4()), "type": good["type"].replace(".v1", ".v9")}
    bad_data = {**good, "id": str(uuid.uuid4()), "data": {**good["data"], bad_field: bad_value}}
    return [b'{"id": "half a message', _raw(unknown), _raw(versioned), _raw(bad_data)]


def sla_breach(contact_id: str, reference: str, centre_id: str) -> dict:
    now = datetime.now(UTC)
    data = {
        "contact_id": contact_id,
        "reference": reference,
        "channel": c.LETTER,
        "centre_id": centre_id,
        "area": c.SOUTH,
        "assignee": None,
        "received_at": now - timedelta(days=20),
        "due_at": now - timedelta(days=10),
        "target_working_days": 5,
        "responded_at": None,
        "late_seconds": 864000,
    }
    return events.make(c.SLA_BREACHED, contact_id, data, source="fault-tests", time=now)


def test_poison_on_every_topic_is_dead_lettered_and_each_consumer_goes_on(run: Run) -> None:
    system = run.system(
        ["contacts", "sla-monitor", "notifier"],
        SLA_FRESHNESS_SECONDS="0.5",
        SLA_LATE_RECEIPT_GRACE_SECONDS="0",
    )
    system.start()
    centre_id, contact_id = f"centre-{run.tag}", f"contact-{run.tag}"
    now = datetime.now(UTC)
    good = {
        c.CENTRES_TOPIC: centre_created(centre_id, c.NORTH, now - timedelta(days=200)),
        c.CONTACTS_TOPIC: contact_received(
            contact_id, f"T-POISON-{run.tag}", centre_id, c.NORTH, now - timedelta(days=10)
        ),
        c.SLA_TOPIC: sla_breach(f"breach-{run.tag}", f"L-POISON-{run.tag}", centre_id),
    }
    bad_fields = {c.CENTRES_TOPIC: "area", c.CONTACTS_TOPIC: "channel", c.SLA_TOPIC: "due_at"}
    for topic, envelope in good.items():
        key = envelope["subject"]
        following = [(key, events.encode(envelope))] if topic != c.SLA_TOPIC else []
        run.publish(
            topic, [(key, raw) for raw in poison(envelope, bad_fields[topic], "pigeon post")] + following
        )

    expected = sum(len(names) * len(POISON_KINDS) for names in CONSUMERS.values())
    letters = dead_letters(run.read(c.DEAD_LETTER_TOPIC, lambda seen: len(seen) >= expected, DEADLINE))
    reasons: dict[tuple[str, str], list[str]] = defaultdict(list)
    for letter in letters:
        reasons[(letter["consumer"], letter["topic"])].append(letter["reason"])
    for topic, names in CONSUMERS.items():
        for name in names:
            got = reasons[(name, topic)]
            assert len(got) == len(POISON_KINDS), (name, topic, got)
            for kind, words in POISON_KINDS.items():
                assert any(words in reason for reason in got), (name, topic, kind, got)
    assert len(letters) == expected
    assert all(letter["value"] and letter["offset"] >= 0 for letter in letters)

    # The notifier went past its poison on the sla topic (and knows the centre behind its
    # centres poison, whose name the mail shows).
    run.publish(c.SLA_TOPIC, [(good[c.SLA_TOPIC]["subject"], events.encode(good[c.SLA_TOPIC]))])
    wait_for(
        lambda: any(
            f"L-POISON-{run.tag}" in text and f"Test Centre {centre_id}" in text
            for text in mail_texts(system.mail_dir)
        ),
        DEADLINE,
        "the notifier mailed the breach behind its poison, naming the centre behind the other",
    )

    # contacts-centres went past its poison: the centre behind it takes contacts.
    wait_for(lambda: log_contact(system, centre_id) == 201, DEADLINE, "a contact for the centre")

    # The SLA monitor went past its poison on both topics: a breach for the contact behind
    # one, a stale notice for the centre behind the other.
    def monitor_went_on(seen: list[Message]) -> bool:
        kinds = {(e.type, e.subject) for e in good_events(seen)}
        return {(c.SLA_BREACHED, contact_id), (c.CENTRE_STALE, centre_id)} <= kinds

    assert monitor_went_on(run.read(c.SLA_TOPIC, monitor_went_on, DEADLINE, quiet_s=0))


def mail_texts(mail_dir: Path) -> list[str]:
    """Subject and plain-text body of each message the file transport wrote."""
    texts = []
    for path in mail_dir.glob("*.eml"):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        body = message.get_body(preferencelist=("plain",))
        texts.append(f"{message['Subject']}\n{body.get_content() if body else ''}")
    return texts


def log_contact(system: System, centre_id: str) -> int:
    body = {**LETTER, "centre_id": centre_id}
    headers = system.staff("contacts", "coordinator", c.NORTH, "coordinator-north")
    url = f"{system.url('contacts')}/api/v1/contacts"
    return requests.post(url, json=body, headers=headers, timeout=10).status_code


def good_events(messages: list[Message]) -> list[events.Event]:
    """The valid events among messages (the poison on the same topic is skipped)."""
    found = []
    for message in messages:
        try:
            found.append(events.decode(message.value))
        except events.InvalidEvent:
            continue
    return found
