"""Every path of ../shared/oruk-3.0/openapi.json, judged as the ORUK validator judges a feed (issue 15, part 3).

For each list: page 1, a middle page and the last page validate against the
schema the document names, and obey the pagination rules (first_page only
on page 1, last_page only on the last, empty exactly when there are no
items, size = the items on the page). For each `{id}` path: up to ten ids
taken from its list validate, and an unknown one is 404 with a JSON body.
Every answer, errors included, may be read from any origin.
"""

from __future__ import annotations

import pytest
from oruk_validator import assert_valid, paths, schema_url

PATHS = paths()
LISTS = [path for path in PATHS if path != "/" and "{" not in path]
BY_ID = [path for path in PATHS if path.endswith("/{id}")]
UNKNOWN = "00000000-0000-4000-8000-000000000000"


def _get(client, url: str, **params):
    response = client.get(url, query_string=params)
    assert response.headers.get("Access-Control-Allow-Origin") == "*", url
    return response


def _assert_page_rules(body: dict, page: int) -> None:
    last = body["total_pages"]
    assert body["page_number"] == page
    assert body["first_page"] is (page == 1)
    assert body["last_page"] is (page >= last)
    assert body["size"] == len(body["contents"])
    assert body["empty"] is (not body["contents"])


def _pages_to_check(total_pages: int) -> list[int]:
    return sorted({1, max(1, (total_pages + 1) // 2), max(1, total_pages)})


def test_the_document_has_the_eleven_paths():
    assert len(PATHS) == 11
    assert set(BY_ID) == {f"{path}/{{id}}" for path in LISTS}


def test_root(client):
    response = _get(client, "/oruk/")
    assert response.status_code == 200
    assert_valid(schema_url("/"), response.json)


@pytest.mark.parametrize("path", LISTS)
def test_list_first_middle_and_last_pages(client, path):
    first = _get(client, f"/oruk{path}").json
    per_page = max(1, first["total_items"] // 5)
    total_pages = _get(client, f"/oruk{path}", per_page=per_page).json["total_pages"]
    assert total_pages >= 1
    for page in _pages_to_check(total_pages):
        response = _get(client, f"/oruk{path}", page=page, per_page=per_page)
        assert response.status_code == 200, response.json
        assert_valid(schema_url(path), response.json)
        _assert_page_rules(response.json, page)
        assert response.json["total_pages"] == total_pages
        assert response.json["empty"] is False
    beyond = _get(client, f"/oruk{path}", page=total_pages + 1, per_page=per_page)
    assert beyond.status_code == 200
    assert_valid(schema_url(path), beyond.json)
    _assert_page_rules(beyond.json, total_pages + 1)
    assert beyond.json["empty"] is True and beyond.json["size"] == 0


def test_the_minimal_services_list_validates_on_every_page_checked(client):
    total_pages = _get(client, "/oruk/services", minimal="true", per_page=5).json["total_pages"]
    for page in _pages_to_check(total_pages):
        response = _get(client, "/oruk/services", minimal="true", page=page, per_page=5)
        assert response.status_code == 200, response.json
        assert_valid(schema_url("/services"), response.json)
        _assert_page_rules(response.json, page)


@pytest.mark.parametrize("path", LISTS)
def test_an_empty_list_keeps_the_rules(client, path):
    response = _get(client, f"/oruk{path}", search="no such thing anywhere")
    assert response.status_code == 200
    assert_valid(schema_url(path), response.json)
    _assert_page_rules(response.json, 1)
    assert response.json["empty"] is True and response.json["total_items"] == 0


@pytest.mark.parametrize("path", BY_ID)
def test_up_to_ten_ids_from_the_list_validate(client, path):
    listing = path.removesuffix("/{id}")
    contents = _get(client, f"/oruk{listing}", per_page=10).json["contents"]
    assert contents, listing
    for item in contents[:10]:
        response = _get(client, f"/oruk{listing}/{item['id']}")
        assert response.status_code == 200, response.json
        assert_valid(schema_url(path), response.json)
        assert response.json["id"] == item["id"]


@pytest.mark.parametrize("path", BY_ID)
def test_an_unknown_id_is_404_with_a_json_body(client, path):
    response = _get(client, "/oruk" + path.replace("{id}", UNKNOWN))
    assert response.status_code == 404
    assert response.is_json and response.json["error"]["status"] == 404


@pytest.mark.parametrize("path", LISTS)
def test_bad_parameters_are_refused_readably_from_any_origin(client, path):
    response = _get(client, f"/oruk{path}", per_page=0)
    assert response.status_code == 422
    assert "per_page" in response.json["error"]["fields"]


def test_unknown_paths_under_the_feed_are_json_404_from_any_origin(client):
    response = _get(client, "/oruk/no_such_path")
    assert response.status_code == 404 and response.is_json
