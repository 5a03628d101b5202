"""The contacts service's settings, read from the environment once at start."""

from __future__ import annotations

from ccshared import config, contracts, keys
from ccshared.config import REQUIRED, Var, group, positive_int, setting
from ccshared.ratelimit import Limit
from joserfc.jwk import OKPKey

from .crypto import fernet_key

SERVICE = contracts.SERVICE_CONTACTS
PORT = Var("CONTACTS_PORT", 8002, config.port, "HTTP port")


@group("CONTACTS_")
class Settings:
    store_url: str = setting(config.store_url(SERVICE))
    bus_url: str = setting(config.BUS_URL)
    # The keys it holds: public ones only, the front end's and the notifier's (internal API).
    staff_token_public_key: OKPKey = setting(config.STAFF_TOKEN_PUBLIC_KEY)
    service_token_public_key: OKPKey = setting(config.SERVICE_TOKEN_PUBLIC_KEY)
    encryption_key: str = setting(
        REQUIRED, fernet_key, "Fernet key that encrypts personal data at rest", sensitive=True
    )
    blind_index_key: str = setting(
        REQUIRED,
        keys.secret,
        "secret (at least 32 bytes) keying the HMACs that let a subject access request find a "
        "person's contacts; kept apart from CONTACTS_ENCRYPTION_KEY",
        sensitive=True,
    )
    retention_days: int = setting(
        365, positive_int, "days after a contact ends, or is answered, before its personal data is erased"
    )
    log_level: str = setting(config.LOG_LEVEL)
    trusted_proxy_hops: int = setting(config.TRUSTED_PROXY_HOPS)
    partner_rate_limit: Limit = setting(
        Limit(120, 60),
        Limit.parse,
        "partner API requests per agency key set, and per partner user, HITS/SECONDS",
    )
    processed_retention_days: int = setting(config.PROCESSED_RETENTION_DAYS)
