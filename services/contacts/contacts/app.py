"""The contacts service's web process: the app connects its adapters and gives the routes what bootstrap builds."""

from __future__ import annotations

from ccshared import apidoc, store
from ccshared.bus import connect as connect_bus
from ccshared.store import Store
from ccshared.timeutil import Clock, SystemClock
from ccshared.web import app_from_env, create_app_base, provide
from flask import Flask

from . import api, bootstrap, subject_access_api
from .config import SERVICE, Settings


def from_env() -> Flask:
    """The app as gunicorn runs it (`contacts.app:from_env()`): settings from the environment."""
    return app_from_env(SERVICE, Settings.from_env, create_app)


def create_app(settings: Settings, *, store: Store | None = None, clock: Clock | None = None) -> Flask:
    store_ = store or _connect_store(settings.store_url)
    clock = clock or SystemClock()
    ready_checks = {"store": store_.ping, "bus": lambda: connect_bus(settings.bus_url).ping()}
    app, web_api = create_app_base(
        SERVICE,
        ready_checks=ready_checks,
        title="Children's Centres contacts",
        trusted_proxy_hops=settings.trusted_proxy_hops,
    )
    apidoc.declare(
        web_api, apidoc.STAFF_TOKEN, apidoc.PARTNER_KEY, apidoc.PARTNER_USER_TOKEN, apidoc.SERVICE_TOKEN
    )
    provide(app, bootstrap.api_context(settings, store_, clock))
    web_api.register_blueprint(api.staff)
    web_api.register_blueprint(api.partners)
    api.publish_partner_document(app, web_api)
    web_api.register_blueprint(api.internal)
    web_api.register_blueprint(api.webhook_deliveries)
    provide(app, bootstrap.subject_access(settings, store_, clock))
    web_api.register_blueprint(subject_access_api.bp)
    return app


def _connect_store(url: str) -> Store:
    return store.connect(url)
