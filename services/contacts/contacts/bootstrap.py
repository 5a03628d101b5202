"""Builds the contacts service's parts from settings: the app, the worker and the commands all use it."""

from __future__ import annotations

from typing import Any

from ccshared.ratelimit import RateLimiter
from ccshared.store import Store
from ccshared.timeutil import Clock

from .agencies import AgencyKeys
from .blind_index import BlindIndex
from .config import Settings
from .crypto import PersonalDataCipher
from .idempotency import IdempotentRequests, idempotent_requests
from .repository import AgencyRepository, AuditLog, CentreRepository, ContactRepository
from .service import ContactService
from .subject_access import SubjectAccess


def cipher(settings: Settings) -> PersonalDataCipher:
    return PersonalDataCipher(settings.encryption_key)


def requests(settings: Settings, store: Store, clock: Clock) -> IdempotentRequests:
    return idempotent_requests(settings, store, clock)


def _contacts_parts(settings: Settings, store: Store, clock: Clock) -> dict[str, Any]:
    """What the contact service and subject access both work with: the same stores and keys."""
    return {
        "contacts": ContactRepository(store, clock),
        "centres": CentreRepository(store),
        "audit": AuditLog(store),
        "cipher": cipher(settings),
        "index": BlindIndex(settings.blind_index_key),
        "clock": clock,
        "requests": requests(settings, store, clock),
    }


def contact_service(settings: Settings, store: Store, clock: Clock) -> ContactService:
    return ContactService(**_contacts_parts(settings, store, clock))


def subject_access(settings: Settings, store: Store, clock: Clock) -> SubjectAccess:
    return SubjectAccess(**_contacts_parts(settings, store, clock), scrub=store.scrub)


def agency_keys(settings: Settings, store: Store, clock: Clock) -> AgencyKeys:
    return AgencyKeys(AgencyRepository(store), clock, cipher(settings))


def partner_limiter(settings: Settings, store: Store, clock: Clock) -> RateLimiter:
    return RateLimiter(store.collection("rate_limits"), settings.partner_rate_limit, clock, "partner-api")
