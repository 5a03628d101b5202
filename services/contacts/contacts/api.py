"""HTTP entrypoints: staff contacts, partner-agency referrals, and the webhook delivery log."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from ccshared import apidoc, tables
from ccshared import contracts as c
from ccshared.apidoc import Blueprint
from ccshared.auth import StaffUser, TokenVerifier, bearer_token, current_staff
from ccshared.errors import ApiError, Forbidden, InvalidInput, NotFound, Unauthorized
from ccshared.ratelimit import RateLimiter, client_key
from ccshared.timeutil import Clock
from ccshared.web import context
from flask import Flask, Response, g, jsonify, request
from flask_smorest import Api
from marshmallow import Schema

from . import schemas as s
from . import views
from .agencies import AgencyKeys
from .idempotency import (
    HEADER,
    KEY_PATTERN,
    KEY_RULE,
    LIFETIME,
    IdempotencyMismatch,
    IdempotentRequests,
    Request,
    checked_key,
    mismatch,
)
from .repository import DueDateRepository
from .service import Agency, ContactService
from .webhook_service import DeliveryLog

API_KEY_HEADER = apidoc.PARTNER_KEY_HEADER
IDEMPOTENCY_KEY = {
    "in": "header",
    "name": HEADER,
    "schema": {"type": "string", "pattern": KEY_PATTERN},
    "required": False,
    "description": f"A key of your own for this request ({KEY_RULE}; anything else is 422 naming "
    f"{HEADER}), kept {LIFETIME // timedelta(hours=1)} hours from its first use, for the caller who sent "
    "it: a member of staff, or an agency (its API keys and partner users alike). Within that time a "
    "retry with the same key and the same body (the same JSON, whatever the order of its keys or the "
    "spaces between them) makes nothing new: it answers 201 with the record the first request made, "
    f"as it stands now. The same key with another body is 422 `invalid_input` naming {HEADER}, and "
    "nothing is written: use a new key for a new request. After those hours, or once the record's "
    "personal data has been erased, the key is forgotten, and a request with it makes a new record.",
}

# Every partner operation: who may call it, and the rate limit `_authenticate_agency` counts first.
PARTNER = {
    **apidoc.PARTNER,
    "responses": {
        "429": apidoc.too_many_requests(
            "Over the partner API's rate limit, counted per caller in fixed windows: an agency's "
            "software (all its API keys together), and each of its partner users apart; a call without "
            "valid credentials counts against its address. The limit is the deployment's "
            "CONTACTS_PARTNER_RATE_LIMIT (by default 120 calls a minute). A refused call is not counted "
            "and does nothing; Retry-After says when the window ends."
        )
    },
}

# Made once: a schema with nested fields costs more to build than to load a body with,
# and webargs would build one per request from a class. Loads and dumps keep no state.
CONTACT_CREATE = s.ContactCreateSchema()
CONTACT_DETAIL = s.ContactDetailSchema()
REFERRAL_CREATE = s.ReferralCreateSchema()
AGENCY_REFERRAL = s.AgencyReferralSchema()

F = TypeVar("F", bound=Callable)


@dataclass(frozen=True)
class Services:
    contacts: ContactService
    agencies: AgencyKeys
    idempotency: IdempotentRequests
    tokens: TokenVerifier
    clock: Clock
    webhook_log: DeliveryLog
    due_dates: DueDateRepository
    partner_limiter: RateLimiter | None = None


def _services() -> Services:
    return context(Services)


def _staff() -> StaffUser:
    return g.staff


def _agency() -> Agency:
    return g.agency


def authenticate(roles: tuple[str, ...] = c.ROLES) -> Callable[[], None]:
    """A blueprint's `before_request`: the caller's token must name one of `roles` (any staff role)."""

    def check() -> None:
        g.staff = current_staff(_services().tokens, roles)

    return check


def guarded(name: str, url_prefix: str, description: str, guard: Callable[[], None]) -> Blueprint:
    """A part of this API whose every request `guard` checks first (`authenticate`, or an agency's key)."""
    blueprint = Blueprint(name, __name__, url_prefix=url_prefix, description=description)
    blueprint.before_request(guard)
    return blueprint


def _authenticate_agency() -> None:
    """Who is calling, within the rate limit: the agency's software (its keys) and each of its
    partner users apart, so that a burst from its software does not lock its people out of the
    partner pages; per address without valid credentials."""
    services = _services()
    agency, refusal = _calling_agency(services)
    if services.partner_limiter is not None:
        caller = agency.actor if agency else f"address:{client_key(request.remote_addr)}"
        services.partner_limiter.check(caller, "partner API requests")
    if agency is None:
        raise refusal or Unauthorized("no credentials")
    g.agency = agency


def _calling_agency(services: Services) -> tuple[Agency | None, ApiError | None]:
    """The agency's own software sends its API key; the front end's partner pages send
    the signed-in partner user's token, which names the agency."""
    key = request.headers.get(API_KEY_HEADER, "").strip()
    if "," in key:  # the header sent twice arrives as its values joined by a comma
        return None, Unauthorized(f"send one API key in {API_KEY_HEADER}, not several")
    if key:
        agency = services.agencies.authenticate(key)
        return agency, None if agency else Unauthorized("API key is not valid or has been revoked")
    token = bearer_token()
    if token is None:
        return None, Unauthorized(
            f"partner agencies send their API key in the {API_KEY_HEADER} header, "
            "or a partner user's token as Authorization: Bearer"
        )
    try:
        return _partner_agency(services, services.tokens.verify(token)), None
    except ApiError as refusal:
        return None, refusal


def _partner_agency(services: Services, user: StaffUser) -> Agency:
    """Partners and staff stay apart: only a partner's token reaches referrals, and only
    for an agency the service knows (its profile gives the name). The user is kept, so
    the audit trail and histories name who at the agency read or sent a family's details."""
    if user.role != c.ROLE_PARTNER or user.agency is None:
        raise Forbidden(f"role {user.role} may not use the partner API; staff use /api/v1/contacts")
    profile = services.agencies.profile(user.agency)
    if profile is None:
        raise Forbidden(
            f"agency {user.agency} is not registered here; an admin makes it with agency-key create"
        )
    return Agency(id=user.agency, name=profile["name"], user=user.username)


def _creates(blueprint: Blueprint, form: Schema, answer: type[Schema], security: dict) -> Callable[[F], F]:
    """The blueprint's POST that makes a record once per Idempotency-Key, answered with 201."""

    def register(route: F) -> F:
        route = blueprint.doc(parameters=[IDEMPOTENCY_KEY])(route)
        route = blueprint.response(201, answer)(route)
        route = blueprint.arguments(form)(route)
        return blueprint.post("")(blueprint.doc(**security)(route))

    return register


@contextmanager
def _idempotent(scope: str) -> Iterator[Request | None]:
    """The create request to make once per (scope, Idempotency-Key); a retry gets the same
    contact back, which the route rebuilds from the store for the caller (with the service
    layer's access check and audit). A key used before with another body is refused."""
    key = checked_key(request.headers.get(HEADER))
    try:
        yield _services().idempotency.request(scope, key, request.get_json(silent=True))
    except IdempotencyMismatch:
        raise mismatch() from None


def _json(body: dict, status: int) -> Response:
    response = jsonify(body)
    response.status_code = status
    return response


# Staff ------------------------------------------------------------------------

EXPORT_LIMIT = 50_000  # a year of contacts for the whole city, several times over

staff = guarded(
    "contacts",
    "/api/v1/contacts",
    "Letters, telephone messages, e-mails and referrals, for staff",
    authenticate(),
)


def _step(action: str, form: type[Schema] | None = None) -> Callable[[F], F]:
    """A member of staff's step on one contact, POST /<contact_id>/<action>: the answer is
    the contact as the step left it."""

    def register(route: F) -> F:
        route = staff.response(200, s.ContactSummarySchema)(route)
        if form is not None:
            route = staff.arguments(form)(route)
        return staff.post(f"/<contact_id>/{action}")(staff.doc(**apidoc.STAFF_ONLY)(route))

    return register


@_creates(staff, CONTACT_CREATE, s.ContactDetailSchema, apidoc.STAFF_ONLY)
def create_contact(form: dict) -> Response:
    """Log a letter, telephone message, e-mail or visit; its SLA clock starts from `received_at`."""
    user = _staff()
    service = _services().contacts
    with _idempotent(f"staff:{user.username}") as create_request:
        contact, _created = service.receive_contact(user, form, create_request)
    return _json(CONTACT_DETAIL.dump(views.contact_detail(service.read(user, contact.id))), 201)


@staff.get("")
@staff.doc(**apidoc.STAFF_ONLY)
@staff.arguments(s.ContactQuerySchema, location="query")
@staff.doc(**tables.openapi_files(s.ContactPageSchema))
@staff.response(200, s.ContactPageSchema)
def list_contacts(query: dict) -> dict | Response:
    """Contacts the caller may see, filtered; `format=csv|xlsx` downloads every match (no personal data)."""
    user = _staff()
    if query["format"] != "json":
        contacts, total = _services().contacts.list_contacts(user, query, 1, EXPORT_LIMIT)
        if total > EXPORT_LIMIT:
            raise InvalidInput(
                f"{total} contacts match; a download holds at most {EXPORT_LIMIT}: narrow the filters",
                {"received_from": ["narrow the dates, or filter by another field"]},
            )
        names = {centre.id: centre.name for centre in _services().contacts.centres.all()}
        rows = [views.contact_export_row(contact, names) for contact in contacts]
        return tables.download(views.EXPORT_COLUMNS, rows, query["format"], "contacts")
    contacts, total = _services().contacts.list_contacts(user, query, query["page"], query["per_page"])
    return views.page([views.contact_summary(c) for c in contacts], total, query["page"], query["per_page"])


@staff.get("/<contact_id>")
@staff.doc(**apidoc.STAFF_ONLY)
@staff.response(200, s.ContactDetailSchema)
def get_contact(contact_id: str) -> dict:
    """One contact, with its personal details, if it is in the caller's area."""
    return views.contact_detail(_services().contacts.read(_staff(), contact_id))


@staff.get("/<contact_id>/audit")
@staff.doc(**apidoc.STAFF_ONLY)
@staff.response(200, s.AuditEntrySchema(many=True))
def contact_audit(contact_id: str) -> list[dict]:
    """Who did what to the contact and when, oldest first."""
    return _services().contacts.audit_trail(_staff(), contact_id)


@_step("assign", s.AssignSchema)
def assign(form: dict, contact_id: str) -> dict:
    """Give the contact to a member of staff to answer."""
    return views.contact_summary(_services().contacts.assign(_staff(), contact_id, form["assignee"]))


@_step("respond", s.RespondSchema)
def respond(form: dict, contact_id: str) -> dict:
    """Record the answer (how and when): this stops the SLA clock."""
    contact = _services().contacts.respond(_staff(), contact_id, form["method"], form.get("responded_at"))
    return views.contact_summary(contact)


@_step("pause", s.PauseSchema)
def pause(form: dict, contact_id: str) -> dict:
    """Wait on the family or a partner: the SLA clock stands still from now until resumed."""
    contact = _services().contacts.pause(_staff(), contact_id, form["reason_code"], form.get("note"))
    return views.contact_summary(contact)


@_step("resume", s.ResumeSchema)
def resume(form: dict, contact_id: str) -> dict:
    """Stop waiting: the due date moves on by the whole working days the contact was paused."""
    return views.contact_summary(_services().contacts.resume(_staff(), contact_id))


@_step("close", s.CloseSchema)
def close(form: dict, contact_id: str) -> dict:
    """Close an answered contact, with a reason; its personal data's retention period starts now"""
    return views.contact_summary(_services().contacts.close(_staff(), contact_id, form.get("reason_code")))


@_step("withdraw", s.WithdrawSchema)
def withdraw(form: dict, contact_id: str) -> dict:
    """Withdraw: logged in error or no longer wanted, with a reason."""
    return views.contact_summary(_services().contacts.withdraw(_staff(), contact_id, form.get("reason_code")))


@_step("referral/open")
def open_referral(contact_id: str) -> dict:
    """A centre has opened the referral: the agency is told it is being looked at."""
    return views.contact_summary(_services().contacts.open_referral(_staff(), contact_id))


@_step("referral/accept")
def accept_referral(contact_id: str) -> dict:
    """Accept the referral: the agency is told."""
    return views.contact_summary(_services().contacts.accept_referral(_staff(), contact_id))


@_step("referral/decline", s.DeclineSchema)
def decline_referral(form: dict, contact_id: str) -> dict:
    """Decline the referral with a reason code and words for the agency."""
    contact = _services().contacts.decline_referral(_staff(), contact_id, form["reason_code"], form["reason"])
    return views.contact_summary(contact)


# Partner agencies -------------------------------------------------------------

partners = guarded(
    "referrals",
    "/api/v1/referrals",
    f"Partner agencies' referrals (authenticate with {API_KEY_HEADER}, or a partner user's token)",
    _authenticate_agency,
)


@_creates(partners, REFERRAL_CREATE, s.AgencyReferralSchema, PARTNER)
def create_referral(form: dict) -> Response:
    """Refer a family (consent recorded); `nearest: true` picks the nearest suitable centre."""
    agency = _agency()
    with _idempotent(f"agency:{agency.id}") as create_request:
        contact, _created = _services().contacts.receive_referral(agency, form, create_request)
    due = _services().due_dates.of([contact.id])
    return _json(AGENCY_REFERRAL.dump(views.agency_referral(contact, respond_by=due.get(contact.id))), 201)


@partners.get("")
@partners.doc(**PARTNER)
@partners.arguments(s.AgencyReferralQuerySchema, location="query")
@partners.response(200, s.AgencyReferralPageSchema)
def list_referrals(query: dict) -> dict:
    """The agency's referrals, newest first; `status` keeps those in one referral_status."""
    contacts, total = _services().contacts.agency_referrals(
        _agency(), query["page"], query["per_page"], query.get("status")
    )
    due = _services().due_dates.of([contact.id for contact in contacts])
    items = [views.agency_referral(c, respond_by=due.get(c.id)) for c in contacts]
    return views.page(items, total, query["page"], query["per_page"])


@partners.get("/agency")
@partners.doc(**PARTNER)
@partners.response(200, s.AgencyNamedSchema)
def calling_agency() -> dict:
    """The calling agency: its id and the name its profile gives (the partner pages show the name)."""
    agency = _agency()
    return {"agency_id": agency.id, "agency_name": agency.name}


@partners.get("/nearest-centre")
@partners.doc(**PARTNER)
@partners.arguments(s.NearestCentreQuerySchema, location="query")
@partners.response(200, s.NearestCentreSchema)
def nearest_centre(query: dict) -> dict:
    """The centre a referral with `nearest: true` would go to, and why: to show before sending.

    Give `postcode_district`, or `lat` and `lon` together.
    """
    return views.nearest_centre(_services().contacts.nearest_centre(query))


@partners.get("/<contact_id>")
@partners.doc(**PARTNER)
@partners.response(200, s.AgencyReferralDetailSchema)
def get_referral(contact_id: str) -> dict:
    """One of the agency's own referrals, with its status history."""
    services = _services()
    reading = services.contacts.agency_referral(_agency(), contact_id)
    return views.agency_referral_detail(reading, services.due_dates.of([contact_id]).get(contact_id))


PARTNER_DOCUMENT = "/api/v1/referrals/openapi.json"


def publish_partner_document(app: Flask, web_api: Api) -> None:
    """The partner host's OpenAPI document, at PARTNER_DOCUMENT (under the path the host passes
    here): the operations an agency's key reaches, cut from the service's one document, whose
    /openapi.json stays on the internal network. Open to anyone, like that one."""

    def document() -> Response:
        whole = web_api.spec.to_dict()
        title = f"{whole['info']['title']}: partner API"
        return jsonify(apidoc.part_for(whole, apidoc.PARTNER_KEY, title))

    app.add_url_rule(PARTNER_DOCUMENT, "partner_openapi", document, methods=["GET"])


# Internal: other services -----------------------------------------------------

internal = guarded(
    "internal",
    "/api/v1/internal",
    "For the project's other services only (a service token); not for partners or staff",
    authenticate((c.ROLE_SERVICE,)),
)


@internal.get("/referrals/<contact_id>")
@internal.doc(**apidoc.SERVICE_ONLY)
@internal.response(200, s.ReferralNoticeSchema)
def referral_notice(contact_id: str) -> dict:
    """Where and how to tell the referrer of a change to their referral (notifier only)."""
    services = _services()
    return services.contacts.referral_notice(_staff(), contact_id, services.agencies.repository)


@internal.get("/agencies/<agency_id>")
@internal.doc(**apidoc.SERVICE_ONLY)
@internal.response(200, s.AgencyNoticeSchema)
def agency_notice(agency_id: str) -> dict:
    """Where an agency is told of its own affairs (its webhook receiver failing, say)."""
    profile = _services().agencies.profile(agency_id)
    if profile is None:
        raise NotFound(f"no agency {agency_id}")
    return {
        "agency_id": agency_id,
        "agency_name": profile["name"],
        "agency_email": profile.get("notify_email"),
    }


# Webhook delivery log (staff) -------------------------------------------------

webhook_deliveries = guarded(
    "webhook_deliveries",
    "/api/v1/webhook-deliveries",
    "Status webhooks sent to partner agencies, for staff (their own area's referrals)",
    authenticate(),
)


@webhook_deliveries.get("")
@webhook_deliveries.doc(**apidoc.STAFF_ONLY)
@webhook_deliveries.arguments(s.WebhookDeliveryQuerySchema, location="query")
@webhook_deliveries.response(200, s.WebhookDeliveryPageSchema)
def list_deliveries(query: dict) -> dict:
    """Newest first: staff and coordinators see their own area, the Principal Officer and admins all."""
    found, total = _services().webhook_log.page(_staff(), query, query["page"], query["per_page"])
    return views.page([views.webhook_delivery(d) for d in found], total, query["page"], query["per_page"])
