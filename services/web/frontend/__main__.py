"""python -m frontend run|serve|worker, or create-user USERNAME --role ROLE [--area AREA]
[--agency AGENCY_ID] [--password-stdin], reset-password USERNAME [--password-stdin],
disable-user|enable-user USERNAME,
or api USERNAME SERVICE PATH [--method METHOD] [--json-stdin] (a script's call to a
service's API as that user)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence

import requests
from ccshared import contracts as c
from ccshared import logs, runner
from ccshared.config import ConfigError
from ccshared.store import connect
from ccshared.timeutil import SystemClock

from . import bootstrap
from .accounts import ACCOUNT_ROLES, Account, AccountError, unknown_agency
from .clients import RequestsTransport, ServiceError, ServiceUnavailable
from .config import PORT, SERVICE, AccountSettings, Settings
from .service import StaffDesk


def _desk(settings: AccountSettings | None = None) -> StaffDesk:
    """The accounts store alone: managing accounts needs no secrets and no other service."""
    settings = settings or AccountSettings.from_env()
    return bootstrap.desk(settings, connect(settings.store_url), SystemClock())


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m frontend", description=__doc__)
    commands = parser.add_subparsers(dest="command")
    for mode, says in runner.MODES.items():
        commands.add_parser(mode, help=says)
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
    for verb, text in (
        ("disable", "stop an account signing in (ends its sessions)"),
        ("enable", "let it again"),
    ):
        commands.add_parser(f"{verb}-user", help=text).add_argument("username")
    api = commands.add_parser(
        "api",
        help="call a service's API as a user, with a fresh staff token (for scripts on this host)",
        description="Writes the answer's body to standard output; exits 1 on an error answer. "
        "Staff tokens live seconds, so a script asks for each call here rather than keeping one.",
    )
    api.add_argument("username", help="an active account: the call has its role, area or agency")
    api.add_argument("service", choices=sorted(_SERVICE_URLS))
    api.add_argument("path", help="e.g. '/api/v1/contacts?format=csv'")
    api.add_argument("--method", default="GET", choices=("GET", "POST", "PUT", "PATCH", "DELETE"))
    api.add_argument("--json-stdin", action="store_true", help="send standard input as the JSON body")
    return parser


# The service's name (its token audience) -> the setting with its base URL.
_SERVICE_URLS = {
    c.SERVICE_DIRECTORY: "directory_url",
    c.SERVICE_CONTACTS: "contacts_url",
    c.SERVICE_SLA_MONITOR: "sla_monitor_url",
    c.SERVICE_NOTIFIER: "notifier_url",
}
log = logging.getLogger("frontend.api_command")


def _password(from_stdin: bool) -> str | None:
    return sys.stdin.readline().rstrip("\r\n") if from_stdin else None


def _create_user(args: argparse.Namespace) -> int:
    given = _password(args.password_stdin)
    account, password = _desk().create_account(
        args.username,
        args.role,
        args.area,
        given,
        by="command line",
        agency=args.agency,
        check_agency=_agency_in_contacts,
    )
    print(f"Created {account.username} ({account.role}{_where(account)}).")
    if given is None:
        print(f"Password: {password}")
    return 0


def _agency_in_contacts(agency: str) -> None:
    """Refuse an agency contacts does not know. When contacts cannot be asked (not running yet, or
    this shell lacks the front end's key), say so and go on: accounts may be made before it runs."""
    try:
        known = bootstrap.backends(Settings.from_env(), RequestsTransport()).referrals.agency_registered(
            agency
        )
    except (ConfigError, ServiceUnavailable, ServiceError) as error:  # a refusal other than "no such agency"
        why = "the front end's settings are incomplete here" if isinstance(error, ConfigError) else str(error)
        print(f"{SERVICE}: agency {agency} was not checked with contacts ({why})", file=sys.stderr)
        return
    if not known:
        raise unknown_agency(agency)


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


def _api(args: argparse.Namespace) -> int:
    """One call as `username`, as the front end would make it for that user signed in."""
    if not args.path.startswith("/"):
        print(f"{SERVICE}: path: must start with /, e.g. /api/v1/contacts", file=sys.stderr)
        return 2
    body = None
    if args.json_stdin:
        try:
            body = json.loads(sys.stdin.read())
        except ValueError as error:
            print(f"{SERVICE}: standard input: not JSON ({error})", file=sys.stderr)
            return 2
    settings = Settings.from_env()
    logs.configure(SERVICE, settings.log_level)  # the call's log line names its user, on standard error
    account = _desk(settings).accounts.get(args.username.strip().lower())
    if account is None or account.disabled:
        print(f"{SERVICE}: username: no active account {args.username}", file=sys.stderr)
        return 1
    token = bootstrap.token_issuer(settings).issue(account.staff_user(), args.service)
    url = getattr(settings, _SERVICE_URLS[args.service]) + args.path
    log.info(
        "api call from the command line",
        extra={"username": account.username, "service": args.service, "method": args.method},
    )
    try:
        answer = requests.request(
            args.method,
            url,
            json=body,
            headers={"Authorization": f"Bearer {token}"},
            timeout=settings.service_timeout_seconds * 10,  # a download may take longer than a page's call
        )
    except requests.RequestException as error:
        print(f"{SERVICE}: {args.service} could not be reached at {url}: {error}", file=sys.stderr)
        return 1
    if answer.status_code >= 400:  # nothing on standard output: a `> report.csv` gets no error body
        sys.stderr.buffer.write(answer.content.rstrip(b"\n") + b"\n")
        print(f"{SERVICE}: {args.service} answered {answer.status_code}", file=sys.stderr)
        return 1
    sys.stdout.buffer.write(answer.content)
    sys.stdout.flush()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in runner.MODES:
        return runner.main(
            argv, package="frontend", port=PORT, check_settings=lambda mode: Settings.from_env()
        )
    args = _parser().parse_args(argv)
    try:
        if args.command == "create-user":
            return _create_user(args)
        if args.command == "reset-password":
            return _reset_password(args)
        if args.command in ("disable-user", "enable-user"):
            _desk().set_disabled(args.username.strip().lower(), args.command == "disable-user")
            print(f"{args.username}: {args.command.split('-')[0]}d.")
            return 0
        if args.command == "api":
            return _api(args)
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
