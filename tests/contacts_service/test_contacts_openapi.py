"""The contacts service's OpenAPI document says what its routes really do: each rule it
states is checked here against the route that keeps it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from ccshared.calendar import EARLIEST_DAY, LATEST_DAY
from ccshared.ratelimit import Limit
from ccshared.timeutil import to_str
from ccshared.web import provided
from contacts.api import Services
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate

REFERRALS = "/api/v1/referrals"
CREATES = {"/api/v1/contacts": "staff", REFERRALS: "agency"}
OPERATIONS = ("get", "post", "put", "patch", "delete")


@pytest.fixture
def document(client) -> dict:
    return client.get("/openapi.json").json


def _operations(document: dict) -> dict[tuple[str, str], dict]:
    return {
        (method.upper(), path): operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in OPERATIONS
    }


def _idempotency_key(operation: dict) -> dict:
    (parameter,) = [p for p in operation.get("parameters", []) if p["name"] == "Idempotency-Key"]
    return parameter


@pytest.fixture
def create(client, staff_headers, agency_headers, letter, referral):
    """POST a new record with an Idempotency-Key, as staff (`/api/v1/contacts`) or an agency."""

    def post(path: str, key: str, changes: dict | None = None):
        headers, body = (staff_headers(), letter) if CREATES[path] == "staff" else (agency_headers, referral)
        return client.post(path, json=body | (changes or {}), headers={**headers, "Idempotency-Key": key})

    return post


KEYS = ["k", "retry-7:2026/11/23", "!~", "a" * 200, "a" * 201, "", "a b", "tab\tkey", "café", "a,b"]


@pytest.mark.parametrize("path", sorted(CREATES))
def test_the_document_states_which_idempotency_keys_the_api_takes_and_it_takes_exactly_those(
    document, create, path
):
    stated = _idempotency_key(document["paths"][path]["post"])
    assert stated["in"] == "header" and stated["required"] is False
    validator = OAS30Validator(stated["schema"])

    for key in KEYS:
        answer = create(path, key)
        refused = answer.status_code == 422 and "Idempotency-Key" in answer.json["error"].get("fields", {})
        assert validator.is_valid(key) == (not refused), (key, answer.json)
        assert refused or answer.status_code == 201, answer.json


@pytest.mark.parametrize("path", sorted(CREATES))
def test_the_document_says_how_long_a_key_is_kept_and_what_a_reused_key_gets_as_the_api_does(
    document, create, clock, path
):
    said = _idempotency_key(document["paths"][path]["post"])["description"]
    assert "24 hours" in said and "same body" in said and "422" in said

    first = create(path, "retry-1")
    clock.advance(hours=23, minutes=59)
    again = create(path, "retry-1")
    other_body = create(path, "retry-1", {"urgency": "urgent"})
    clock.advance(minutes=1, seconds=1)
    after_a_day = create(path, "retry-1")

    assert first.status_code == again.status_code == 201 and again.json["id"] == first.json["id"]
    assert other_body.status_code == 422 and "Idempotency-Key" in other_body.json["error"]["fields"]
    assert after_a_day.status_code == 201 and after_a_day.json["id"] != first.json["id"]


def test_every_partner_operation_documents_its_rate_limit_and_answers_429_with_retry_after(
    app, client, document, agency_headers
):
    provided(app, Services).partner_limiter.limit = Limit(1, 60)
    partner_operations = {
        key: operation for key, operation in _operations(document).items() if key[1].startswith(REFERRALS)
    }
    assert set(partner_operations) == {
        ("GET", REFERRALS),
        ("POST", REFERRALS),
        ("GET", f"{REFERRALS}/{{contact_id}}"),
        ("GET", f"{REFERRALS}/nearest-centre"),
        ("GET", f"{REFERRALS}/agency"),
    }
    for (method, path), operation in partner_operations.items():
        stated = operation["responses"]["429"]
        assert stated["headers"]["Retry-After"]["schema"]["type"] == "integer"
        assert stated["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/ErrorEnvelope"
        }
        assert "per caller" in stated["description"]
        url = path.replace("{contact_id}", "an-unknown-referral")
        provided(app, Services).partner_limiter.collection.delete({})
        client.open(url, method=method, json={} if method == "POST" else None, headers=agency_headers)
        refused = client.open(
            url, method=method, json={} if method == "POST" else None, headers=agency_headers
        )
        assert refused.status_code == 429, (method, path, refused.json)
        assert refused.json["error"]["code"] == "too_many_requests"
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
    staff_operations = [key for key in _operations(document) if not key[1].startswith(REFERRALS)]
    assert all("429" not in _operations(document)[key]["responses"] for key in staff_operations)


def test_the_document_states_the_consent_date_rules_and_the_api_holds_to_them(
    client, document, agency_headers, referral, clock
):
    consent = document["components"]["schemas"]["Consent"]["properties"]
    said = consent["recorded_at"]["description"]
    assert "future" in said and str(EARLIEST_DAY) in said and str(LATEST_DAY) in said and "offset" in said
    assert "pregnancy with the oldest child" in said
    assert "true" in consent["given"]["description"]

    def refer(recorded_at: str):
        body = referral | {"consent": {**referral["consent"], "recorded_at": recorded_at}}
        return client.post(REFERRALS, json=body, headers=agency_headers)

    now = clock.now()
    assert refer(to_str(now)).status_code == 201
    # The referral's oldest child is 2: consent is taken from that pregnancy on, 10 months before
    # the earliest birth its age allows (born less than 3 years ago), and refused before.
    assert refer("2023-01-24T00:00:00+00:00").status_code == 201
    earlier = refer("2023-01-22T00:00:00+00:00")
    assert earlier.status_code == 422 and "recorded_at" in earlier.json["error"]["fields"]["consent"]
    later = refer(to_str(now + timedelta(seconds=1)))
    assert later.status_code == 422 and "recorded_at" in later.json["error"]["fields"]["consent"]
    naive = refer("2026-11-22T09:30:00")
    assert naive.status_code == 422 and "consent" in naive.json["error"]["fields"]


def test_partner_operations_name_the_partner_schemes_and_a_staff_token_is_refused_there(
    client, document, staff_headers
):
    schemes = document["components"]["securitySchemes"]
    assert "X-API-Key" in schemes["partnerUserToken"]["description"]
    for (_method, path), operation in _operations(document).items():
        if path.startswith(REFERRALS):
            assert operation["security"] == [{"partnerApiKey": []}, {"partnerUserToken": []}]
    assert client.get(REFERRALS, headers=staff_headers()).status_code == 403


# The partner host's document -------------------------------------------------

PARTNER_DOCUMENT = "/api/v1/referrals/openapi.json"


def _refs(node: object) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
        return found.union(*(_refs(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(_refs(value) for value in node))
    return set()


def test_the_partner_document_holds_the_operations_partners_can_call_and_no_other(client, document):
    partner = client.get(PARTNER_DOCUMENT)

    assert partner.status_code == 200, partner.json
    partners = partner.json
    validate(partners)
    callable_by_key = {
        key: operation
        for key, operation in _operations(document).items()
        if {"partnerApiKey": []} in operation.get("security", [])
    }
    assert _operations(partners) == callable_by_key, "the same operations, word for word"
    assert set(partners["components"]["securitySchemes"]) == {"partnerApiKey", "partnerUserToken"}
    used = {ref.removeprefix("#/components/") for ref in _refs(partners)}
    kept = {f"{kind}/{name}" for kind, named in partners["components"].items() for name in named}
    assert used <= kept and kept - used <= {
        "securitySchemes/partnerApiKey",
        "securitySchemes/partnerUserToken",
    }
    assert "ContactDetail" not in partners["components"]["schemas"]
    assert {tag["name"] for tag in partners["tags"]} == {"referrals"}


def test_what_the_partner_document_lists_an_agencys_key_reaches_and_nothing_else(
    client, document, agency_headers
):
    listed = set(_operations(client.get(PARTNER_DOCUMENT).json))
    for method, path in _operations(document):
        url = path.replace("{contact_id}", "an-unknown-id").replace("{agency_id}", "an-unknown-id")
        answer = client.open(
            url, method=method, json={} if method == "POST" else None, headers=agency_headers
        )
        reached = answer.status_code not in (401, 403)
        assert reached == ((method, path) in listed), (method, path, answer.status_code)
