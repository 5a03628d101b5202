"""Scale: one SLA monitor instance holding up to a million open clocks in the embedded SQLite store.

Each size runs in a fresh process (benchmarks.scale_child) so that its peak
memory is its own. A fixed number of clocks is due at every size, so the due
scan should cost the same at 10k, 100k and 1M: it must not grow with the
clocks that are not due. Costs are CPU seconds of the monitor process (SQLite
runs inside it), which a machine shared with other work disturbs far less than
wall time; wall times are in the notes.
"""

from __future__ import annotations

import json
import subprocess
import sys

from .common import REPO_ROOT, Context, Figure, Report, base_env

NAME = "scale"
TITLE = "Scale: one monitor instance holding up to 1,000,000 open clocks (SQLite store)"


def sizes(quick: bool) -> dict[str, object]:
    clocks = [10_000, 100_000] if quick else [10_000, 100_000, 1_000_000]
    return {"open clocks": clocks, "due at each size": 100}


def run(ctx: Context, size: dict[str, object] | None = None) -> Report:
    size = size or sizes(ctx.quick)
    clocks: list[int] = size["open clocks"]  # type: ignore[assignment]
    due = int(size["due at each size"])  # type: ignore[arg-type]
    report = Report(NAME, TITLE, dict(size))
    results = [_child(ctx, n, due) for n in clocks]
    base = results[0]
    label = f"{base['clocks']:,}"
    for result in results:
        n = f"{result['clocks']:,}"
        print(f"  {n} clocks: {json.dumps(result)}", flush=True)
        report.add(
            Figure(
                f"due scan, {due} due of {n} (CPU)",
                result["scan_cpu_seconds"] * 1000,
                "ms",
                f"at {label}",
                base["scan_cpu_seconds"] * 1000,
                False,
            )
        )
        report.add(
            Figure(
                f"due query alone, {n} (CPU)",
                result["due_query_cpu_seconds"] * 1000,
                "ms",
                f"at {label}",
                base["due_query_cpu_seconds"] * 1000,
                False,
            )
        )
        report.add(
            Figure(
                f"start-up recompute check, {n} (CPU)",
                result["recompute_check_cpu_seconds"] * 1000,
                "ms",
                f"at {label}",
                base["recompute_check_cpu_seconds"] * 1000,
                False,
            )
        )
        report.add(
            Figure(
                f"peak RSS holding {n}",
                result["max_rss_bytes"] / 2**20,
                "MiB",
                f"at {label}",
                base["max_rss_bytes"] / 2**20,
                False,
            )
        )
        report.add(
            Figure(
                f"insert {n} through the repository (CPU)",
                result["insert_cpu_seconds"],
                "s",
                f"at {label}",
                base["insert_cpu_seconds"],
                False,
            )
        )
        report.notes.append(
            f"{n} clocks: insert {result['insert_seconds']:.1f} s wall, scan {result['scan_seconds'] * 1000:.0f} ms wall, "
            f"scan peak Python allocations {result['scan_peak_python_bytes'] / 1024:.0f} KiB, "
            f"store file {result['store_bytes'] / 2**20:.0f} MiB"
        )
    report.notes.append(
        "clocks are inserted through the monitor's repository (one outbox add each), grouped in SQLite "
        "transactions of 5,000 to keep the run short; FerretDB at this scale is not measured (too slow "
        "to load a million documents within the run's budget)"
    )
    return report


def _child(ctx: Context, clocks: int, due: int) -> dict:
    store = f"sqlite:///{ctx.workdir}/scale-{clocks}.db"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.scale_child",
            "--clocks",
            str(clocks),
            "--due",
            str(due),
            "--store",
            store,
        ],
        cwd=REPO_ROOT,
        env=base_env(),
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if result.returncode != 0:
        raise RuntimeError(f"scale_child {clocks} failed:\n{result.stdout}\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])
