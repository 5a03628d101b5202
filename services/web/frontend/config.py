"""The front end's settings, read from the environment once at start."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field

from ccshared import config, contracts
from ccshared.config import Var
from ccshared.mailboxes import COORDINATORS, PRINCIPAL, RoleMailboxes
from ccshared.ratelimit import Limit
from joserfc.jwk import OKPKey

SERVICE = contracts.SERVICE_WEB

PORT = Var("WEB_PORT", 8000, config.positive_int, "HTTP port")
DIRECTORY_URL = Var("DIRECTORY_URL", "http://127.0.0.1:8001", config.url_with_scheme("http", "https"))
CONTACTS_URL = config.CONTACTS_URL
# The key it holds: the staff tokens' private key, which no service has.
STAFF_TOKEN_PRIVATE_KEY = config.STAFF_TOKEN_PRIVATE_KEY
SLA_MONITOR_URL = config.SLA_MONITOR_URL
NOTIFIER_URL = Var("NOTIFIER_URL", "http://127.0.0.1:8004", config.url_with_scheme("http", "https"))
SECRET_KEY = Var(
    "WEB_SECRET_KEY",
    config.REQUIRED,
    config.secret,
    "signs the session cookie and keys the CSRF tokens; at least 32 bytes",
    sensitive=True,
)
COOKIE_SECURE = Var(
    "WEB_COOKIE_SECURE",
    True,
    config.boolean,
    "send the session cookie over HTTPS only; false only for http://localhost",
)
SESSION_MINUTES = Var("WEB_SESSION_IDLE_MINUTES", 30, config.positive_int, "sign out after this idle time")
SERVICE_TIMEOUT = Var("WEB_SERVICE_TIMEOUT_SECONDS", 5.0, float, "timeout of each call to a service")
MAX_FAILURES = Var("WEB_LOGIN_MAX_FAILURES", 5, config.positive_int, "failed sign-ins before a lockout")
LOCKOUT_MINUTES = Var("WEB_LOGIN_LOCKOUT_MINUTES", 15, config.positive_int, "how long a lockout lasts")
SIGN_IN_RATE_LIMIT = Var(
    "WEB_SIGN_IN_RATE_LIMIT",
    Limit(20, 60),
    Limit.parse,
    "sign-in attempts per client address, whatever the username: HITS/SECONDS",
)


@dataclass(frozen=True)
class Settings:
    store_url: str
    staff_token_private_key: OKPKey = field(repr=False)
    secret_key: str = field(repr=False)
    directory_url: str = DIRECTORY_URL.default
    contacts_url: str = CONTACTS_URL.default
    sla_monitor_url: str = SLA_MONITOR_URL.default
    notifier_url: str = NOTIFIER_URL.default
    cookie_secure: bool = True
    session_idle_minutes: int = 30
    service_timeout: float = 5.0
    max_failures: int = 5
    lockout_minutes: int = 15
    log_level: str = "INFO"
    sign_in_rate_limit: Limit = Limit(20, 60)
    mailboxes: RoleMailboxes = field(default_factory=RoleMailboxes.defaults)

    def pseudonym_key(self) -> bytes:
        """Keys the hash that stands in a log for a username that is no account's."""
        return hmac.new(self.secret_key.encode(), b"cc-web-unknown-username", hashlib.sha256).digest()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        values = config.load(
            [
                config.store_url(SERVICE),
                STAFF_TOKEN_PRIVATE_KEY,
                PORT,
                DIRECTORY_URL,
                CONTACTS_URL,
                SLA_MONITOR_URL,
                NOTIFIER_URL,
                SECRET_KEY,
                COOKIE_SECURE,
                SESSION_MINUTES,
                SERVICE_TIMEOUT,
                MAX_FAILURES,
                LOCKOUT_MINUTES,
                SIGN_IN_RATE_LIMIT,
                COORDINATORS,
                PRINCIPAL,
                config.LOG_LEVEL,
            ],
            environ,
        )
        return cls(
            store_url=values["STORE_URL"],
            staff_token_private_key=values["STAFF_TOKEN_PRIVATE_KEY"],
            secret_key=values["WEB_SECRET_KEY"],
            directory_url=values["DIRECTORY_URL"].rstrip("/"),
            contacts_url=values["CONTACTS_URL"].rstrip("/"),
            sla_monitor_url=values["SLA_MONITOR_URL"].rstrip("/"),
            notifier_url=values["NOTIFIER_URL"].rstrip("/"),
            cookie_secure=values["WEB_COOKIE_SECURE"],
            session_idle_minutes=values["WEB_SESSION_IDLE_MINUTES"],
            service_timeout=values["WEB_SERVICE_TIMEOUT_SECONDS"],
            max_failures=values["WEB_LOGIN_MAX_FAILURES"],
            lockout_minutes=values["WEB_LOGIN_LOCKOUT_MINUTES"],
            log_level=values["LOG_LEVEL"],
            sign_in_rate_limit=values["WEB_SIGN_IN_RATE_LIMIT"],
            mailboxes=RoleMailboxes(values[COORDINATORS.name], values[PRINCIPAL.name]),
        )
