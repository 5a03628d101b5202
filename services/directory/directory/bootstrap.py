"""Builds the directory's parts from settings: the app, the worker and the commands all use it."""

from __future__ import annotations

from ccshared.auth import TokenVerifier
from ccshared.store import Store
from ccshared.timeutil import Clock

from . import oruk
from .api import Context
from .config import SERVICE, Settings
from .geocoder import Geocoder, from_url
from .importer import Fetcher, Importer
from .oruk_api import OrukContext
from .partner_repository import PartnerRepository
from .repository import CentreRepository
from .service import DirectoryService
from .signposting import Signposting


def directory_service(
    settings: Settings, store: Store, clock: Clock, geocoder: Geocoder | None = None
) -> DirectoryService:
    """The service layer wired to its adapters."""
    return DirectoryService(
        CentreRepository(store, clock),
        clock,
        geocoder or from_url(settings.geocoder_url, settings.geocoder_timeout),
        settings.stale_days,
        settings.calendar,
    )


def signposting(settings: Settings, store: Store, clock: Clock) -> Signposting:
    """Partners' imported services, as the public search and staff pages read them."""
    return Signposting(PartnerRepository(store), settings.partner_import, clock)


def api_context(
    settings: Settings, service: DirectoryService, signposting: Signposting, clock: Clock
) -> Context:
    """What the directory's own routes and the partner routes work with (api.Context)."""
    return Context(
        service,
        TokenVerifier(SERVICE, settings.staff_token_public_key),
        clock,
        settings.stale_days,
        signposting,
    )


def oruk_context(settings: Settings, service: DirectoryService, clock: Clock) -> OrukContext:
    """What the open ORUK read API works with: the same service, as the named organisation."""
    return OrukContext(service, clock, oruk.Organization(settings.organization_name), settings.public_url)


def importer(settings: Settings, store: Store, clock: Clock, fetcher: Fetcher | None = None) -> Importer:
    return Importer(PartnerRepository(store), settings.partner_import, clock, fetcher)
