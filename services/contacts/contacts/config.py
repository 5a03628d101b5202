"""The contacts service's settings, read from the environment once at start."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ccshared import config, contracts
from ccshared.config import Var
from ccshared.ratelimit import Limit
from cryptography.fernet import Fernet
from joserfc.jwk import OKPKey

SERVICE = contracts.SERVICE_CONTACTS


def fernet_key(raw: str) -> str:
    """Accept only a well-formed Fernet key (32 url-safe base64-encoded bytes)."""
    try:
        Fernet(raw.encode())
    except (ValueError, TypeError) as exc:
        raise ValueError(
            "not a Fernet key; make one with python -c "
            "'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
        ) from exc
    return raw


ENCRYPTION_KEY = Var(
    "CONTACTS_ENCRYPTION_KEY",
    config.REQUIRED,
    fernet_key,
    "Fernet key that encrypts personal data at rest",
    sensitive=True,
)
BLIND_INDEX_KEY = Var(
    "CONTACTS_BLIND_INDEX_KEY",
    config.REQUIRED,
    config.secret,
    "secret (at least 32 bytes) keying the HMACs that let a subject access request find a "
    "person's contacts; kept apart from CONTACTS_ENCRYPTION_KEY",
)
RETENTION_DAYS = Var(
    "CONTACTS_RETENTION_DAYS",
    365,
    config.positive_int,
    "days after closing or withdrawal before a contact's personal data is erased",
)
# The keys it holds: public ones only, the front end's and the notifier's (internal API).
STAFF_TOKEN_PUBLIC_KEY = config.STAFF_TOKEN_PUBLIC_KEY
SERVICE_TOKEN_PUBLIC_KEY = config.SERVICE_TOKEN_PUBLIC_KEY
PORT = Var("CONTACTS_PORT", 8002, config.positive_int, "HTTP port")
PARTNER_RATE_LIMIT = Var(
    "CONTACTS_PARTNER_RATE_LIMIT",
    Limit(120, 60),
    Limit.parse,
    "partner API requests per agency (or per address, without a valid key): HITS/SECONDS",
)


@dataclass(frozen=True)
class Settings:
    store_url: str
    bus_url: str
    staff_token_public_key: OKPKey
    service_token_public_key: OKPKey
    encryption_key: str
    blind_index_key: str
    retention_days: int = 365
    log_level: str = "INFO"
    partner_rate_limit: Limit = Limit(120, 60)
    processed_retention_days: int = 30

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        values = config.load(
            [
                config.store_url(SERVICE),
                config.BUS_URL,
                STAFF_TOKEN_PUBLIC_KEY,
                SERVICE_TOKEN_PUBLIC_KEY,
                ENCRYPTION_KEY,
                BLIND_INDEX_KEY,
                RETENTION_DAYS,
                PORT,
                PARTNER_RATE_LIMIT,
                config.LOG_LEVEL,
                config.PROCESSED_RETENTION_DAYS,
            ],
            environ,
        )
        return cls(
            store_url=values["STORE_URL"],
            bus_url=values["EVENT_BUS_URL"],
            staff_token_public_key=values["STAFF_TOKEN_PUBLIC_KEY"],
            service_token_public_key=values["SERVICE_TOKEN_PUBLIC_KEY"],
            encryption_key=values["CONTACTS_ENCRYPTION_KEY"],
            blind_index_key=values["CONTACTS_BLIND_INDEX_KEY"],
            retention_days=values["CONTACTS_RETENTION_DAYS"],
            log_level=values["LOG_LEVEL"],
            partner_rate_limit=values["CONTACTS_PARTNER_RATE_LIMIT"],
            processed_retention_days=values["PROCESSED_RETENTION_DAYS"],
        )
