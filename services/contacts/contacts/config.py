"""The contacts service's settings, read from the environment once at start."""

from __future__ import annotations

from dataclasses import dataclass

from ccshared import config, contracts
from ccshared.config import REQUIRED, FromEnv, Var, positive_int, setting
from ccshared.ratelimit import Limit
from cryptography.fernet import Fernet
from joserfc.jwk import OKPKey

SERVICE = contracts.SERVICE_CONTACTS
PORT = Var("CONTACTS_PORT", 8002, positive_int, "HTTP port")


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


@dataclass(frozen=True, kw_only=True)
class Settings(FromEnv):
    store_url: str = setting(config.store_url(SERVICE))
    bus_url: str = setting(config.BUS_URL)
    # The keys it holds: public ones only, the front end's and the notifier's (internal API).
    staff_token_public_key: OKPKey = setting(config.STAFF_TOKEN_PUBLIC_KEY)
    service_token_public_key: OKPKey = setting(config.SERVICE_TOKEN_PUBLIC_KEY)
    encryption_key: str = setting(
        "CONTACTS_ENCRYPTION_KEY",
        REQUIRED,
        fernet_key,
        "Fernet key that encrypts personal data at rest",
        sensitive=True,
    )
    blind_index_key: str = setting(
        "CONTACTS_BLIND_INDEX_KEY",
        REQUIRED,
        config.secret,
        "secret (at least 32 bytes) keying the HMACs that let a subject access request find a "
        "person's contacts; kept apart from CONTACTS_ENCRYPTION_KEY",
        sensitive=True,
    )
    retention_days: int = setting(
        "CONTACTS_RETENTION_DAYS", 365, positive_int, "days before a closed contact's personal data is erased"
    )
    log_level: str = setting(config.LOG_LEVEL)
    trusted_proxy_hops: int = setting(config.TRUSTED_PROXY_HOPS)
    partner_rate_limit: Limit = setting(
        "CONTACTS_PARTNER_RATE_LIMIT", Limit(120, 60), Limit.parse, "requests per agency, HITS/SECONDS"
    )
    processed_retention_days: int = setting(config.PROCESSED_RETENTION_DAYS)
