"""Schemathesis against each service's own OpenAPI document.

Every generated request (valid and invalid) must get an answer that is not a
5xx, has a documented content type, and whose body matches the schema the
document declares for its status. Authenticated operations get a principal
officer's staff token and a partner agency's key, so they reach the code
behind the gate instead of stopping at 401.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hostile_testkit import bearer, contacts_app, directory_app, notifier_app, sla_app, sqlite_url
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


def _headers(service: str) -> dict:
    return {**bearer("principal_officer", to=service), "X-API-Key": _contacts.agency_key}


def _call(case: schemathesis.Case, service: str) -> None:
    case.call_and_validate(headers=_headers(service), checks=CHECKS)


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


# Inputs the review found 500s with, sent as explicit cases and held to the same checks.

HUGE_INTEGER_BODIES = [b"9" * 5000, b'{"id": ' + b"9" * 5000 + b"}", b'{"a": [{"b": -' + b"9" * 4301 + b"}]}"]
SCHEMAS = {"directory": directory, "contacts": contacts, "sla-monitor": sla, "notifier": notifier}


def _operations(taking: Callable[[Any], bool]) -> list[tuple[str, str, str]]:
    """(service, path, method) of every documented operation `taking` picks."""
    return [
        (name, operation.path, operation.method.upper())
        for name, schema in SCHEMAS.items()
        for operation in (result.ok() for result in schema.get_all_operations())
        if taking(operation)
    ]


def _json_body_operations() -> list[tuple[str, str, str]]:
    return _operations(
        lambda operation: any(body.media_type == "application/json" for body in operation.body)
    )


@pytest.mark.parametrize(("name", "path", "method"), _json_body_operations())
def test_hostile_schemathesis_a_huge_integer_in_any_body_is_a_4xx(name: str, path: str, method: str) -> None:
    operation = SCHEMAS[name][path][method]
    path_parameters = {parameter.name: "x" for parameter in operation.path_parameters}
    for body in HUGE_INTEGER_BODIES:
        case = operation.Case(body=body, media_type="application/json", path_parameters=path_parameters)
        response = case.call(headers=_headers(name))
        assert 400 <= response.status_code < 500, (name, path, response.status_code)
        case.validate_response(response, checks=CHECKS)


ENDS_OF_TIME = ["9999-12-31T23:00:00+00:00", "9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00"]
DATED_QUERIES = [  # (service, path, the rest of the query, the dated parameter, who may ask)
    ("sla-monitor", "/api/v1/due", {"channel": "letter"}, "received_at", ("staff", "anonymous")),
    ("sla-monitor", "/api/v1/reports/compliance", {"to": "2026-11-30"}, "from", ("staff", "anonymous")),
    ("sla-monitor", "/api/v1/reports/compliance", {"from": "2026-11-01"}, "to", ("staff", "anonymous")),
    ("contacts", "/api/v1/contacts", {}, "received_from", ("staff",)),
    ("contacts", "/api/v1/contacts", {}, "received_to", ("staff",)),
    ("notifier", "/api/v1/notifications", {}, "since", ("staff",)),
]


@pytest.mark.parametrize("when", ENDS_OF_TIME)
@pytest.mark.parametrize(
    ("name", "path", "rest", "field", "caller"),
    [(*query, caller) for *query, callers in DATED_QUERIES for caller in callers],
)
def test_hostile_schemathesis_dates_at_the_ends_of_time_are_a_422(
    name, path, rest, field, caller, when
) -> None:
    """Years the calendar does not know are a 422 naming the field, never a 500 (a report's
    from and to are dates: the instant's date is sent)."""
    value = when[:10] if path.endswith("/compliance") else when
    case = SCHEMAS[name][path]["GET"].Case(query={**rest, field: value})
    response = case.call(headers=_headers(name) if caller == "staff" else {})
    assert response.status_code == 422 and field in response.json()["error"]["fields"], response.text
    case.validate_response(response, checks=CHECKS)


def test_hostile_schemathesis_an_anonymous_report_matches_its_document() -> None:
    """The anonymous answer (rows per month, and over the range) is held to the document, as staff's is."""
    case = sla["/api/v1/reports/compliance"]["GET"].Case(query={"from": "2026-09-01", "to": "2026-11-30"})
    response = case.call()
    body = response.json()
    assert body["monthly"][0]["month"] == "2026-09" and body["not_yet_published"] == ["2026-11"]
    assert body["monthly"][0]["open"] == body["groups"][0]["open"] == "fewer than 5"
    case.validate_response(response, checks=CHECKS)


def _resolved(document: dict, schema: dict) -> dict:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


Where = tuple[str | int, ...]  # keys, and 0 for an array's first item


def _typed_values(document: dict, schema: dict, at: Where = ()) -> list[tuple[Where, str]]:
    """(where, JSON type) of each boolean or number of a body, in nested objects and arrays too."""
    schema = _resolved(document, schema)
    if schema.get("type") in ("boolean", "integer", "number") and not schema.get("readOnly"):
        return [(at, schema["type"])]
    if schema.get("type") == "array":
        return _typed_values(document, schema.get("items", {}), (*at, 0))
    found = [typed for branch in _branches(schema) for typed in _typed_values(document, branch, at)]
    for prop, spec in schema.get("properties", {}).items():
        found.extend(_typed_values(document, spec, (*at, prop)))
    return list(dict.fromkeys(found))


def _branches(schema: dict) -> list[dict]:
    """A nullable nested object is an anyOf of null and its reference (allOf of one, before)."""
    return [branch for key in ("allOf", "anyOf", "oneOf") for branch in schema.get(key, ())]


def _typed_properties(name: str, path: str, method: str) -> list[tuple[Where, str]]:
    document = SCHEMAS[name].raw_schema
    body = document["paths"][path][method.lower()]["requestBody"]["content"]["application/json"]["schema"]
    return _typed_values(document, body)


TYPED = [
    (*operation, *typed) for operation in _json_body_operations() for typed in _typed_properties(*operation)
]


def _nested(where: Where, value: object) -> dict:
    for key in reversed(where):
        value = [value] if key == 0 else {key: value}
    return value  # type: ignore[return-value]


@pytest.mark.parametrize(
    ("name", "path", "method", "where", "kind"),
    TYPED,
    ids=[f"{name}-{method}-{path}-{'.'.join(map(str, where))}" for name, path, method, where, _ in TYPED],
)
def test_hostile_schemathesis_a_body_value_of_another_type_than_documented_is_a_422_naming_it(
    name: str, path: str, method: str, where: Where, kind: str
) -> None:
    """marshmallow alone takes "true" for a boolean and "2" or 2.5 (as 2) for a whole number."""
    operation = SCHEMAS[name][path][method]
    path_parameters = {parameter.name: "x" for parameter in operation.path_parameters}
    for value in ["1", 2.5] if kind == "integer" else ["1", 1] if kind == "boolean" else ["1"]:
        body = _nested(where, value)
        case = operation.Case(body=body, media_type="application/json", path_parameters=path_parameters)
        # The other agency's key: the schemathesis runs above spend the first one's rate limit.
        response = case.call(headers={**_headers(name), "X-API-Key": _contacts.other_agency_key})
        assert response.status_code == 422, (path, body, response.status_code, response.text)
        named = response.json()["error"]["fields"]
        for key in map(str, where):
            assert key in named, (path, body, response.text)
            named = named[key]


def test_hostile_schemathesis_every_json_body_operation_has_a_typed_value_to_try() -> None:
    """The test above is not vacuous: the bodies of centres and referrals carry booleans and numbers."""
    tried = {(name, where[-1]) for name, _, _, where, _ in TYPED}
    assert tried >= {
        ("directory", "latitude"),
        ("directory", "min_age"),
        ("directory", "closed"),
        ("contacts", "nearest"),
        ("contacts", "age_years"),
    }


def _query_operations() -> list[tuple[str, str, str]]:
    return _operations(lambda operation: any(parameter.location == "query" for parameter in operation.query))


QUERIED = _query_operations()


@pytest.mark.parametrize(("name", "path", "method"), QUERIED, ids=[f"{n}-{m}-{p}" for n, p, m in QUERIED])
def test_hostile_schemathesis_a_query_parameter_the_operation_does_not_take_is_a_422_naming_it(
    name: str, path: str, method: str
) -> None:
    """A typo, or a filter the list has not got (?urgency= on a list without one), must not be
    ignored and the answer taken as filtered. ORUK's paths take what federated consumers send."""
    operation = SCHEMAS[name][path][method]
    path_parameters = {parameter.name: "x" for parameter in operation.path_parameters}
    case = operation.Case(query={"no_such_parameter": "1"}, path_parameters=path_parameters)
    response = case.call(headers={**_headers(name), "X-API-Key": _contacts.other_agency_key})
    if path.startswith("/oruk"):
        assert response.status_code != 422, (path, response.text)
    else:
        assert response.status_code == 422, (path, response.status_code, response.text)
        assert "no_such_parameter" in response.json()["error"]["fields"], (path, response.text)


def test_hostile_schemathesis_the_query_operations_tried_include_every_services_lists() -> None:
    tried = {(name, path) for name, path, _ in QUERIED}
    assert tried >= {
        ("contacts", "/api/v1/contacts"),
        ("directory", "/api/v1/centres"),
        ("directory", "/oruk/services"),
        ("sla-monitor", "/api/v1/clocks"),
        ("notifier", "/api/v1/notifications"),
    }
