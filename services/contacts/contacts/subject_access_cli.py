"""`python -m contacts subject-access search|erase|backfill`: subject access requests from a shell.

The command is the administrator's tool on the server; the audit log names it
`cli:<login name>`. A search writes its export as a readable JSON file (or to
standard output), and the standard error says how many contacts it holds.
"""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import json
import os
import sys
from pathlib import Path
from typing import Any

from ccshared.errors import InvalidInput

from . import blind_index
from . import vocabulary as v
from .blind_index import InvalidQuery
from .subject_access import SubjectAccess


def add_parser(commands: Any) -> None:
    sar = commands.add_parser("subject-access", help="find, export or erase a person's contacts (UK GDPR)")
    sar_commands = sar.add_subparsers(dest="sar_command", required=True)
    search = sar_commands.add_parser(
        "search", help="export every contact about a person, their own part of each (audited)"
    )
    _identifiers(search)
    search.add_argument("--out", type=Path, help="write the export here (readable JSON), else to stdout")
    erase = sar_commands.add_parser(
        "erase",
        help="erase a person's data from contacts, on their request: all of a contact about them, "
        "else only their part as referrer or consent recorder (audited)",
    )
    _identifiers(erase)
    erase.add_argument("--contact", action="append", required=True, metavar="ID", help="a contact id; repeat")
    erase.add_argument("--reason", required=True, choices=v.ERASURE_REASONS, help="the ground for erasure")
    erase.add_argument(
        "--case-reference", help="the council's case number for the request, e.g. SAR/2026/0042 (no names)"
    )
    backfill = sar_commands.add_parser("backfill", help="index contacts stored before blind indexes existed")
    backfill.add_argument(
        "--all", action="store_true", help="re-index every contact (after CONTACTS_BLIND_INDEX_KEY changes)"
    )


def _identifiers(command: argparse.ArgumentParser) -> None:
    """Who the person is: any of these (the same as their search, for an erasure)."""
    command.add_argument("--name", help="the person's name; every word of it must match")
    command.add_argument("--phone", help="a telephone number, in any spelling (+44 7700 900123, 07700900123)")
    command.add_argument("--email", help="an e-mail address")
    command.add_argument("--postcode", help="a full postcode, such as L8 0AA")


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


def run(args: argparse.Namespace, service: SubjectAccess) -> int:
    if args.sar_command == "backfill":
        print(json.dumps({"indexed": service.backfill(everything=args.all)}))
        return 0
    try:
        asked = blind_index.query(args.name, args.phone, args.email, args.postcode)
        if args.sar_command == "search":
            return _search(args, service, asked)
        done = service.erase(_actor(), asked, args.contact, args.reason, args.case_reference)
    except InvalidQuery as exc:
        print(f"--{exc.field}: {exc.message}", file=sys.stderr)
        return 2
    except InvalidInput as exc:
        print(_complaint(exc), file=sys.stderr)
        return 2
    print(json.dumps(dataclasses.asdict(done)))
    return 1 if done.not_found or done.not_matched else 0


def _complaint(exc: InvalidInput) -> str:
    """The service's refusal, naming the option at fault as typed ("--case-reference: ...")."""
    field = next(iter(exc.fields or {}), None)
    return f"--{field.replace('_', '-')}: {exc.message}" if field else exc.message


def _search(args: argparse.Namespace, service: SubjectAccess, asked: blind_index.Query) -> int:
    export = service.search(_actor(), asked)
    text = json.dumps(export, indent=2, ensure_ascii=False) + "\n"
    if args.out is None:
        sys.stdout.write(text)
    else:
        _write_private(args.out, text)
        print(f"wrote {export['count']} contact(s) to {args.out}", file=sys.stderr)
    return 0


def _write_private(path: Path, text: str) -> None:
    """The export is personal data: readable by its owner only, from the moment it exists."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)  # an older file of that name keeps its mode otherwise
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        out.write(text)
