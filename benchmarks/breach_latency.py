"""Breach latency: due instant -> breach event on Kafka -> SMTP acceptance, for clocks falling due in a minute.

The clocks are written straight into the monitor's SQLite store (see
benchmarks.clocks) with breach instants spread evenly over the window. Then
`python -m sla_monitor worker` and `python -m notifier worker` run as their own
processes on real Kafka, the notifier sending to an aiosmtpd server in this
process that notes when it accepted each message.

- due -> event: the breach event's Kafka timestamp (set by the monitor's
  relay when it sends) minus the clock's first late instant (due second + 1 s).
- event -> SMTP: the server's acceptance of each message minus its event's
  Kafka timestamp (a breach mails the area coordinator and the Principal Officer).

Baselines, in the same run: a bare Kafka produce -> consume round trip, and a
bare smtplib send to the same server (connection and transaction).
"""

from __future__ import annotations

import json
import smtplib
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.parser import BytesHeaderParser

from aiosmtpd.controller import Controller
from ccshared import bus as ccbus
from ccshared import contracts
from ccshared import store as ccstore
from ccshared.timeutil import SystemClock
from kafka import KafkaConsumer, KafkaProducer
from sla_monitor.repository import repositories

from tests.infra import tokens

from . import clocks as bench_clocks
from .common import Context, Figure, Report, base_env, free_port, percentile, start_process, stop_process

NAME = "breach-latency"
TITLE = "Breach latency: due instant to breach event to SMTP acceptance"
MAILS_PER_BREACH = 2
FLOORS = {"Kafka round trips": 500, "bare SMTP sends": 200}


def sizes(quick: bool) -> dict[str, int]:
    if quick:
        return {"clocks falling due": 1000, "window seconds": 20, "lead seconds": 15, **FLOORS}
    return {"clocks falling due": 10000, "window seconds": 60, "lead seconds": 25, **FLOORS}


class Accepting:
    """aiosmtpd handler: accepts every message and notes when, by the event it tells of."""

    def __init__(self) -> None:
        self.accepted: list[tuple[float, str]] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: ANN001 - aiosmtpd's hook
        at = time.time()
        headers = BytesHeaderParser().parsebytes(envelope.content)
        with self._lock:
            self.accepted.append((at, headers.get("X-CC-Event-Id", "")))
        return "250 2.0.0 Ok: queued"

    def count(self) -> int:
        with self._lock:
            return len(self.accepted)


def run(ctx: Context, size: dict[str, int] | None = None) -> Report:
    size = size or sizes(ctx.quick)
    report = Report(NAME, TITLE, dict(size))
    broker = ctx.engines.kafka()
    prefix = f"bench-{uuid.uuid4().hex[:8]}-"
    sla_topic = prefix + contracts.SLA_TOPIC
    ccbus.connect(f"kafka://{broker.bootstrap}").ensure_topics(
        [prefix + t for t in (contracts.SLA_TOPIC, contracts.CONTACTS_TOPIC, contracts.CENTRES_TOPIC)]
        + [prefix + contracts.DEAD_LETTER_TOPIC]
    )
    handler = Accepting()
    smtp = Controller(handler, hostname="127.0.0.1", port=free_port())
    smtp.start()
    try:
        kafka_floor = _kafka_round_trips(broker.bootstrap, prefix + "bench-floor", size["Kafka round trips"])
        smtp_floor = _smtp_sends(smtp.hostname, smtp.port, size["bare SMTP sends"])
        handler.accepted.clear()
        breach_at = _write_clocks(ctx, size)
        observed = _run_services(ctx, size, broker.bootstrap, prefix, smtp.port, handler, sla_topic)
    finally:
        smtp.stop()

    events, monitor_started = observed
    late_starts = sum(1 for at in breach_at.values() if at < monitor_started)
    due_to_event = [events[cid][1] - breach_at[cid] for cid in events if cid in breach_at]
    by_event = {event_id: ts for event_id, ts in events.values()}
    event_to_smtp = [at - by_event[eid] for at, eid in handler.accepted if eid in by_event]
    for pct in (50, 99):
        report.add(
            Figure(
                f"due -> breach event p{pct}",
                percentile(due_to_event, pct) * 1000,
                "ms",
                f"bare Kafka produce->consume p{pct}",
                percentile(kafka_floor, pct) * 1000,
                higher_is_better=False,
            )
        )
    for pct in (50, 99):
        report.add(
            Figure(
                f"breach event -> SMTP acceptance p{pct}",
                percentile(event_to_smtp, pct) * 1000,
                "ms",
                f"bare smtplib send p{pct}",
                percentile(smtp_floor, pct) * 1000,
                higher_is_better=False,
            )
        )
    expected = size["clocks falling due"]
    report.notes.append(
        f"breach events seen {len(events)} of {expected}; mails accepted {len(handler.accepted)} of "
        f"{expected * MAILS_PER_BREACH}; {late_starts} breach instants fell before the monitor process started"
    )
    report.notes.append(
        "stores: SQLite files for the monitor and the notifier; bus: real Kafka; SLA_SCAN_SECONDS default (0.5 s)"
    )
    return report


def _write_clocks(ctx: Context, size: dict[str, int]) -> dict[str, float]:
    """Insert the clocks; return each one's first late instant (epoch seconds) by contact id."""
    store = ccstore.connect(f"sqlite:///{ctx.workdir}/sla-monitor.db")
    clocks, _ = repositories(store, SystemClock())
    fingerprint = bench_clocks.fingerprint()
    count, window = size["clocks falling due"], size["window seconds"]
    start = datetime.now(UTC) + timedelta(seconds=size["lead seconds"])
    breach_at: dict[str, float] = {}
    items = []
    for index in range(count):
        at = start + timedelta(seconds=window * index / count)
        item = bench_clocks.open_clock(index, at, fingerprint)
        items.append(item)
        breach_at[item.contact_id] = at.timestamp()
    bench_clocks.insert(clocks, items)
    store.close()
    return breach_at


def _run_services(
    ctx: Context,
    size: dict[str, int],
    bootstrap: str,
    prefix: str,
    smtp_port: int,
    handler: Accepting,
    sla_topic: str,
) -> tuple[dict[str, tuple[str, float]], float]:
    """Run monitor and notifier until every breach is mailed.

    Returns {contact id: (breach event id, its Kafka timestamp)} and when the monitor was started.
    """
    common = {"EVENT_BUS_URL": f"kafka://{bootstrap}?topic_prefix={prefix}"}
    observer = KafkaConsumer(
        sla_topic,
        bootstrap_servers=bootstrap,
        group_id=f"bench-observer-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    notifier = start_process(
        [_python(), "-m", "notifier", "worker"],
        base_env(
            **common,
            **tokens.key_env("notifier"),
            STORE_URL=f"sqlite:///{ctx.workdir}/notifier.db",
            NOTIFIER_TRANSPORT="smtp",
            NOTIFIER_SMTP_HOST="127.0.0.1",
            NOTIFIER_SMTP_PORT=str(smtp_port),
        ),
        ctx.workdir / "notifier.log",
    )
    monitor = start_process(
        [_python(), "-m", "sla_monitor", "worker"],
        base_env(
            **common, **tokens.key_env("sla-monitor"), STORE_URL=f"sqlite:///{ctx.workdir}/sla-monitor.db"
        ),
        ctx.workdir / "sla-monitor.log",
    )
    monitor_started = time.time()
    expected = size["clocks falling due"]
    events: dict[str, tuple[str, float]] = {}
    deadline = time.monotonic() + size["lead seconds"] + size["window seconds"] + 600
    try:
        while time.monotonic() < deadline:
            for process, name in ((monitor, "sla-monitor"), (notifier, "notifier")):
                if process.poll() is not None:
                    raise RuntimeError(
                        f"{name} exited with {process.returncode}; see {ctx.workdir}/{name}.log"
                    )
            for records in observer.poll(timeout_ms=500, max_records=1000).values():
                for record in records:
                    envelope = json.loads(record.value)
                    if envelope["type"] == contracts.SLA_BREACHED:
                        events.setdefault(envelope["subject"], (envelope["id"], record.timestamp / 1000))
            if len(events) >= expected and handler.count() >= expected * MAILS_PER_BREACH:
                break
    finally:
        observer.close()
        stop_process(monitor)
        stop_process(notifier)
    return events, monitor_started


def _python() -> str:
    return sys.executable


def _kafka_round_trips(bootstrap: str, topic: str, count: int) -> list[float]:
    """Latency of `count` messages from send (the producer settings of KafkaBus) to a consumer's poll."""
    ccbus.connect(f"kafka://{bootstrap}").ensure_topics([topic])
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"bench-floor-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
    )
    deadline = time.monotonic() + 60
    while not consumer.assignment() and time.monotonic() < deadline:
        consumer.poll(timeout_ms=200)
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    latencies: list[float] = []

    def produce() -> None:
        for index in range(count):
            producer.send(topic, key=str(index).encode(), value=str(time.time()).encode())
            time.sleep(0.004)
        producer.flush()

    sender = threading.Thread(target=produce)
    sender.start()
    deadline = time.monotonic() + 120
    while len(latencies) < count and time.monotonic() < deadline:
        for records in consumer.poll(timeout_ms=200).values():
            now = time.time()
            latencies.extend(now - float(record.value) for record in records)
    sender.join()
    producer.close()
    consumer.close()
    return latencies


def _smtp_sends(host: str, port: int, count: int) -> list[float]:
    latencies = []
    for index in range(count):
        message = EmailMessage()
        message["From"] = "bench@example.org"
        message["To"] = "coordinator.north@example.org"
        message["Subject"] = f"bench {index}"
        message.set_content("A benchmark message.\n")
        started = time.perf_counter()
        with smtplib.SMTP(host, port, timeout=10) as client:
            client.send_message(message)
        latencies.append(time.perf_counter() - started)
    return latencies
