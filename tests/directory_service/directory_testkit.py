"""Constants and small helpers shared by the directory's tests."""

from __future__ import annotations

from datetime import UTC, datetime

from flask.testing import FlaskClient

# A Monday in November (London = UTC): the sample centres open 09:00-17:00 on weekdays.
NOW = datetime(2026, 11, 23, 10, 30, tzinfo=UTC)

NEW_CENTRE = {
    "name": "Test New Children's Centre",
    "address": {"line1": "1 Test Street"},
    "postcode": "l1 0aa",
    "ward": "Central",
    "area": "central",
    "phone": "0151 496 0999",
    "email": "test.new@example.org",
    "opening_times": {"monday": [{"opens": "09:00", "closes": "12:00"}]},
    "services": ["stay-and-play", "childcare", "stay-and-play"],
}


def names(response_json: dict) -> list[str]:
    return [item["name"] for item in response_json["items"]]


def slugs_of(response_json: dict, ids: dict[str, str]) -> set[str]:
    by_id = {centre_id: slug for slug, centre_id in ids.items()}
    return {by_id[item["id"]] for item in response_json["items"]}


def slugs_in_order(response_json: dict, ids: dict[str, str]) -> list[str]:
    by_id = {centre_id: slug for slug, centre_id in ids.items()}
    return [by_id[item["id"]] for item in response_json["items"]]


def search(client: FlaskClient, **params: object) -> dict:
    response = client.get("/api/v1/centres", query_string={"per_page": 100, **params})
    assert response.status_code == 200, response.json
    return response.json


def etag(client: FlaskClient, centre_id: str) -> str:
    return client.get(f"/api/v1/centres/{centre_id}").headers["ETag"]
