"""A partner's Open Referral UK feed on loopback: real HTTP, the specification's examples, and ways to break it.

`FeedServer` serves GET /services as ORUK 3.0 pages built from
../shared/oruk-3.0/examples/service_full.json (the specification's fully
nested service, as published) plus a few copies of it with their own ids,
names, ages, languages, costs and places in Liverpool, all obviously fake.
It honours page / per_page / full, sends an ETag and Last-Modified, and
answers 304 to a matching If-None-Match or If-Modified-Since.

Like many real feeds it caps per_page (`max_per_page`), which is how a test
makes a feed of a few services span pages.

`mode` breaks it on purpose: "500", "invalid_json", "schema_invalid" (a
service whose status is outside the vocabulary), "bad_page_2" (page 1 is fine,
page 2 is not), "slow" (answers after `slow_seconds`), "dribble" (sends its answer
50 bytes at a time, every `dribble_seconds`), "too_large". `stop()`
closes the socket, so the URL then refuses connections (a feed that is down).
"""

from __future__ import annotations

import copy
import hashlib
import json
import threading
import uuid
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ccshared.service_types import BY_ID

EXAMPLES = Path(__file__).resolve().parents[3] / "shared" / "oruk-3.0" / "examples"
EXAMPLE_ORGANISATION = "Example Organization Inc."


def example(name: str) -> dict[str, Any]:
    return json.loads((EXAMPLES / name).read_text())


def the_example_service() -> dict[str, Any]:
    """The specification's fully nested service, exactly as published."""
    return example("service_full.json")


def the_example_list() -> dict[str, Any]:
    """The specification's example page of GET /services."""
    return example("service_list.json")


def partner_service(
    name: str,
    *,
    ages: tuple[int, int] = (0, 5),
    languages: tuple[str, ...] = ("English",),
    amount: float | None = 0,
    offers: str | None = "stay-and-play",
    place: tuple[float, float, str] | None = (53.4084, -2.9916, "L1 0AA"),
    status: str = "active",
    organisation: str = "Test Partner Charity",
) -> dict[str, Any]:
    """A copy of the example service with its own id and the facts the public search filters on."""
    record = the_example_service()
    service_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"test-partner-service:{name}"))
    record.update(
        id=service_id,
        name=name,
        description=f"Test description of {name}.",
        minimum_age=ages[0],
        maximum_age=ages[1],
        status=status,
        assured_date="2026-10-01",
    )
    record["organization"] = {**record["organization"], "name": organisation}
    record["languages"] = [
        {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{service_id}:{lang}")), "name": lang}
        for lang in languages
    ]
    record["cost_options"] = (
        [] if amount is None else [{**record["cost_options"][0], "amount": amount, "option": "Per session"}]
    )
    record["attributes"] = []
    if offers:
        offered = BY_ID[offers]
        attribute = the_example_service()["attributes"][0]
        term = {
            **attribute["taxonomy_term"],
            "id": offered.term_id,
            "name": offered.label,
            "term": offered.id,
        }
        record["attributes"] = [{**attribute, "taxonomy_term_id": offered.term_id, "taxonomy_term": term}]
    sal = record["service_at_locations"][0]
    if place is None:
        record["service_at_locations"] = []
    else:
        location = sal["location"]
        location.update(latitude=place[0], longitude=place[1])
        location["addresses"][0]["postal_code"] = place[2]
    return record


def summary(record: dict[str, Any]) -> dict[str, Any]:
    """The one-to-one fields of a service: an item of the list when `full` is not asked for."""
    return {k: v for k, v in record.items() if not isinstance(v, list)}


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        feed = self.server.feed
        feed.record(self.path, dict(self.headers))
        url = urlsplit(self.path)
        if url.path.rstrip("/") != feed.prefix + "/services":
            return self._send(404, b'{"error": "not found"}')
        if feed.mode == "slow" and feed.released.wait(feed.slow_seconds):
            return None
        if feed.mode == "500":
            return self._send(500, b'{"error": "test failure"}')
        if feed.mode == "invalid_json":
            return self._send(200, b'{"contents": [ this is not json')
        args = {k: v[0] for k, v in parse_qs(url.query).items()}
        page = int(args.get("page", 1))
        per_page = min(int(args.get("per_page", 20)), feed.max_per_page)
        body = json.dumps(feed.page(page, per_page, args.get("full") == "true")).encode()
        if feed.mode == "too_large":
            body += b" " * (feed.large_bytes - len(body))
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        modified = format_datetime(feed.last_modified, usegmt=True)
        if self.headers.get("If-None-Match") == etag or (
            self.headers.get("If-Modified-Since") == modified and not self.headers.get("If-None-Match")
        ):
            return self._send(304, b"", {"ETag": etag})
        return self._send(200, body, {"ETag": etag, "Last-Modified": modified})

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        if status != 304:
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if status != 304:
            pieces = (
                [body]
                if self.server.feed.mode != "dribble"
                else [body[i : i + 50] for i in range(0, len(body), 50)]
            )
            try:
                for piece in pieces:
                    self.wfile.write(piece)
                    self.wfile.flush()
                    if len(pieces) > 1 and self.server.feed.released.wait(self.server.feed.dribble_seconds):
                        return
            except OSError:
                pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    feed: FeedServer


class FeedServer:
    def __init__(
        self, services: list[dict[str, Any]] | None = None, prefix: str = "/oruk", max_per_page: int = 100
    ):
        self.services = [the_example_service()] if services is None else services
        self.prefix = prefix
        self.max_per_page = max_per_page
        self.mode = "ok"
        self.slow_seconds = 5.0
        self.dribble_seconds = 0.1
        self.large_bytes = 0
        self.last_modified = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
        self.released = threading.Event()
        self.requests: list[tuple[str, dict[str, str]]] = []
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.feed = self
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="feed-server", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.prefix}"

    def record(self, path: str, headers: dict[str, str]) -> None:
        with self._lock:
            self.requests.append((path, headers))

    def page(self, page: int, per_page: int, full: bool) -> dict[str, Any]:
        items = [copy.deepcopy(s) if full else summary(s) for s in self.services]
        if self.mode == "schema_invalid":
            items[0] = {**items[0], "status": "open sometimes"}
        total_pages = -(-len(items) // per_page) if items else 0
        contents = items[(page - 1) * per_page : page * per_page]
        if self.mode == "bad_page_2" and page == 2:
            contents = [{**contents[0], "id": "not-a-uuid"}]
        return {
            "total_items": len(items),
            "total_pages": total_pages,
            "page_number": page,
            "size": len(contents),
            "first_page": page == 1,
            "last_page": page >= total_pages,
            "empty": not contents,
            "contents": contents,
        }

    def changed(self) -> None:
        """The partner edited its feed: a new Last-Modified (the ETag follows the body)."""
        self.last_modified += timedelta(hours=1)

    def stop(self) -> None:
        self.released.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
