"""Rate limits on staff sign-in (web) and the partner API (contacts).

Both count in the service's own store, so every gunicorn worker and instance
shares one count; the tests run two app instances over one store to show it.
Over the limit: 429 with Retry-After, in the error envelope for the API.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from ccshared.ratelimit import Limit, RateLimiter
from ccshared.store import connect
from ccshared.timeutil import FixedClock
from flask.testing import FlaskClient
from hostile_kit import NOW, REFERRAL, bearer, contacts_app, mongo_url, sqlite_url, web_app

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(params=["sqlite", pytest.param("mongo", marks=pytest.mark.mongo)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return sqlite_url(tmp_path, "limits")
    return mongo_url(request.getfixturevalue("mongo").url, request.getfixturevalue("fresh_mongo_db"))


def test_hostile_limiter_counts_across_instances_and_windows(store_url: str) -> None:
    clock = FixedClock(NOW)
    limit = Limit(3, 60)
    first = RateLimiter(connect(store_url).collection("rate_limits"), limit, clock, "t")
    second = RateLimiter(connect(store_url).collection("rate_limits"), limit, clock, "t")
    assert [first.hit("a"), second.hit("a"), first.hit("a")] == [None, None, None]
    retry_after = second.hit("a")
    assert retry_after is not None and 1 <= retry_after <= 60
    assert first.hit("b") is None, "another caller has a count of its own"
    clock.advance(seconds=61)
    assert first.hit("a") is None, "a new window starts afresh"


@pytest.mark.parametrize("raw", ["0/60", "5/0", "x", "-1/10"])
def test_hostile_limit_setting_rejects_nonsense(raw: str) -> None:
    with pytest.raises(ValueError):
        Limit.parse(raw)


def test_hostile_partner_api_is_rate_limited_per_agency(store_url: str, tmp_path: Path) -> None:
    from contacts.config import Settings

    world = contacts_app(store_url, tmp_path, seed=False)
    settings = world.app.extensions["contacts"]
    assert settings.partner_limiter is not None
    settings.partner_limiter.limit = Limit(4, 60)
    client = world.app.test_client()
    own = {"X-API-Key": world.agency_key}
    answers = [client.get("/api/v1/referrals", headers=own).status_code for _ in range(4)]
    assert answers == [200] * 4
    refused = client.post("/api/v1/referrals", json=REFERRAL, headers=own)
    assert refused.status_code == 429
    assert refused.get_json()["error"]["code"] == "too_many_requests"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.headers["X-Content-Type-Options"] == "nosniff"
    other = client.get("/api/v1/referrals", headers={"X-API-Key": world.other_agency_key})
    assert other.status_code == 200, "one agency's burst does not block another"
    staff = client.get("/api/v1/contacts", headers=bearer("principal_officer"))
    assert staff.status_code == 200, "staff calls are not partner calls"
    assert Settings.from_env(
        {
            "STAFF_TOKEN_SECRET": "x",
            "CONTACTS_ENCRYPTION_KEY": _fernet_key(),
            "CONTACTS_BLIND_INDEX_KEY": "test-blind-index-key-of-32-bytes-at-least",
            "CONTACTS_PARTNER_RATE_LIMIT": "7/30",
        }
    ).partner_rate_limit == Limit(7, 30)


def test_hostile_bad_keys_are_rate_limited_per_address(tmp_path: Path) -> None:
    world = contacts_app(sqlite_url(tmp_path, "contacts"), tmp_path, seed=False)
    world.app.extensions["contacts"].partner_limiter.limit = Limit(3, 60)
    client = world.app.test_client()
    guesses = [
        client.get("/api/v1/referrals", headers={"X-API-Key": f"cck_guess{n}"}).status_code for n in range(5)
    ]
    assert guesses == [401, 401, 401, 429, 429]


def _fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


def _sign_in(client: FlaskClient, username: str, password: str):  # noqa: ANN202
    token = CSRF.search(client.get("/sign-in").text).group(1)
    return client.post("/sign-in", data={"username": username, "password": password, "csrf_token": token})


def test_hostile_sign_in_is_rate_limited_per_address(store_url: str, tmp_path: Path) -> None:
    from frontend.config import Settings

    apps = [web_app(store_url, tmp_path, transport=None, sign_in_rate_limit=Limit(5, 60)) for _ in range(2)]
    password = (
        apps[0].extensions["frontend"].desk.create_account("t.limited", "staff", "north", None, by="t")[1]
    )
    clients = [app.test_client() for app in apps]
    statuses = [_sign_in(clients[n % 2], f"t.spray{n}", "wrong-password").status_code for n in range(5)]
    assert statuses == [401] * 5, "spraying different usernames: no per-user lockout helps here"
    refused = _sign_in(clients[0], "t.limited", password)
    assert refused.status_code == 429, "the sixth attempt from one address, on either instance"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert "Too many attempts" in refused.text
    assert refused.headers["Content-Security-Policy"]
    elsewhere = apps[1].test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "192.0.2.10"
    assert _sign_in(elsewhere, "t.limited", password).status_code == 302, "other addresses still sign in"
    assert Settings.from_env(
        {"STAFF_TOKEN_SECRET": "x", "WEB_SIGN_IN_RATE_LIMIT": "3/10"}
    ).sign_in_rate_limit == Limit(3, 10)
