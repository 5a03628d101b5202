"""Builds the front end's parts from settings: the app and the commands both use it."""

from __future__ import annotations

from datetime import timedelta

from ccshared import contracts
from ccshared.auth import StaffUser, TokenIssuer
from ccshared.ratelimit import RateLimiter
from ccshared.store import Store
from ccshared.timeutil import Clock
from flask import g

from .accounts import LockoutRule
from .backends import Backends, Contacts, Directory, Notifier, Referrals, SlaMonitor
from .clients import ServiceClient, Transport
from .config import AccountSettings, Settings
from .service import StaffDesk
from .views import Context


def desk(
    settings: AccountSettings, store: Store, clock: Clock, pseudonym_key: bytes | None = None
) -> StaffDesk:
    """Accounts and sessions; the account commands build it from the account settings alone."""
    rule = LockoutRule(
        max_failures=settings.login_max_failures, lockout=timedelta(minutes=settings.login_lockout_minutes)
    )
    return StaffDesk(
        store,
        clock,
        rule,
        timedelta(minutes=settings.session_idle_minutes),
        pseudonym_key=pseudonym_key,
        mailboxes=settings.mailboxes,
    )


def token_issuer(settings: Settings) -> TokenIssuer:
    """Staff tokens for the signed-in user's calls (and the `api` command's)."""
    return TokenIssuer(contracts.SERVICE_WEB, settings.staff_token_private_key)


def _signed_in_user() -> StaffUser | None:
    return g.get("user")


def backends(settings: Settings, transport: Transport) -> Backends:
    """The services' clients; each call carries a token for the user signed in to this request."""
    tokens = token_issuer(settings)

    def client(name: str, audience: str, url: str) -> ServiceClient:
        return ServiceClient(
            name,
            url,
            transport,
            tokens=tokens,
            audience=audience,
            identity=_signed_in_user,
            timeout=settings.service_timeout_seconds,
        )

    contacts_client = client("contacts", contracts.SERVICE_CONTACTS, settings.contacts_url)
    return Backends(
        directory=Directory(client("directory", contracts.SERVICE_DIRECTORY, settings.directory_url)),
        contacts=Contacts(contacts_client),
        referrals=Referrals(contacts_client),
        sla=SlaMonitor(client("SLA monitor", contracts.SERVICE_SLA_MONITOR, settings.sla_monitor_url)),
        notifier=Notifier(client("notifier", contracts.SERVICE_NOTIFIER, settings.notifier_url)),
    )


def pages(settings: Settings, store: Store, clock: Clock, transport: Transport) -> Context:
    """What the pages work with (views.Context)."""
    return Context(
        desk=desk(settings, store, clock, settings.pseudonym_key()),
        backends=backends(settings, transport),
        clock=clock,
        sign_in_limiter=RateLimiter(
            store.collection("rate_limits"), settings.sign_in_rate_limit, clock, "sign-in"
        ),
    )
