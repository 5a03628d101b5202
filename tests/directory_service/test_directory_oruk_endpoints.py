"""The optional ORUK 3.0 endpoints, and every query parameter the specification lists (issue 15, parts 1-2)."""

from __future__ import annotations

import json

import pytest
from ccshared.service_types import BY_ID, SERVICE_TYPES
from oruk_validator import assert_valid, schema

UNKNOWN = "00000000-0000-4000-8000-000000000000"


def _get(client, path: str, **params) -> dict:
    response = client.get(path, query_string=params)
    assert response.status_code == 200, response.json
    return response.json


def _service_ids(client, path="/oruk/services", **params) -> set[str]:
    body = _get(client, path, per_page=100, **params)
    return {item.get("service_id", item["id"]) for item in body["contents"]}


def test_root_names_the_uk_profile_repository(client):
    body = _get(client, "/oruk/")
    assert body["profile"] == "https://github.com/OpenReferralUK/uk-profile"
    assert_valid(schema("api_details.json"), body)


def test_service_at_location_by_id_is_the_location_in_full(client, ids):
    listed = _get(client, "/oruk/service_at_locations", per_page=100)["contents"]
    item = next(i for i in listed if i["service_id"] == ids["princes-park"])
    body = _get(client, f"/oruk/service_at_locations/{item['id']}")
    assert_valid(schema("service_at_location.json"), body)
    assert body["location"]["addresses"][0]["postal_code"] == "L8 0AD"
    assert body["service"]["id"] == ids["princes-park"]


def test_taxonomy_and_its_terms(client):
    (taxonomy,) = _get(client, "/oruk/taxonomies")["contents"]
    full = _get(client, f"/oruk/taxonomies/{taxonomy['id']}")
    assert_valid(schema("taxonomy.json"), full)
    assert {t["term"] for t in full["taxonomy_terms"]} == set(BY_ID)
    terms = _get(client, "/oruk/taxonomy_terms", per_page=100)
    assert terms["total_items"] == len(SERVICE_TYPES)
    midwife = BY_ID["midwife-clinic"]
    term = _get(client, f"/oruk/taxonomy_terms/{midwife.term_id}")
    assert_valid(schema("taxonomy_term.json"), term)
    assert (term["name"], term["taxonomy_id"]) == (midwife.label, taxonomy["id"])


def test_organization_lists_its_services(client, ids):
    (organization,) = _get(client, "/oruk/organizations")["contents"]
    assert organization["name"] == "Liverpool Children's Centres"
    body = _get(client, f"/oruk/organizations/{organization['id']}")
    assert_valid(schema("organization.json"), body)
    assert {s["id"] for s in body["services"]} == set(ids.values())
    assert all(set(s) == {"id"} for s in body["services"])
    full = _get(client, f"/oruk/organizations/{organization['id']}", full_service="true")
    for service in full["services"]:
        assert_valid(schema("service.json"), service)


@pytest.mark.parametrize(
    "path", ["services", "service_at_locations", "taxonomies", "taxonomy_terms", "organizations"]
)
def test_unknown_ids_are_404_with_a_json_body(client, path):
    response = client.get(f"/oruk/{path}/{UNKNOWN}")
    assert response.status_code == 404
    assert response.is_json and response.json["error"]["code"] == "not_found"
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_per_page_defaults_to_twenty(client):
    body = _get(client, "/oruk/services")
    assert (body["size"], body["total_items"], body["total_pages"]) == (20, 24, 2)


def test_taxonomy_id_and_organization_id_filter(client, ids):
    taxonomy_id = _get(client, "/oruk/taxonomies")["contents"][0]["id"]
    organization_id = _get(client, "/oruk/organizations")["contents"][0]["id"]
    for path in ("/oruk/services", "/oruk/service_at_locations"):
        assert _service_ids(client, path, taxonomy_id=UNKNOWN) == set()
        assert _service_ids(client, path, organization_id=UNKNOWN) == set()
        assert _service_ids(client, path, taxonomy_id=taxonomy_id) == set(ids.values())
        assert _service_ids(client, path, organization_id=organization_id) == set(ids.values())


def test_minimal_is_the_required_fields_and_last_modified_and_full_is_nested(client, ids):
    """minimal's own words ("just id and modified_date") yield to the page schema /services names,
    whose items need id, name and status: a minimal page must validate like any other."""
    page = _get(client, "/oruk/services", minimal="true", per_page=100)
    assert_valid(schema("service_list.json"), page)
    minimal = page["contents"]
    assert len(minimal) == 24
    assert all(set(item) == {"id", "name", "status", "last_modified"} for item in minimal)
    assert {item["id"] for item in minimal} == set(ids.values())
    full = _get(client, "/oruk/services", full="true", per_page=5)["contents"]
    for service in full:
        assert_valid(schema("service.json"), service)
        assert service["service_at_locations"] and "schedules" in service
    located = _get(client, "/oruk/service_at_locations", full="true", per_page=5)["contents"]
    for item in located:
        assert_valid(schema("service_at_location.json"), item)
        assert item["location"]["addresses"]
    response = client.get("/oruk/services", query_string={"minimal": "true", "full": "true"})
    assert response.status_code == 422 and "minimal" in response.json["error"]["fields"]


def test_format_ndjson_streams_every_item_without_pages(client, ids):
    response = client.get("/oruk/services", query_string={"format": "ndjson", "per_page": 5})
    assert response.status_code == 200
    assert response.mimetype == "application/x-ndjson"
    lines = [json.loads(line) for line in response.get_data(as_text=True).splitlines()]
    assert {line["id"] for line in lines} == set(ids.values())
    bad = client.get("/oruk/taxonomies", query_string={"format": "xml"})
    assert bad.status_code == 422 and "format" in bad.json["error"]["fields"]


def test_search_filters_taxonomies_terms_and_organizations(client):
    assert _get(client, "/oruk/taxonomy_terms", search="midwife")["total_items"] == 1
    assert _get(client, "/oruk/taxonomies", search="no such thing")["empty"] is True
    assert _get(client, "/oruk/organizations", search="children")["total_items"] == 1
    assert _get(client, "/oruk/organizations", search="hospital")["empty"] is True


def test_taxonomy_terms_filter_by_taxonomy_parent_and_top_only(client):
    taxonomy_id = _get(client, "/oruk/taxonomies")["contents"][0]["id"]
    count = len(SERVICE_TYPES)
    assert _get(client, "/oruk/taxonomy_terms", taxonomy_id=taxonomy_id, per_page=100)["size"] == count
    assert _get(client, "/oruk/taxonomy_terms", taxonomy_id=UNKNOWN)["empty"] is True
    assert _get(client, "/oruk/taxonomy_terms", parent_id=BY_ID["childcare"].term_id)["empty"] is True
    assert _get(client, "/oruk/taxonomy_terms", top_only="true", per_page=100)["size"] == count


def test_organizations_full_and_full_service(client):
    plain = _get(client, "/oruk/organizations")["contents"][0]
    assert "organization_identifiers" not in plain and "services" not in plain
    full = _get(client, "/oruk/organizations", full="true", full_service="true")
    assert_valid(schema("organization_list.json"), full)
    (organization,) = full["contents"]
    assert organization["organization_identifiers"] == [] and len(organization["services"]) == 24


class PointGeocoder:
    """Locates every postcode at one point: the Princes Park sample centre."""

    def locate(self, postcode: str) -> tuple[float, float]:
        return (53.3932, -2.9598)


def test_proximity_zero_is_allowed_and_means_at_the_point(make_app, ids):
    client = make_app(geocoder=PointGeocoder()).test_client()
    assert _service_ids(client, "/oruk/service_at_locations", postcode="L8 0ZZ", proximity=0) == {
        ids["princes-park"]
    }


def test_proximity_that_cannot_apply_is_400_naming_it(client):
    for params in ({"proximity": 500}, {"postcode": "L8", "proximity": 500}):
        response = client.get("/oruk/service_at_locations", query_string=params)
        assert response.status_code == 400, params
        assert "proximity" in response.json["error"]["fields"]
        assert response.headers["Access-Control-Allow-Origin"] == "*"
