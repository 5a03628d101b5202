"""Token keys and headers for tests: key pairs made for this test run, never kept.

Each part of the system gets only the keys it holds in production: the front
end the staff private key, the services the staff public key, the notifier its
service private key and the contacts service and the SLA monitor that key's public half.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from ccshared import contracts
from ccshared.auth import STAFF_ISSUER, StaffUser, TokenIssuer
from joserfc.jwk import OKPKey

STAFF_KEY = OKPKey.generate_key("Ed25519")  # the front end's
SERVICE_KEY = OKPKey.generate_key("Ed25519")  # the notifier's, for contacts and the SLA monitor
WEB_SECRET_KEY = "web-test-session-secret-not-for-production"
SERVICE_USER = StaffUser(contracts.SERVICE_NOTIFIER, contracts.ROLE_SERVICE)


def public(key: OKPKey) -> OKPKey:
    return OKPKey.import_key(key.as_pem(private=False))


def pem(key: OKPKey, *, private: bool = False) -> str:
    return key.as_pem(private=private).decode()


STAFF_PUBLIC = public(STAFF_KEY)
SERVICE_PUBLIC = public(SERVICE_KEY)

_STAFF_PUBLIC_ENV = {"STAFF_TOKEN_PUBLIC_KEY": pem(STAFF_KEY)}
KEY_ENV = {
    contracts.SERVICE_WEB: {
        "STAFF_TOKEN_PRIVATE_KEY": pem(STAFF_KEY, private=True),
        "WEB_SECRET_KEY": WEB_SECRET_KEY,
    },
    contracts.SERVICE_DIRECTORY: _STAFF_PUBLIC_ENV,
    contracts.SERVICE_SLA_MONITOR: {**_STAFF_PUBLIC_ENV, "SERVICE_TOKEN_PUBLIC_KEY": pem(SERVICE_KEY)},
    contracts.SERVICE_CONTACTS: {**_STAFF_PUBLIC_ENV, "SERVICE_TOKEN_PUBLIC_KEY": pem(SERVICE_KEY)},
    contracts.SERVICE_NOTIFIER: {
        **_STAFF_PUBLIC_ENV,
        "SERVICE_TOKEN_PRIVATE_KEY": pem(SERVICE_KEY, private=True),
    },
}


def key_env(service: str) -> dict[str, str]:
    """The key settings of one part of the system (web, directory, contacts, sla-monitor, notifier)."""
    return dict(KEY_ENV[service])


class TokenHeaders(Mapping[str, str]):
    """`Authorization` for one user at one service, with a fresh token at every read:
    tokens live seconds, while a test may reuse its headers for minutes."""

    def __init__(self, issuer: TokenIssuer, user: StaffUser, audience: str):
        self.issuer, self.user, self.audience = issuer, user, audience

    def __getitem__(self, name: str) -> str:
        if name != "Authorization":
            raise KeyError(name)
        return f"Bearer {self.issuer.issue(self.user, self.audience)}"

    def __iter__(self) -> Iterator[str]:
        return iter(("Authorization",))

    def __len__(self) -> int:
        return 1


def staff_headers(user: StaffUser, audience: str, key: OKPKey = STAFF_KEY) -> TokenHeaders:
    """What the front end sends to `audience` for `user`."""
    return TokenHeaders(TokenIssuer(STAFF_ISSUER, key), user, audience)


def service_headers(audience: str = contracts.SERVICE_CONTACTS) -> TokenHeaders:
    """What the notifier sends to another service's internal API."""
    return TokenHeaders(TokenIssuer(contracts.SERVICE_NOTIFIER, SERVICE_KEY), SERVICE_USER, audience)
