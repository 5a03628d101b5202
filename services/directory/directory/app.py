"""The directory's web process: the app connects its adapters and gives the routes what bootstrap builds."""

from __future__ import annotations

import logging

from ccshared import apidoc
from ccshared.store import Store, connect
from ccshared.timeutil import Clock, SystemClock
from ccshared.web import app_from_env, create_app_base, provide
from flask import Flask

from . import api, bootstrap, oruk_api, partner_api
from .config import SERVICE, Settings
from .geocoder import Geocoder

log = logging.getLogger(__name__)


def from_env() -> Flask:
    """The app as gunicorn runs it (`directory.app:from_env()`): settings from the environment."""
    return app_from_env(SERVICE, Settings.from_env, create_app)


def create_app(
    settings: Settings,
    *,
    store: Store | None = None,
    clock: Clock | None = None,
    geocoder: Geocoder | None = None,
) -> Flask:
    store = store or connect(settings.store_url)
    clock = clock or SystemClock()
    service = bootstrap.directory_service(settings, store, clock, geocoder)

    app, smorest = create_app_base(
        SERVICE,
        ready_checks={"store": store.ping},
        title="Children's centres directory",
        trusted_proxy_hops=settings.trusted_proxy_hops,
    )
    apidoc.declare(smorest, apidoc.STAFF_TOKEN)
    signposting = bootstrap.signposting(settings, store, clock)
    provide(app, bootstrap.api_context(settings, service, signposting, clock))
    smorest.register_blueprint(api.blp)
    smorest.register_blueprint(partner_api.blp)
    provide(app, bootstrap.oruk_context(settings, service, clock))
    oruk_api.publish(app, smorest)
    return app
