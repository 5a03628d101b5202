"""The OpenAPI document is valid OpenAPI 3 and describes what clients rely on."""

from __future__ import annotations

from openapi_spec_validator import validate


def test_openapi_document_validates(client):
    document = client.get("/openapi.json").json
    validate(document)


def test_openapi_document_names_the_routes_and_the_staff_token(client):
    document = client.get("/openapi.json").json
    assert {
        "/api/v1/centres",
        "/api/v1/centres/{centre_id}",
        "/api/v1/centres/stale",
        "/api/v1/centres/{centre_id}/verify",
        "/api/v1/centres/{centre_id}/close",
        "/api/v1/centres/{centre_id}/audit",
        "/api/v1/services-list",
        "/oruk/",
        "/oruk/services",
        "/oruk/services/{service_id}",
        "/oruk/service_at_locations",
    } <= set(document["paths"])
    assert document["components"]["securitySchemes"]["staffToken"]["scheme"] == "bearer"
    patch = document["paths"]["/api/v1/centres/{centre_id}"]["patch"]
    assert patch["security"] == [{"staffToken": []}]
    assert any(p["name"] == "If-Match" and p["required"] for p in patch["parameters"])
    search = {p["name"] for p in document["paths"]["/api/v1/centres"]["get"]["parameters"]}
    assert {
        "q",
        "service",
        "ward",
        "place",
        "area",
        "postcode",
        "open_now",
        "lat",
        "lon",
        "radius_km",
        "page",
        "per_page",
    } <= search


def test_openapi_document_says_the_stale_list_marks_sample_centres(client):
    schemas = client.get("/openapi.json").json["components"]["schemas"]
    assert schemas["StaleCentre"]["properties"]["sample"] == schemas["Centre"]["properties"]["sample"]
    assert "SAMPLE" in schemas["StaleCentre"]["properties"]["sample"]["description"]
