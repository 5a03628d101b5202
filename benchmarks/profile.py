"""cProfile of one hot path, in-process, as a table of its top entries per unit of work.

    python -m benchmarks.profile referral|bare|decode|make|monitor|scan [--count N] [--top 12] [--timer cpu|wall]

`referral`: partner referral POSTs (API key, Idempotency-Key) through the contacts app
as gunicorn serves it (`create_app` with JSON request logs and multiprocess Prometheus
metrics), on the embedded SQLite store, through Flask's test client: the HTTP server
and the network are left out, everything the service does per request is in. `bare`: the
same POST to the bare Flask endpoint of the referral benchmark's baseline. `decode`:
`ccshared.events.decode` of contact events as the SLA monitor receives them; `make`:
`ccshared.events.make` of the same events, as a service stages them; `monitor`: the SLA
monitor's consumer task taking contact.received events from the embedded bus into its
SQLite store (per event; the CPU figures include the consumer's idle polls at the end);
`scan`: the SLA monitor's due scan moving clocks that fell due to breached (per clock).

Each warms up first, times `--count` units unprofiled, then profiles as many more; the
tables give calls and cumulative / own time per unit, CPU time by default. Profiling
inflates code made of many small Python calls (marshmallow) more than calls into C
(SQLite, OpenSSL): read the profile for where time goes, the unprofiled line for how much.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import logging
import os
import pstats
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

WARM_UP = 50


def referral_work(workdir: Path) -> Callable[[int], None]:
    """One referral POST per call, each with a new Idempotency-Key; fails on any answer but 201."""
    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(workdir / "metrics"))
    (workdir / "metrics").mkdir(exist_ok=True)
    from ccshared import logs
    from ccshared.ratelimit import Limit
    from ccshared.timeutil import SystemClock
    from contacts.app import create_app
    from contacts.config import SERVICE, Settings
    from cryptography.fernet import Fernet

    from tests.infra import tokens

    from . import referrals

    store_url = f"sqlite:///{workdir}/contacts.db"
    settings = Settings(
        store_url=store_url,
        bus_url=f"sqlite:///{workdir}/events.db",
        staff_token_public_key=tokens.STAFF_PUBLIC,
        service_token_public_key=tokens.SERVICE_PUBLIC,
        encryption_key=Fernet.generate_key().decode(),
        blind_index_key=uuid.uuid4().hex * 2,
        partner_rate_limit=Limit(1_000_000, 60),  # every hit still counted, none refused
    )
    referrals._seed_centres(store_url)
    key = referrals._more_agency_keys(store_url, 1)[0]
    logs.configure(SERVICE, "INFO")
    logging.getLogger().handlers[0].setStream(open(os.devnull, "w"))  # noqa: SIM115 - lives as long as the run
    client = create_app(settings, clock=SystemClock()).test_client()

    def post(index: int) -> None:
        response = client.post(
            "/api/v1/referrals",
            json=referrals.referral(index),
            headers={"X-API-Key": key, "Idempotency-Key": f"profile-{index}"},
        )
        if response.status_code != 201:
            raise RuntimeError(
                f"referral POST answered {response.status_code}: {response.get_data(as_text=True)}"
            )

    return post


def bare_work(workdir: Path) -> Callable[[int], None]:
    """The same POST to the bare Flask endpoint (benchmarks/bare_app.py): the floor of the stack."""
    from . import bare_app, referrals

    client = bare_app.create_app().test_client()

    def post(index: int) -> None:
        response = client.post("/api/v1/referrals", json=referrals.referral(index))
        if response.status_code != 201:
            raise RuntimeError(f"bare POST answered {response.status_code}")

    return post


def _contact_events() -> list[tuple[str, dict]]:
    """(type, data) of 300 contact events of the kinds the SLA monitor reads."""
    from ccshared import contracts as c

    received = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
    kinds = [c.CONTACT_RECEIVED, c.CONTACT_ASSIGNED, c.CONTACT_RESPONDED]
    made = []
    for index in range(300):
        data = {
            "contact_id": str(uuid.uuid4()),
            "reference": f"REF-{index:06d}",
            "channel": c.REFERRAL if index % 2 else c.CHANNELS[0],
            "centre_id": "centre-north",
            "area": c.AREAS[index % len(c.AREAS)],
            "received_at": received,
            "status": "received",
            "occurred_at": received + timedelta(minutes=index),
            "urgency": c.URGENCIES[0],
            "support_needed": ["stay-and-play"] if index % 2 else None,
            "agency_id": "bench-agency" if index % 2 else None,
        }
        made.append((kinds[index % len(kinds)], data))
    return made


def decode_work(workdir: Path) -> Callable[[int], None]:
    """One `events.decode` of an encoded contact event per call, as the SLA monitor's consumer does."""
    from ccshared import events

    raw = [
        events.encode(
            events.make(type_, data["contact_id"], data, source="contacts", time=data["received_at"])
        )
        for type_, data in _contact_events()
    ]

    def decode(index: int) -> None:
        events.decode(raw[index % len(raw)])

    return decode


def make_work(workdir: Path) -> Callable[[int], None]:
    """One `events.make` of a contact event per call, as the contacts service stages one."""
    from ccshared import events

    made = _contact_events()

    def make(index: int) -> None:
        type_, data = made[index % len(made)]
        events.make(type_, data["contact_id"], data, source="contacts", time=data["received_at"])

    return make


def each(unit: Callable[[int], None]) -> Callable[[range], None]:
    def run(indices: range) -> None:
        for index in indices:
            unit(index)

    return run


def monitor_work(workdir: Path) -> Callable[[range], None]:
    """The SLA monitor's consumer task (sla_monitor.worker.tasks) on the embedded bus and store,
    run in this thread until it has marked every contact.received event published for the range
    processed: decode, handle, stage, one SQLite transaction per polled batch."""
    import threading

    from ccshared import bus as ccbus
    from ccshared import contracts
    from ccshared import store as ccstore
    from sla_monitor import config, worker
    from sla_monitor.repository import PROCESSED

    from .sla_throughput import received_events

    store_url, bus_url = f"sqlite:///{workdir}/sla.db", f"sqlite:///{workdir}/bus.db"
    settings = config.WorkerSettings.from_env({"EVENT_BUS_URL": bus_url, "STORE_URL": store_url})
    store, producer = ccstore.connect(store_url), ccbus.connect(bus_url).producer()
    consume = worker.tasks(settings, store=store)[0]
    processed = ccstore.connect(store_url).collection(PROCESSED)
    now = datetime.now(UTC)

    def publish(indices: range) -> None:
        messages = received_events(len(indices), now)
        producer.publish_all([(contracts.CONTACTS_TOPIC, key, value) for key, value in messages])

    def run(indices: range) -> None:
        target = processed.count() + len(indices)
        stop = threading.Event()

        def watch() -> None:
            while not stop.wait(0.05):
                if processed.count() >= target:
                    stop.set()

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        consume(stop)
        watcher.join()

    run.prepare = publish  # type: ignore[attr-defined]
    return run


def scan_work(workdir: Path) -> Callable[[range], None]:
    """The SLA monitor's due scan (`Monitor.scan`, as its scanner task calls it) moving clocks
    that fell due a minute ago to breached, on the embedded SQLite store, per clock: the due
    query, each clock read again and changed under compare-and-set, its breach claimed and
    staged in the outbox. The clocks are written beforehand, outside the timing."""
    from ccshared import store as ccstore
    from ccshared.timeutil import SystemClock
    from sla_monitor import bootstrap, config
    from sla_monitor.repository import repositories
    from sla_monitor.service import Monitor

    from . import clocks as bench_clocks

    store = ccstore.connect(f"sqlite:///{workdir}/sla.db")
    clocks, centres = repositories(store, SystemClock())
    monitor = Monitor(clocks, centres, bootstrap.policy(config.CalendarSettings.from_env({})), SystemClock())
    fingerprint = bench_clocks.fingerprint()

    def write(indices: range) -> None:
        breach_at = datetime.now(UTC) - timedelta(minutes=1)
        with store.batch():
            bench_clocks.insert(clocks, (bench_clocks.open_clock(i, breach_at, fingerprint) for i in indices))

    def run(indices: range) -> None:
        staged = 0
        while staged < len(indices):
            moved = monitor.scan()
            if not moved:
                raise RuntimeError(f"the scan staged {staged} breaches of {len(indices)} clocks due")
            staged += moved

    run.prepare = write  # type: ignore[attr-defined]
    return run


WORK = {
    "referral": (lambda workdir: each(referral_work(workdir)), 500, "request"),
    "bare": (lambda workdir: each(bare_work(workdir)), 500, "request"),
    "decode": (lambda workdir: each(decode_work(workdir)), 3000, "event"),
    "make": (lambda workdir: each(make_work(workdir)), 3000, "event"),
    "monitor": (monitor_work, 3000, "event"),
    "scan": (scan_work, 2000, "clock"),
}


def table(profile: pstats.Stats, count: int, sort: str, top: int) -> str:
    """The top entries as a Markdown table: function, calls, cumulative and own ms per unit."""
    stats = profile.stats  # type: ignore[attr-defined]
    rows = sorted(stats.items(), key=lambda item: item[1][3 if sort == "cumulative" else 2], reverse=True)
    lines = [
        "| function | calls per unit | cumtime ms per unit | own ms per unit |",
        "| --- | --- | --- | --- |",
    ]
    for (path, line, name), (_primitive, calls, own, cumulative, _callers) in rows[:top]:
        where = _short(path, line, name)
        lines.append(
            f"| `{where}` | {calls / count:.3g} | {cumulative / count * 1000:.3f} | {own / count * 1000:.3f} |"
        )
    return "\n".join(lines)


def _short(path: str, line: int, name: str) -> str:
    if path == "~":
        return name
    parts = Path(path).parts
    for anchor in ("site-packages", "ccshared", "contacts", "sla_monitor", "benchmarks"):
        if anchor in parts:
            index = parts.index(anchor)
            parts = parts[index + 1 :] if anchor == "site-packages" else parts[index:]
            break
    return f"{'/'.join(parts[-3:])}:{line}({name})"


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.profile", description=__doc__)
    p.add_argument("work", choices=sorted(WORK))
    p.add_argument("--count", type=int, help="units to profile (after the warm-up)")
    p.add_argument("--warm-up", type=int, default=WARM_UP, help="units run before the timing starts")
    p.add_argument("--top", type=int, default=12)
    p.add_argument(
        "--timer",
        choices=("cpu", "wall"),
        default="cpu",
        help="cpu (default): this process's CPU time, steady on a shared machine; wall adds waits (fsync)",
    )
    p.add_argument("--dump", type=Path, help="also write the raw profile here (for snakeviz, pstats)")
    args = p.parse_args(argv)
    build, default_count, unit = WORK[args.work]
    count = args.count or default_count
    with tempfile.TemporaryDirectory(prefix="cc-profile-") as workdir:
        work = build(Path(workdir))
        prepare = getattr(work, "prepare", lambda indices: None)  # outside the timing
        prepare(range(-args.warm_up, 0))
        work(range(-args.warm_up, 0))
        prepare(range(count))
        started, cpu_started = time.perf_counter(), time.process_time()
        work(range(count))
        wall = (time.perf_counter() - started) / count
        cpu = (time.process_time() - cpu_started) / count
        profiler = cProfile.Profile(time.process_time if args.timer == "cpu" else time.perf_counter)
        prepare(range(count, 2 * count))
        profiler.enable()
        work(range(count, 2 * count))
        profiler.disable()
    stats = pstats.Stats(profiler, stream=io.StringIO())
    if args.dump:
        stats.dump_stats(args.dump)
    print(
        f"{args.work}, unprofiled: {cpu * 1000:.3f} ms CPU, {wall * 1000:.3f} ms wall per {unit} "
        f"({count} {unit}s after {args.warm_up} warm-up); profile timer: {args.timer}"
    )
    for sort in ("cumulative", "tottime"):
        print(f"\nby {sort}, per {unit}:\n{table(stats, count, sort, args.top)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
