"""The Postcodes.io-compatible geocoder against a small HTTP server of the test's own."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

import pytest
from directory.geocoder import PostcodesIoGeocoder
from directory_testkit import NEW_CENTRE, search, slugs_in_order, slugs_of

from tests.infra.common import free_port

# Made-up answers of the fake Postcodes.io: near the Speke and the Anfield sample centres.
KNOWN = {"L24 0ZZ": (53.3450, -2.8410), "L4 0ZZ": (53.4335, -2.9615)}


class FakePostcodesIo(BaseHTTPRequestHandler):
    requests: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        FakePostcodesIo.requests.append(self.path)
        postcode = unquote(self.path.removeprefix("/postcodes/"))
        if postcode not in KNOWN:
            self._answer(404, {"status": 404, "error": "Postcode not found"})
            return
        latitude, longitude = KNOWN[postcode]
        self._answer(
            200,
            {"status": 200, "result": {"postcode": postcode, "latitude": latitude, "longitude": longitude}},
        )

    def _answer(self, status: int, body: dict) -> None:
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def geocoder_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakePostcodesIo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    FakePostcodesIo.requests = []
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def unreachable_url() -> str:
    """A loopback port with nothing listening: connections are refused at once."""
    return f"http://127.0.0.1:{free_port()}"


def test_adapter_asks_for_the_postcode_and_reads_coordinates(geocoder_url):
    geocoder = PostcodesIoGeocoder(geocoder_url + "/")
    assert geocoder.locate("L24 0ZZ") == (53.3450, -2.8410)
    assert geocoder.locate("L8 0ZZ") is None
    assert FakePostcodesIo.requests == ["/postcodes/L24%200ZZ", "/postcodes/L8%200ZZ"]


def test_adapter_answers_none_when_the_service_is_down(unreachable_url):
    assert PostcodesIoGeocoder(unreachable_url, timeout=1).locate("L24 0ZZ") is None


def test_full_postcode_search_is_nearest_first(make_app, geocoder_url, ids):
    client = make_app(geocoder_url=geocoder_url).test_client()
    result = search(client, postcode="l24 0zz")
    assert result["located_by"] == "postcode"
    assert result["total"] == 24
    assert result["items"][0]["id"] == ids["speke"]
    distances = [item["distance_km"] for item in result["items"]]
    assert distances == sorted(distances)

    nearby = search(client, postcode="L4 0ZZ", radius_km=1.4)
    assert slugs_of(nearby, ids) == {"anfield", "county", "everton"}


def test_unknown_postcode_is_searched_from_the_middle_of_its_district(make_app, geocoder_url, ids):
    client = make_app(geocoder_url=geocoder_url).test_client()
    result = search(client, postcode="L25 0ZZ")
    assert result["located_by"] == "district_middle"
    assert result["total"] == 24
    assert slugs_in_order(result, ids)[:2] == ["woolton", "hunts-cross"]
    distances = [item["distance_km"] for item in result["items"]]
    assert distances == sorted(distances)


def test_geocoder_outage_searches_from_the_middle_of_the_district(make_app, unreachable_url, ids):
    client = make_app(geocoder_url=unreachable_url).test_client()
    result = search(client, postcode="L24 0ZZ")
    assert result["located_by"] == "district_middle"
    assert result["items"][0]["id"] == ids["speke"]
    assert result["items"][0]["distance_km"] == 0.0


def test_without_a_geocoder_a_district_finds_the_nearest_centres_beyond_it(client, ids):
    # L8's centres offer no speech and language therapy; Kensington, in L7, about 2 km off, does.
    result = search(client, postcode="L8", service="speech-and-language")
    assert result["located_by"] == "district_middle"
    assert result["items"][0]["id"] == ids["kensington"]
    assert result["items"][0]["distance_km"] == pytest.approx(2.0, abs=0.05)
    distances = [item["distance_km"] for item in result["items"]]
    assert distances == sorted(distances)

    full = search(client, postcode="L8 0ZZ")
    assert full["located_by"] == "district_middle"
    assert set(slugs_in_order(full, ids)[:2]) == {"riverside", "princes-park"}
    assert search(client)["located_by"] is None


def test_radius_from_a_district_is_measured_from_its_middle(client, ids):
    result = search(client, postcode="l8", radius_km=1.5)
    assert slugs_of(result, ids) == {"riverside", "princes-park", "city-centre"}


def test_the_middle_of_a_district_counts_its_closed_centres(client, staff, ids):
    closed = client.post(
        f"/api/v1/centres/{ids['princes-park']}/close",
        json={"reason": "Test closure"},
        headers=staff("admin"),
    )
    assert closed.status_code == 200
    result = search(client, postcode="L8")
    assert ids["princes-park"] not in {item["id"] for item in result["items"]}
    assert result["items"][0]["id"] == ids["riverside"]
    assert result["items"][0]["distance_km"] == pytest.approx(0.5, abs=0.05)


def test_a_district_without_a_located_centre_is_matched_exactly(client, staff):
    created = client.post(
        "/api/v1/centres", json={**NEW_CENTRE, "postcode": "L36 0ZZ"}, headers=staff("admin")
    )
    assert created.status_code == 201
    result = search(client, postcode="L36")
    assert result["located_by"] == "district"
    assert [item["id"] for item in result["items"]] == [created.json["id"]]
    assert result["items"][0]["distance_km"] is None
    nowhere = search(client, postcode="L99")
    assert (nowhere["located_by"], nowhere["total"]) == ("district", 0)


def test_oruk_proximity_is_in_metres_from_the_postcode(make_app, geocoder_url, ids):
    client = make_app(geocoder_url=geocoder_url).test_client()
    body = client.get(
        "/oruk/service_at_locations", query_string={"postcode": "L4 0ZZ", "proximity": 1300}
    ).json
    assert {item["service_id"] for item in body["contents"]} == {ids["anfield"], ids["county"]}
    assert body["contents"][0]["service_id"] == ids["anfield"]
    everything = client.get(
        "/oruk/service_at_locations", query_string={"postcode": "L4 0ZZ", "per_page": 100}
    ).json
    assert everything["total_items"] == 24
