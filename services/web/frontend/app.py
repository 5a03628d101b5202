"""Composition root of the web front end: `create_app(settings)` wires settings, the
store, the service clients and the pages (gunicorn 'frontend.app:from_env()')."""

from __future__ import annotations

from pathlib import Path

from ccshared import contracts
from ccshared.store import Store, connect
from ccshared.timeutil import Clock, SystemClock
from ccshared.web import app_from_env, create_app_base, provide
from flask import Flask

from . import bootstrap, security
from .clients import RequestsTransport, Transport
from .config import SERVICE, Settings
from .formatting import FILTERS
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


def _serve_package_files(app: Flask) -> None:
    """Templates and static files live in this package, not beside the service name."""
    app.root_path = str(Path(__file__).parent)
    app.static_folder = "static"


def from_env() -> Flask:
    """The app as gunicorn runs it (`frontend.app:from_env()`): settings from the environment."""
    return app_from_env(SERVICE, Settings.from_env, create_app)


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
        SERVICE,
        ready_checks={"store": store.ping},
        title="Children's Centres web",
        json_only=False,
        trusted_proxy_hops=settings.trusted_proxy_hops,
    )
    _serve_package_files(app)
    security.init_app(app, secret_key=settings.secret_key, cookie_secure=settings.cookie_secure)
    app.jinja_env.filters.update(FILTERS)
    app.jinja_env.globals["contracts"] = contracts  # the shared vocabularies, by name
    provide(app, bootstrap.pages(settings, store, clock, transport or RequestsTransport()))
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
