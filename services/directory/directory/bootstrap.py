"""Builds the directory's parts from settings: the app, the worker and the commands all use it."""

from __future__ import annotations

from ccshared.store import Store
from ccshared.timeutil import Clock

from .config import Settings
from .geocoder import Geocoder, from_url
from .importer import Fetcher, Importer
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


def importer(settings: Settings, store: Store, clock: Clock, fetcher: Fetcher | None = None) -> Importer:
    return Importer(PartnerRepository(store), settings.partner_import, clock, fetcher)
