"""The Postcodes.io-compatible geocoder against a small HTTP server of the test's own."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

import pytest
from directory.geocoder import PostcodesIoGeocoder
from directory_testkit import search, slugs_of

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


def test_unknown_postcode_falls_back_to_its_district(make_app, geocoder_url, ids):
    client = make_app(geocoder_url=geocoder_url).test_client()
    result = search(client, postcode="L25 0ZZ")
    assert result["located_by"] == "district"
    assert slugs_of(result, ids) == {"hunts-cross", "woolton", "belle-vale"}
    assert all(item["distance_km"] is None for item in result["items"])


def test_geocoder_outage_falls_back_to_the_district(make_app, unreachable_url, ids):
    client = make_app(geocoder_url=unreachable_url).test_client()
    result = search(client, postcode="L24 0ZZ")
    assert result["located_by"] == "district"
    assert slugs_of(result, ids) == {"speke"}


def test_without_a_geocoder_a_full_postcode_matches_its_district(client, ids):
    result = search(client, postcode="L8 0ZZ")
    assert result["located_by"] == "district"
    assert slugs_of(result, ids) == {"riverside", "princes-park"}
    assert search(client, postcode="L8")["located_by"] == "district"
    assert search(client)["located_by"] is None


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
