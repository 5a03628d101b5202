"""The /oruk/ feed: what it publishes, judged against ../shared/oruk-3.0 (tests/directory_service/oruk_validator.py)."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from urllib.parse import urlsplit

import pytest
from directory_testkit import NEW_CENTRE
from openapi_spec_validator import validate
from oruk_validator import assert_valid, errors, openapi, schema


def page_schema_keys() -> set[str]:
    return set(openapi()["components"]["schemas"]["Page"]["properties"])


def test_the_validator_really_checks_formats_and_required_fields():
    """A guard against a validator that passes anything."""
    bad = {"id": "not-a-uuid", "name": "x", "status": "open", "assured_date": "yesterday", "url": "no scheme"}
    messages = errors(schema("service.json"), bad)
    assert any("uuid" in m for m in messages)
    assert any("'open' is not one of" in m for m in messages)
    assert any("not a valid date" in m for m in messages)
    assert any("uri" in m for m in messages)
    assert errors(schema("service.json"), {"name": "x"})


def test_root_says_version_profile_and_openapi_url(client):
    response = client.get("/oruk/")
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    body = response.json
    assert body["version"] == "3.0"
    assert body["profile"].startswith("https://")
    assert body["openapi_url"] == "http://localhost/oruk/openapi.json"


def shape(path: str) -> str:
    """A path with its parameters' names left out: `/services/{id}` and `/services/{service_id}` are one."""
    return re.sub(r"\{[^}]+\}", "{}", path)


def test_the_openapi_url_is_under_the_feed_and_describes_the_feed(client):
    """On the partner host only /oruk/... reaches the directory (its /openapi.json is the referrals
    API's), so the document the feed names lives under /oruk and describes the feed alone."""
    url = urlsplit(client.get("/oruk/").json["openapi_url"])
    response = client.get(url.path)
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    document = response.json
    validate(document)
    assert document["servers"] == [{"url": "http://localhost/oruk"}]
    assert {shape(path) for path in openapi()["paths"]} <= {shape(path) for path in document["paths"]}
    assert all(not path.startswith(("/api/", "/oruk")) for path in document["paths"])
    assert "securitySchemes" not in document["components"], "nothing of the staff API"
    assert "CentreInput" not in json.dumps(document)


def test_every_service_in_full_validates_against_service_json(client, ids):
    for slug, centre_id in ids.items():
        response = client.get(f"/oruk/services/{centre_id}")
        assert response.status_code == 200, slug
        assert_valid(schema("service.json"), response.json)


def test_a_full_service_carries_location_address_schedules_terms_and_assured_date(client, ids):
    service = client.get(f"/oruk/services/{ids['princes-park']}").json
    assert service["id"] == ids["princes-park"]
    assert service["status"] == "active"
    assert service["organization"]["name"] == "Liverpool Children's Centres"
    assert service["assured_date"] == "2026-09-11"  # verified 73 days before NOW
    assert service["last_modified"] == "2026-11-23T10:30:00.000Z"
    assert (service["minimum_age"], service["maximum_age"]) == (0, 5)
    (at_location,) = service["service_at_locations"]
    location = at_location["location"]
    assert (location["latitude"], location["longitude"]) == (53.3932, -2.9598)
    (address,) = location["addresses"]
    assert (address["postal_code"], address["city"], address["country"]) == ("L8 0AD", "Liverpool", "GB")
    by_day = {(s["byday"], s["opens_at"], s["closes_at"]) for s in service["schedules"]}
    assert ("SA", "10:00", "13:00") in by_day and ("MO", "09:00", "17:00") in by_day
    assert all(s["service_at_location_id"] == at_location["id"] for s in service["schedules"])
    terms = {a["taxonomy_term"]["term"] for a in service["attributes"]}
    assert terms == {
        "stay-and-play",
        "midwife-clinic",
        "adult-learning",
        "parenting-courses",
        "confidential-advice",
    }
    assert service["phones"][0]["number"] == "0151 496 0011"


def test_ids_are_stable_between_requests(client, ids):
    first = client.get(f"/oruk/services/{ids['speke']}").json
    second = client.get(f"/oruk/services/{ids['speke']}").json
    assert first == second


def test_services_pages_validate_against_service_list_json(client):
    seen = []
    for page in (1, 2, 3):
        response = client.get("/oruk/services", query_string={"per_page": 10, "page": page})
        assert response.status_code == 200
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        body = response.json
        assert page_schema_keys() | {"contents"} == set(body)
        assert_valid(schema("service_list.json"), body)
        seen += [item["id"] for item in body["contents"]]
        assert body["total_items"] == 24 and body["total_pages"] == 3 and body["page_number"] == page
        assert body["size"] == len(body["contents"]) == (4 if page == 3 else 10)
        assert body["first_page"] is (page == 1) and body["last_page"] is (page == 3)
        assert body["empty"] is False
    assert len(set(seen)) == 24
    beyond = client.get("/oruk/services", query_string={"per_page": 10, "page": 4}).json
    assert beyond["empty"] is True and beyond["size"] == 0


def test_service_at_locations_validate_against_their_list_schema(client):
    body = client.get("/oruk/service_at_locations", query_string={"per_page": 30}).json
    assert body["total_items"] == 24
    assert_valid(schema("service_at_location_list.json"), body)
    for item in body["contents"]:
        assert item["service"]["id"] == item["service_id"]


def test_status_maps_to_the_hsds_vocabulary(client, staff, ids):
    client.post(f"/api/v1/centres/{ids['garston']}/close", json={"reason": "Test"}, headers=staff("admin"))
    statuses = {
        item["id"]: item["status"] for item in client.get("/oruk/services?per_page=30").json["contents"]
    }
    assert statuses[ids["tuebrook"]] == "temporarily closed"
    assert statuses[ids["garston"]] == "defunct"
    assert statuses[ids["speke"]] == "active"
    tuebrook = client.get(f"/oruk/services/{ids['tuebrook']}").json
    assert tuebrook["alert"] == "Temporarily closed."
    assert (
        client.get(f"/oruk/services/{ids['speke']}").json["alert"]
        == f"Closed on {date(2026, 11, 28)}: Staff training day."
    )


def test_sample_centres_say_so_in_the_feed_and_real_ones_do_not(client, staff, ids):
    """A federated reader must not import the invented SAMPLE centres as real: the spec has no
    field for it (no note on a service), so each one's description opens with the warning."""
    made = client.post("/api/v1/centres", json=NEW_CENTRE, headers=staff("admin"))
    assert made.status_code == 201, made.get_json()
    real_id = made.get_json()["id"]
    listed = client.get("/oruk/services", query_string={"per_page": 100}).json["contents"]
    located = client.get("/oruk/service_at_locations", query_string={"per_page": 100}).json["contents"]
    by_id = {item["id"]: item for item in listed} | {item["service_id"]: item["service"] for item in located}
    sample_ids = set(ids.values())
    assert set(by_id) == sample_ids | {real_id}
    for service_id in sample_ids:
        assert by_id[service_id]["description"].startswith("SAMPLE DATA"), service_id
    assert "SAMPLE" not in by_id[real_id]["description"]
    anfield = client.get(f"/oruk/services/{ids['anfield']}").json
    assert_valid(schema("service.json"), anfield)
    assert anfield["description"] == (
        "SAMPLE DATA, invented for demonstration: not one of Liverpool's children's centres. "
        "Sure Start children's centre for families with children under five in Anfield."
    )
    assert "SAMPLE" not in client.get(f"/oruk/services/{real_id}").json["description"]


def _ids(client, path="/oruk/services", **params) -> set[str]:
    response = client.get(path, query_string={"per_page": 100, **params})
    assert response.status_code == 200, response.json
    return {item["id"] if "service" not in item else item["service_id"] for item in response.json["contents"]}


def test_filters_by_taxonomy_term_search_day_and_times(client, ids):
    midwife = next(
        i for i in client.get("/api/v1/services-list").json["items"] if i["id"] == "midwife-clinic"
    )
    expected = {ids[s] for s in ("everton", "croxteth", "princes-park", "wavertree", "hunts-cross")}
    assert _ids(client, taxonomy_term_id=midwife["taxonomy_term_id"]) == expected
    assert _ids(client, taxonomy_term_id="midwife-clinic") == expected
    assert _ids(client, taxonomy_term_id="00000000-0000-4000-8000-000000000000") == set()
    assert _ids(client, search="granby") == {ids["princes-park"]}
    assert _ids(client, day="SA") == {ids[s] for s in ("anfield", "princes-park", "speke")}
    short_fridays = {"croxteth", "tuebrook", "woolton", "norris-green", "picton", "mossley-hill"}
    assert _ids(client, day="friday", end_time="15:30") == {ids[s] for s in short_fridays}
    assert _ids(client, day="MO", start_time="13:00") == {
        ids[s] for s in ("norris-green", "picton", "mossley-hill")
    }
    late = {"kirkdale", "city-centre", "hunts-cross"}
    assert _ids(client, start_time="09:00", end_time="23:00") == set(ids.values())
    assert {ids[s] for s in late} <= _ids(client, end_time="19:00")


def test_filters_by_age_and_modification_time(client, staff, ids, clock):
    clock.advance(hours=2)
    response = client.patch(
        f"/api/v1/centres/{ids['woolton']}",
        json={"min_age": 2},
        headers={**staff("admin"), "If-Match": '"1"'},
    )
    assert response.status_code == 200
    assert _ids(client, modified_after="2026-11-23T11:00:00Z") == {ids["woolton"]}
    assert _ids(client, modified_after="2026-11-23T11:00:00") == {ids["woolton"]}
    assert len(_ids(client, modified_after="2026-11-01T00:00:00Z")) == 24
    assert _ids(client, minimum_age=1) == {ids["woolton"]}
    assert len(_ids(client, maximum_age=5)) == 24
    assert _ids(client, maximum_age=4) == set()


def test_bad_oruk_parameters_are_422_naming_them(client):
    for params, field in (
        ({"day": "funday"}, "day"),
        ({"start_time": "9am"}, "start_time"),
        ({"per_page": 0}, "per_page"),
    ):
        response = client.get("/oruk/services", query_string=params)
        assert response.status_code == 422
        assert field in response.json["error"]["fields"]
        assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_unknown_service_is_404_readable_from_any_origin(client):
    response = client.get("/oruk/services/00000000-0000-4000-8000-000000000000")
    assert response.status_code == 404
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["Cross-Origin-Resource-Policy"] == "cross-origin"


def test_own_api_is_not_opened_to_every_origin(client):
    assert "Access-Control-Allow-Origin" not in client.get("/api/v1/centres").headers


@pytest.mark.parametrize("postcode", ["L25", "l25"])
def test_service_at_locations_near_a_district_without_a_geocoder(client, ids, postcode):
    """Nearest first from the middle of the district's centres, as the centre search does."""
    response = client.get("/oruk/service_at_locations", query_string={"postcode": postcode, "per_page": 100})
    assert response.status_code == 200, response.json
    order = [item["service_id"] for item in response.json["contents"]]
    assert response.json["total_items"] == 24
    assert order[:2] == [ids["woolton"], ids["hunts-cross"]]


def test_modified_after_accepts_offsets(client):
    stamp = datetime(2026, 11, 23, 12, 0, tzinfo=UTC).isoformat()
    assert _ids(client, modified_after=stamp) == set()
