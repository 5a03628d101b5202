"""Partner agencies' referrals, run against each store adapter (SQLite and FerretDB)."""

from __future__ import annotations

import json
from itertools import combinations

import pytest
from ccshared import contracts
from ccshared.auth import StaffUser
from ccshared.ratelimit import Limit
from ccshared.store import connect
from ccshared.timeutil import FixedClock
from ccshared.web import provided
from contacts.api import Services
from contacts.read_model import CentreReadModel
from contacts.repository import AUDIT, CONTACTS
from contacts.schemas import ChildSchema, ReferralCreateSchema
from contacts_testkit import NOW, PERSONAL_VALUES, centre_event, erase, names
from directory.app import create_app as create_directory_app
from directory.config import Settings as DirectorySettings
from openapi_schema_validator import OAS30Validator

from tests.infra import tokens

REFERRALS = "/api/v1/referrals"


def directory_app(tmp_path):
    """The real directory service, whose list of services is the one referrals take."""
    settings = DirectorySettings(
        store_url=f"sqlite:///{tmp_path}/directory.db",
        bus_url=f"sqlite:///{tmp_path}/directory-events.db",
        staff_token_public_key=tokens.STAFF_PUBLIC,
    )
    return create_directory_app(settings, store=connect(settings.store_url), clock=FixedClock(NOW))


def post(client, headers, body, key=None):
    extra = {"Idempotency-Key": key} if key else {}
    return client.post(REFERRALS, json=body, headers={**headers, **extra})


def test_a_referral_becomes_a_contact_on_the_referral_channel(
    client, agency_headers, referral, staff_headers
):
    response = post(client, agency_headers, referral)

    assert response.status_code == 201, response.json
    body = response.json
    assert body["referral_status"] == "new" and body["outcome"] is None
    assert body["reference"].startswith("R-2611-")
    assert "family" not in body and "children" not in body
    staff = client.get(f"/api/v1/contacts/{body['id']}", headers=staff_headers(area="south")).json
    assert staff["channel"] == "referral" and staff["status"] == "received" and staff["area"] == "south"
    assert staff["referral"]["agency_name"] == "Example Health Visitors"
    assert staff["referral"]["support_needed"] == ["stay-and-play", "health-visitor-clinic"]
    assert staff["personal"]["children"] == [{"age_years": 2}, {"age_months": 7}]
    assert staff["personal"]["consent"]["recorded_by"] == "Test Referrer"


def test_a_referral_posted_twice_with_one_idempotency_key_makes_one_contact(
    client, agency_headers, referral, staff_headers
):
    first = post(client, agency_headers, referral, key="agency-retry-7")
    second = post(client, agency_headers, referral, key="agency-retry-7")

    assert first.status_code == second.status_code == 201
    assert second.json == first.json
    assert client.get(REFERRALS, headers=agency_headers).json["total"] == 1
    admin = staff_headers(role="admin", area=None)
    assert client.get("/api/v1/contacts?channel=referral", headers=admin).json["total"] == 1


def test_a_retry_after_a_crash_before_the_response_was_kept_makes_no_second_contact(
    app, client, agency_headers, referral
):
    services = provided(app, Services)
    agency = services.agencies.authenticate(agency_headers["X-API-Key"])
    form = ReferralCreateSchema().load(referral)
    request = services.idempotency.request(f"agency:{agency.id}", "crash-1", referral)
    contact, _ = services.contacts.receive_referral(agency, form, request)

    retried = post(client, agency_headers, referral, key="crash-1")
    changed = post(client, agency_headers, referral | {"urgency": "urgent"}, key="crash-1")

    assert retried.status_code == 201 and retried.json["id"] == contact.id
    assert changed.status_code == 422 and "Idempotency-Key" in changed.json["error"]["fields"]
    assert client.get(REFERRALS, headers=agency_headers).json["total"] == 1


def test_one_idempotency_key_with_a_different_body_is_refused(client, agency_headers, referral):
    post(client, agency_headers, referral, key="agency-retry-8")

    response = post(client, agency_headers, referral | {"urgency": "urgent"}, key="agency-retry-8")

    assert response.status_code == 422
    assert "Idempotency-Key" in response.json["error"]["fields"]
    assert client.get(REFERRALS, headers=agency_headers).json["total"] == 1


def test_idempotency_keys_belong_to_one_agency(client, agency_headers, other_agency_headers, referral):
    mine = post(client, agency_headers, referral, key="shared-key")
    theirs = post(client, other_agency_headers, referral, key="shared-key")

    assert theirs.status_code == 201
    assert theirs.json["id"] != mine.json["id"]


def _without(body: dict, path: str) -> dict:
    *parents, last = path.split(".")
    target = body
    for part in parents:
        target = target[part]
    del target[last]
    return body


@pytest.mark.parametrize("path", ["consent", "consent.given", "consent.recorded_by", "consent.recorded_at"])
def test_a_referral_without_a_consent_record_is_refused_naming_it(client, agency_headers, referral, path):
    response = post(client, agency_headers, _without(referral, path))

    assert response.status_code == 422
    assert "consent" in response.json["error"]["fields"]
    assert client.get(REFERRALS, headers=agency_headers).json["total"] == 0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (
            {
                "consent": {
                    "given": False,
                    "recorded_by": "Test Referrer",
                    "recorded_at": "2026-11-22T09:30:00Z",
                }
            },
            "consent",
        ),
        (
            {
                "consent": {
                    "given": True,
                    "recorded_by": "Test Referrer",
                    "recorded_at": "2026-11-24T09:30:00Z",
                }
            },
            "consent.recorded_at",
        ),
        ({"centre_id": "no-such-centre"}, "centre_id"),
        ({"centre_id": "centre-closed"}, "centre_id"),
        ({"children": [{"age_years": 5}]}, "children"),
        ({"children": [{"age_months": 60}]}, "children"),
        ({"children": [{"age_years": 1, "age_months": 14}]}, "children"),
        ({"children": []}, "children"),
        ({"support_needed": ["fishing_lessons"]}, "support_needed"),
        ({"urgency": "whenever"}, "urgency"),
        ({"family": {"name": "Test Family Carer"}}, "family"),
        ({"referrer": {"name": "Test Referrer"}}, "referrer"),
        ({"children": "two"}, "children"),
        ({"shoe_size": 9}, "shoe_size"),
        ({"nearest": True}, "centre_id"),
    ],
)
def test_bad_referrals_get_a_4xx_naming_the_field(client, agency_headers, referral, change, field):
    response = post(client, agency_headers, referral | change)

    assert response.status_code == 422, response.json
    assert names(response.json, field), response.json
    assert client.get(REFERRALS, headers=agency_headers).json["total"] == 0


def test_a_referral_takes_the_ages_the_centres_serve_and_no_other():
    """The public search offers the same ages (ccshared.contracts): the two cannot disagree."""
    child = ChildSchema()
    for unit, ages in (("age_years", contracts.CHILD_AGE_YEARS), ("age_months", contracts.CHILD_AGE_MONTHS)):
        assert [age for age in ages if child.validate({unit: age})] == [], unit
        assert unit in child.validate({unit: ages[-1] + 1}), unit
        assert unit in child.validate({unit: ages[0] - 1}), unit


@pytest.mark.parametrize("recorded_at", ["1980-01-01T09:30:00Z", "1989-12-31T23:59:59Z"])
def test_consent_dated_before_the_projects_first_date_is_refused_naming_it(
    client, agency_headers, referral, recorded_at
):
    consent = {"given": True, "recorded_by": "Test Referrer", "recorded_at": recorded_at}

    response = post(client, agency_headers, referral | {"consent": consent})

    assert response.status_code == 422, response.json
    assert response.json["error"]["fields"]["consent"] == {
        "recorded_at": ["must be between 1990-01-01 and 2100-12-31"]
    }
    assert client.get(REFERRALS, headers=agency_headers).json["total"] == 0


def test_a_key_given_twice_in_the_body_is_refused_naming_it_and_nothing_is_written(
    client, agency_headers, referral
):
    """Python's parser keeps the last of a repeated key, others the first: neither is guessed."""
    body = json.dumps(referral)[:-1] + ', "urgency": "urgent"}'
    headers = agency_headers | {"Content-Type": "application/json"}

    answer = client.post(REFERRALS, data=body, headers=headers)

    assert answer.status_code == 422, answer.json
    assert answer.json["error"]["fields"] == {
        "urgency": ["given more than once in one object of the body: give it once"]
    }
    assert client.get(REFERRALS, headers=agency_headers).json["total"] == 0


def test_a_key_given_twice_deep_in_the_body_is_named_where_it_is_nested_as_the_body(
    client, agency_headers, referral
):
    """`fields` has one shape whichever check found the fault: the body's own nesting."""
    family = json.dumps(referral["family"])[:-1] + ', "phone": "0151 000 0000"}'
    body = json.dumps({**referral, "family": "FAMILY"}).replace('"FAMILY"', family)
    headers = agency_headers | {"Content-Type": "application/json"}

    answer = client.post(REFERRALS, data=body, headers=headers)

    assert answer.status_code == 422, answer.json
    assert answer.json["error"]["message"] == "invalid input: family.phone"
    assert answer.json["error"]["fields"] == {
        "family": {"phone": ["given more than once in one object of the body: give it once"]}
    }
    assert client.get(REFERRALS, headers=agency_headers).json["total"] == 0


@pytest.mark.parametrize(
    "extra",
    ['"\u00b2": 1, "\u00b2": 2', '"0": 1, "x": 2', '"family.phone": 1'],
    ids=["a superscript digit twice", "a number beside a name", "a dotted name"],
)
def test_odd_keys_are_refused_naming_them_never_a_500(client, agency_headers, referral, extra):
    """Keys are the client's: each comes back in `fields` as a string key, whatever it is."""
    body = json.dumps(referral)[:-1] + ", " + extra + "}"
    headers = agency_headers | {"Content-Type": "application/json"}

    answer = client.post(REFERRALS, data=body, headers=headers)

    assert answer.status_code == 422, answer.text
    assert answer.json["error"]["fields"] and answer.json["error"]["message"].startswith("invalid input: ")
    assert client.get(REFERRALS, headers=agency_headers).json["total"] == 0


def test_a_refusal_names_each_wrong_field_by_its_path_in_the_message(client, agency_headers, referral):
    """Software reading only `message` learns every field at fault, nested ones too."""
    referral["family"]["phone"] = "-----1"
    referral["children"] = [{"age_years": 9}]

    answer = post(client, agency_headers, referral)

    assert answer.status_code == 422, answer.json
    assert answer.json["error"]["message"] == "invalid input: children.0.age_years, family.phone"
    assert set(answer.json["error"]["fields"]) == {"children", "family"}


@pytest.mark.parametrize(
    ("part", "name", "value"),
    [
        ("family", "name", "Test\x00Family"),
        ("family", "name", "Test\nFamily"),
        ("family", "address", "1 Test Street\x00"),
        ("family", "postcode", "L8\x000AA"),
        ("referrer", "name", "Test\x1bReferrer"),
        ("referrer", "role", "health\tvisitor"),
        ("consent", "recorded_by", "Test\x7fReferrer"),
        (None, "notes", "Test\x00note"),
        ("family", "name", "Test \u202eylimaF"),  # shown reversed on every page that prints it
        (None, "notes", "Test\u2066note"),
        ("family", "phone", "0151 496\n0000"),
        ("referrer", "phone", "0151\u2028496 0000"),
        ("family", "phone", "0151\x0b4960000"),
    ],
)
def test_control_characters_in_free_text_are_refused_naming_the_field_and_nothing_is_written(
    client, agency_headers, referral, part, name, value
):
    (referral[part] if part else referral)[name] = value

    answer = post(client, agency_headers, referral)

    assert answer.status_code == 422, answer.json
    wrong = answer.json["error"]["fields"]
    assert name in (wrong[part] if part else wrong), wrong
    assert client.get(REFERRALS, headers=agency_headers).json["total"] == 0


def test_line_breaks_are_kept_in_text_written_on_several_lines(
    client, agency_headers, referral, staff_headers
):
    referral["family"]["address"] = "1 Test Street\r\nLiverpool"
    referral["notes"] = "Test note\nsecond line"

    answer = post(client, agency_headers, referral)

    assert answer.status_code == 201, answer.json
    personal = client.get(f"/api/v1/contacts/{answer.json['id']}", headers=staff_headers(area="south")).json[
        "personal"
    ]
    assert personal["family"]["address"] == "1 Test Street\r\nLiverpool"
    assert personal["notes"] == "Test note\nsecond line"


@pytest.mark.parametrize(
    ("children", "recorded_at"),
    [
        ([{"age_years": 2}], "1999-06-01T09:30:00Z"),
        # A child of 2 was born after 2023-11-23, so its pregnancy began after 2023-01-23.
        ([{"age_years": 2}], "2023-01-22T09:30:00Z"),
        ([{"age_months": 7}, {"age_months": 3}], "2025-05-22T09:30:00Z"),  # born after 2026-03-23
    ],
)
def test_consent_recorded_before_the_oldest_childs_pregnancy_is_refused_naming_it(
    client, agency_headers, referral, children, recorded_at
):
    referral["children"] = children
    referral["consent"]["recorded_at"] = recorded_at

    answer = post(client, agency_headers, referral)

    assert answer.status_code == 422, answer.json
    assert list(answer.json["error"]["fields"]) == ["consent"]  # nested as the body is, as every refusal
    assert "before the pregnancy" in answer.json["error"]["fields"]["consent"]["recorded_at"][0]
    assert answer.json["error"]["message"].startswith("consent.recorded_at: must not be before the pregnancy")
    assert client.get(REFERRALS, headers=agency_headers).json["total"] == 0


@pytest.mark.parametrize(
    ("children", "recorded_at"),
    [
        ([{"age_years": 2}], "2023-11-24T09:30:00Z"),
        ([{"age_years": 4}, {"age_months": 2}], "2021-11-24T09:30:00Z"),
        ([{"age_months": 0}], "2026-10-24T09:30:00Z"),
        ([{"age_months": 2}], "2026-03-01T09:30:00Z"),  # a midwife's referral, agreed in pregnancy
        ([{"age_years": 2}], "2023-01-24T09:30:00Z"),
    ],
)
def test_consent_recorded_since_the_oldest_childs_pregnancy_is_taken(
    client, agency_headers, referral, children, recorded_at
):
    referral["children"] = children
    referral["consent"]["recorded_at"] = recorded_at

    assert post(client, agency_headers, referral).status_code == 201


@pytest.mark.parametrize("postcode", ["ZZZZ", "12345", "L8 0AA X", "8L 0AA", "L8-0AA"])
def test_a_family_postcode_that_is_no_uk_postcode_is_refused_naming_it(
    client, agency_headers, referral, postcode
):
    referral["family"]["postcode"] = postcode

    answer = post(client, agency_headers, referral)

    assert answer.status_code == 422, answer.json
    assert answer.json["error"]["fields"]["family"] == {
        "postcode": ["not a UK postcode or postcode district, e.g. L8 0AA or L8"]
    }
    assert client.get(REFERRALS, headers=agency_headers).json["total"] == 0


@pytest.mark.parametrize(("postcode", "kept"), [("l8  0aa", "L8 0AA"), ("L80AA", "L8 0AA"), ("l8", "L8")])
def test_a_family_postcode_or_district_is_kept_as_the_directory_writes_it(
    client, agency_headers, referral, staff_headers, postcode, kept
):
    referral["family"]["postcode"] = postcode

    answer = post(client, agency_headers, referral)

    assert answer.status_code == 201, answer.json
    read = client.get(f"/api/v1/contacts/{answer.json['id']}", headers=staff_headers(area="south")).json
    assert read["personal"]["family"]["postcode"] == kept


PHONE_REFUSED = [
    "not a valid telephone number: a UK one of 10 or 11 digits, e.g. 0151 496 0000 or 07700 900123, "
    "or one abroad with its country code, e.g. +33 1 23 45 67 89"
]


@pytest.mark.parametrize(
    "phone",
    [
        "      ",
        "-----1",
        "(0) 12-34",
        "0151 496 00000 0",
        "+33 1",
        "+0 123 456 789",
        "33 1 23 45 67 89",
        "00000000000",
    ],
)
@pytest.mark.parametrize("part", ["referrer", "family"])
def test_a_phone_without_a_uk_numbers_digits_is_refused_naming_it(
    client, agency_headers, referral, part, phone
):
    referral[part]["phone"] = phone

    answer = post(client, agency_headers, referral)

    assert answer.status_code == 422, answer.json
    assert answer.json["error"]["fields"][part] == {"phone": PHONE_REFUSED}
    assert client.get(REFERRALS, headers=agency_headers).json["total"] == 0


@pytest.mark.parametrize(
    "phone",
    [
        "0151 496 0000",
        "07700 900123",
        "+44 7700 900123",
        "+44 (0)151 496-0000",
        "(0151) 496 000",
        "+33 1 23 45 67 89",  # a number abroad, with its country code
        "0048 601 234 567",
    ],
)
def test_a_uk_phone_written_as_people_write_it_is_taken_as_written(
    client, agency_headers, referral, staff_headers, phone
):
    referral["family"]["phone"] = phone

    answer = post(client, agency_headers, referral)

    assert answer.status_code == 201, answer.json
    read = client.get(f"/api/v1/contacts/{answer.json['id']}", headers=staff_headers(area="south")).json
    assert read["personal"]["family"]["phone"] == phone


def test_nearest_suitable_centre_is_chosen_by_postcode_district(client, agency_headers, referral):
    nearest = {key: value for key, value in referral.items() if key != "centre_id"} | {"nearest": True}

    exact = post(client, agency_headers, nearest | {"postcode_district": "L8"})
    close_by = post(
        client, agency_headers, nearest | {"postcode_district": "L10 2ZZ", "support_needed": ["childcare"]}
    )
    far = post(client, agency_headers, nearest | {"postcode_district": "M1"})

    assert exact.json["centre_id"] == "centre-south"
    assert exact.json["routing"]["chosen"] == "nearest"
    assert "in the postcode district L8" in exact.json["routing"]["reason"]
    assert close_by.json["centre_id"] == "centre-north-2"
    assert far.status_code == 422 and "postcode_district" in far.json["error"]["fields"]


def test_nearest_suitable_centre_offers_what_is_asked_for_nearest_by_coordinates(
    client, agency_headers, referral
):
    nearest = {key: value for key, value in referral.items() if key != "centre_id"} | {"nearest": True}
    # A point beside the central centre; only the north centres offer SEND support (one is closed).
    send = post(
        client, agency_headers, nearest | {"lat": 53.408, "lon": -2.982, "support_needed": ["send-support"]}
    )
    near = post(
        client, agency_headers, nearest | {"lat": 53.408, "lon": -2.982, "support_needed": ["stay-and-play"]}
    )

    assert send.status_code == 201, send.json
    assert send.json["centre_id"] == "centre-north-2"
    assert send.json["routing"]["services_missing"] == []
    assert "offers every service asked for" in send.json["routing"]["reason"]
    assert near.json["centre_id"] == "centre-central"
    assert near.json["routing"]["distance_km"] < 1
    # The referral keeps how it was routed: the staff page and the agency's own reads show it.
    again = client.get(f"{REFERRALS}/{send.json['id']}", headers=agency_headers).json
    assert again["routing"] == send.json["routing"]


def test_coordinates_far_from_every_centre_are_refused_naming_lat_and_lon(client, agency_headers, referral):
    """Latitude and longitude the wrong way round were routed to a centre 8,000 km away."""
    nearest = {key: value for key, value in referral.items() if key != "centre_id"} | {"nearest": True}
    swapped = post(client, agency_headers, nearest | {"lat": -2.982, "lon": 53.408})
    preview = client.get(
        f"{REFERRALS}/nearest-centre",
        query_string={"lat": 0, "lon": 0, "support_needed": "childcare"},
        headers=agency_headers,
    )

    for refused in (swapped, preview):
        assert refused.status_code == 422, refused.json
        assert {"lat", "lon"} <= set(refused.json["error"]["fields"])
        assert "right way round" in refused.json["error"]["fields"]["lat"][0]
    assert client.get(REFERRALS, headers=agency_headers).json["total"] == 0  # nothing written


def test_a_service_no_open_centre_offers_is_accepted_and_routed_with_a_note(client, agency_headers, referral):
    nearest = {key: value for key, value in referral.items() if key != "centre_id"} | {"nearest": True}
    # No open centre offers confidential advice: the nearest one takes it and says why.
    response = post(
        client,
        agency_headers,
        nearest | {"postcode_district": "L4", "support_needed": ["confidential-advice"]},
    )

    assert response.status_code == 201, response.json
    assert response.json["centre_id"] == "centre-north"
    assert response.json["routing"]["services_missing"] == ["confidential-advice"]
    assert "no open centre offers Confidential advice" in response.json["routing"]["reason"]


def test_a_referral_to_a_temporarily_closed_centre_is_refused_but_a_letter_to_it_is_logged(
    client, agency_headers, referral, letter, staff_headers, centres
):
    """A family referred to a centre that is shut for now would wait on nobody; a letter arrives anyway."""
    CentreReadModel(centres).apply(
        centre_event("centre-shut", "Test Shut Centre", "south", "L8 1AA", "temporarily_closed")
    )

    refused = post(client, agency_headers, referral | {"centre_id": "centre-shut"})
    logged = client.post(
        "/api/v1/contacts", json=letter | {"centre_id": "centre-shut"}, headers=staff_headers(area="south")
    )

    assert refused.status_code == 422, refused.json
    assert refused.json["error"]["fields"]["centre_id"] == [
        "temporarily closed; name another centre or ask for the nearest"
    ]
    assert client.get(REFERRALS, headers=agency_headers).json["total"] == 0
    assert logged.status_code == 201, logged.json


def test_a_named_centre_says_so_and_what_it_does_not_offer(client, agency_headers, referral):
    response = post(client, agency_headers, referral | {"support_needed": ["stay-and-play", "childcare"]})

    assert response.json["routing"]["chosen"] == "named"
    assert response.json["routing"]["services_missing"] == ["childcare"]


def test_the_nearest_centre_can_be_seen_before_referring(client, agency_headers):
    query = {"postcode_district": "L10", "support_needed": "childcare,send-support"}
    preview = client.get(f"{REFERRALS}/nearest-centre", query_string=query, headers=agency_headers)
    nowhere = client.get(
        f"{REFERRALS}/nearest-centre", query_string={"support_needed": "childcare"}, headers=agency_headers
    )
    unknown = client.get(
        f"{REFERRALS}/nearest-centre",
        query_string={"postcode_district": "L8", "support_needed": "fishing"},
        headers=agency_headers,
    )

    assert preview.status_code == 200, preview.json
    assert preview.json["centre_id"] == "centre-north-2" and preview.json["offers_all"] is True
    assert nowhere.status_code == 422 and "postcode_district" in nowhere.json["error"]["fields"]
    assert unknown.status_code == 422 and "support_needed" in unknown.json["error"]["fields"]
    assert client.get(f"{REFERRALS}/nearest-centre", query_string=query).status_code == 401


def test_support_needed_repeated_means_the_same_as_with_commas(client, agency_headers):
    nearest = f"{REFERRALS}/nearest-centre"
    commas = client.get(
        f"{nearest}?postcode_district=L10&support_needed=childcare,send-support", headers=agency_headers
    )
    repeated = client.get(
        f"{nearest}?postcode_district=L10&support_needed=childcare&support_needed=send-support",
        headers=agency_headers,
    )
    one_unknown = client.get(
        f"{nearest}?postcode_district=L10&support_needed=childcare&support_needed=fishing",
        headers=agency_headers,
    )

    assert repeated.status_code == 200, repeated.json
    assert repeated.json == commas.json and repeated.json["offers_all"] is True
    assert one_unknown.status_code == 422 and "support_needed" in one_unknown.json["error"]["fields"]


@pytest.mark.parametrize(
    ("path", "query", "name"),
    [
        (REFERRALS, "status=new&status=accepted", "status"),
        (REFERRALS, "page=1&page=2", "page"),
        (
            f"{REFERRALS}/nearest-centre",
            "postcode_district=L8&postcode_district=L10&support_needed=childcare",
            "postcode_district",
        ),
    ],
)
def test_a_single_valued_parameter_given_twice_is_refused_naming_it(
    client, agency_headers, path, query, name
):
    answer = client.get(f"{path}?{query}", headers=agency_headers)

    assert answer.status_code == 422, answer.json
    assert answer.json["error"]["fields"] == {name: [f"given 2 times: give {name} once, with one value"]}


def test_every_code_the_directory_publishes_is_a_service_a_referral_can_ask_for(
    client, agency_headers, referral, tmp_path
):
    directory = directory_app(tmp_path)
    published = [item["id"] for item in directory.test_client().get("/api/v1/services-list").json["items"]]

    assert published
    for code in published:
        response = post(client, agency_headers, referral | {"support_needed": [code]})
        assert response.status_code == 201, (code, response.json)
        assert response.json["support_needed"] == [code]


def test_the_old_underscore_codes_are_read_as_the_published_ones(client, agency_headers, referral):
    response = post(
        client, agency_headers, referral | {"support_needed": ["speech_and_language", "job_centre_plus"]}
    )

    assert response.status_code == 201, response.json
    assert response.json["support_needed"] == ["speech-and-language", "employment-support"]


def test_an_old_code_beside_the_one_it_stands_for_names_one_service(client, agency_headers, referral):
    needed = ["speech_and_language", "speech-and-language", "stay-and-play", "stay-and-play"]
    response = post(client, agency_headers, referral | {"support_needed": needed})

    assert response.status_code == 201, response.json
    assert response.json["support_needed"] == ["speech-and-language", "stay-and-play"]


def test_the_openapi_document_marks_the_old_codes_deprecated(client):
    spec = client.get("/openapi.json").json
    items = spec["components"]["schemas"]["ReferralCreate"]["properties"]["support_needed"]["items"]
    published, aliases = items["oneOf"]
    assert "speech-and-language" in published["enum"] and not published.get("deprecated")
    assert "speech_and_language" in aliases["enum"] and aliases["deprecated"] is True


# How each party to a referral can be reached, as a partner's developer reads it in the document.
REACHABLE = {
    "referrer": ("Referrer", ("phone", "email")),
    "family": ("Family", ("phone", "email", "address")),
}
WAYS = {"phone": "07700 900456", "email": "reach@example.org", "address": "1 Test Street, Liverpool"}


@pytest.mark.parametrize("part", sorted(REACHABLE))
def test_the_document_states_how_to_reach_each_party_and_the_api_holds_to_exactly_that(
    client, agency_headers, referral, part
):
    schema_name, ways = REACHABLE[part]
    stated = client.get("/openapi.json").json["components"]["schemas"][schema_name]
    assert [branch["required"] for branch in stated["anyOf"]] == [[way] for way in ways]
    document = OAS30Validator(stated)
    bodies = [
        {way: WAYS[way] for way in chosen} for n in range(len(ways) + 1) for chosen in combinations(ways, n)
    ]
    bodies += [{"address": ""}] if "address" in ways else []  # given, but empty: not a way to reach them

    for reach in bodies:
        referral[part] = {"name": "Test Person", **reach}
        answer = post(client, agency_headers, referral)
        expected = document.is_valid(referral[part])
        assert expected == any(reach.values()), f"the document's rule for {reach}"
        assert (answer.status_code == 201) == expected, (reach, answer.json)
        if not expected:
            assert answer.status_code == 422
            fields = answer.json["error"]["fields"]
            assert "phone" in json.dumps(fields) and part in json.dumps(fields), fields


def _rules_of(schema: dict) -> OAS30Validator:
    """A validator of what the document says across a schema's fields (its fields' own $refs left out)."""
    return OAS30Validator({key: schema[key] for key in ("anyOf", "oneOf", "allOf") if key in schema})


DESTINATIONS = [{}, {"centre_id": "centre-south"}]
CHOICES = [{}, {"nearest": True}, {"nearest": False}]
PLACES = [{}, {"postcode_district": "L8"}, {"lat": 53.408, "lon": -2.982}, {"lat": 53.408}, {"lon": -2.982}]
ROUTING_FIELDS = {"centre_id", "nearest", "postcode_district", "lat", "lon"}


def test_the_document_states_where_a_referral_may_go_and_the_api_holds_to_exactly_that(
    client, agency_headers, referral
):
    document = _rules_of(client.get("/openapi.json").json["components"]["schemas"]["ReferralCreate"])
    base = {key: value for key, value in referral.items() if key != "centre_id"}

    for destination in DESTINATIONS:
        for choice in CHOICES:
            for place in PLACES:
                body = base | destination | choice | place
                expected = document.is_valid(body)
                answer = post(client, agency_headers, body)
                assert (answer.status_code == 201) == expected, (destination, choice, place, answer.json)
                if not expected:
                    assert answer.status_code == 422
                    assert set(answer.json["error"]["fields"]) <= ROUTING_FIELDS, answer.json
    # Spot checks that the document is not simply open: the rules' own words, each under its field.
    refused = {
        "centre_id": post(client, agency_headers, base).json,
        "both": post(client, agency_headers, base | {"centre_id": "centre-south", "nearest": True}).json,
        "nowhere": post(client, agency_headers, base | {"nearest": True}).json,
        "half": post(client, agency_headers, referral | {"lat": 53.408}).json,
    }
    assert refused["centre_id"]["error"]["fields"]["centre_id"] == [
        "give centre_id, or nearest: true with postcode_district or lat and lon"
    ]
    assert refused["both"]["error"]["fields"] == {"centre_id": ["give centre_id or nearest, not both"]}
    assert refused["nowhere"]["error"]["fields"]["postcode_district"] == [
        "needed with nearest (or give lat and lon)"
    ]
    assert refused["half"]["error"]["fields"] == {"lon": ["give lat and lon together"]}


@pytest.mark.parametrize("place", [{"postcode_district": "L8"}, {"lat": 53.408, "lon": -2.982}])
def test_a_named_centre_with_a_location_is_refused_naming_both_not_the_location_ignored(
    client, agency_headers, referral, place
):
    answer = post(client, agency_headers, referral | place)

    assert answer.status_code == 422, answer.json
    said = ["give centre_id or a location (with nearest: true), not both"]
    assert answer.json["error"]["fields"] == {name: said for name in ("centre_id", *place)}
    assert client.get(REFERRALS, headers=agency_headers).json["total"] == 0


@pytest.mark.parametrize(
    "age", [{}, {"age_years": 0}, {"age_months": 0}, {"age_years": 3}, {"age_years": 1, "age_months": 14}]
)
def test_the_document_states_how_a_childs_age_is_given_and_the_api_holds_to_exactly_that(
    client, agency_headers, referral, age
):
    document = _rules_of(client.get("/openapi.json").json["components"]["schemas"]["Child"])
    expected = document.is_valid(age)

    answer = post(client, agency_headers, referral | {"children": [age]})

    assert expected == (len(age) == 1), f"the document's rule for {age}"
    assert (answer.status_code == 201) == expected, answer.json
    if not expected:
        assert answer.json["error"]["fields"]["children"]["0"]["age_years"] == [
            "give age_years or age_months, not both or neither"
        ]


def test_agency_keys_are_required_and_revocable(client, agency_keys, referral):
    assert post(client, {}, referral).status_code == 401
    assert post(client, {"X-API-Key": "cck_guess"}, referral).status_code == 401
    issued = agency_keys.create("Example Voluntary Group")
    headers = {"X-API-Key": issued.key}
    assert post(client, headers, referral).status_code == 201

    assert agency_keys.revoke(issued.key_id)

    assert client.get(REFERRALS, headers=headers).status_code == 401
    assert post(client, headers, referral).status_code == 401


def test_two_api_keys_at_once_are_refused_saying_so_not_as_a_revoked_key(client, agency_keys, referral):
    """The header sent twice arrives as its values joined by a comma: one key is asked for."""
    first, second = agency_keys.create("Example Voluntary Group"), agency_keys.create("Example Sure Start")

    answer = client.get(REFERRALS, headers={"X-API-Key": f"{first.key},{second.key}"})

    assert answer.status_code == 401
    assert answer.json["error"]["message"] == "send one API key in X-API-Key, not several"


def test_an_agency_sees_only_its_own_referrals(
    client, agency_headers, other_agency_headers, referral, letter, staff_headers
):
    mine = post(client, agency_headers, referral).json
    theirs = post(client, other_agency_headers, referral).json
    a_letter = client.post("/api/v1/contacts", json=letter, headers=staff_headers()).json

    listed = client.get(REFERRALS, headers=agency_headers).json

    assert [item["id"] for item in listed["items"]] == [mine["id"]]
    assert client.get(f"{REFERRALS}/{mine['id']}", headers=agency_headers).status_code == 200
    assert client.get(f"{REFERRALS}/{theirs['id']}", headers=agency_headers).status_code == 404
    assert client.get(f"{REFERRALS}/{a_letter['id']}", headers=agency_headers).status_code == 404
    assert client.get("/api/v1/contacts", headers=agency_headers).status_code == 401


def test_staff_decide_referrals_with_a_full_status_history(
    client, agency_headers, referral, staff_headers, clock
):
    created = post(client, agency_headers, referral).json
    url = f"/api/v1/contacts/{created['id']}/referral"
    staff = staff_headers(area="south", username="test.coordinator", role="coordinator")

    clock.advance(hours=1)
    assert client.post(f"{url}/open", headers=staff).status_code == 200
    clock.advance(hours=1)
    missing_reason = client.post(f"{url}/decline", json={"reason_code": "not_eligible"}, headers=staff)
    declined = client.post(
        f"{url}/decline",
        json={"reason_code": "service_not_offered", "reason": "Test reason: no sessions this term"},
        headers=staff,
    )
    accept_after = client.post(f"{url}/accept", headers=staff)

    assert missing_reason.status_code == 422 and "reason" in missing_reason.json["error"]["fields"]
    assert declined.status_code == 200, declined.json
    assert declined.json["status"] == "responded"
    assert declined.json["responded_at"].startswith("2026-11-23T12:00:00")
    assert accept_after.status_code == 409 and accept_after.json["error"]["current_status"] == "declined"
    seen = client.get(f"{REFERRALS}/{created['id']}", headers=agency_headers).json
    assert seen["referral_status"] == "declined" and seen["outcome"] == "declined"
    assert seen["decline_reason_code"] == "service_not_offered"
    assert seen["decline_reason"] == "Test reason: no sessions this term"
    assert [(step["from"], step["to"]) for step in seen["history"]] == [
        (None, "new"),
        ("new", "opened"),
        ("opened", "declined"),
    ]
    staff_view = client.get(f"/api/v1/contacts/{created['id']}", headers=staff).json
    assert [(step["by"], step["at"][11:16]) for step in staff_view["referral"]["history"]] == [
        ("agency:example-health-visitors", "10:00"),
        ("test.coordinator", "11:00"),
        ("test.coordinator", "12:00"),
    ]


@pytest.mark.parametrize(
    ("actions", "expected"),
    [
        ([("respond", {"method": "telephone"})], [(None, "new"), ("new", "responded")]),
        (
            [("referral/open", {}), ("withdraw", {})],
            [(None, "new"), ("new", "opened"), ("opened", "withdrawn")],
        ),
        (
            [("respond", {"method": "telephone"}), ("referral/accept", {})],
            [(None, "new"), ("new", "responded"), ("responded", "accepted")],
        ),
        ([("referral/accept", {})], [(None, "new"), ("new", "accepted")]),  # the decision is the answer
        (  # an assignment is the centre's own business: the agency reads no step of it
            [("assign", {"assignee": "test.worker"}), ("respond", {"method": "telephone"})],
            [(None, "new"), ("new", "responded")],
        ),
        ([("assign", {"assignee": "test.worker"})], [(None, "new")]),  # staff's "assigned"
        (  # staff's "closed"
            [("respond", {"method": "telephone"}), ("close", {"reason_code": "answered"})],
            [(None, "new"), ("new", "responded")],
        ),
    ],
)
def test_an_agency_follows_every_status_its_referral_takes_in_the_history(
    client, agency_headers, referral, staff_headers, clock, actions, expected
):
    """Answered and withdrawn are statuses the agency reads; the history must name them too."""
    created = post(client, agency_headers, referral).json
    staff = staff_headers(area="south")
    for action, body in actions:
        clock.advance(minutes=5)
        done = client.post(f"/api/v1/contacts/{created['id']}/{action}", json=body, headers=staff)
        assert done.status_code == 200, done.json

    seen = client.get(f"{REFERRALS}/{created['id']}", headers=agency_headers).json
    staff_view = client.get(f"/api/v1/contacts/{created['id']}", headers=staff).json

    assert [(step["from"], step["to"]) for step in seen["history"]] == expected
    assert all(set(step) == {"at", "from", "to"} for step in seen["history"]), "no staff usernames"
    assert seen["referral_status"] == expected[-1][1]
    # Its status is one the agency follows (README), never the staff's own (assigned, closed).
    listed = client.get(REFERRALS, headers=agency_headers).json["items"]
    assert seen["status"] == listed[0]["status"] == expected[-1][1]
    assert staff_view["referral_status"] == seen["referral_status"]  # staff read what the agency reads
    assert [(step["from"], step["to"]) for step in staff_view["referral"]["history"]] == expected


def test_an_agency_sees_a_referral_waiting_on_it_and_what_for_until_it_is_resumed(
    client, agency_headers, referral, staff_headers, clock
):
    """Staff pause it waiting on the partner: the agency's list says since when, its audited
    read the note staff wrote for it; waiting on the family is the centre's own business."""
    on_partner, on_family = (post(client, agency_headers, referral).json for _ in range(2))
    staff = staff_headers(area="south")
    clock.advance(minutes=5)
    for made, body in (
        (on_partner, {"reason_code": "waiting_on_partner", "note": "Test note: the family's consent form"}),
        (on_family, {"reason_code": "waiting_on_family", "note": "Test note about the family"}),
    ):
        done = client.post(f"/api/v1/contacts/{made['id']}/pause", json=body, headers=staff)
        assert done.status_code == 200, done.json

    listed = {item["id"]: item for item in client.get(REFERRALS, headers=agency_headers).json["items"]}
    seen = client.get(f"{REFERRALS}/{on_partner['id']}", headers=agency_headers).json
    other = client.get(f"{REFERRALS}/{on_family['id']}", headers=agency_headers).json

    assert listed[on_partner["id"]]["waiting_on_partner_since"].startswith("2026-11-23T10:05:00")
    assert "waiting_on_partner_note" not in listed[on_partner["id"]]  # lists hold no personal data
    assert listed[on_family["id"]]["waiting_on_partner_since"] is None
    assert seen["waiting_on_partner_note"] == "Test note: the family's consent form"
    assert seen["status"] == "new"
    assert (other["waiting_on_partner_since"], other["waiting_on_partner_note"]) == (None, None)

    clock.advance(minutes=5)
    resumed = client.post(f"/api/v1/contacts/{on_partner['id']}/resume", json={}, headers=staff)
    assert resumed.status_code == 200, resumed.json
    after = client.get(f"{REFERRALS}/{on_partner['id']}", headers=agency_headers).json
    assert (after["waiting_on_partner_since"], after["waiting_on_partner_note"]) == (None, None)


def test_a_note_staff_wrote_before_agencies_could_read_pause_notes_stays_theirs(
    client, agency_headers, referral, staff_headers, doc_store
):
    """A pause recorded before its agency was shown the note (the staff form now says it will be)
    still tells the agency it waits on it, but never shows what staff wrote for themselves."""
    made = post(client, agency_headers, referral).json
    staff = staff_headers(area="south")
    body = {"reason_code": "waiting_on_partner", "note": "Test note written for staff only"}
    assert client.post(f"/api/v1/contacts/{made['id']}/pause", json=body, headers=staff).status_code == 200
    stored = doc_store.collection(CONTACTS).get(made["id"])
    stored["pauses"] = [{k: v for k, v in p.items() if k != "note_for_partner"} for p in stored["pauses"]]
    assert doc_store.collection(CONTACTS).replace(stored)

    seen = client.get(f"{REFERRALS}/{made['id']}", headers=agency_headers).json
    staff_view = client.get(f"/api/v1/contacts/{made['id']}", headers=staff).json

    assert seen["waiting_on_partner_since"] is not None
    assert seen["waiting_on_partner_note"] is None
    assert staff_view["pauses"][0]["note"] == "Test note written for staff only"
    assert staff_view["pauses"][0]["note_for_partner"] is False


def test_an_agency_reads_why_its_referral_was_withdrawn_as_a_code(
    client, agency_headers, referral, staff_headers
):
    withdrawn, never = (post(client, agency_headers, referral).json for _ in range(2))
    staff = staff_headers(area="south")
    done = client.post(
        f"/api/v1/contacts/{withdrawn['id']}/withdraw", json={"reason_code": "family_withdrew"}, headers=staff
    )
    assert done.status_code == 200, done.json

    seen = client.get(f"{REFERRALS}/{withdrawn['id']}", headers=agency_headers).json
    listed = client.get(REFERRALS, query_string={"status": "withdrawn"}, headers=agency_headers).json
    other = client.get(f"{REFERRALS}/{never['id']}", headers=agency_headers).json

    assert (seen["referral_status"], seen["withdraw_reason_code"]) == ("withdrawn", "family_withdrew")
    assert [item["withdraw_reason_code"] for item in listed["items"]] == ["family_withdrew"]
    assert other["withdraw_reason_code"] is None


def test_an_accepted_referral_shows_its_outcome(client, agency_headers, referral, staff_headers):
    created = post(client, agency_headers, referral).json
    staff = staff_headers(area="south")

    accepted = client.post(f"/api/v1/contacts/{created['id']}/referral/accept", headers=staff)
    again = client.post(f"/api/v1/contacts/{created['id']}/referral/open", headers=staff)

    assert accepted.status_code == 200
    assert again.status_code == 409 and again.json["error"]["current_status"] == "accepted"
    seen = client.get(f"{REFERRALS}/{created['id']}", headers=agency_headers).json
    assert seen["outcome"] == "accepted" and seen["decline_reason"] is None


def test_a_referral_answered_by_other_means_is_not_opened_after_and_its_history_stays_in_order(
    client, agency_headers, referral, staff_headers, clock
):
    """Opened after the family was answered would tell the agency 'opened' when it is already 'responded'."""
    created = post(client, agency_headers, referral).json
    staff = staff_headers(area="south")
    client.post(f"/api/v1/contacts/{created['id']}/respond", json={"method": "telephone"}, headers=staff)
    clock.advance(minutes=5)

    opened = client.post(f"/api/v1/contacts/{created['id']}/referral/open", headers=staff)

    assert opened.status_code == 409 and opened.json["error"]["current_status"] == "responded"
    seen = client.get(f"{REFERRALS}/{created['id']}", headers=agency_headers).json
    assert [step["to"] for step in seen["history"]] == ["new", "responded"]


def test_a_referral_stored_before_contacts_had_an_urgency_is_found_by_its_referrals(
    client, agency_headers, referral, staff_headers, doc_store
):
    urgent = post(client, agency_headers, referral | {"urgency": "urgent"}, key="old-1").json
    post(client, agency_headers, referral | {"urgency": "routine"}, key="old-2")
    stored = doc_store.collection(CONTACTS).get(urgent["id"])
    doc_store.collection(CONTACTS).replace({k: v for k, v in stored.items() if k != "urgency"})
    staff = staff_headers(area="south")

    found = client.get("/api/v1/contacts?urgency=urgent", headers=staff).json

    assert [item["id"] for item in found["items"]] == [urgent["id"]]
    assert found["items"][0]["urgency"] == "urgent"


def test_referral_personal_data_is_encrypted_at_rest(
    client, agency_headers, referral, doc_store, staff_headers
):
    created = post(client, agency_headers, referral, key="enc-1").json
    client.post(
        f"/api/v1/contacts/{created['id']}/referral/decline",
        json={"reason": "Test reason mentioning Test Family Carer"},
        headers=staff_headers(area="south"),
    )

    stored = json.dumps(doc_store.collection(CONTACTS).find({}), default=str)
    replays = json.dumps(doc_store.collection("idempotency").find({}), default=str)

    for value in (*PERSONAL_VALUES, "Test reason"):
        assert value not in stored
        assert value not in replays


def test_declining_is_audited_with_the_reason_code_and_never_the_words(
    client, agency_headers, referral, staff_headers, doc_store
):
    created = post(client, agency_headers, referral).json
    words = "Test reason: Test Family Carer moved away"
    declined = client.post(
        f"/api/v1/contacts/{created['id']}/referral/decline",
        json={"reason_code": "outside_area", "reason": words},
        headers=staff_headers(area="south", username="test.decider"),
    )

    assert declined.status_code == 200
    entries = doc_store.collection(AUDIT).find({"contact_id": created["id"]})
    assert [(e["who"], e["action"], e.get("details")) for e in entries] == [
        ("test.decider", "decline_referral", {"reason_code": "outside_area"})
    ]
    assert "Test reason" not in json.dumps(entries, default=str)


@pytest.mark.parametrize("reason", ["   ", "\n\t ", ""])
def test_a_decline_reason_of_only_spaces_is_a_422_naming_reason_and_nothing_is_written(
    client, agency_headers, referral, staff_headers, doc_store, reason
):
    created = post(client, agency_headers, referral).json
    staff = staff_headers(area="south")
    before = doc_store.collection(CONTACTS).get(created["id"])

    refused = client.post(
        f"/api/v1/contacts/{created['id']}/referral/decline",
        json={"reason_code": "outside_area", "reason": reason},
        headers=staff,
    )

    assert refused.status_code == 422, refused.json
    assert refused.json["error"]["fields"]["reason"] == ["must not be blank"]
    assert doc_store.collection(CONTACTS).get(created["id"]) == before
    declined = client.post(
        f"/api/v1/contacts/{created['id']}/referral/decline",
        json={"reason_code": "outside_area", "reason": "  Test reason: outside our area \n"},
        headers=staff,
    )
    assert declined.status_code == 200, declined.json
    seen = client.get(f"{REFERRALS}/{created['id']}", headers=agency_headers).json
    assert seen["decline_reason"] == "Test reason: outside our area"  # as the web form sends it


def test_an_agency_reading_a_decline_reason_is_audited(
    client, agency_headers, referral, staff_headers, doc_store
):
    created = post(client, agency_headers, referral).json
    client.post(
        f"/api/v1/contacts/{created['id']}/referral/decline",
        json={"reason": "Test reason"},
        headers=staff_headers(area="south"),
    )

    client.get(f"{REFERRALS}/{created['id']}", headers=agency_headers)

    entries = doc_store.collection(AUDIT).find({"contact_id": created["id"], "action": "agency_read"})
    assert [entry["who"] for entry in entries] == ["agency:example-health-visitors"]


def test_the_notifier_reads_where_to_tell_the_referrer_at_send_time_audited(
    client, agency_keys, referral, staff_headers, doc_store
):
    issued = agency_keys.create("Example Family Nurses", notify_email="team@nurses.example.org")
    made = post(client, {"X-API-Key": issued.key}, referral).json
    staff = staff_headers(area="south")
    client.post(
        f"/api/v1/contacts/{made['id']}/referral/decline",
        json={"reason_code": "outside_area", "reason": "Test reason: the family lives outside Liverpool"},
        headers=staff,
    )
    url = f"/api/v1/internal/referrals/{made['id']}"

    notice = client.get(url, headers=tokens.service_headers())

    assert notice.status_code == 200, notice.json
    assert notice.json["agency_email"] == "team@nurses.example.org"
    assert notice.json["referrer_email"] == "referrer@example.org"
    assert (
        notice.json["referral_status"] == "declined" and notice.json["decline_reason_code"] == "outside_area"
    )
    assert notice.json["decline_reason"] == "Test reason: the family lives outside Liverpool"
    assert "family" not in notice.json and "children" not in notice.json
    audit = doc_store.collection(AUDIT).find({"contact_id": made["id"], "action": "service_read"})
    assert [entry["who"] for entry in audit] == ["notifier"]
    # Only another service may ask: staff, partners and nobody at all are refused.
    assert client.get(url, headers=staff).status_code == 403
    assert client.get(url, headers={"X-API-Key": issued.key}).status_code == 401
    assert client.get(url).status_code == 401
    assert client.get("/api/v1/internal/referrals/nope", headers=tokens.service_headers()).status_code == 404


# The front end's partner pages: a partner user's token instead of an API key ----


def partner_token(agency: str | None, role: str = "partner", area: str | None = None) -> dict:
    user = StaffUser("test.partner", role, area, agency=agency)
    return tokens.staff_headers(user, "contacts")


def test_a_partner_users_token_refers_and_reads_as_its_agency(
    client, agency_headers, other_agency_headers, referral
):
    by_key = post(client, agency_headers, referral).json
    other = post(client, other_agency_headers, referral).json
    headers = partner_token("example-health-visitors")

    made = post(client, headers, referral, key="web-form-1")
    again = post(client, headers, referral, key="web-form-1")
    listed = client.get(REFERRALS, headers=headers).json

    assert made.status_code == 201 and again.json == made.json
    assert {item["id"] for item in listed["items"]} == {by_key["id"], made.json["id"]}
    assert client.get(f"{REFERRALS}/{by_key['id']}", headers=headers).status_code == 200
    assert client.get(f"{REFERRALS}/{other['id']}", headers=headers).status_code == 404
    preview = client.get(
        f"{REFERRALS}/nearest-centre",
        query_string={"postcode_district": "L8", "support_needed": "stay-and-play"},
        headers=headers,
    )
    assert preview.status_code == 200 and preview.json["centre_id"] == "centre-south"


def test_a_partner_users_referral_and_reads_name_the_user_as_well_as_the_agency(
    client, agency_headers, referral, staff_headers, doc_store
):
    """The audit trail must say who at an agency sent or read a family's details: a partner
    user's token names that user; the agency's own software (an API key) names the agency."""
    made = post(client, partner_token("example-health-visitors"), referral).json
    client.get(f"{REFERRALS}/{made['id']}", headers=partner_token("example-health-visitors"))
    client.get(f"{REFERRALS}/{made['id']}", headers=agency_headers)

    user = "partner:test.partner@example-health-visitors"
    staff = client.get(f"/api/v1/contacts/{made['id']}", headers=staff_headers(area="south")).json
    assert staff["created_by"] == user
    assert [step["by"] for step in staff["history"]] == [user]
    assert [step["by"] for step in staff["referral"]["history"]] == [user]
    entries = doc_store.collection(AUDIT).find({"contact_id": made["id"]})
    assert sorted((entry["who"], entry["action"]) for entry in entries) == [
        ("agency:example-health-visitors", "agency_read"),
        (user, "agency_read"),
        ("test.staff", "read_personal_data"),
    ]
    seen = client.get(f"{REFERRALS}/{made['id']}", headers=agency_headers).json
    assert all("by" not in step for step in seen["history"])


def test_the_agencys_name_comes_from_its_profile_and_an_unknown_agency_is_refused(
    client, agency_keys, referral, staff_headers
):
    agency_keys.create("Example Voluntary Group")

    made = post(client, partner_token("example-voluntary-group"), referral)
    unknown = post(client, partner_token("example-unregistered-agency"), referral)

    assert made.status_code == 201, made.json
    staff = client.get(f"/api/v1/contacts/{made.json['id']}", headers=staff_headers(area="south")).json
    assert staff["referral"]["agency_id"] == "example-voluntary-group"
    assert staff["referral"]["agency_name"] == "Example Voluntary Group"
    assert staff["created_by"] == "partner:test.partner@example-voluntary-group"
    assert unknown.status_code == 403
    assert "example-unregistered-agency" in unknown.json["error"]["message"]


def test_an_agency_reads_its_own_name_by_its_key_or_a_partner_users_token(
    client, agency_keys, agency_headers, staff_headers
):
    agency_keys.create("Example Voluntary Group")

    by_key = client.get(f"{REFERRALS}/agency", headers=agency_headers)
    by_user = client.get(f"{REFERRALS}/agency", headers=partner_token("example-voluntary-group"))

    assert by_key.status_code == 200, by_key.json
    assert by_key.json["agency_name"] == "Example Health Visitors"
    assert by_user.json == {"agency_id": "example-voluntary-group", "agency_name": "Example Voluntary Group"}
    assert client.get(f"{REFERRALS}/agency", headers=staff_headers()).status_code == 403
    assert client.get(f"{REFERRALS}/agency").status_code == 401


def test_staff_tokens_do_not_reach_the_partner_api(client, agency_headers, referral):
    made = post(client, agency_headers, referral).json
    for role, area in (("staff", "south"), ("coordinator", "south"), ("principal_officer", None)):
        headers = partner_token(None, role, area)
        assert client.get(REFERRALS, headers=headers).status_code == 403
        assert client.get(f"{REFERRALS}/{made['id']}", headers=headers).status_code == 403
        assert post(client, headers, referral).status_code == 403
    forged = {"Authorization": "Bearer not-a-token"}
    assert client.get(REFERRALS, headers=forged).status_code == 401


def test_an_agencys_software_and_each_of_its_partner_users_have_their_own_rate_limit(
    app, client, agency_headers
):
    """A burst from the agency's software locked its people out of the partner pages."""
    provided(app, Services).partner_limiter.limit = Limit(3, 60)
    token = partner_token("example-health-visitors")

    by_key = [client.get(REFERRALS, headers=agency_headers).status_code for _ in range(4)]
    by_user = [client.get(REFERRALS, headers=token).status_code for _ in range(4)]

    assert by_key == by_user == [200, 200, 200, 429]
    refused = client.get(REFERRALS, headers=token)
    assert refused.status_code == 429 and "Retry-After" in refused.headers


def test_an_agency_lists_its_referrals_newest_first_and_by_referral_status(
    client, agency_headers, referral, staff_headers, clock
):
    staff = staff_headers(area="south")
    made = {}
    for name in ("new", "opened", "accepted", "declined", "responded", "withdrawn"):
        made[name] = post(client, agency_headers, referral).json["id"]
        clock.advance(minutes=5)
    steps = {
        "opened": [("referral/open", {})],
        "accepted": [("referral/accept", {})],
        "declined": [("referral/open", {}), ("referral/decline", {"reason": "Test reason"})],
        "responded": [("respond", {"method": "telephone"}), ("close", {})],
        "withdrawn": [("withdraw", {})],
    }
    for name, actions in steps.items():
        for action, body in actions:
            done = client.post(f"/api/v1/contacts/{made[name]}/{action}", json=body, headers=staff)
            assert done.status_code == 200, done.json

    everything = client.get(REFERRALS, headers=agency_headers).json
    by_status = {
        name: [
            item["id"]
            for item in client.get(REFERRALS, query_string={"status": name}, headers=agency_headers).json[
                "items"
            ]
        ]
        for name in made
    }
    bad = client.get(REFERRALS, query_string={"status": "lost"}, headers=agency_headers)

    assert [item["id"] for item in everything["items"]] == list(reversed(made.values()))
    assert {item["referral_status"] for item in everything["items"]} == set(made)
    assert by_status == {name: [contact_id] for name, contact_id in made.items()}
    assert bad.status_code == 422 and "status" in bad.json["error"]["fields"]


def test_an_agency_reads_back_what_it_sent_until_retention_erases_it(
    client, agency_headers, referral, staff_headers, doc_store, clock, settings
):
    created = post(client, agency_headers, referral).json
    url = f"/api/v1/contacts/{created['id']}"
    staff = staff_headers(area="south")
    client.post(f"{url}/referral/decline", json={"reason": "Test reason: no sessions"}, headers=staff)
    client.post(f"{url}/close", json={}, headers=staff)

    before = client.get(f"{REFERRALS}/{created['id']}", headers=agency_headers).json
    clock.advance(days=400)
    erase(doc_store, clock, settings)
    after = client.get(f"{REFERRALS}/{created['id']}", headers=agency_headers).json

    assert before["sent"] == {
        name: referral[name] for name in ("referrer", "family", "children", "notes")
    } | {
        "consent": {
            "given": True,
            "recorded_by": "Test Referrer",
            "recorded_at": "2026-11-22T09:30:00.000000Z",
        }
    }
    assert before["decline_reason"] == "Test reason: no sessions" and before["personal_erased_at"] is None
    assert after["sent"] is None and after["decline_reason"] is None
    assert after["personal_erased_at"] and after["reference"] == created["reference"]
    assert after["referral_status"] == "declined" and after["decline_reason_code"] == "other"
    assert "sent" not in created, "only the detail carries the personal data back"
    for value in PERSONAL_VALUES:
        assert value not in json.dumps(after)
