"""Test kit for the notifier: a real SMTP server (aiosmtpd), events, and a wired notifier.

Everything here is real: the SQLite store and event log in tmp_path, an SMTP
server on loopback that can be told to refuse (4xx or 5xx), stopped and started
again. Only the clock is a test clock, so retries are driven by moving time.
"""

from __future__ import annotations

import email
import email.policy
import json
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller
from ccshared import bus as buses
from ccshared import contracts as c
from ccshared import events
from ccshared import store as stores
from ccshared.bus import Bus, Consumer
from ccshared.store import Collection, Store
from ccshared.timeutil import FixedClock
from notifier import bootstrap
from notifier.config import Settings
from notifier.delivery import Delivery
from notifier.digest import DigestScheduler
from notifier.intake import Intake
from notifier.mail import Transport
from notifier.repository import CentreDirectory, NotificationRepository, repositories

from tests.infra import tokens
from tests.infra.waiting import drain

# Monday 6 July 2026, 10:00 in London (BST): a working day.
MONDAY_MORNING = datetime(2026, 7, 6, 9, 0, tzinfo=UTC)


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


class SwitchableHandler:
    """Accepts mail, or answers DATA with whatever reply a test sets (e.g. 451 or 550), for all
    recipients or for one (`data_replies`); `while_rcpt` runs once when a recipient is given."""

    def __init__(self) -> None:
        self.reply = "250 2.0.0 Ok: queued"
        self.rcpt_replies: dict[str, str] = {}
        self.data_replies: dict[str, str] = {}
        self.while_rcpt: dict[str, Callable[[], None]] = {}
        self.received: list[Received] = []
        self._lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:  # noqa: ANN001
        happening = self.while_rcpt.pop(address, None)
        if happening is not None:
            happening()
        refusal = self.rcpt_replies.get(address)
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: ANN001 - aiosmtpd's hook
        reply = next((self.data_replies[r] for r in envelope.rcpt_tos if r in self.data_replies), self.reply)
        if not reply.startswith("250"):
            return reply
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._lock:
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        return reply


@dataclass
class SmtpServer:
    port: int
    handler: SwitchableHandler = field(default_factory=SwitchableHandler)
    controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def received(self) -> list[Received]:
        return list(self.handler.received)

    def refuse(self, reply: str) -> None:
        self.handler.reply = reply

    def accept(self) -> None:
        self.handler.reply = "250 2.0.0 Ok: queued"


class ScriptedPeer:
    """A socket on loopback where an SMTP server would be, for the misbehaviour aiosmtpd will not
    act: `script` answers the one connection it takes (in a thread, while the `with` lasts); with
    no script nothing ever answers, not even the greeting."""

    def __init__(self, script: Callable[[socket.socket], None] | None = None) -> None:
        self._listening = socket.socket()
        self._listening.bind(("127.0.0.1", 0))
        self._listening.listen()
        self._listening.settimeout(10)  # a script whose connection never comes still ends
        self.port: int = self._listening.getsockname()[1]
        self._answering = threading.Thread(target=self._answer, args=(script,)) if script else None

    def __enter__(self) -> ScriptedPeer:
        if self._answering is not None:
            self._answering.start()
        return self

    def __exit__(self, *_: object) -> None:
        if self._answering is not None:
            self._answering.join(timeout=5)
        self._listening.close()

    def _answer(self, script: Callable[[socket.socket], None]) -> None:
        try:
            conn, _ = self._listening.accept()
        except TimeoutError:
            return
        with conn:
            script(conn)


def environment(tmp_path: Path, **overrides: str) -> dict[str, str]:
    env = {
        **tokens.key_env("notifier"),
        "EVENT_BUS_URL": f"sqlite:///{tmp_path}/events.db",
        "STORE_URL": f"sqlite:///{tmp_path}/notifier.db",
        "NOTIFIER_MAIL_DIR": str(tmp_path / "mail"),
        "NOTIFIER_RETRY_BASE_SECONDS": "60",
        "NOTIFIER_MAX_ATTEMPTS": "4",
        # These tests follow one mail per notice; the storm grouping tests turn grouping on.
        "NOTIFIER_GROUP_INTERVAL_SECONDS": "0",
    }
    env.update(overrides)
    return env


@dataclass
class Notifier:
    """The notifier's parts wired as the worker wires them, with a test clock."""

    settings: Settings
    store: Store
    bus: Bus
    clock: FixedClock
    intake: Intake
    delivery: Delivery
    digest: DigestScheduler
    notifications: NotificationRepository
    centres: CentreDirectory

    def receive(self, envelope: dict) -> None:
        handle(self.intake, envelope)

    def deliver(self) -> int:
        return self.delivery.run_once()

    def dead_letters(self) -> Consumer:
        return self.bus.consumer(f"test-{id(self)}", [c.DEAD_LETTER_TOPIC])


def handle(intake: Intake, envelope: dict) -> None:
    """The event as the consumer hands it over (encoded and decoded), to its handler."""
    event = events.decode(events.encode(envelope))
    intake.handlers()[event.type](event)


@dataclass
class _Interleaved:
    collection: Collection
    store: Interleaved

    def update(self, filter: dict, set: dict) -> int:
        before, self.store.before = self.store.before, None
        if before is not None:
            before()
        return self.collection.update(filter, set)

    def __getattr__(self, name: str):  # noqa: ANN204 - the real collection's own
        return getattr(self.collection, name)


@dataclass
class Interleaved:
    """The real store, but `before` runs just before the first write to the delivery log through
    it: what another worker (the delivery loop) does between a handler's reads and its write."""

    store: Store
    before: Callable[[], object] | None

    def collection(self, name: str) -> Collection:
        collection = self.store.collection(name)
        return _Interleaved(collection, self) if name == "notifications" else collection  # type: ignore[return-value]

    def __getattr__(self, name: str):  # noqa: ANN204 - the real store's own
        return getattr(self.store, name)


def dead_letters(notifier: Notifier, want: int, deadline_s: float = 10.0) -> list[dict]:
    """The dead-letter records published, once `want` arrived (or the deadline passed)."""
    consumer = notifier.dead_letters()
    try:
        return [json.loads(m.value) for m in drain(consumer, want, deadline_s)]
    finally:
        consumer.close()


def wire(
    tmp_path: Path, clock: FixedClock | None = None, transport: Transport | None = None, **env: str
) -> Notifier:
    settings = Settings.from_env(environment(tmp_path, **env))
    store = stores.connect(settings.store_url)
    bus = buses.connect(settings.bus_url)
    clock = clock or FixedClock(MONDAY_MORNING)
    notifications, centres = repositories(store)
    return Notifier(
        settings=settings,
        store=store,
        bus=bus,
        clock=clock,
        intake=bootstrap.intake(settings, store, clock, mail=transport),
        delivery=bootstrap.delivery(settings, store, bus.producer(), clock, transport),
        digest=bootstrap.digest(settings, store, clock),
        notifications=notifications,
        centres=centres,
    )


def smtp_wired(
    tmp_path: Path, smtp_server: SmtpServer | ScriptedPeer, clock: FixedClock | None = None, **env: str
) -> Notifier:
    """A notifier that sends to the server on loopback (a 5 s timeout unless `env` sets one)."""
    return wire(
        tmp_path,
        clock,
        **{
            "NOTIFIER_TRANSPORT": "smtp",
            "NOTIFIER_SMTP_HOST": "127.0.0.1",
            "NOTIFIER_SMTP_PORT": str(smtp_server.port),
            "NOTIFIER_SMTP_TIMEOUT": "5",
            **env,
        },
    )


def sla_event(
    type_: str = c.SLA_BREACHED,
    *,
    contact_id: str = "contact-0001",
    reference: str = "LCC-TEST-0001",
    channel: str = c.LETTER,
    centre_id: str = "centre-north-1",
    area: str = c.NORTH,
    assignee: str | None = None,
    received_at: datetime = datetime(2026, 6, 26, 14, 30, tzinfo=UTC),
    due_at: datetime = datetime(2026, 7, 3, 22, 59, 59, tzinfo=UTC),
    late_seconds: int | None = 3 * 86400 + 3600,
    at: datetime = MONDAY_MORNING,
) -> dict:
    data = {
        "contact_id": contact_id,
        "reference": reference,
        "channel": channel,
        "centre_id": centre_id,
        "area": area,
        "assignee": assignee,
        "received_at": received_at,
        "due_at": due_at,
        "target_working_days": 5 if channel == c.LETTER else 2,
        "responded_at": None,
        "late_seconds": late_seconds if type_ == c.SLA_BREACHED else None,
    }
    return events.make(type_, contact_id, data, source="sla-monitor", time=at)


def area_moved_event(
    contact_id: str = "contact-0001",
    from_area: str = c.NORTH,
    to_area: str = c.SOUTH,
    at: datetime = MONDAY_MORNING,
    move: int | None = None,
) -> dict:
    """An open contact followed its centre into another area, as contacts publishes it (ids and
    areas; `move` its count of moves, None as in events made before contacts counted them)."""
    data = {
        "contact_id": contact_id,
        "centre_id": "centre-north-1",
        "from_area": from_area,
        "to_area": to_area,
        "moved_at": at,
        "move": move,
    }
    return events.make(c.CONTACT_AREA_MOVED, contact_id, data, source="contacts", time=at)


def personal_erased_event(
    contact_id: str = "contact-0001", parts: tuple[str, ...] = (c.ERASED_ALL,), at: datetime = MONDAY_MORNING
) -> dict:
    """Contacts erased the contact's personal data (all of it, or one person's part): ids only."""
    data = {"contact_id": contact_id, "erased_at": at, "parts": list(parts)}
    return events.make(c.CONTACT_PERSONAL_ERASED, contact_id, data, source="contacts", time=at)


def contact_event(type_: str, contact_id: str, received_at: datetime, area: str, **extra) -> dict:
    """A contact's lifecycle step as the contacts service publishes it (a letter; ids and times only)."""
    data = {
        "contact_id": contact_id,
        "reference": f"REF-{contact_id}",
        "channel": c.LETTER,
        "centre_id": "centre-north-1" if area == c.NORTH else "centre-south-1",
        "area": area,
        "received_at": received_at,
        "status": type_.split(".")[1],
        "assignee": None,
        "responded_at": extra.get("responded_at"),
        "occurred_at": extra.get("responded_at") or received_at,
        "urgency": None,
    }
    return events.make(type_, contact_id, data, source="tests", time=data["occurred_at"])


def centre_event(
    centre_id: str = "centre-north-1",
    name: str = "Test Park Children's Centre",
    area: str = c.NORTH,
    version: int = 1,
) -> dict:
    data = {
        "centre_id": centre_id,
        "name": name,
        "area": area,
        "ward": "Test Ward",
        "postcode": "L1 0AA",
        "status": c.CENTRE_OPEN,
        "email": "centre@example.org",
        "last_verified_at": MONDAY_MORNING - timedelta(days=30),
        "version": version,
    }
    return events.make(c.CENTRE_UPDATED, centre_id, data, source="directory", time=MONDAY_MORNING)


def stale_event(centre_id: str = "centre-south-2", area: str = c.SOUTH) -> dict:
    data = {
        "centre_id": centre_id,
        "name": "Test Green Children's Centre",
        "area": area,
        "last_verified_at": MONDAY_MORNING - timedelta(days=200),
        "stale_since": MONDAY_MORNING - timedelta(days=20),
    }
    return events.make(c.CENTRE_STALE, centre_id, data, source="directory", time=MONDAY_MORNING)
