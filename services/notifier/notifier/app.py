"""Composition root of the HTTP process: `gunicorn 'notifier.app:from_env()'`."""

from __future__ import annotations

from ccshared import apidoc
from ccshared import store as stores
from ccshared.store import Store
from ccshared.timeutil import Clock, SystemClock
from ccshared.web import app_from_env, create_app_base, provide
from flask import Flask

from . import api, bootstrap
from .config import Settings


def from_env() -> Flask:
    """The app as gunicorn runs it (`notifier.app:from_env()`): settings from the environment."""
    return app_from_env("notifier", Settings.from_env, create_app)


def create_app(settings: Settings, *, store: Store | None = None, clock: Clock | None = None) -> Flask:
    store = store or stores.connect(settings.store_url)
    clock = clock or SystemClock()
    app, smorest = create_app_base(
        "notifier",
        ready_checks={"store": store.ping},
        title="Children's Centres notifier",
        trusted_proxy_hops=settings.trusted_proxy_hops,
    )
    apidoc.declare(smorest, apidoc.STAFF_TOKEN)
    provide(app, bootstrap.api_context(settings, store, clock))
    smorest.register_blueprint(api.notifications)
    smorest.register_blueprint(api.messages)
    return app
