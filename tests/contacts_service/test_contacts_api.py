"""The staff contacts API, run against each store adapter (SQLite and FerretDB)."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import openpyxl
import pytest
from ccshared import contracts, events
from ccshared.auth import StaffUser
from ccshared.outbox import OUTBOX
from contacts.repository import AUDIT, CONTACTS
from contacts_testkit import PERSONAL_VALUES, names
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate

from tests.infra import tokens
from tests.infra.payloads import TELEPHONE


def create(client, headers, body, **extra_headers):
    return client.post("/api/v1/contacts", json=body, headers={**headers, **extra_headers})


def test_a_letter_is_recorded_with_its_centres_area_and_a_reference(client, staff_headers, letter):
    response = create(client, staff_headers(), letter | {"received_at": "2026-11-22T16:00:00+00:00"})

    assert response.status_code == 201, response.json
    body = response.json
    assert body["status"] == "received"
    assert body["area"] == "north"
    assert body["received_at"].startswith("2026-11-22T16:00:00")
    assert body["reference"].startswith("L-2611-") and len(body["reference"]) == len("L-2611-7KQ4M")
    assert body["personal"]["requester"]["name"] == "Test Parent"
    fetched = client.get(f"/api/v1/contacts/{body['id']}", headers=staff_headers())
    assert fetched.status_code == 200
    assert fetched.json["personal"]["subject"] == letter["subject"]


def test_staff_may_set_an_urgency_that_the_contact_keeps(client, staff_headers, letter):
    urgent = create(client, staff_headers(), letter | {"urgency": "urgent"})
    plain = create(client, staff_headers(), letter)

    assert (urgent.status_code, urgent.json["urgency"]) == (201, "urgent")
    assert plain.json["urgency"] is None
    listed = client.get("/api/v1/contacts", headers=staff_headers()).json["items"]
    assert {item["id"]: item["urgency"] for item in listed} == {
        urgent.json["id"]: "urgent",
        plain.json["id"]: None,
    }


def test_received_at_defaults_to_now_and_may_not_be_in_the_future(client, staff_headers, letter):
    assert create(client, staff_headers(), letter).json["received_at"].startswith("2026-11-23T10:00:00")

    response = create(client, staff_headers(), letter | {"received_at": "2026-11-23T11:00:00+00:00"})

    assert response.status_code == 422
    assert "received_at" in response.json["error"]["fields"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"centre_id": "no-such-centre"}, "centre_id"),
        ({"centre_id": "centre-closed"}, "centre_id"),
        ({"channel": "pigeon"}, "channel"),
        ({"channel": "referral"}, "channel"),
        ({"subject": ""}, "subject"),
        ({"surprise": 1}, "surprise"),
        ({"received_at": "yesterday"}, "received_at"),
        ({"received_at": "2026-11-22T10:00:00"}, "received_at"),
        ({"requester": {"name": "Test Parent", "reply_by": "telephone"}}, "requester"),
        ({"requester": {"name": "Test Parent", "reply_by": "telephone", "phone": "-----1"}}, "requester"),
        (
            {"requester": {"name": "Test\x00Parent", "reply_by": "post", "address": "1 Test Street"}},
            "requester",
        ),
        ({"subject": "Test\nsubject"}, "subject"),
        ({"urgency": "critical"}, "urgency"),
        ({"received_at": "1989-12-31T12:00:00+00:00"}, "received_at"),
        ({"received_at": "0001-01-01T00:00:00+05:00"}, "received_at"),
        ({"response": {"method": "pigeon"}}, "response"),
        ({"response": {"responded_at": "2026-11-22T10:00:00+00:00"}}, "response"),
        ({"response": {"method": "letter", "responded_at": "2026-11-22"}}, "response"),
        (
            {
                "received_at": "2026-11-22T10:00:00+00:00",
                "response": {"method": "letter", "responded_at": "2026-11-22T09:59:00+00:00"},
            },
            "response.responded_at",
        ),
        (
            {"response": {"method": "letter", "responded_at": "2026-11-23T11:00:00+00:00"}},
            "response.responded_at",
        ),
    ],
)
def test_bad_contacts_get_a_4xx_naming_the_field(client, staff_headers, letter, change, field):
    response = create(
        client,
        staff_headers(area="south"),
        letter | change | ({} if "centre_id" in change else {"centre_id": "centre-south"}),
    )

    assert response.status_code == 422, response.json
    assert names(response.json, field), response.json
    assert client.get("/api/v1/contacts", headers=staff_headers(role="admin", area=None)).json["total"] == 0


def test_the_openapi_document_validates_with_its_rules_across_fields(client):
    document = client.get("/openapi.json").json
    validate(document)
    assert "oneOf" in document["components"]["schemas"]["Child"]


REPLY_DETAILS = {"address": "1 Test Street, Liverpool", "phone": "07700 900456", "email": "reach@example.org"}


@pytest.mark.parametrize(
    ("reply_by", "needed"), [("post", "address"), ("telephone", "phone"), ("email", "email")]
)
def test_the_document_states_what_each_way_of_replying_needs_and_the_api_holds_to_exactly_that(
    client, staff_headers, letter, reply_by, needed
):
    stated = client.get("/openapi.json").json["components"]["schemas"]["Requester"]
    assert {"required": ["reply_by", needed]} in [{"required": b.get("required")} for b in stated["anyOf"]]
    document = OAS30Validator(stated)
    others = {name: value for name, value in REPLY_DETAILS.items() if name != needed}
    for details in ({}, others, {needed: REPLY_DETAILS[needed]}, {needed: ""} if needed == "address" else {}):
        letter["requester"] = {"name": "Test Person", "reply_by": reply_by, **details}
        answer = create(client, staff_headers(), letter)
        expected = document.is_valid(letter["requester"])
        assert expected == bool(details.get(needed)), f"the document's rule for {details}"
        assert (answer.status_code == 201) == expected, (details, answer.json)
        if not expected:
            assert answer.json["error"]["fields"]["requester"][needed] == [f"needed to reply by {reply_by}"]


def test_a_body_that_is_not_json_is_refused(client, staff_headers):
    response = client.post(
        "/api/v1/contacts", data="{not json", headers={**staff_headers(), "Content-Type": "application/json"}
    )
    assert response.status_code in (400, 422)
    assert response.json["error"]["code"] in ("bad_request", "invalid_input")


def test_without_a_staff_token_nothing_is_shown(client, letter):
    assert client.get("/api/v1/contacts").status_code == 401
    assert client.post("/api/v1/contacts", json=letter).status_code == 401
    forged = {"Authorization": "Bearer not-a-token"}
    assert client.get("/api/v1/contacts", headers=forged).status_code == 401


def test_partner_and_service_tokens_are_not_staff(client, letter):
    partner = StaffUser("test.partner", "partner", None, agency="example-health-visitors")
    for headers in (tokens.staff_headers(partner, "contacts"), tokens.service_headers()):
        assert client.get("/api/v1/contacts", headers=headers).status_code == 403
        assert client.post("/api/v1/contacts", json=letter, headers=headers).status_code == 403
    # A partner token must name an agency, and no one else's may.
    for forged in (
        StaffUser("test.partner", "partner"),
        StaffUser("test.staff", "staff", "north", agency="x"),
    ):
        assert (
            client.get("/api/v1/contacts", headers=tokens.staff_headers(forged, "contacts")).status_code
            == 401
        )


def test_lifecycle_assign_respond_close(client, staff_headers, letter, clock):
    contact = create(client, staff_headers(), letter | {"received_at": "2026-11-20T09:00:00+00:00"}).json
    url = f"/api/v1/contacts/{contact['id']}"
    headers = staff_headers()

    assigned = client.post(f"{url}/assign", json={"assignee": "test.worker"}, headers=headers)
    assert assigned.status_code == 200 and assigned.json["status"] == "assigned"
    reassigned = client.post(f"{url}/assign", json={"assignee": "test.other"}, headers=headers)
    assert reassigned.json["assignee"] == "test.other"
    responded = client.post(
        f"{url}/respond", json={"method": "letter", "responded_at": "2026-11-21T12:00:00Z"}, headers=headers
    )
    assert responded.status_code == 200, responded.json
    assert responded.json["status"] == "responded"
    assert responded.json["responded_at"].startswith("2026-11-21T12:00:00")
    clock.advance(hours=1)
    closed = client.post(f"{url}/close", json={}, headers=headers)
    assert closed.json["status"] == "closed"

    history = client.get(url, headers=headers).json["history"]
    assert [(step["from"], step["to"]) for step in history] == [
        (None, "received"),
        ("received", "assigned"),
        ("assigned", "assigned"),
        ("assigned", "responded"),
        ("responded", "closed"),
    ]
    assert all(step["by"] == "test.staff" for step in history)
    # Each assignment says to whom, so a reassignment reads apart from the first.
    assert [step["assigned_to"] for step in history] == [None, "test.worker", "test.other", None, None]
    # The response was entered with an earlier date than it was recorded: both are kept.
    respond_step = history[3]
    assert respond_step["dated"].startswith("2026-11-21T12:00:00")
    assert respond_step["at"] > respond_step["dated"]
    assert all(step["dated"] is None for step in history if step is not respond_step)


def test_close_and_withdraw_reasons_are_codes_from_fixed_lists(client, staff_headers, letter, doc_store):
    """A reason travels in the contact's event, which nothing erases: words that could name
    the family (eve_example_moved_to_wirral) are refused, naming the field and the codes."""
    headers = staff_headers()

    def contact(*steps: tuple[str, dict]) -> str:
        contact_id = client.post("/api/v1/contacts", json=letter, headers=headers).json["id"]
        for step, body in steps:
            client.post(f"/api/v1/contacts/{contact_id}/{step}", json=body, headers=headers)
        return contact_id

    answered = contact(("respond", {"method": "letter"}))
    unanswered = contact()
    words = {"reason_code": "eve_example_moved_to_wirral"}
    for contact_id, action, reasons in (
        (answered, "close", contracts.CLOSE_REASONS),
        (unanswered, "withdraw", contracts.WITHDRAW_REASONS),
    ):
        outbox = len(doc_store.collection(CONTACTS).get(contact_id)[OUTBOX])
        refused = client.post(f"/api/v1/contacts/{contact_id}/{action}", json=words, headers=headers)
        assert refused.status_code == 422
        message = refused.json["error"]["fields"]["reason_code"][0]
        assert all(code in message for code in reasons)
        document = doc_store.collection(CONTACTS).get(contact_id)
        assert document["status"] != action and len(document[OUTBOX]) == outbox
    assert (
        client.post(
            f"/api/v1/contacts/{answered}/close", json={"reason_code": "no_further_action"}, headers=headers
        ).json["status"]
        == "closed"
    )
    assert (
        client.post(
            f"/api/v1/contacts/{unanswered}/withdraw",
            json={"reason_code": "logged_in_error"},
            headers=headers,
        ).json["status"]
        == "withdrawn"
    )
    # The codes the staff pages and existing callers send stay valid.
    assert "no_longer_needed" in contracts.WITHDRAW_REASONS


def test_an_event_stored_with_a_code_from_before_the_lists_still_reads(client, staff_headers, letter):
    data = {
        "contact_id": "c-old",
        "reference": "L-2601-AAAAA",
        "channel": "letter",
        "centre_id": "centre-north",
        "area": "north",
        "received_at": datetime(2026, 1, 5, 9, tzinfo=UTC),
        "status": "closed",
        "occurred_at": datetime(2026, 1, 6, 9, tzinfo=UTC),
        "reason_code": "some_older_code",
    }
    envelope = events.make(
        contracts.CONTACT_CLOSED, "c-old", data, source="contacts", time=datetime(2026, 1, 6, tzinfo=UTC)
    )
    assert events.decode(events.encode(envelope)).data["reason_code"] == "some_older_code"


def test_a_contact_answered_before_it_was_logged_is_received_then_responded_in_one_write(
    client, staff_headers, letter, doc_store
):
    """Last week's letter, answered on Tuesday, logged today: the SLA monitor hears of the
    receipt and the answer together, in that order, and judges the answer by its own time."""
    answer = {"method": "letter", "responded_at": "2026-11-17T14:00:00Z"}
    body = letter | {"received_at": "2026-11-13T09:00:00Z", "response": answer}

    contact = create(client, staff_headers(), body).json

    assert (contact["status"], contact["response_method"]) == ("responded", "letter")
    assert contact["responded_at"].startswith("2026-11-17T14:00:00")
    history = client.get(f"/api/v1/contacts/{contact['id']}", headers=staff_headers()).json["history"]
    assert [(step["from"], step["to"]) for step in history] == [(None, "received"), ("received", "responded")]
    assert history[1]["dated"].startswith("2026-11-17T14:00:00")
    outbox = doc_store.collection(CONTACTS).get(contact["id"])[OUTBOX]
    assert [event["type"] for event in outbox] == [contracts.CONTACT_RECEIVED, contracts.CONTACT_RESPONDED]
    assert {event["data"]["responded_at"] for event in outbox} == {"2026-11-17T14:00:00+00:00"}


def test_a_contact_logged_with_a_response_and_no_time_is_answered_now_or_at_its_receipt(
    client, staff_headers, letter
):
    """A receipt a moment ahead of this server's clock (within the allowed skew) is not refused
    because "now" comes before it."""
    body = letter | {"received_at": "2026-11-23T10:01:00Z", "response": {"method": "telephone"}}

    contact = create(client, staff_headers(), body)

    assert contact.status_code == 201, contact.json
    assert contact.json["responded_at"].startswith("2026-11-23T10:01:00")


@pytest.mark.parametrize(
    ("steps", "action", "body", "current"),
    [
        ([], "close", {}, "received"),
        ([("respond", {"method": "telephone"})], "respond", {"method": "telephone"}, "responded"),
        ([("respond", {"method": "telephone"})], "withdraw", {}, "responded"),
        ([("withdraw", {})], "assign", {"assignee": "test.worker"}, "withdrawn"),
        ([("respond", {"method": "email"}), ("close", {})], "withdraw", {}, "closed"),
        ([], "referral/accept", None, "letter contact"),
    ],
)
def test_invalid_transitions_get_409_with_the_current_status(
    client, staff_headers, letter, steps, action, body, current
):
    contact = create(client, staff_headers(), letter).json
    url = f"/api/v1/contacts/{contact['id']}"
    for step, step_body in steps:
        assert client.post(f"{url}/{step}", json=step_body, headers=staff_headers()).status_code == 200

    response = client.post(f"{url}/{action}", json=body, headers=staff_headers())

    assert response.status_code == 409
    assert response.json["error"]["current_status"] == current


@pytest.mark.parametrize(
    ("responded_at", "field"),
    [("2026-11-19T23:00:00Z", "responded_at"), ("2026-11-24T10:00:00Z", "responded_at")],
)
def test_a_response_time_before_receipt_or_in_the_future_is_refused(
    client, staff_headers, letter, responded_at, field
):
    contact = create(client, staff_headers(), letter | {"received_at": "2026-11-20T09:00:00Z"}).json

    response = client.post(
        f"/api/v1/contacts/{contact['id']}/respond",
        json={"method": "letter", "responded_at": responded_at},
        headers=staff_headers(),
    )

    assert response.status_code == 422
    assert field in response.json["error"]["fields"]


def test_list_filters_and_pages_in_order_of_receipt(client, staff_headers, letter, clock):
    admin = staff_headers(role="admin", area=None)
    days = ["2026-11-18", "2026-11-16", "2026-11-20", "2026-11-17"]
    for day in days:
        create(client, admin, letter | {"received_at": f"{day}T09:00:00Z"})
    create(client, admin, TELEPHONE | {"centre_id": "centre-south"})

    first = client.get("/api/v1/contacts?channel=letter&per_page=3", headers=admin).json
    second = client.get("/api/v1/contacts?channel=letter&per_page=3&page=2", headers=admin).json
    ranged = client.get(
        "/api/v1/contacts",
        query_string={"received_from": "2026-11-17T00:00:00Z", "received_to": "2026-11-18T23:59:59Z"},
        headers=admin,
    ).json
    south = client.get("/api/v1/contacts?area=south", headers=admin).json

    assert first["total"] == 4 and len(first["items"]) == 3
    assert [item["received_at"][:10] for item in first["items"] + second["items"]] == sorted(days)
    assert ranged["total"] == 2
    assert south["total"] == 1 and south["items"][0]["channel"] == "telephone"
    assert "personal" not in first["items"][0]
    assert client.get("/api/v1/contacts?status=unknown", headers=admin).status_code == 422


def test_the_list_downloads_with_its_filters_and_no_personal_data(client, staff_headers, letter):
    admin = staff_headers(role="admin", area=None)
    create(client, admin, letter | {"received_at": "2026-11-16T09:00:00Z"})
    create(client, admin, letter | {"centre_id": "centre-south", "received_at": "2026-11-17T09:00:00Z"})
    secret_strings = [letter["requester"]["name"], letter["requester"]["address"], letter["subject"]]
    query = {"area": "north", "format": "csv"}

    as_csv = client.get("/api/v1/contacts", query_string=query, headers=admin)
    assert as_csv.status_code == 200 and as_csv.mimetype == "text/csv"
    assert 'filename="contacts.csv"' in as_csv.headers["Content-Disposition"]
    lines = list(csv.reader(io.StringIO(as_csv.get_data(as_text=True))))
    heading = lines[0]
    assert heading == [
        "reference",
        "channel",
        "centre",
        "centre id",
        "area",
        "received (UK time)",
        "responded (UK time)",
        "ended (UK time)",
        "status",
        "urgency",
    ]
    listed = client.get("/api/v1/contacts", query_string={"area": "north"}, headers=admin).json
    assert [line[0] for line in lines[1:]] == [item["reference"] for item in listed["items"]]
    assert {line[4] for line in lines[1:]} == {"north"}

    as_xlsx = client.get("/api/v1/contacts", query_string=query | {"format": "xlsx"}, headers=admin)
    sheet = openpyxl.load_workbook(io.BytesIO(as_xlsx.get_data())).active
    assert [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)] == [line[0] for line in lines[1:]]
    for body in (as_csv.get_data(), as_xlsx.get_data()):
        assert not any(text.encode() in body for text in secret_strings)
    south_staff = staff_headers(role="staff", area="south")
    assert client.get("/api/v1/contacts", query_string=query, headers=south_staff).status_code == 403
    assert client.get("/api/v1/contacts", query_string={"format": "pdf"}, headers=admin).status_code == 422


def test_a_download_gives_uk_times_to_the_second_and_each_centres_name(client, staff_headers, letter):
    """Received in summer (BST): 09:00:00.5 UTC is 10:00:00 in the UK."""
    admin = staff_headers(role="admin", area=None)
    create(client, admin, letter | {"received_at": "2026-06-15T09:00:00.500000Z"})
    query = {"area": "north", "format": "csv"}

    as_csv = client.get("/api/v1/contacts", query_string=query, headers=admin)
    as_xlsx = client.get("/api/v1/contacts", query_string=query | {"format": "xlsx"}, headers=admin)

    assert as_csv.headers["Content-Type"] == "text/csv; charset=utf-8"
    line = list(csv.reader(io.StringIO(as_csv.get_data(as_text=True))))[1]
    assert line[2:6] == ["Test North Centre", "centre-north", "north", "2026-06-15 10:00:00"]
    row = next(
        openpyxl.load_workbook(io.BytesIO(as_xlsx.get_data())).active.iter_rows(min_row=2, values_only=True)
    )
    assert row[2] == "Test North Centre"
    assert row[5] == datetime(2026, 6, 15, 10, 0, 0), "a date-time cell, in UK time"


def test_filter_by_status_and_assignee(client, staff_headers, letter):
    headers = staff_headers()
    first = create(client, headers, letter).json
    create(client, headers, letter)
    client.post(f"/api/v1/contacts/{first['id']}/assign", json={"assignee": "test.worker"}, headers=headers)

    by_status = client.get("/api/v1/contacts?status=assigned", headers=headers).json
    by_assignee = client.get("/api/v1/contacts?assignee=test.worker", headers=headers).json

    assert [item["id"] for item in by_status["items"]] == [first["id"]]
    assert by_assignee["total"] == 1


def test_filter_by_urgency_and_an_unknown_urgency_or_parameter_is_named(client, staff_headers, letter):
    headers = staff_headers()
    urgent = create(client, headers, letter | {"urgency": "urgent"}).json
    create(client, headers, letter)

    by_urgency = client.get("/api/v1/contacts?urgency=urgent", headers=headers).json
    unknown = client.get("/api/v1/contacts?urgency=bogus", headers=headers)
    typo = client.get("/api/v1/contacts?urgent=urgent", headers=headers)

    assert [item["id"] for item in by_urgency["items"]] == [urgent["id"]]
    assert unknown.status_code == 422 and "urgency" in unknown.json["error"]["fields"]
    assert typo.status_code == 422 and "urgent" in typo.json["error"]["fields"]


def test_staff_and_coordinators_see_only_their_area(client, staff_headers, letter):
    admin = staff_headers(role="admin", area=None)
    north = create(client, admin, letter).json
    south = create(client, admin, letter | {"centre_id": "centre-south"}).json

    for role in ("staff", "coordinator"):
        headers = staff_headers(role=role, area="south")
        listed = client.get("/api/v1/contacts", headers=headers).json
        assert [item["id"] for item in listed["items"]] == [south["id"]]
        assert client.get(f"/api/v1/contacts/{north['id']}", headers=headers).status_code == 404
        assert (
            client.post(
                f"/api/v1/contacts/{north['id']}/assign", json={"assignee": "x"}, headers=headers
            ).status_code
            == 404
        )
        assert client.get("/api/v1/contacts?area=north", headers=headers).status_code == 403
        assert create(client, headers, letter).status_code == 403
    principal = staff_headers(role="principal_officer", area=None)
    assert client.get("/api/v1/contacts", headers=principal).json["total"] == 2
    assert client.get(f"/api/v1/contacts/{north['id']}", headers=principal).status_code == 200


def test_every_read_of_personal_data_is_audited(client, staff_headers, letter, doc_store, clock):
    contact = create(client, staff_headers(username="test.creator"), letter).json
    clock.advance(minutes=5)
    client.get(f"/api/v1/contacts/{contact['id']}", headers=staff_headers(username="test.reader"))
    client.get("/api/v1/contacts", headers=staff_headers(username="test.lister"))

    entries = doc_store.collection(AUDIT).find({"contact_id": contact["id"]}, sort=[("at", 1)])
    assert [(entry["who"], entry["action"]) for entry in entries] == [
        ("test.creator", "read_personal_data"),
        ("test.reader", "read_personal_data"),
    ]
    assert [entry["at"] for entry in entries] == [
        "2026-11-23T10:00:00.000000Z",
        "2026-11-23T10:05:00.000000Z",
    ]
    trail = client.get(f"/api/v1/contacts/{contact['id']}/audit", headers=staff_headers()).json
    assert [entry["who"] for entry in trail] == ["test.creator", "test.reader"]


def test_personal_fields_are_not_stored_in_plain_text(client, staff_headers, letter, doc_store):
    contact = create(client, staff_headers(), letter).json

    raw = json.dumps(doc_store.collection(CONTACTS).get(contact["id"]), default=str)

    assert contact["id"] in raw
    for value in PERSONAL_VALUES:
        assert value not in raw


def test_an_idempotency_key_replays_the_first_contact(client, staff_headers, letter):
    headers = staff_headers()
    first = create(client, headers, letter, **{"Idempotency-Key": "retry-1"})
    again = create(client, headers, letter, **{"Idempotency-Key": "retry-1"})
    different = create(client, headers, letter | {"subject": "Another"}, **{"Idempotency-Key": "retry-1"})

    assert first.status_code == again.status_code == 201
    assert again.json == first.json
    assert different.status_code == 422
    assert "Idempotency-Key" in different.json["error"]["fields"]
    assert client.get("/api/v1/contacts", headers=headers).json["total"] == 1


def test_a_replayed_contact_response_is_an_audited_read(client, staff_headers, letter, doc_store):
    headers = staff_headers()
    first = create(client, headers, letter, **{"Idempotency-Key": "retry-2"}).json
    create(client, headers, letter, **{"Idempotency-Key": "retry-2"})

    assert doc_store.collection(AUDIT).count({"contact_id": first["id"], "who": "test.staff"}) == 2
