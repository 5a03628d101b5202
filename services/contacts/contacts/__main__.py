"""python -m contacts run | serve | worker | agency-key create|update|revoke|list | erase-expired
| purge-idempotency | subject-access search|erase|backfill"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from ccshared import runner
from ccshared import store as store_module
from ccshared.config import ConfigError
from ccshared.timeutil import SystemClock

from . import bootstrap, subject_access_cli
from .agencies import AgencyKeys, CallbackChange
from .config import PORT, Settings

CALLBACK_HELP = "https URL the agency's signed status webhooks are POSTed to (http only to localhost)"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m contacts", description="The contacts service.")
    commands = parser.add_subparsers(dest="command", required=True)
    for mode, says in runner.MODES.items():
        commands.add_parser(mode, help=says)
    keys = commands.add_parser("agency-key", help="manage partner agencies' API keys")
    key_commands = keys.add_subparsers(dest="key_command", required=True)
    create = key_commands.add_parser("create", help="make a key for an agency; it is shown once")
    create.add_argument(
        "--agency", help='a new agency\'s name, e.g. "Example Health Visitors" (its id is made from it)'
    )
    create.add_argument(
        "--agency-id",
        help="an existing agency's id, to give it another key on purpose (key rotation); "
        "a name that would join an existing agency is refused without it",
    )
    create.add_argument("--notify-email", help="where the agency is told of its referrals (receipt, status)")
    create.add_argument("--callback-url", help=CALLBACK_HELP + "; prints its signing secret once")
    update = key_commands.add_parser("update", help="change an agency's notification address or webhooks")
    update.add_argument("--agency", required=True, help="the agency's id, as create and list show it")
    update.add_argument("--notify-email", help="where the agency is told of its referrals")
    update.add_argument("--callback-url", help=CALLBACK_HELP + "; the secret is kept (made if none)")
    update.add_argument(
        "--remove-callback-url", action="store_true", help="stop webhooks; the URL and secret are deleted"
    )
    update.add_argument(
        "--rotate-webhook-secret", action="store_true", help="make a new signing secret (printed once)"
    )
    revoke = key_commands.add_parser("revoke", help="revoke a key by its id")
    revoke.add_argument("key_id")
    key_commands.add_parser("list", help="list keys (never the keys themselves)")
    commands.add_parser("erase-expired", help="erase personal data past CONTACTS_RETENTION_DAYS")
    commands.add_parser(
        "purge-idempotency", help="delete Idempotency-Key records older than 24 hours (the worker does too)"
    )
    subject_access_cli.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in runner.MODES:
        return runner.main(
            argv, package="contacts", port=PORT, check_settings=lambda mode: Settings.from_env()
        )
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    store = store_module.connect(settings.store_url)
    clock = SystemClock()
    if args.command == "subject-access":
        return subject_access_cli.run(args, bootstrap.subject_access(settings, store, clock))
    if args.command == "erase-expired":
        erased = bootstrap.retention(settings, store, clock)()
        print(json.dumps({"erased": erased, "retention_days": settings.retention_days}))
        return 0
    requests = bootstrap.requests(settings, store, clock)
    if args.command == "purge-idempotency":
        print(json.dumps({"purged": requests.purge()}))
        return 0
    return _agency_key(args, bootstrap.agency_keys(settings, store, clock))


def _agency_key(args: argparse.Namespace, keys: AgencyKeys) -> int:
    if args.key_command == "create":
        try:
            issued = keys.create(
                args.agency,
                notify_email=args.notify_email,
                callback_url=args.callback_url,
                existing_id=args.agency_id,
            )
        except ValueError as exc:
            print(exc, file=sys.stderr)
            return 2
        print(
            f"key id:  {issued.key_id}\nagency:  {issued.agency.name} ({issued.agency.id})\n"
            f"API key: {issued.key}\nThis key is shown once; give it to the agency securely."
        )
        _print_profile(keys.profile(issued.agency.id), issued.webhook_secret)
        return 0
    if args.key_command == "update":
        callback = CallbackChange(args.callback_url, args.remove_callback_url, args.rotate_webhook_secret)
        try:
            updated = keys.update(args.agency, notify_email=args.notify_email, callback=callback)
            _print_profile(updated.profile, updated.webhook_secret)
        except KeyError:
            print(f"no agency {args.agency}; see agency-key list", file=sys.stderr)
            return 1
        except ValueError as exc:
            print(exc, file=sys.stderr)
            return 2
        return 0
    if args.key_command == "revoke":
        if not keys.revoke(args.key_id):
            print(f"no active key {args.key_id}", file=sys.stderr)
            return 1
        print(f"revoked {args.key_id}")
        return 0
    for record in keys.list():
        print(json.dumps(record))
    return 0


def _print_profile(profile: dict | None, webhook_secret: str | None = None) -> None:
    """The profile, and a newly made webhook secret: the only time it is ever shown."""
    if profile is None:
        return
    print(f"notify:  {profile.get('notify_email') or '(none: the agency gets no e-mails)'}")
    print(f"webhook: {profile.get('callback_url') or '(none: the agency gets no webhooks)'}")
    if profile.get("webhook_failing_since"):
        print(f"webhook failing since {profile['webhook_failing_since']}")
    if webhook_secret:
        print(f"Webhook secret: {webhook_secret}")
        print("This secret is shown once; the agency verifies each webhook's signature with it.")
    elif profile.get("callback_url"):
        print("webhook secret unchanged (agency-key update --rotate-webhook-secret makes a new one)")


if __name__ == "__main__":
    sys.exit(main())
