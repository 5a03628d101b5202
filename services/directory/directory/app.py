"""Composition root of the directory's web process."""

from __future__ import annotations

import logging

from ccshared import apidoc, logs
from ccshared.auth import TokenVerifier
from ccshared.store import Store, connect
from ccshared.timeutil import Clock, SystemClock
from ccshared.web import create_app_base
from flask import Flask

from . import api, oruk, oruk_api, partner_api
from .config import SERVICE, Settings, load
from .geocoder import Geocoder, from_url
from .partner_repository import PartnerRepository
from .repository import CentreRepository
from .service import DirectoryService
from .signposting import Signposting

log = logging.getLogger(__name__)


def build_service(
    settings: Settings, store: Store, clock: Clock, geocoder: Geocoder | None = None
) -> DirectoryService:
    """The service layer wired to its adapters (shared by the app and the CLI)."""
    return DirectoryService(
        CentreRepository(store, clock),
        clock,
        geocoder or from_url(settings.geocoder_url, settings.geocoder_timeout),
        settings.stale_days,
        settings.calendar,
    )


def from_env() -> Flask:
    """The app as gunicorn runs it (`directory.app:from_env()`): settings from the environment."""
    settings = load()
    logs.configure(SERVICE, settings.log_level)
    return create_app(settings)


def create_app(
    settings: Settings,
    *,
    store: Store | None = None,
    clock: Clock | None = None,
    geocoder: Geocoder | None = None,
) -> Flask:
    store = store or connect(settings.store_url)
    clock = clock or SystemClock()
    service = build_service(settings, store, clock, geocoder)

    app, smorest = create_app_base(
        SERVICE,
        ready_checks={"store": store.ping},
        title="Children's centres directory",
    )
    apidoc.declare(smorest, apidoc.STAFF_TOKEN)
    signposting = Signposting(PartnerRepository(store), settings.partner_import, clock)
    context = api.Context(
        service,
        TokenVerifier(SERVICE, settings.staff_token_public_key),
        clock,
        settings.stale_days,
        signposting,
    )
    smorest.register_blueprint(api.blueprint(context))
    smorest.register_blueprint(partner_api.blueprint(context))
    feed = oruk_api.OrukContext(
        service, clock, oruk.Organization(settings.organization_name), settings.public_url
    )
    smorest.register_blueprint(oruk_api.blueprint(feed))
    oruk_api.allow_any_origin(app)
    app.extensions["directory"] = service
    app.extensions["signposting"] = signposting
    return app
