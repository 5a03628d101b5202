"""python -m frontend run|serve|worker, or create-user USERNAME --role ROLE [--area AREA]
[--agency AGENCY_ID] [--password-stdin], or reset-password USERNAME [--password-stdin]."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import timedelta

from ccshared import config, runner
from ccshared import contracts as c
from ccshared.config import ConfigError
from ccshared.mailboxes import RoleMailboxes
from ccshared.store import connect
from ccshared.timeutil import SystemClock

from .accounts import ACCOUNT_ROLES, Account, AccountError, LockoutRule
from .config import PORT, SERVICE, Settings
from .service import StaffDesk


def _desk() -> StaffDesk:
    """The accounts store alone: managing accounts needs no secrets and no other service."""
    store_url = config.load([config.store_url(SERVICE)])["STORE_URL"]
    return StaffDesk(
        connect(store_url),
        SystemClock(),
        LockoutRule(),
        timedelta(minutes=30),
        mailboxes=RoleMailboxes.from_env(),
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m frontend", description=__doc__)
    commands = parser.add_subparsers(dest="command")
    for mode in ("run", "serve", "worker"):
        commands.add_parser(mode, help=f"{mode} the web front end")
    create = commands.add_parser(
        "create-user", help="add a staff or partner user's account (prints a generated password)"
    )
    create.add_argument("username")
    create.add_argument("--role", required=True, choices=ACCOUNT_ROLES)
    create.add_argument("--area", choices=c.AREAS, help="needed for staff and coordinator")
    create.add_argument(
        "--agency", help="needed for partner: the agency's id in contacts, e.g. example-health-visitors"
    )
    create.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    reset = commands.add_parser("reset-password", help="set a new password (prints a generated one)")
    reset.add_argument("username")
    reset.add_argument("--password-stdin", action="store_true")
    return parser


def _password(from_stdin: bool) -> str | None:
    return sys.stdin.readline().rstrip("\r\n") if from_stdin else None


def _create_user(args: argparse.Namespace) -> int:
    given = _password(args.password_stdin)
    account, password = _desk().create_account(
        args.username, args.role, args.area, given, by="command line", agency=args.agency
    )
    print(f"Created {account.username} ({account.role}{_where(account)}).")
    if given is None:
        print(f"Password: {password}")
    return 0


def _where(account: Account) -> str:
    if account.area:
        return f", {account.area} area"
    return f", agency {account.agency}" if account.agency else ""


def _reset_password(args: argparse.Namespace) -> int:
    given = _password(args.password_stdin)
    password = _desk().reset_password(args.username.lower(), given)
    print(f"New password set for {args.username}.")
    if given is None:
        print(f"Password: {password}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("run", "serve", "worker"):
        try:
            Settings.from_env()
        except ConfigError as error:
            print(error, file=sys.stderr)
            return 2
        return runner.main(
            argv,
            app_spec="frontend.app:create_app()",
            worker_spec="frontend.worker:tasks",
            port_var=PORT.name,
            default_port=PORT.default,
        )
    args = _parser().parse_args(argv)
    try:
        if args.command == "create-user":
            return _create_user(args)
        if args.command == "reset-password":
            return _reset_password(args)
        _parser().print_help()
        return 2
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    except AccountError as error:
        print(f"{SERVICE}: {error.field}: {error.message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
