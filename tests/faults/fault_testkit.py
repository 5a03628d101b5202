"""Parts the fault tests share: a run's URLs, events put straight on the bus,
readers that wait on a condition with a deadline, mail counting, an SMTP server
that can be switched off and on.

Everything talks to the real engines; nothing here stands in for one.
"""

from __future__ import annotations

import email
import email.policy
import json
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from aiosmtpd.controller import Controller
from ccshared import bus as buses
from ccshared import contracts as c
from ccshared import events
from ccshared.bus import Message

from tests.infra.common import free_port
from tests.infra.ferretdb import FerretDB
from tests.infra.kafka import KafkaBroker
from tests.infra.system import System
from tests.infra.waiting import wait_for

SOURCE = "fault-tests"
SMALL_DEADLINE = 60.0
COORDINATOR = {area: f"coordinator.{area}@example.org" for area in c.AREAS}
PRINCIPAL = "principal.officer@example.org"
# The partner API's rate limit is not under test here; the clients post as fast as they can.
UNLIMITED = "1000000/60"


@dataclass
class Run:
    """One test's slice of the shared private engines: its own topics and databases."""

    kafka: KafkaBroker
    mongo: FerretDB
    workdir: Path
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    systems: list[System] = field(default_factory=list)

    @property
    def bus_url(self) -> str:
        return f"kafka://{self.kafka.bootstrap}?topic_prefix=fault-{self.tag}-"

    def store_url(self, service: str) -> str:
        return self.mongo.store_url(f"fault_{self.tag}_{service.replace('-', '_')}")

    def system(self, services: Iterable[str], **extra_env: str) -> System:
        """The services as OS processes on this run's topics and databases (stopped at teardown)."""
        system = System(
            self.workdir / f"system-{len(self.systems)}",
            self.bus_url,
            self.store_url,
            services=tuple(services),
            extra_env=dict(extra_env),
        )
        self.systems.append(system)
        return system

    def stop_all(self) -> None:
        for system in self.systems:
            system.stop()

    def publish(self, topic: str, items: Iterable[tuple[str, bytes]]) -> None:
        """Put (key, raw value) messages on a topic of this run, in order."""
        producer = buses.connect(self.bus_url).producer()
        try:
            producer.publish_all([(topic, key, value) for key, value in items])
        finally:
            producer.close()

    def ensure_topics(self) -> None:
        buses.connect(self.bus_url).ensure_topics(list(c.ALL_TOPICS))

    def read(
        self,
        topic: str,
        until: Callable[[list[Message]], bool],
        deadline_s: float = SMALL_DEADLINE,
        quiet_s: float = 2.0,
    ) -> list[Message]:
        """Everything on a topic from the start, until `until(messages)` holds, then `quiet_s` more."""
        consumer = buses.connect(self.bus_url).consumer(f"reader-{uuid.uuid4().hex[:8]}", [topic])
        seen: list[Message] = []

        def arrived() -> bool:
            seen.extend(consumer.poll(0.5, max_messages=1000))
            return until(seen)

        try:
            wait_for(arrived, deadline_s, f"the messages awaited on {topic}", interval=0)
            quiet_end = time.monotonic() + quiet_s
            while time.monotonic() < quiet_end:
                seen.extend(consumer.poll(0.3, max_messages=1000))
        finally:
            consumer.close()
        return seen


def centre_created(centre_id: str, area: str, now: datetime | None = None) -> dict:
    now = now or datetime.now(UTC)
    data = {
        "centre_id": centre_id,
        "name": f"Test Centre {centre_id}",
        "area": area,
        "ward": "Test Ward",
        "postcode": "L1 0AA",
        "status": c.CENTRE_OPEN,
        "email": None,
        "last_verified_at": now,
        "version": 1,
        "changed_fields": [],
    }
    return events.make(c.CENTRE_CREATED, centre_id, data, source=SOURCE, time=now)


def contact_received(
    contact_id: str, reference: str, centre_id: str, area: str, received_at: datetime
) -> dict:
    now = datetime.now(UTC)
    data = {
        "contact_id": contact_id,
        "reference": reference,
        "channel": c.TELEPHONE,
        "centre_id": centre_id,
        "area": area,
        "received_at": received_at,
        "status": "received",
        "assignee": None,
        "occurred_at": now,
    }
    return events.make(c.CONTACT_RECEIVED, contact_id, data, source=SOURCE, time=now)


def keyed(envelopes: Iterable[dict]) -> list[tuple[str, bytes]]:
    return [(envelope["subject"], events.encode(envelope)) for envelope in envelopes]


def decoded(messages: Iterable[Message], type_: str | None = None) -> list[events.Event]:
    found = [events.decode(m.value) for m in messages]
    return [e for e in found if type_ is None or e.type == type_]


def breach_ids_per_contact(messages: Iterable[Message]) -> dict[str, set[str]]:
    """Distinct breach event ids per contact: a relay re-sending one event is not a second breach."""
    ids: dict[str, set[str]] = {}
    for event in decoded(messages, c.SLA_BREACHED):
        ids.setdefault(event.subject, set()).add(event.id)
    return ids


def dead_letters(messages: Iterable[Message]) -> list[dict]:
    return [json.loads(m.value) for m in messages]


def breach_mails(mail_dir: Path, reference: re.Pattern[str]) -> Counter:
    """Breach e-mails the file transport wrote, counted per (contact reference, Delivered-To)."""
    counts: Counter = Counter()
    for path in mail_dir.glob("*.eml"):
        with open(path, "rb") as handle:
            message = email.message_from_binary_file(handle, policy=email.policy.default)
        found = reference.search(str(message["Subject"]))
        if message["X-CC-Event-Type"] == c.SLA_BREACHED and found:
            counts[(found.group(0), str(message["Delivered-To"]))] += 1
    return counts


# SMTP ------------------------------------------------------------------------


class Inbox:
    """An aiosmtpd handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self.received: list[tuple[str, email.message.EmailMessage]] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd's hook name
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._lock:
            for recipient in envelope.rcpt_tos:
                self.received.append((recipient, message))
        return "250 2.0.0 Ok: queued"

    def snapshot(self) -> list[tuple[str, email.message.EmailMessage]]:
        with self._lock:
            return list(self.received)


class SmtpServer:
    """A real SMTP server on loopback that a test can stop and start again on the same port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.inbox = Inbox()
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
