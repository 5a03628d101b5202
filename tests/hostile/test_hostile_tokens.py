"""Forged, misaddressed and stale tokens: each service takes only what the front
end (or, on contacts' internal API, the notifier) made for it, and only briefly."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from ccshared import config, contracts, keys
from ccshared.auth import (
    ALGORITHM,
    LEEWAY_SECONDS,
    STAFF_KEY_ID,
    TOKEN_SECONDS,
    StaffUser,
    TokenIssuer,
    TokenVerifier,
)
from ccshared.errors import Unauthorized
from ccshared.timeutil import FixedClock
from flask import Flask
from hostile_testkit import contacts_app, directory_app, notifier_app, sla_app, sqlite_url
from joserfc import jwt
from joserfc.jwk import OKPKey

from tests.infra import tokens
from tests.infra.variables import known_variables

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
COORDINATOR = StaffUser("test.coordinator", contracts.ROLE_COORDINATOR, contracts.NORTH)
STAFF_PATHS = {
    "directory": "/api/v1/centres/stale",
    "contacts": "/api/v1/contacts",
    "sla-monitor": "/api/v1/clocks",
    "notifier": "/api/v1/notifications",
}


@pytest.fixture(scope="module")
def apps(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Flask]:
    tmp = tmp_path_factory.mktemp("tokens")
    return {
        "directory": directory_app(sqlite_url(tmp, "directory"), tmp),
        "contacts": contacts_app(sqlite_url(tmp, "contacts"), tmp, seed=False).app,
        "sla-monitor": sla_app(sqlite_url(tmp, "sla"), tmp),
        "notifier": notifier_app(sqlite_url(tmp, "notifier"), tmp),
    }


def status(app: Flask, path: str, token: str) -> int:
    return app.test_client().get(path, headers={"Authorization": f"Bearer {token}"}).status_code


def staff_token(audience: str, key: OKPKey = tokens.STAFF_KEY, user: StaffUser = COORDINATOR) -> str:
    return TokenIssuer(contracts.SERVICE_WEB, key).issue(user, audience)


def forged(claims: dict, key: OKPKey = tokens.STAFF_KEY, **header: str) -> str:
    """A token made by hand, as an attacker (or a careless issuer) would."""
    now = int(datetime.now(UTC).timestamp())
    base = {"iss": "web", "sub": "test.forger", "role": "admin", "iat": now, "nbf": now, "exp": now + 4}
    head = {"alg": ALGORITHM, "kid": STAFF_KEY_ID, **header}
    return jwt.encode(head, base | claims, key, algorithms=[head["alg"]])


@pytest.mark.parametrize("service", sorted(STAFF_PATHS))
def test_hostile_a_token_for_one_service_is_refused_by_every_other(apps, service):
    path = STAFF_PATHS[service]
    assert status(apps[service], path, staff_token(service)) == 200
    for audience in {*STAFF_PATHS, "web"} - {service}:
        assert status(apps[service], path, staff_token(audience)) == 401, audience


@pytest.mark.parametrize("service", sorted(STAFF_PATHS))
def test_hostile_a_token_signed_with_another_key_is_refused(apps, service):
    stranger = OKPKey.generate_key("Ed25519")
    path = STAFF_PATHS[service]
    assert status(apps[service], path, staff_token(service, stranger)) == 401
    # The notifier's own key pair makes no staff token either.
    assert status(apps[service], path, staff_token(service, tokens.SERVICE_KEY)) == 401


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hmac_signed(claims: dict, secret: bytes, alg: str = "HS256") -> str:
    """The old algorithm-confusion trick: an HMAC keyed with the public key's bytes."""
    now = int(datetime.now(UTC).timestamp())
    body = {"iss": "web", "aud": "contacts", "sub": "x", "role": "admin", "iat": now, "exp": now + 4} | claims
    signing_input = (
        f"{_b64(json.dumps({'alg': alg, 'kid': STAFF_KEY_ID}).encode())}.{_b64(json.dumps(body).encode())}"
    )
    return f"{signing_input}.{_b64(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())}"


def test_hostile_other_algorithms_and_tampered_tokens_are_refused(apps):
    app, path = apps["contacts"], STAFF_PATHS["contacts"]
    assert status(app, path, hmac_signed({}, tokens.STAFF_KEY.as_pem(private=False))) == 401
    unsigned = hmac_signed({}, b"", alg="none").rsplit(".", 1)[0] + "."
    assert status(app, path, unsigned) == 401
    header, payload, signature = staff_token("contacts").split(".")
    bumped = forged({"aud": "contacts", "role": "admin"}).split(".")[1]
    assert status(app, path, f"{header}.{bumped}.{signature}") == 401
    assert status(app, path, f"{header}.{payload}.") == 401
    assert status(app, path, "not.a.token") == 401
    for header in ({"alg": ALGORITHM, "kid": ["staff"]}, {"alg": ALGORITHM, "kid": {"a": 1}}, [ALGORITHM]):
        odd = f"{_b64(json.dumps(header).encode())}.{payload}.{signature}"
        assert status(app, path, odd) == 401, header


def test_hostile_a_token_is_refused_once_five_seconds_old():
    issued = TokenIssuer(contracts.SERVICE_WEB, tokens.STAFF_KEY, FixedClock(T0)).issue(
        COORDINATOR, "contacts"
    )

    def verify_at(seconds: float) -> StaffUser:
        return TokenVerifier(
            "contacts", tokens.STAFF_PUBLIC, clock=FixedClock(T0 + timedelta(seconds=seconds))
        ).verify(issued)

    assert TOKEN_SECONDS + LEEWAY_SECONDS <= 5
    assert verify_at(0) == COORDINATOR
    assert verify_at(4.9) == COORDINATOR
    for late in (5, 6, 300):
        with pytest.raises(Unauthorized, match="expired"):
            verify_at(late)
    with pytest.raises(Unauthorized, match="not valid"):
        verify_at(-3)  # made in the future: a clock far off, or a forgery


def test_hostile_a_token_that_claims_a_long_life_is_refused(apps):
    now = int(datetime.now(UTC).timestamp())
    lasting = forged({"aud": "contacts", "iat": now, "nbf": now, "exp": now + 3600})
    assert status(apps["contacts"], STAFF_PATHS["contacts"], lasting) == 401


def test_hostile_the_service_role_comes_only_with_the_service_key(apps):
    contacts = apps["contacts"]
    internal = "/api/v1/internal/agencies/example"
    service_token = TokenIssuer(contracts.SERVICE_NOTIFIER, tokens.SERVICE_KEY).issue(
        tokens.SERVICE_USER, "contacts"
    )
    assert status(contacts, internal, service_token) == 404, "the notifier's token reaches the internal API"
    assert status(contacts, STAFF_PATHS["contacts"], service_token) == 403, "and nothing else"
    # The front end's key cannot stand in for a service's, whatever the token says.
    as_service = forged({"aud": "contacts", "role": "service"})
    assert status(contacts, internal, as_service) == 401
    relabelled = forged({"aud": "contacts", "role": "service", "iss": "notifier"}, kid="service")
    assert status(contacts, internal, relabelled) == 401
    # A service that takes no service tokens refuses them outright.
    to_directory = TokenIssuer(contracts.SERVICE_NOTIFIER, tokens.SERVICE_KEY).issue(
        tokens.SERVICE_USER, "directory"
    )
    assert status(apps["directory"], STAFF_PATHS["directory"], to_directory) == 401
    with pytest.raises(ValueError, match="may not make a token"):
        TokenIssuer(contracts.SERVICE_WEB, tokens.STAFF_KEY).issue(tokens.SERVICE_USER, "contacts")


SERVICE_PACKAGES = {
    "directory": "directory",
    "contacts": "contacts",
    "sla-monitor": "sla_monitor",
    "notifier": "notifier",
}


def declared(package: str) -> set[str]:
    return set(known_variables(package))


@pytest.mark.parametrize("service", sorted(SERVICE_PACKAGES))
def test_hostile_services_hold_no_key_that_makes_staff_tokens(service, tmp_path: Path):
    held = declared(SERVICE_PACKAGES[service])
    assert "STAFF_TOKEN_PUBLIC_KEY" in held and "STAFF_TOKEN_PRIVATE_KEY" not in held
    assert "STAFF_TOKEN_PRIVATE_KEY" in declared("frontend"), "the front end alone makes staff tokens"
    # Given the private key where the public one belongs, a service refuses to start.
    private_pem = tokens.pem(tokens.STAFF_KEY, private=True)
    with pytest.raises(
        config.ConfigError, match="STAFF_TOKEN_PUBLIC_KEY is invalid: a private key"
    ) as refused:
        config.load([config.STAFF_TOKEN_PUBLIC_KEY], {"STAFF_TOKEN_PUBLIC_KEY": private_pem})
    assert "PRIVATE KEY" not in str(refused.value), "the key itself never reaches the logs"
    key_file = tmp_path / "staff-token.pem"
    key_file.write_text(private_pem)
    with pytest.raises(config.ConfigError, match="a private key"):
        config.load([config.STAFF_TOKEN_PUBLIC_KEY], {"STAFF_TOKEN_PUBLIC_KEY": str(key_file)})
    with pytest.raises(ValueError, match="private key"):
        TokenIssuer(contracts.SERVICE_WEB, tokens.STAFF_PUBLIC)


def test_hostile_secrets_shorter_than_32_bytes_are_refused_by_name():
    short = config.Var("TEST_SECRET", config.REQUIRED, keys.secret, sensitive=True)
    with pytest.raises(config.ConfigError) as refused:
        config.load([short], {"TEST_SECRET": "x" * 31})
    assert "TEST_SECRET is invalid: is 31 bytes; a secret needs at least 32" in str(refused.value)
    assert "x" * 31 not in str(refused.value)
    assert config.load([short], {"TEST_SECRET": "x" * 32}) == {"TEST_SECRET": "x" * 32}


@pytest.mark.parametrize(
    ("user", "area", "sees"),
    [
        (StaffUser("t.north", "staff", "north"), "north", True),
        (StaffUser("t.north", "staff", "north"), "south", False),
        (StaffUser("t.none", "staff", None), None, False),  # no area is nobody's own
        (StaffUser("t.po", "principal_officer", None), "south", True),
        (StaffUser("t.po", "principal_officer", None), None, True),
    ],
)
def test_a_user_tied_to_an_area_sees_only_records_of_that_area(user, area, sees) -> None:  # noqa: ANN001
    assert user.may_see_area(area) is sees
