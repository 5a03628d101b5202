"""Security headers on every response of every service: pages, API answers,
errors (401, 404, 405, 413, 415, 422, 429) and the ops endpoints."""

from __future__ import annotations

from pathlib import Path

import pytest
from ccshared.web import provided
from contacts.api import Services
from flask import Flask
from frontend.views import Context
from hostile_testkit import Stack, bearer, stack
from prometheus_client import REGISTRY

REQUIRED = ("X-Content-Type-Options", "X-Frame-Options", "Content-Security-Policy", "Referrer-Policy")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Stack:
    return stack(tmp_path_factory.mktemp("headers"))


def _apps(built: Stack) -> dict[str, Flask]:
    return {**built.backends(), "web": built.web}


def _requests(name: str) -> list[tuple[str, str, dict]]:
    common = [
        ("GET", "/healthz", {}),
        ("GET", "/readyz", {}),
        ("GET", "/metrics", {}),
        ("GET", "/openapi.json", {}),
        ("GET", "/no-such-page", {}),
        ("DELETE", "/healthz", {}),
    ]
    api = {
        "directory": [
            ("GET", "/api/v1/centres?page=0", {}),
            ("POST", "/api/v1/centres", {"data": b"x=1", "content_type": "text/plain"}),
            ("POST", "/api/v1/centres", {"data": b" " * 300_000, "content_type": "application/json"}),
            ("GET", "/api/v1/centres/stale", {}),
            ("GET", "/oruk/services", {}),
        ],
        "contacts": [
            ("GET", "/api/v1/contacts", {}),
            ("GET", "/api/v1/contacts", {"headers": bearer("staff", "north", to="contacts")}),
            ("GET", "/api/v1/referrals", {"headers": {"X-API-Key": "cck_wrong"}}),
        ],
        "sla-monitor": [("GET", "/api/v1/due", {}), ("GET", "/api/v1/clocks", {})],
        "notifier": [("GET", "/api/v1/messages", {}), ("GET", "/api/v1/notifications", {})],
        "web": [
            ("GET", "/", {}),
            ("GET", "/sign-in", {}),
            ("POST", "/sign-in", {"data": {"username": "x"}}),
            ("GET", "/staff/today", {}),
            ("GET", "/static/no-such-file.css", {}),
        ],
    }
    return common + api[name]


def test_hostile_security_headers_on_every_response(built: Stack) -> None:
    seen = set()
    for name, app in _apps(built).items():
        client = app.test_client()
        for method, path, options in _requests(name):
            response = client.open(path, method=method, **options)
            seen.add(response.status_code)
            missing = [header for header in REQUIRED if not response.headers.get(header)]
            assert not missing, f"{name} {method} {path} -> {response.status_code} lacks {missing}"
            assert response.headers["X-Content-Type-Options"] == "nosniff"
            assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
            assert response.headers["X-Frame-Options"] == "DENY"
    assert {200, 302, 400, 401, 404, 405, 413, 415, 422} <= seen, seen


def test_hostile_rate_limited_answers_carry_headers(built: Stack) -> None:
    limiter = provided(built.contacts.app, Services).partner_limiter
    original = limiter.limit
    from ccshared.ratelimit import Limit

    limiter.limit = Limit(1, 60)
    try:
        client = built.contacts.app.test_client()
        answers = [
            client.get("/api/v1/referrals", headers={"X-API-Key": "cck_wrong-again"}) for _ in range(2)
        ]
    finally:
        limiter.limit = original
    assert answers[-1].status_code == 429
    assert answers[-1].headers["Retry-After"]
    assert answers[-1].headers["X-Content-Type-Options"] == "nosniff"


def test_hostile_metrics_and_errors_are_not_cached(built: Stack) -> None:
    for name, app in _apps(built).items():
        client = app.test_client()
        for path in ("/metrics", "/no-such-page"):
            assert client.get(path).headers.get("Cache-Control") == "no-store", (name, path)


def test_hostile_mail_html_part_is_sandboxed(tmp_path: Path) -> None:
    """The web's mail HTML part is sandboxed on top of the usual headers."""
    built = stack(tmp_path)
    app = built.web
    password = provided(app, Context).desk.create_account("t.po", "principal_officer", None, None, by="t")[1]
    client = app.test_client()
    import re

    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/sign-in").text).group(1)
    client.post("/sign-in", data={"username": "t.po", "password": password, "csrf_token": token})
    html = client.get("/staff/mail/messages/test-message-1/html")
    assert html.status_code == 200
    assert "sandbox" in html.headers["Content-Security-Policy"]
    assert html.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("name", ["directory", "contacts", "sla-monitor", "notifier", "web"])
def test_a_method_a_client_invents_adds_no_metric_series(built: Stack, name: str) -> None:
    """Labels are small fixed sets: a made-up method is counted as "other", not as a new series."""
    answer = _apps(built)[name].test_client().open("/healthz", method="QWERTY1")
    assert 400 <= answer.status_code < 500  # 405; the front end's CSRF check answers 400 first
    methods = {
        sample.labels["method"]
        for family in REGISTRY.collect()
        if family.name == "cc_http_requests"
        for sample in family.samples
        if sample.labels.get("service") == name
    }
    assert "other" in methods and "QWERTY1" not in methods
