"""`python -m sla_monitor run|serve|worker`, and `due` to check one case.

    python -m sla_monitor due --channel letter --received 2026-12-24T16:00:00+00:00 [--at-risk]

prints the due (or at-risk) instant in ISO 8601 with the Europe/London offset.
It reads only the calendar settings (SLA_CLOSURE_DAYS, SLA_TARGET_*).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import datetime

from ccshared import contracts, logs
from ccshared.config import ConfigError
from ccshared.runner import main as run_service

from . import config
from .api import local_iso


def received_time(raw: str) -> datetime:
    try:
        instant = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not an ISO 8601 date and time") from None
    if instant.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{raw!r} has no UTC offset; add one, e.g. +00:00 or Z")
    return instant


def due_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m sla_monitor due", description="When is a contact due (or at risk)?"
    )
    parser.add_argument(
        "--channel", required=True, choices=contracts.CHANNELS, help="how the contact came in"
    )
    parser.add_argument(
        "--received", required=True, type=received_time, help="e.g. 2026-12-24T16:00:00+00:00"
    )
    parser.add_argument("--at-risk", action="store_true", help="print the at-risk instant instead")
    return parser


def due(argv: Sequence[str]) -> int:
    args = due_parser().parse_args(argv)
    try:
        calendar = config.load_calendar().calendar()
    except ConfigError as exc:
        print(f"sla_monitor due: {exc}", file=sys.stderr)
        return 2
    deadline = calendar.deadline(args.channel, args.received)
    print(local_iso(deadline.at_risk_at if args.at_risk else deadline.due_at))
    return 0


def main(argv: Sequence[str]) -> int:
    if argv and argv[0] == "due":
        return due(argv[1:])
    logs.configure(config.SERVICE, _log_level())
    return run_service(
        argv,
        app_spec="sla_monitor.app:create_app()",
        worker_spec="sla_monitor.worker:tasks",
        port_var="SLA_MONITOR_PORT",
        default_port=8003,
    )


def _log_level() -> str:
    try:
        return config.config.load([config.config.LOG_LEVEL])["LOG_LEVEL"]
    except ConfigError:
        return "INFO"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
