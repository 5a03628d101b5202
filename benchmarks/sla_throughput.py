"""SLA monitor: contact events per second from real Kafka into its store.

The events are written to the topic first; then the monitor's own consumer task
(sla_monitor.worker.tasks, the ConsumerLoop with the monitor's handlers) reads
them from the start into its store, and is timed until every event is marked
processed. The baseline is a bare kafka-python consumer draining the same topic
with no work, in a group of its own.
"""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ccshared import bus as ccbus
from ccshared import contracts, events
from ccshared import store as ccstore
from kafka import KafkaConsumer, KafkaProducer

from .common import Context, Figure, Report, wait_until

NAME = "sla-throughput"
TITLE = "SLA monitor: contact events per second from Kafka into its store"
AREAS_CENTRES = [
    ("north", "bench-centre-north"),
    ("central", "bench-centre-central"),
    ("south", "bench-centre-south"),
]


def sizes(quick: bool) -> dict[str, int]:
    if quick:
        return {"events (SQLite store)": 2000, "events (FerretDB store)": 500, "partitions": 6}
    return {"events (SQLite store)": 20000, "events (FerretDB store)": 1000, "partitions": 6}


def received_events(count: int, now: datetime) -> list[tuple[str, bytes]]:
    """`count` contact.received.v1 events as (key, value), received over the last few days."""
    channels = contracts.CHANNELS
    out = []
    for index in range(count):
        contact_id = str(uuid.uuid4())
        area, centre_id = AREAS_CENTRES[index % len(AREAS_CENTRES)]
        received = now - timedelta(minutes=7 * index % 5000)
        data = {
            "contact_id": contact_id,
            "reference": f"BENCH-{index:07d}",
            "channel": channels[index % len(channels)],
            "centre_id": centre_id,
            "area": area,
            "received_at": received,
            "status": "received",
            "occurred_at": received,
        }
        envelope = events.make(contracts.CONTACT_RECEIVED, contact_id, data, source="contacts", time=received)
        out.append((contact_id, events.encode(envelope)))
    return out


def run(ctx: Context, size: dict[str, int] | None = None) -> Report:
    size = size or sizes(ctx.quick)
    report = Report(NAME, TITLE, dict(size))
    broker = ctx.engines.kafka()
    for label, count, store_url in (
        (
            "SQLite",
            size["events (SQLite store)"],
            lambda: f"sqlite:///{ctx.workdir}/sla-{uuid.uuid4().hex[:6]}.db",
        ),
        ("FerretDB", size["events (FerretDB store)"], lambda: _ferret_url(ctx)),
    ):
        if not count:
            continue
        prefix = f"bench-{uuid.uuid4().hex[:8]}-"
        topic = prefix + contracts.CONTACTS_TOPIC
        bootstrap = broker.bootstrap
        ccbus.connect(f"kafka://{bootstrap}").ensure_topics([topic])
        _produce(bootstrap, topic, received_events(count, datetime.now(UTC)))
        drained = _drain_seconds(bootstrap, topic, count)
        monitor = _monitor_seconds(bootstrap, prefix, store_url(), count, ctx.workdir)
        report.add(Figure(f"bare kafka-python drain ({label} run)", count / drained, "events/s"))
        report.add(
            Figure(
                f"monitor into {label} store",
                count / monitor,
                "events/s",
                "bare drain of the same topic",
                count / drained,
            )
        )
    report.notes.append(
        "both timings start at subscription (consumer-group join included) and stop when the last "
        "event is drained / marked processed in the monitor's store"
    )
    return report


def _ferret_url(ctx: Context) -> str:
    return ctx.engines.ferretdb().store_url(f"bench_{uuid.uuid4().hex[:8]}_sla")


def _produce(bootstrap: str, topic: str, messages: list[tuple[str, bytes]]) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=20, batch_size=256 * 1024)
    for key, value in messages:
        producer.send(topic, key=key.encode(), value=value)
    producer.flush(timeout=120)
    producer.close()


def _drain_seconds(bootstrap: str, topic: str, count: int) -> float:
    started = time.perf_counter()
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"bench-drain-{uuid.uuid4().hex[:8]}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    seen = 0
    deadline = time.monotonic() + 300
    while seen < count and time.monotonic() < deadline:
        batches = consumer.poll(timeout_ms=500, max_records=500)
        seen += sum(len(records) for records in batches.values())
        if batches:
            consumer.commit()
    consumer.close()
    if seen < count:
        raise RuntimeError(f"bare consumer saw {seen} of {count} events")
    return time.perf_counter() - started


def _monitor_seconds(bootstrap: str, prefix: str, store_url: str, count: int, workdir: Path) -> float:
    """Run only the monitor's consumer task and time it until `count` events are processed."""
    from sla_monitor import config, worker
    from sla_monitor.repository import PROCESSED

    settings = config.WorkerSettings.from_env(
        {
            "EVENT_BUS_URL": f"kafka://{bootstrap}?topic_prefix={prefix}",
            "STORE_URL": store_url,
            "SLA_CONSUMER_GROUP": f"bench-monitor-{uuid.uuid4().hex[:8]}",
        }
    )
    store = ccstore.connect(store_url)
    consume = worker.tasks(settings, store=store)[0]
    processed = ccstore.connect(store_url).collection(PROCESSED)
    stop = threading.Event()
    errors: list[BaseException] = []

    def guarded() -> None:
        try:
            consume(stop)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
            raise

    started = time.perf_counter()
    thread = threading.Thread(target=guarded, name="monitor-consume")
    thread.start()
    try:
        done = wait_until(lambda: errors or processed.count() >= count, timeout=600, interval=0.2)
        elapsed = time.perf_counter() - started
    finally:
        stop.set()
        thread.join(timeout=30)
    if errors or not done:
        raise RuntimeError(f"monitor processed {processed.count()} of {count}: {errors}")
    return elapsed
