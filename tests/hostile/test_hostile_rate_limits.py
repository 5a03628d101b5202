"""Rate limits on staff sign-in (web) and the partner API (contacts).

Both count in the service's own store, so every gunicorn worker and instance
shares one count; the tests run two app instances over one store to show it.
Over the limit: 429 with Retry-After, in the error envelope for the API.
"""

from __future__ import annotations

import re
import secrets
from datetime import timedelta
from pathlib import Path

import pytest
from ccshared.ratelimit import Limit, RateLimiter, client_key
from ccshared.store import connect
from ccshared.timeutil import FixedClock, to_str
from ccshared.web import provided
from contacts.api import Services
from flask.testing import FlaskClient
from frontend.accounts import LockoutRule
from frontend.repository import Sessions
from frontend.service import StaffDesk
from frontend.views import Context
from hostile_testkit import NOW, bearer, contacts_app, sqlite_url, web_app

from tests.infra import tokens
from tests.infra.payloads import REFERRAL

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(params=["sqlite", pytest.param("mongo", marks=pytest.mark.mongo)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return sqlite_url(tmp_path, "limits")
    return request.getfixturevalue("mongo").store_url(request.getfixturevalue("fresh_mongo_db"))


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
    settings = provided(world.app, Services)
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
    staff = client.get("/api/v1/contacts", headers=bearer("principal_officer", to="contacts"))
    assert staff.status_code == 200, "staff calls are not partner calls"
    assert Settings.from_env(
        {
            **tokens.key_env("contacts"),
            "CONTACTS_ENCRYPTION_KEY": _fernet_key(),
            "CONTACTS_BLIND_INDEX_KEY": "test-blind-index-key-of-32-bytes-at-least",
            "CONTACTS_PARTNER_RATE_LIMIT": "7/30",
        }
    ).partner_rate_limit == Limit(7, 30)


def test_hostile_bad_keys_are_rate_limited_per_address(tmp_path: Path) -> None:
    world = contacts_app(sqlite_url(tmp_path, "contacts"), tmp_path, seed=False)
    provided(world.app, Services).partner_limiter.limit = Limit(3, 60)
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
    password = provided(apps[0], Context).desk.create_account("t.limited", "staff", "north", None, by="t")[1]
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
        {**tokens.key_env("web"), "WEB_SIGN_IN_RATE_LIMIT": "3/10"}
    ).sign_in_rate_limit == Limit(3, 10)


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("192.0.2.7", "192.0.2.7"),
        ("2001:db8:1:2::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:ffff:ffff:fffe", "2001:db8:1:2::/64"),
        ("2001:db8:1:3::1", "2001:db8:1:3::/64"),
        ("::ffff:192.0.2.7", "192.0.2.7"),
        ("fe80::1%eth0", "fe80::/64"),
        ("", "unknown"),
        (None, "unknown"),
        ("not an address", "unknown"),
    ],
)
def test_hostile_ipv6_clients_are_counted_by_their_64(address: str | None, key: str) -> None:
    assert client_key(address) == key


def test_hostile_a_new_ipv6_address_in_the_same_64_does_not_reset_the_count(tmp_path: Path) -> None:
    world = contacts_app(sqlite_url(tmp_path, "contacts"), tmp_path, seed=False)
    provided(world.app, Services).partner_limiter.limit = Limit(2, 3600)
    client = world.app.test_client()
    guesses = []
    for host in (1, 2, 3):
        client.environ_base["REMOTE_ADDR"] = f"2001:db8:5:6::{host}"
        guesses.append(client.get("/api/v1/referrals", headers={"X-API-Key": "cck_guess"}).status_code)
    client.environ_base["REMOTE_ADDR"] = "2001:db8:5:7::1"
    guesses.append(client.get("/api/v1/referrals", headers={"X-API-Key": "cck_guess"}).status_code)
    assert guesses == [401, 401, 429, 401]


def _forwarded(client: FlaskClient, chain: str) -> int:
    headers = {"X-API-Key": "cck_guess", "X-Forwarded-For": chain}
    return client.get("/api/v1/referrals", headers=headers).status_code


def test_hostile_forwarded_addresses_are_trusted_for_the_configured_hops_only(tmp_path: Path) -> None:
    world = contacts_app(sqlite_url(tmp_path, "contacts"), tmp_path, seed=False, trusted_proxy_hops=1)
    provided(world.app, Services).partner_limiter.limit = Limit(2, 3600)
    client = world.app.test_client()
    spoofed = [_forwarded(client, f"198.51.100.{n}, 192.0.2.20") for n in range(3)]
    assert spoofed == [401, 401, 429], "what the client wrote left of the proxy's entry is ignored"
    assert _forwarded(client, "192.0.2.21") == 401, "another client behind the proxy counts on its own"


def test_hostile_without_trusted_hops_forwarded_headers_change_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The app takes the hops from its settings (0 here), never from the environment.
    monkeypatch.setenv("TRUSTED_PROXY_HOPS", "1")
    world = contacts_app(sqlite_url(tmp_path, "contacts"), tmp_path, seed=False)
    provided(world.app, Services).partner_limiter.limit = Limit(2, 3600)
    client = world.app.test_client()
    assert [_forwarded(client, f"192.0.2.{n}") for n in range(3)] == [401, 401, 429]


@pytest.mark.parametrize(("hops", "hsts"), [(1, True), (0, False)])
def test_hostile_front_end_sends_hsts_when_the_trusted_proxy_says_https(
    tmp_path: Path, hops: int, hsts: bool
) -> None:
    app = web_app(sqlite_url(tmp_path, "web"), tmp_path, transport=None, trusted_proxy_hops=hops)
    answer = app.test_client().get("/sign-in", headers={"X-Forwarded-Proto": "https"})
    assert answer.status_code == 200
    assert ("Strict-Transport-Security" in answer.headers) is hsts


def test_hostile_trusted_proxy_hops_setting_is_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    from ccshared import config

    assert config.load([config.TRUSTED_PROXY_HOPS], {})["TRUSTED_PROXY_HOPS"] == 0
    with pytest.raises(config.ConfigError, match="TRUSTED_PROXY_HOPS"):
        config.load([config.TRUSTED_PROXY_HOPS], {"TRUSTED_PROXY_HOPS": "-1"})


def test_hostile_sign_in_lockout_is_per_address_and_expires_on_each_engine(store_url: str) -> None:
    clock = FixedClock(NOW)
    desk = StaffDesk(connect(store_url), clock, LockoutRule(max_failures=2), timedelta(minutes=30))
    _, password = desk.create_account("a.coordinator", "coordinator", "north", None, by="test")
    stranger = "203.0.113.9"
    for _ in range(2):
        assert not desk.sign_in("a.coordinator", "wrong-wrong-wrong", stranger).ok
    assert not desk.sign_in("qx7-a-typed-secret", "whatever", stranger).ok

    assert desk.sign_in("a.coordinator", password, stranger).locked_until is not None
    assert desk.sign_in("a.coordinator", password, "198.51.100.7").ok, "the real user elsewhere"
    assert "qx7-a-typed-secret" not in repr(desk.attempts.collection.find({}))
    clock.advance(minutes=31)
    desk.sign_in("someone", "whatever", "203.0.113.10")
    assert [row["client"] for row in desk.attempts.collection.find({})] == ["203.0.113.10"]


def test_hostile_sessions_are_stored_hashed_on_each_engine(store_url: str) -> None:
    store = connect(store_url)
    sessions = Sessions(store)
    session_id = sessions.start("a.coordinator", NOW)
    old_id = secrets.token_urlsafe(32)
    stamp = to_str(NOW)
    sessions.collection.insert({"_id": old_id, "username": "b.staff", "started_at": stamp, "seen_at": stamp})

    Sessions(store)  # the front end starts again

    assert sessions.collection.get(session_id) is None, "the store never holds the id itself"
    assert sessions.get(session_id)["username"] == "a.coordinator"
    assert sessions.collection.get(old_id) is None, "a session stored unhashed is ended"


def test_hostile_limiter_keeps_one_bucket_per_key_and_window_read_by_id(store_url: str) -> None:
    """A hit is a lookup and a write by `_id` (FerretDB v1's one index), not a count over
    one document per hit; documents of the old layout go when their key starts a window."""
    clock = FixedClock(NOW)
    limit = Limit(3, 60)
    collection = connect(store_url).collection("rate_limits")
    window = int(NOW.timestamp() // 60)
    collection.insert({"_id": "legacy-hit-1", "key": "t:a", "window": window - 5})
    limiter = RateLimiter(collection, limit, clock, "t")
    answers = [limiter.hit("a") for _ in range(6)]
    assert answers[:3] == [None] * 3 and all(answer is not None for answer in answers[3:])
    assert [(doc["_id"], doc["hits"]) for doc in collection.find({"key": "t:a"})] == [(f"t:a@{window}", 3)]


def test_hostile_limiter_counts_racing_hits_exactly(store_url: str) -> None:
    import threading

    clock = FixedClock(NOW)
    limit = Limit(10, 60)
    limiters = [
        RateLimiter(connect(store_url).collection("rate_limits"), limit, clock, "t") for _ in range(4)
    ]
    allowed: list[bool] = []
    lock = threading.Lock()

    def hammer(limiter: RateLimiter) -> None:
        for _ in range(6):
            ok = limiter.hit("race") is None
            with lock:
                allowed.append(ok)

    threads = [threading.Thread(target=hammer, args=(limiter,)) for limiter in limiters]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(allowed) == 24 and allowed.count(True) == limit.hits
