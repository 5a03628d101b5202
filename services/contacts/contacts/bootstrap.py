"""Builds the contacts service's parts from settings: the app, the worker and the commands all use it."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from ccshared.auth import TokenVerifier
from ccshared.hints import Hints
from ccshared.ratelimit import RateLimiter
from ccshared.store import Store
from ccshared.timeutil import Clock

from .agencies import AgencyKeys
from .api import Services
from .blind_index import BlindIndex
from .config import SERVICE, Settings
from .crypto import PersonalDataCipher
from .idempotency import IdempotentRequests, idempotent_requests
from .read_model import CentreReadModel, DueDateReadModel
from .repository import AgencyRepository, AuditLog, CentreRepository, ContactRepository, DueDateRepository
from .retention import erase_expired
from .scrubbing import OwedScrub
from .service import AreaMoves, ContactService
from .subject_access import SubjectAccess
from .webhook_delivery import HttpSender, WebhookDelivery
from .webhook_repository import DeliveryRepository, ReceiverRepository
from .webhook_service import DeliveryLog, WebhookIntake


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
    return SubjectAccess(**_contacts_parts(settings, store, clock), scrub=OwedScrub(store, clock))


def agency_keys(settings: Settings, store: Store, clock: Clock) -> AgencyKeys:
    return AgencyKeys(AgencyRepository(store), clock, cipher(settings))


def partner_limiter(settings: Settings, store: Store, clock: Clock) -> RateLimiter:
    return RateLimiter(store.collection("rate_limits"), settings.partner_rate_limit, clock, "partner-api")


def retention(settings: Settings, store: Store, clock: Clock) -> Callable[[], int]:
    """The erase-expired command: erases what is past CONTACTS_RETENTION_DAYS, returns how many contacts."""
    return partial(
        erase_expired,
        ContactRepository(store, clock),
        AuditLog(store),
        requests(settings, store, clock),
        clock,
        settings.retention_days,
        OwedScrub(store, clock),
    )


def centre_read_model(store: Store, clock: Clock) -> CentreReadModel:
    """The centres contacts may be logged against, kept from the directory's events; a centre's
    unanswered contacts follow it into another area."""
    return CentreReadModel(CentreRepository(store), AreaMoves(ContactRepository(store, clock), clock))


def due_dates(store: Store) -> DueDateRepository:
    """Each referral's due date as the SLA monitor last announced it (its agency's respond_by)."""
    return DueDateRepository(store)


def due_date_read_model(store: Store) -> DueDateReadModel:
    """Keeps each referral's due date from the SLA monitor's events."""
    return DueDateReadModel(due_dates(store))


def delivery_log(store: Store) -> DeliveryLog:
    """The webhook deliveries as staff may read them."""
    return DeliveryLog(DeliveryRepository(store))


def webhook_intake(store: Store, clock: Clock, recorded: Hints | None = None) -> WebhookIntake:
    """Records the deliveries a referral change owes; reports each to `recorded`, if given."""
    return WebhookIntake(DeliveryRepository(store), ReceiverRepository(store, clock), clock, recorded)


def webhook_delivery(
    store: Store, clock: Clock, cipher: PersonalDataCipher, recorded: Hints | None = None
) -> WebhookDelivery:
    """The loop that signs and sends the recorded deliveries over HTTP; `recorded` wakes it."""
    return WebhookDelivery(
        deliveries=DeliveryRepository(store),
        receivers=ReceiverRepository(store, clock),
        sender=HttpSender(),
        cipher=cipher,
        clock=clock,
        hints=recorded,
    )


def api_context(settings: Settings, store: Store, clock: Clock) -> Services:
    """What the staff, partner, internal and webhook-log routes work with (api.Services)."""
    contacts = contact_service(settings, store, clock)
    return Services(
        contacts=contacts,
        agencies=agency_keys(settings, store, clock),
        idempotency=contacts.requests,
        tokens=TokenVerifier(SERVICE, settings.staff_token_public_key, settings.service_token_public_key),
        clock=clock,
        partner_limiter=partner_limiter(settings, store, clock),
        webhook_log=delivery_log(store),
        due_dates=due_dates(store),
    )
