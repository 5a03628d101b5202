"""`python -m sla_monitor run|serve|worker`, and `due` to check one case.

    python -m sla_monitor due --channel referral --received 2026-12-24T16:00:00+00:00 \
        [--urgency urgent] [--area north] [--at-risk]

prints the due (or at-risk) instant in ISO 8601 with the Europe/London offset.
It reads only the calendar settings (SLA_CLOSURE_DAYS, SLA_AREA_CLOSURE_DAYS,
SLA_CLOSURE_CALENDAR, SLA_TARGET_*). The other commands check every setting
before they start, so a bad one (a malformed closure calendar, say) stops the
service at once with the variable, file and line named.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import datetime

from ccshared import contracts
from ccshared.calendar import EARLIEST_DAY, LATEST_DAY, supported_instant
from ccshared.config import ConfigError
from ccshared.runner import main as run_service

from . import bootstrap, config
from .api import local_iso


def received_time(raw: str) -> datetime:
    try:
        instant = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not an ISO 8601 date and time") from None
    if instant.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{raw!r} has no UTC offset; add one, e.g. +00:00 or Z")
    if not supported_instant(instant):
        raise argparse.ArgumentTypeError(f"{raw!r} is not between {EARLIEST_DAY} and {LATEST_DAY}")
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
    parser.add_argument(
        "--urgency", choices=contracts.URGENCIES, help="the contact's urgency (default: the channel's target)"
    )
    parser.add_argument(
        "--area", choices=contracts.AREAS, help="the centre's area, to count its own closure days too"
    )
    parser.add_argument("--at-risk", action="store_true", help="print the at-risk instant instead")
    return parser


def due(argv: Sequence[str]) -> int:
    args = due_parser().parse_args(argv)
    try:
        policy = bootstrap.policy(config.CalendarSettings.from_env())
    except ConfigError as exc:
        print(f"sla_monitor due: {exc}", file=sys.stderr)
        return 2
    deadline = policy.deadline(args.channel, args.received, args.urgency, args.area)
    print(local_iso(deadline.at_risk_at if args.at_risk else deadline.due_at))
    return 0


def main(argv: Sequence[str]) -> int:
    if argv and argv[0] == "due":
        return due(argv[1:])
    return run_service(
        argv,
        package="sla_monitor",
        port=config.PORT,
        check_settings=_check_settings,
        commands={"due": "when a contact received at a given time is at risk and due (due --help)"},
    )


def _check_settings(mode: str) -> None:
    if mode == "worker":
        config.WorkerSettings.from_env()
    else:
        config.Settings.from_env()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
