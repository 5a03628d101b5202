"""The front end's settings, read from the environment once at start."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from ccshared import config, contracts, keys
from ccshared.config import REQUIRED, Var, derived, group, positive_float, positive_int, setting
from ccshared.mailboxes import COORDINATORS, PRINCIPAL, RoleMailboxes
from ccshared.ratelimit import Limit
from joserfc.jwk import OKPKey

SERVICE = contracts.SERVICE_WEB
PORT = Var("WEB_PORT", 8000, config.port, "HTTP port")


def _mailboxes(values: Mapping[str, object]) -> RoleMailboxes:
    return RoleMailboxes(values[COORDINATORS.name], values[PRINCIPAL.name])  # type: ignore[arg-type]


@group("WEB_")
class AccountSettings:
    """What the accounts and sessions need: enough for the account commands (no secret, no service)."""

    store_url: str = setting(config.store_url(SERVICE))
    session_idle_minutes: int = setting(30, positive_int, "sign out after this idle time")
    login_max_failures: int = setting(5, positive_int, "failed sign-ins before a lockout")
    login_lockout_minutes: int = setting(15, positive_int, "how long a lockout lasts")
    mailboxes: RoleMailboxes = derived((COORDINATORS, PRINCIPAL), _mailboxes, RoleMailboxes.defaults)


@group("WEB_")
class Settings(AccountSettings):
    """Everything the web process needs."""

    # The key it holds: the staff tokens' private key, which no service has.
    staff_token_private_key: OKPKey = setting(config.STAFF_TOKEN_PRIVATE_KEY)
    secret_key: str = setting(
        REQUIRED,
        keys.secret,
        "signs the session cookie and keys the CSRF tokens; at least 32 bytes",
        sensitive=True,
    )
    directory_url: str = setting(config.DIRECTORY_URL)
    contacts_url: str = setting(config.CONTACTS_URL)
    sla_monitor_url: str = setting(config.SLA_MONITOR_URL)
    notifier_url: str = setting(config.NOTIFIER_URL)
    cookie_secure: bool = setting(
        True, config.boolean, "session cookie over HTTPS only; false only for localhost"
    )
    service_timeout_seconds: float = setting(5.0, positive_float, "timeout of each call to a service")
    log_level: str = setting(config.LOG_LEVEL)
    trusted_proxy_hops: int = setting(config.TRUSTED_PROXY_HOPS)
    sign_in_rate_limit: Limit = setting(
        Limit(20, 60), Limit.parse, "sign-ins per client address: HITS/SECONDS"
    )

    def pseudonym_key(self) -> bytes:
        """Keys the hash that stands in a log for a username that is no account's."""
        return hmac.new(self.secret_key.encode(), b"cc-web-unknown-username", hashlib.sha256).digest()
