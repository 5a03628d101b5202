"""Schemathesis against each service's own OpenAPI document.

Every generated request (valid and invalid) must get an answer that is not a
5xx, has a documented content type, and whose body matches the schema the
document declares for its status. Authenticated operations get a principal
officer's staff token and a partner agency's key, so they reach the code
behind the gate instead of stopping at 401.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import schemathesis
from flask import Flask
from hostile_kit import bearer, contacts_app, directory_app, notifier_app, sla_app, sqlite_url
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]
LIMITS = settings(
    max_examples=10,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


_WORKDIR = tempfile.TemporaryDirectory(prefix="hostile-schemathesis-")
_TMP = Path(_WORKDIR.name)


_contacts = contacts_app(sqlite_url(_TMP, "contacts"), _TMP)


def _schema(app: Flask) -> schemathesis.BaseSchema:
    """Built at import: schemathesis's fixture-based loader does not run on this pytest."""
    return schemathesis.openapi.from_wsgi("/openapi.json", app)


def _call(case: schemathesis.Case, service: str) -> None:
    headers = {**bearer("principal_officer", to=service), "X-API-Key": _contacts.agency_key}
    case.call_and_validate(headers=headers, checks=CHECKS)


directory = _schema(directory_app(sqlite_url(_TMP, "directory"), _TMP))
contacts = _schema(_contacts.app)
sla = _schema(sla_app(sqlite_url(_TMP, "sla"), _TMP))
notifier = _schema(notifier_app(sqlite_url(_TMP, "notifier"), _TMP))


@directory.parametrize()
@LIMITS
def test_hostile_schemathesis_directory(case: schemathesis.Case) -> None:
    _call(case, "directory")


@contacts.parametrize()
@LIMITS
def test_hostile_schemathesis_contacts(case: schemathesis.Case) -> None:
    _call(case, "contacts")


@sla.parametrize()
@LIMITS
def test_hostile_schemathesis_sla_monitor(case: schemathesis.Case) -> None:
    _call(case, "sla-monitor")


@notifier.parametrize()
@LIMITS
def test_hostile_schemathesis_notifier(case: schemathesis.Case) -> None:
    _call(case, "notifier")
