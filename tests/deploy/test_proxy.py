"""The real Caddy (Debian's package) with deploy/caddy/Caddyfile, on loopback, in
front of the web front end and the contacts service running under gunicorn.

Clients reach Caddy from different loopback addresses (127.0.0.2, 127.0.0.3...),
so each is a different client as far as Caddy and the services can tell.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import ssl
import subprocess
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from ccshared.store import connect as connect_store
from contacts.repository import CENTRES
from directory.sample import sample_ids

from tests.infra.common import free_port, tail_lines
from tests.infra.payloads import REFERRAL
from tests.infra.pytest_support import require_tools
from tests.infra.system import System
from tests.infra.waiting import wait_for

REPO = Path(__file__).resolve().parents[2]
CADDYFILE = REPO / "deploy" / "caddy" / "Caddyfile"
CADDY = os.environ.get("CADDY_BINARY") or shutil.which("caddy") or "/usr/bin/caddy"
SITE, PARTNER_API = "localhost", "api.localhost"
SLOW_CLIENTS = 200
READ_HEADER_TIMEOUT_S = 2


@dataclass
class Proxy:
    https_port: int
    http_port: int
    context: ssl.SSLContext
    system: System

    def connect(self, site: str, source: str = "127.0.0.1", timeout: float = 10.0) -> ssl.SSLSocket:
        """A TLS connection to Caddy for `site` (SNI), from the loopback address `source`."""
        raw = socket.create_connection(
            ("127.0.0.1", self.https_port), timeout=timeout, source_address=(source, 0)
        )
        return self.context.wrap_socket(raw, server_hostname=site)

    def request(
        self,
        site: str,
        path: str,
        *,
        method: str = "GET",
        headers: dict[str, str] | None = None,
        body: bytes | Iterable[bytes] | None = None,
        source: str = "127.0.0.1",
        timeout: float = 10.0,
    ) -> tuple[int, http.client.HTTPMessage, bytes]:
        connection = http.client.HTTPConnection(site, self.https_port, timeout=timeout)
        connection.sock = self.connect(site, source, timeout)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            answer = connection.getresponse()
            return answer.status, answer.headers, answer.read()
        finally:
            connection.close()


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    require_tools(
        "proxy",
        [] if Path(CADDY).exists() else [f"caddy: {REPO}/scripts/test-deps.sh (apt-get install caddy)"],
    )
    root = tmp_path_factory.mktemp("proxy")
    system = System(
        root / "system",
        f"sqlite:///{root}/events.db",
        lambda name: f"sqlite:///{root}/{name}.db",
        services=("directory", "contacts", "web"),
        extra_env={
            "LOG_LEVEL": "WARNING",
            "TRUSTED_PROXY_HOPS": "1",
            "WEB_CONCURRENCY": "2",
            "CONTACTS_PARTNER_RATE_LIMIT": "3/3600",
        },
    )
    https_port, http_port = free_port(), free_port()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(root),
        "XDG_DATA_HOME": str(root / "data"),
        "XDG_CONFIG_HOME": str(root / "config"),
        "PROXY_ADMIN": "off",
        "PROXY_BIND": "127.0.0.1",
        "PROXY_HTTPS_PORT": str(https_port),
        "PROXY_HTTP_PORT": str(http_port),
        "PROXY_TLS": "internal",
        "PROXY_READ_HEADER_TIMEOUT": f"{READ_HEADER_TIMEOUT_S}s",
        "SITE_DOMAIN": SITE,
        "PARTNER_API_DOMAIN": PARTNER_API,
        "PROXY_WEB_UPSTREAM": f"127.0.0.1:{system.ports['web']}",
        "PROXY_PARTNER_API_UPSTREAM": f"127.0.0.1:{system.ports['contacts']}",
        "PROXY_DIRECTORY_UPSTREAM": f"127.0.0.1:{system.ports['directory']}",
    }
    root_ca = root / "data" / "caddy" / "pki" / "authorities" / "local" / "root.crt"
    caddy: subprocess.Popen | None = None
    log_path = root / "caddy.log"
    try:
        system.command("directory", "load-sample")
        system.start()
        with log_path.open("ab") as log:
            caddy = subprocess.Popen(
                [CADDY, "run", "--config", str(CADDYFILE), "--adapter", "caddyfile"],
                cwd=root,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_for(lambda: root_ca.exists() or caddy.poll() is not None, 30, "Caddy's local CA")
        assert caddy.poll() is None, tail_lines(log_path, 40)
        context = ssl.create_default_context(cafile=str(root_ca))
        running = Proxy(https_port, http_port, context, system)
        wait_for(lambda: _answers(running), 30, "Caddy to serve both sites over TLS")
        yield running
    finally:
        if caddy is not None:
            caddy.terminate()
            caddy.wait(timeout=15)
        system.stop()


def _answers(proxy: Proxy) -> bool:
    try:
        return all(proxy.request(site, "/healthz", timeout=3)[0] == 200 for site in (SITE, PARTNER_API))
    except (OSError, ssl.SSLError, http.client.HTTPException):
        return False


def _slow_body(connect_to: socket.socket, host: str, path: str) -> socket.socket:
    """Headers in full, then 2 bytes of a 1,000-byte JSON body, and nothing more."""
    connect_to.sendall(
        (
            f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            'Content-Length: 1000\r\n\r\n{"'
        ).encode()
    )
    return connect_to


def _still_open(connection: socket.socket) -> bool:
    """True while the peer has neither answered nor closed the connection."""
    connection.setblocking(False)
    try:
        connection.recv(1)
    except (BlockingIOError, ssl.SSLWantReadError):
        return True
    except OSError:
        return False
    finally:
        connection.setblocking(True)
    return False


def _close_all(connections: list[socket.socket]) -> None:
    for connection in connections:
        try:
            connection.close()
        except OSError:
            pass


def _healthz_direct(proxy: Proxy, name: str, timeout: float) -> int:
    return requests.get(f"{proxy.system.url(name)}/healthz", timeout=timeout).status_code


def test_proxy_answers_healthz_within_a_second_with_200_slow_body_clients_open(proxy: Proxy) -> None:
    slow: list[socket.socket] = []
    try:
        for n in range(SLOW_CLIENTS):
            site, path = (PARTNER_API, "/api/v1/referrals") if n % 2 else (SITE, "/sign-in")
            slow.append(_slow_body(proxy.connect(site), site, path))
        for site in (SITE, PARTNER_API):
            started = time.monotonic()
            status, _, _ = proxy.request(site, "/healthz", timeout=5)
            elapsed = time.monotonic() - started
            assert status == 200
            assert elapsed < 1.0, f"{site}/healthz took {elapsed:.2f}s through the proxy"
        assert all(_still_open(connection) for connection in slow), "the slow clients were still sending"
        for name in ("web", "contacts"):
            assert _healthz_direct(proxy, name, timeout=5) == 200, (
                f"the proxy held the slow bodies from {name}"
            )
    finally:
        _close_all(slow)


def test_slow_headers_are_cut_off_by_the_proxy(proxy: Proxy) -> None:
    connection = proxy.connect(SITE)
    try:
        connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n")
        connection.settimeout(READ_HEADER_TIMEOUT_S + 10)
        answer = connection.recv(4096)
        assert answer == b"" or answer.startswith(b"HTTP/1.1 408"), answer[:200]
    except (ConnectionResetError, ssl.SSLError):
        pass
    finally:
        connection.close()


@pytest.mark.parametrize("site", [SITE, PARTNER_API])
def test_proxy_speaks_tls_with_hsts_and_refuses_oversized_bodies(proxy: Proxy, site: str) -> None:
    status, headers, _ = proxy.request(site, "/healthz")
    assert status == 200
    assert headers.get_all("Strict-Transport-Security") == ["max-age=31536000"]
    assert "Server" not in headers
    status, headers, _ = proxy.request(
        site,
        "/api/v1/referrals",
        method="POST",
        headers={"Content-Type": "application/json"},
        body=b"[" + b"0," * 140_000 + b"0]",
    )
    assert status == 413
    assert headers["Strict-Transport-Security"] == "max-age=31536000"


def _chunked(document: dict, padding: int) -> Iterator[bytes]:
    """The JSON document and `padding` spaces after it, sent in 64 KiB chunks (no Content-Length).
    JSON allows the spaces, so any leading part that holds the whole document still parses."""
    body = json.dumps(document).encode() + b" " * padding
    return (body[start : start + 65_536] for start in range(0, len(body), 65_536))


def _referral_count(proxy: Proxy) -> int:
    """Referrals the contacts service holds, asked of it directly (as staff), not through Caddy."""
    answer = requests.get(
        f"{proxy.system.url('contacts')}/api/v1/contacts",
        params={"channel": "referral", "per_page": 1},
        headers=proxy.system.staff("contacts"),
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["total"]


def _agency_key(proxy: Proxy) -> str:
    printed = proxy.system.command("contacts", "agency-key", "create", "--agency", "Test Proxy Agency").stdout
    return next(line.split(":", 1)[1].strip() for line in printed.splitlines() if line.startswith("API key:"))


def test_a_chunked_body_over_the_limit_is_refused_and_never_acted_on(proxy: Proxy) -> None:
    """Without a Content-Length Caddy learns the size only by reading: past 256 KiB it answers
    413, but has begun passing the first 256 KiB on, and the service must not take that for
    the whole body (the audit's case: the referral was created)."""
    centre_id = _a_centre()
    centres = connect_store(proxy.system.store_url("contacts")).collection(CENTRES)
    wait_for(lambda: centres.get(centre_id) is not None, 30, "the contacts service to know the centre")
    referral = {**REFERRAL, "centre_id": centre_id}
    headers = {"X-API-Key": _agency_key(proxy), "Content-Type": "application/json"}
    before = _referral_count(proxy)

    status, _, body = proxy.request(
        PARTNER_API, "/api/v1/referrals", method="POST", headers=headers, body=_chunked(referral, 300_000)
    )
    assert status == 413, body[:500]
    status, _, body = proxy.request(
        PARTNER_API, "/api/v1/referrals", method="POST", headers=headers, body=_chunked(referral, 100_000)
    )
    assert status == 201, body[:500]
    assert _referral_count(proxy) == before + 1, "the refused body was made into a referral as well"


def test_plain_http_is_redirected_to_https(proxy: Proxy) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", proxy.http_port, timeout=10)
    try:
        connection.request("GET", "/find", headers={"Host": SITE})
        answer = connection.getresponse()
        assert answer.status == 308
        assert answer.headers["Location"].startswith(f"https://{SITE}")
    finally:
        connection.close()


def _a_centre() -> str:
    return next(iter(sample_ids().values()))


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/contacts",
        "/api/v1/internal/agencies/x",
        "/metrics",
        "/readyz",
        # the directory's staff routes, beside its public reads
        "/api/v1/centres/stale",
        "/api/v1/centres/stal%65",
        "/api/v1/centres/{centre}/audit",
        "/api/v1/centres/{centre}%2Faudit",
        "/api/v1/centres/x/../stale",
        "/api/v1/partner-feeds",
    ],
)
def test_partner_api_site_serves_the_partner_api_only(proxy: Proxy, path: str) -> None:
    status, _, body = proxy.request(PARTNER_API, path.format(centre=_a_centre()))
    assert status == 404
    assert b"not a partner API path" in body


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/v1/centres"),
        ("PATCH", "/api/v1/centres/{centre}"),
        ("POST", "/api/v1/centres/{centre}/verify"),
        ("POST", "/api/v1/partner-services/x/hide"),
    ],
)
def test_the_directorys_staff_writes_are_not_published(proxy: Proxy, method: str, path: str) -> None:
    status, _, body = proxy.request(
        PARTNER_API,
        path.format(centre=_a_centre()),
        method=method,
        headers={"Content-Type": "application/json"},
        body=b"{}",
    )
    assert status == 404 and b"not a partner API path" in body


def test_partner_api_site_publishes_the_directorys_public_read_api(proxy: Proxy) -> None:
    """README promises a public API: partners read the centres and the support_needed codes."""
    status, _, body = proxy.request(PARTNER_API, "/api/v1/services-list")
    assert status == 200, body[:500]
    assert json.loads(body)["items"]
    status, _, body = proxy.request(PARTNER_API, "/api/v1/centres?per_page=2")
    assert status == 200, body[:500]
    page = json.loads(body)
    assert page["total"] >= 1 and len(page["items"]) <= 2
    centre = _a_centre()
    status, headers, body = proxy.request(PARTNER_API, f"/api/v1/centres/{centre}")
    assert status == 200, body[:500]
    assert json.loads(body)["id"] == centre and headers["ETag"]


def test_partner_api_site_passes_the_partner_api_on(proxy: Proxy) -> None:
    status, _, body = proxy.request(PARTNER_API, "/api/v1/referrals", source="127.0.0.5")
    assert status == 401 and b"X-API-Key" in body


def test_partner_api_site_publishes_the_partner_document_and_not_the_whole_one(proxy: Proxy) -> None:
    """Partners read the operations they can call; the staff and internal ones stay inside."""
    status, _, body = proxy.request(PARTNER_API, "/api/v1/referrals/openapi.json")
    assert status == 200, body[:500]
    paths = set(json.loads(body)["paths"])
    assert "/api/v1/referrals" in paths and all(path.startswith("/api/v1/referrals") for path in paths)
    status, _, body = proxy.request(PARTNER_API, "/openapi.json")
    assert status == 404 and b"not a partner API path" in body


def test_partner_api_site_publishes_the_open_referral_feed(proxy: Proxy) -> None:
    """The ORUK validator and other directories read /oruk/ from outside, over TLS."""
    status, headers, body = proxy.request(PARTNER_API, "/oruk/services?per_page=1")
    assert status == 200, body
    assert headers["Access-Control-Allow-Origin"] == "*"
    page = json.loads(body)
    assert page["size"] == 1 and page["total_items"] >= 1
    status, _, body = proxy.request(PARTNER_API, "/oruk/")
    assert status == 200 and json.loads(body)["version"].startswith("3.")


def test_the_feeds_openapi_url_answers_with_the_feeds_document_through_the_proxy(proxy: Proxy) -> None:
    """Not the partner API's document (/api/v1/referrals/openapi.json) on the same host."""
    status, _, body = proxy.request(PARTNER_API, "/oruk/")
    url = urlsplit(json.loads(body)["openapi_url"])
    assert url.hostname == PARTNER_API
    status, _, body = proxy.request(PARTNER_API, url.path)
    assert status == 200, body[:500]
    document = json.loads(body)
    assert {"/", "/services", "/services/{service_id}"} <= set(document["paths"])
    assert not any(path.startswith("/api/v1/referrals") for path in document["paths"])


def test_the_feed_is_read_only_through_the_proxy(proxy: Proxy) -> None:
    status, _, body = proxy.request(PARTNER_API, "/oruk/services", method="POST", body=b"{}")
    assert status == 404 and b"not a partner API path" in body


def _bad_key_calls(proxy: Proxy, source: str, count: int, spoof: bool = False) -> list[int]:
    statuses = []
    for _ in range(count):
        headers = {"X-API-Key": "cck_not-a-key"}
        if spoof:
            headers["X-Forwarded-For"] = f"198.51.100.{uuid.uuid4().int % 250 + 1}"
        statuses.append(proxy.request(PARTNER_API, "/api/v1/referrals", headers=headers, source=source)[0])
    return statuses


def test_rate_limits_count_per_client_behind_the_proxy(proxy: Proxy) -> None:
    assert _bad_key_calls(proxy, "127.0.0.2", 4) == [401, 401, 401, 429]
    assert _bad_key_calls(proxy, "127.0.0.3", 1) == [401], "another client keeps its own count"


def test_a_client_cannot_choose_its_address_with_x_forwarded_for(proxy: Proxy) -> None:
    assert _bad_key_calls(proxy, "127.0.0.4", 4, spoof=True) == [401, 401, 401, 429]
