"""`python -m benchmarks [--only NAME] [--quick] [--compare OLD.md]`: run the benchmarks,
write docs/benchmarks.md, and print each figure beside its value in OLD.md if given."""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Sequence
from pathlib import Path

from . import breach_latency, public_figures, referrals, report, scale, sla_throughput
from .common import Context, Engines, Report, machine

BENCHMARKS = {
    module.NAME: module for module in (referrals, sla_throughput, breach_latency, scale, public_figures)
}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    p.add_argument(
        "--only", choices=sorted(BENCHMARKS), action="append", help="run only this one (repeatable)"
    )
    p.add_argument("--quick", action="store_true", help="small sizes, for a first look")
    p.add_argument("--output", type=Path, default=report.DEFAULT_PATH, help="where to write the figures")
    p.add_argument(
        "--compare",
        type=Path,
        metavar="OLD.md",
        help="print the figures of this run beside those in an earlier report (e.g. a copy of docs/benchmarks.md)",
    )
    p.add_argument("--keep", action="store_true", help="keep the work directory (logs, databases)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.compare is not None and not args.compare.is_file():
        parser().error(f"--compare: no such file {args.compare}")
    old_text = args.compare.read_text() if args.compare is not None else None
    names = args.only or list(BENCHMARKS)
    workdir = Path(tempfile.mkdtemp(prefix="cc-bench-"))
    host = machine()
    print(f"benchmarks {', '.join(names)}{' (quick)' if args.quick else ''}; work directory {workdir}")
    print("  " + "; ".join(f"{k}: {v}" for k, v in host.items()), flush=True)
    engines = Engines(workdir / "engines")
    results: list[Report] = []
    failed = False
    try:
        for name in names:
            module = BENCHMARKS[name]
            print(f"\n== {module.TITLE}", flush=True)
            started = time.monotonic()
            ctx = Context(workdir / name, engines, args.quick)
            ctx.workdir.mkdir(parents=True, exist_ok=True)
            try:
                result = module.run(ctx)
            except Exception:  # noqa: BLE001 - one failed benchmark must not hide the others' figures
                traceback.print_exc()
                failed = True
                result = Report(name, module.TITLE, module.sizes(args.quick), notes=["FAILED in this run"])
            result.seconds = time.monotonic() - started
            results.append(result)
    finally:
        engines.close()
    report.write(args.output, results, host, args.quick)
    print(f"\nwrote {args.output}")
    if old_text is not None:
        print(f"\nold ({args.compare}) and new figures:\n{report.compare(old_text, results)}")
    if not args.keep and not failed:
        shutil.rmtree(workdir, ignore_errors=True)
    elif failed:
        print(f"logs kept in {workdir}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
