"""Composition root of the web front end: `create_app(settings)` wires settings, the
store, the service clients and the pages (gunicorn 'frontend.app:from_env()')."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from ccshared import contracts, logs
from ccshared.auth import StaffUser, TokenIssuer
from ccshared.ratelimit import RateLimiter
from ccshared.store import Store, connect
from ccshared.timeutil import Clock, SystemClock
from ccshared.web import create_app_base
from flask import Flask, g

from . import security
from .accounts import LockoutRule
from .backends import Backends, Contacts, Directory, Notifier, Referrals, SlaMonitor
from .clients import RequestsTransport, ServiceClient, Transport
from .config import SERVICE, Settings
from .formatting import FILTERS
from .service import StaffDesk
from .views import (
    admin,
    auth,
    centres,
    contacts,
    errors,
    mail,
    partner_feeds,
    partners,
    public,
    reports,
    subject_access,
)


@dataclass(frozen=True)
class Context:
    settings: Settings
    desk: StaffDesk
    backends: Backends
    clock: Clock
    sign_in_limiter: RateLimiter | None = None


def _signed_in_user() -> StaffUser | None:
    return g.get("user")


def build_backends(settings: Settings, transport: Transport) -> Backends:
    tokens = TokenIssuer(contracts.SERVICE_WEB, settings.staff_token_private_key)

    def client(name: str, audience: str, url: str) -> ServiceClient:
        return ServiceClient(
            name,
            url,
            transport,
            tokens=tokens,
            audience=audience,
            identity=_signed_in_user,
            timeout=settings.service_timeout,
        )

    contacts_client = client("contacts", contracts.SERVICE_CONTACTS, settings.contacts_url)
    return Backends(
        directory=Directory(client("directory", contracts.SERVICE_DIRECTORY, settings.directory_url)),
        contacts=Contacts(contacts_client),
        referrals=Referrals(contacts_client),
        sla=SlaMonitor(client("SLA monitor", contracts.SERVICE_SLA_MONITOR, settings.sla_monitor_url)),
        notifier=Notifier(client("notifier", contracts.SERVICE_NOTIFIER, settings.notifier_url)),
    )


def _serve_package_files(app: Flask) -> None:
    """Templates and static files live in this package, not beside the service name."""
    app.root_path = str(Path(__file__).parent)
    app.static_folder = "static"


def from_env() -> Flask:
    """The app as gunicorn runs it (`frontend.app:from_env()`): settings from the environment."""
    settings = Settings.from_env()
    logs.configure(SERVICE, settings.log_level)
    return create_app(settings)


def create_app(
    settings: Settings,
    *,
    store: Store | None = None,
    transport: Transport | None = None,
    clock: Clock | None = None,
) -> Flask:
    store = store or connect(settings.store_url)
    clock = clock or SystemClock()
    app, _api = create_app_base(
        SERVICE, ready_checks={"store": store.ping}, title="Children's Centres web", json_only=False
    )
    _serve_package_files(app)
    security.init_app(app, secret_key=settings.secret_key, cookie_secure=settings.cookie_secure)
    app.jinja_env.filters.update(FILTERS)
    rule = LockoutRule(
        max_failures=settings.max_failures, lockout=timedelta(minutes=settings.lockout_minutes)
    )
    desk = StaffDesk(
        store,
        clock,
        rule,
        timedelta(minutes=settings.session_idle_minutes),
        pseudonym_key=settings.pseudonym_key(),
        mailboxes=settings.mailboxes,
    )
    limiter = RateLimiter(store.collection("rate_limits"), settings.sign_in_rate_limit, clock, "sign-in")
    app.extensions["frontend"] = Context(
        settings, desk, build_backends(settings, transport or RequestsTransport()), clock, limiter
    )
    errors.init_app(app)
    auth.init_app(app)
    blueprints = (
        public.bp,
        auth.bp,
        contacts.bp,
        reports.bp,
        centres.bp,
        mail.bp,
        admin.bp,
        subject_access.bp,
        partners.bp,
        partner_feeds.bp,
    )
    for blueprint in blueprints:
        app.register_blueprint(blueprint)
    return app
