"""Composition root of the contacts service's web process."""

from __future__ import annotations

from ccshared import apidoc, logs, store
from ccshared.auth import TokenVerifier
from ccshared.bus import connect as connect_bus
from ccshared.ratelimit import RateLimiter
from ccshared.store import Store
from ccshared.timeutil import Clock, SystemClock
from ccshared.web import create_app_base
from flask import Flask

from . import api, subject_access_api
from .agencies import AgencyKeys
from .blind_index import BlindIndex
from .config import SERVICE, Settings
from .crypto import PersonalDataCipher
from .idempotency import idempotent_requests
from .repository import (
    AgencyRepository,
    AuditLog,
    CentreRepository,
    ContactRepository,
)
from .service import ContactService
from .subject_access import SubjectAccess
from .webhook_repository import DeliveryRepository
from .webhook_service import DeliveryLog


def build_subject_access(settings: Settings, store_: Store, clock: Clock) -> SubjectAccess:
    return SubjectAccess(
        contacts=ContactRepository(store_, clock),
        centres=CentreRepository(store_),
        audit=AuditLog(store_),
        cipher=PersonalDataCipher(settings.encryption_key),
        index=BlindIndex(settings.blind_index_key),
        clock=clock,
        requests=idempotent_requests(settings, store_, clock),
        scrub=store_.scrub,
    )


def build_service(settings: Settings, store_: Store, clock: Clock) -> ContactService:
    return ContactService(
        contacts=ContactRepository(store_, clock),
        centres=CentreRepository(store_),
        audit=AuditLog(store_),
        cipher=PersonalDataCipher(settings.encryption_key),
        index=BlindIndex(settings.blind_index_key),
        clock=clock,
        requests=idempotent_requests(settings, store_, clock),
    )


def create_app(
    settings: Settings | None = None, *, store: Store | None = None, clock: Clock | None = None
) -> Flask:
    """The WSGI app; `gunicorn 'contacts.app:create_app()'` reads settings from the environment."""
    if settings is None:
        settings = Settings.from_env()
        logs.configure(SERVICE, settings.log_level)
    store_ = store or _connect_store(settings.store_url)
    clock = clock or SystemClock()
    ready_checks = {"store": store_.ping, "bus": lambda: connect_bus(settings.bus_url).ping()}
    app, web_api = create_app_base(SERVICE, ready_checks=ready_checks, title="Children's Centres contacts")
    apidoc.declare(web_api, apidoc.STAFF_TOKEN, apidoc.PARTNER_KEY, apidoc.SERVICE_TOKEN)
    cipher = PersonalDataCipher(settings.encryption_key)
    contacts = build_service(settings, store_, clock)
    app.extensions[api.EXTENSION] = api.Services(
        contacts=contacts,
        agencies=AgencyKeys(AgencyRepository(store_), clock, cipher),
        idempotency=contacts.requests,
        tokens=TokenVerifier(SERVICE, settings.staff_token_public_key, settings.service_token_public_key),
        clock=clock,
        partner_limiter=RateLimiter(
            store_.collection("rate_limits"), settings.partner_rate_limit, clock, "partner-api"
        ),
        webhook_log=DeliveryLog(DeliveryRepository(store_)),
    )
    web_api.register_blueprint(api.staff)
    web_api.register_blueprint(api.partners)
    web_api.register_blueprint(api.internal)
    web_api.register_blueprint(api.webhook_deliveries)
    app.extensions[subject_access_api.EXTENSION] = build_subject_access(settings, store_, clock)
    web_api.register_blueprint(subject_access_api.bp)
    return app


def _connect_store(url: str) -> Store:
    return store.connect(url)
