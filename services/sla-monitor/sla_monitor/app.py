"""Composition root of the HTTP process: `gunicorn 'sla_monitor.app:from_env()'`."""

from __future__ import annotations

from ccshared import apidoc
from ccshared import store as ccstore
from ccshared.store import Store
from ccshared.timeutil import Clock, SystemClock
from ccshared.web import app_from_env, create_app_base, provide
from flask import Flask

from . import bootstrap, config
from .api import blp


def from_env() -> Flask:
    """The app as gunicorn runs it (`sla_monitor.app:from_env()`): settings from the environment."""
    return app_from_env(
        config.SERVICE, config.Settings.from_env, create_app, lambda settings: settings.worker.log_level
    )


def create_app(
    settings: config.Settings,
    *,
    store: Store | None = None,
    clock: Clock | None = None,
) -> Flask:
    store = store or ccstore.connect(settings.worker.store_url)
    clock = clock or SystemClock()
    app, api = create_app_base(
        config.SERVICE,
        ready_checks={"store": store.ping},
        title="SLA monitor",
        trusted_proxy_hops=settings.trusted_proxy_hops,
    )
    apidoc.declare(api, apidoc.STAFF_TOKEN, apidoc.SERVICE_TOKEN)
    provide(app, bootstrap.api_context(settings, store, clock))
    api.register_blueprint(blp)
    return app
