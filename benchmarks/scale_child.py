"""One SLA monitor instance holding N open clocks, in a process of its own so its peak memory is its own.

    python -m benchmarks.scale_child --clocks N --due D --store sqlite:///path.db

prints one JSON object: insert time, the due scan's cost with D clocks due,
the start-up recompute check, peak RSS and the peak of Python allocations
during the scan.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ccshared import store as ccstore
from ccshared.timeutil import SystemClock
from sla_monitor import bootstrap, config
from sla_monitor.repository import repositories
from sla_monitor.service import Monitor

from . import clocks as bench_clocks

REPEATS = 5


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--clocks", type=int, required=True)
    p.add_argument("--due", type=int, required=True)
    p.add_argument("--store", required=True)
    args = p.parse_args(argv)
    result = measure(args.clocks, args.due, args.store)
    print(json.dumps(result))
    return 0


def measure(total: int, due: int, store_url: str) -> dict[str, float]:
    fingerprint = bench_clocks.fingerprint()
    store = ccstore.connect(store_url)
    clocks, centres = repositories(store, SystemClock())
    now = datetime.now(UTC)
    month = timedelta(days=30).total_seconds()

    def items():  # noqa: ANN202
        for index in range(total):
            if index < due:
                breach_at = now - timedelta(minutes=1)
            else:
                breach_at = now + timedelta(days=2, seconds=(index * 7919) % month)
            yield bench_clocks.open_clock(index, breach_at, fingerprint)

    started, cpu = time.perf_counter(), time.process_time()
    with _transactions(store) as batch:
        for item in items():
            clocks.outbox.add(clocks.to_doc(item))
            batch()
    insert_seconds, insert_cpu = time.perf_counter() - started, time.process_time() - cpu
    monitor = Monitor(clocks, centres, bootstrap.policy(config.CalendarSettings.from_env({})), SystemClock())

    query_times = []
    for _ in range(REPEATS):
        t = time.process_time()
        found = clocks.falling_due(datetime.now(UTC), 200)
        query_times.append(time.process_time() - t)
    if len(found) != due:
        raise RuntimeError(f"the due query found {len(found)} clocks, expected {due}")

    t = time.process_time()
    monitor.recompute()
    recompute_seconds = time.process_time() - t

    tracemalloc.start()
    t, cpu = time.perf_counter(), time.process_time()
    staged = monitor.scan()
    scan_seconds, scan_cpu = time.perf_counter() - t, time.process_time() - cpu
    _, scan_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    if staged != due:
        raise RuntimeError(f"the scan staged {staged} events, expected {due}")

    path = store_url.split("://", 1)[1].removeprefix("/")
    return {
        "clocks": total,
        "insert_seconds": insert_seconds,
        "insert_cpu_seconds": insert_cpu,
        "due_query_cpu_seconds": statistics.median(query_times),
        "scan_seconds": scan_seconds,
        "scan_cpu_seconds": scan_cpu,
        "recompute_check_cpu_seconds": recompute_seconds,
        "scan_peak_python_bytes": scan_peak,
        "max_rss_bytes": peak_rss_bytes(),
        "store_bytes": sum(os.path.getsize(f) for f in (path, path + "-wal") if os.path.exists(f)),
    }


def peak_rss_bytes() -> int:
    """This process's peak resident set since its exec (VmHWM).

    getrusage's ru_maxrss is no use here: Linux keeps it across exec, so a child
    reports the peak of the parent it was forked from.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


@contextlib.contextmanager
def _transactions(store: object, size: int = 5000) -> Iterator[Callable[[], None]]:
    """Group the repository's inserts into SQLite transactions of `size`, to load a million quickly.

    Uses the SQLite adapter's own per-thread connection, so the inserts are the
    repository's; on another store each insert stands alone.
    """
    conn = getattr(store, "_conn", lambda: None)()
    if conn is None:
        yield lambda: None
        return
    count = 0

    def batch() -> None:
        nonlocal count
        count += 1
        if count % size == 0:
            conn.execute("COMMIT")
            conn.execute("BEGIN")

    conn.execute("BEGIN")
    try:
        yield batch
    finally:
        conn.execute("COMMIT")


if __name__ == "__main__":
    sys.exit(main())
