"""Request and response schemas; the OpenAPI description comes from these."""

from __future__ import annotations

from typing import Any

from ccshared import apidoc, geo, query, tables
from ccshared import contracts as c
from ccshared import service_types as st
from ccshared.auth import AGENCY_ID
from ccshared.calendar import EARLIEST_DAY, LATEST_DAY, validate_received_at
from ccshared.phone import Phone
from ccshared.referrals import CHANGES
from ccshared.text import NoControlCharacters
from marshmallow import RAISE, Schema, ValidationError, fields, validate
from webargs.fields import DelimitedList

from . import vocabulary as v
from . import webhooks as wh
from .domain import PREGNANCY_MONTHS

USERNAME = validate.Regexp(r"^[A-Za-z0-9._@-]{1,100}$", error="not a valid staff username")
REPLY_DETAIL = {c.POST: "address", c.TELEPHONE: "phone", c.EMAIL: "email"}  # what each reply needs


class Strict(apidoc.RuledSchema):
    class Meta:
        unknown = RAISE


# A required text must hold something other than spaces (the OpenAPI document states it too).
NOT_BLANK = validate.Regexp(r"\S", error="must not be blank")


class Text(fields.String):
    """Free text as people write it, without the spaces around it (as the web forms send it):
    a line of spaces is no text, so a required one is refused and an optional one is empty."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        return super()._deserialize(value, attr, data, **kwargs).strip()


class PostcodeOrDistrict(Text):
    """A UK postcode ('L8 0AA') or, for a family that gives no more, its district ('L8'),
    normalised as the directory writes them; empty is none given."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if not text:
            return text
        place = geo.normalise_postcode_or_district(text)
        if place is None:
            raise ValidationError("not a UK postcode or postcode district, e.g. L8 0AA or L8")
        return place


def text(max_length: int, required: bool = False, multiline: bool = False, **kwargs: Any) -> fields.String:
    """Free text without control characters (a NUL, or a line break in a name that ends up in an
    e-mail header); `multiline` lets a textarea's line breaks in."""
    checks = [NoControlCharacters(multiline)]
    if required:
        return Text(required=True, validate=[NOT_BLANK, validate.Length(max=max_length), *checks], **kwargs)
    return Text(validate=[validate.Length(0, max_length), *checks], **kwargs)


def phone() -> fields.String:
    return fields.String(
        validate=Phone(
            "not a valid telephone number: a UK one of 10 or 11 digits, e.g. 0151 496 0000 or "
            "07700 900123, or one abroad with its country code, e.g. +33 1 23 45 67 89",
            abroad_too=True,
        ),
        metadata={
            "description": "a UK telephone number: 10 or 11 digits from its leading 0 (+44 reads as 0; "
            "spaces, dashes and brackets as you like); or a number abroad with + (or 00) and its "
            "country code, 8 to 15 digits in all",
            "example": "0151 496 0000",
        },
    )


# Staff contacts ---------------------------------------------------------------


class RequesterSchema(Strict):
    """The member of the public and how they asked to be answered."""

    name = text(200, required=True)
    reply_by = fields.String(required=True, validate=validate.OneOf(c.REPLY_BY))
    address = text(500, multiline=True)
    phone = phone()
    email = fields.Email()

    rules = (apidoc.NeededFor("reply_by", tuple(REPLY_DETAIL.items()), "needed to reply by {value}"),)


class RespondSchema(Strict):
    method = fields.String(required=True, validate=validate.OneOf(v.RESPONSE_METHODS))
    responded_at = fields.AwareDateTime()


class ContactCreateSchema(Strict):
    channel = fields.String(
        required=True,
        validate=validate.OneOf(c.STAFF_CHANNELS, error="must be one of {choices}; partners post referrals"),
    )
    centre_id = text(100, required=True)
    received_at = fields.AwareDateTime(validate=validate_received_at)
    urgency = fields.String(
        validate=validate.OneOf(c.URGENCIES),
        metadata={
            "description": "how soon it needs an answer; picks the SLA target (default: the channel's)"
        },
    )
    subject = text(200, required=True)
    summary = text(5000, multiline=True)
    requester = fields.Nested(RequesterSchema, required=True)
    response = fields.Nested(
        RespondSchema,
        metadata={
            "description": "the answer already given, for a contact logged after it was answered: "
            "as POST /contacts/{id}/respond takes it; the SLA clock stops at its responded_at"
        },
    )


class PageQuerySchema(Strict):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=query.MAX_PAGE))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class ContactQuerySchema(PageQuerySchema, query.ContactFilters):
    status = fields.String(validate=validate.OneOf(v.STATUSES))
    urgency = fields.String(validate=validate.OneOf(c.URGENCIES))
    centre_id = text(100)
    assignee = fields.String(validate=USERNAME)
    received_from = fields.AwareDateTime(validate=validate_received_at)
    received_to = fields.AwareDateTime(validate=validate_received_at)
    format = fields.String(
        load_default="json",
        validate=validate.OneOf(("json", *tables.FORMATS)),
        metadata={
            "description": "json (a page), or every matching contact as a file to take away: csv or "
            "xlsx (no personal data; page and per_page do not apply)"
        },
    )


class AgencyReferralQuerySchema(PageQuerySchema):
    status = fields.String(validate=validate.OneOf(c.REFERRAL_STATUSES))


class AssignSchema(Strict):
    assignee = fields.String(required=True, validate=USERNAME)


def end_reason(reasons: tuple[str, ...], why: str) -> fields.String:
    """A close or withdraw reason: a code from a fixed list, so no words reach its event."""
    return fields.String(validate=validate.OneOf(reasons), metadata={"description": why})


class CloseSchema(Strict):
    reason_code = end_reason(v.CLOSE_REASONS, "why it was closed (a code: it travels in the event)")


class WithdrawSchema(Strict):
    reason_code = end_reason(v.WITHDRAW_REASONS, "why it was withdrawn (a code: it travels in the event)")


class PauseSchema(Strict):
    """Stop the clock from now: a pause takes no date, so it cannot be backdated."""

    reason_code = fields.String(
        required=True,
        validate=validate.OneOf(c.PAUSE_REASONS),
        metadata={"description": "who the contact is waiting on"},
    )
    note = text(
        1000,
        multiline=True,
        metadata={
            "description": "what it waits for; kept encrypted, never in events (only spaces: no "
            "note). Shown to staff; on a referral's `waiting_on_partner` pause, also to the referring "
            "agency (its read's `waiting_on_partner_note`): write it for them"
        },
    )


class ResumeSchema(Strict):
    """Start the clock again from now (no date: a resume cannot be backdated either)."""


class DeclineSchema(Strict):
    reason = text(1000, required=True, multiline=True)
    reason_code = fields.String(load_default="other", validate=validate.OneOf(v.DECLINE_REASONS))


# Partner referrals ------------------------------------------------------------


class ReferrerSchema(Strict):
    name = text(200, required=True)
    role = text(200)
    phone = phone()
    email = fields.Email()

    # The centre must be able to reach the professional who referred.
    rules = (apidoc.AtLeastOne(("phone", "email"), "phone"),)


class FamilySchema(Strict):
    name = text(200, required=True)
    address = text(500, multiline=True)
    postcode = PostcodeOrDistrict(
        validate=validate.Length(0, 10),
        metadata={"description": "a UK postcode (L8 0AA) or its district (L8); kept as L8 0AA"},
    )
    phone = phone()
    email = fields.Email()

    # The centre must be able to reach the family: by telephone, e-mail or post.
    rules = (apidoc.AtLeastOne(("phone", "email", "address"), "phone"),)


class ChildSchema(Strict):
    """A child under five (`contracts.CHILD_AGE_YEARS`): age in whole years or in months."""

    age_years = fields.Integer(
        validate=validate.Range(
            c.CHILD_AGE_YEARS[0], c.CHILD_AGE_YEARS[-1], error="children must be under five"
        )
    )
    age_months = fields.Integer(
        validate=validate.Range(
            c.CHILD_AGE_MONTHS[0], c.CHILD_AGE_MONTHS[-1], error="children must be under five (0-59 months)"
        )
    )
    rules = (
        apidoc.ExactlyOne(
            ("age_years", "age_months"), "age_years", "give age_years or age_months, not both or neither"
        ),
    )


class ConsentSchema(Strict):
    """The family's consent to the referral, as the referrer recorded it."""

    given = fields.Boolean(
        required=True,
        validate=validate.Equal(True, error="the family must consent"),
        metadata={"description": "must be true: a family is referred only with its consent"},
    )
    recorded_by = text(200, required=True, metadata={"description": "who recorded the consent"})
    recorded_at = fields.AwareDateTime(
        required=True,
        validate=validate_received_at,
        metadata={
            "description": "when the consent was recorded: a date-time with its UTC offset (`Z` or "
            f"`+01:00`), its UK date from {EARLIEST_DAY} to {LATEST_DAY}, and not in the future: "
            "not later than the moment the referral arrives, nor before the pregnancy with the "
            f"oldest child by the ages given ({PREGNANCY_MONTHS} months before its earliest birth): 422 naming "
            "`consent.recorded_at`"
        },
    )


class ServiceCode(fields.String):
    """A code from the directory's list of services; a deprecated alias loads as its published code."""

    def __init__(self, **kwargs: object):
        published = {"enum": list(st.SERVICE_IDS), "description": "a code from /api/v1/services-list"}
        aliases = {
            "enum": list(st.ALIASES),
            "deprecated": True,
            "description": "deprecated aliases, each read as its published code: "
            + ", ".join(f"{old} = {new}" for old, new in st.ALIASES.items()),
        }
        super().__init__(metadata={"oneOf": [published, aliases]}, **kwargs)

    def _deserialize(self, value: object, attr: str | None, data: object, **kwargs: object) -> str:
        code = super()._deserialize(value, attr, data, **kwargs)
        try:
            return st.canonical(code)
        except KeyError:
            raise ValidationError(
                f"not a service code; use one of {', '.join(st.SERVICE_IDS)} (see /api/v1/services-list)"
            ) from None


class ServiceCodes(fields.List):
    """Service codes, each once: an old alias and the code it stands for name one service."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[str]:
        return list(dict.fromkeys(super()._deserialize(value, attr, data, **kwargs)))


def support_needed() -> fields.List:
    return ServiceCodes(ServiceCode(), required=True, validate=validate.Length(1, len(st.SERVICE_IDS)))


class PlaceSchema(Strict):
    """Where the family is, to find the nearest suitable centre: a district, or coordinates."""

    postcode_district = text(8)
    lat = fields.Float(validate=validate.Range(-90, 90))
    lon = fields.Float(validate=validate.Range(-180, 180))
    rules = (apidoc.Together(("lat", "lon"), "give lat and lon together"),)


class NearestCentreQuerySchema(PlaceSchema):
    support_needed = DelimitedList(
        ServiceCode(),
        required=True,
        validate=validate.Length(1, len(st.SERVICE_IDS)),
        metadata={
            "description": "service codes separated by commas (childcare,send-support), or the "
            "parameter repeated (support_needed=childcare&support_needed=send-support)"
        },
    )
    # A query's parameters: OpenAPI 3.0 cannot state a rule across them, so only the check holds it.
    rules = (
        *PlaceSchema.rules,
        apidoc.AtLeastOne(
            ("postcode_district", "lat"), "postcode_district", "give postcode_district, or lat and lon"
        ),
    )


class ReferralCreateSchema(PlaceSchema):
    centre_id = fields.String(
        validate=validate.Length(0, 100),
        metadata={"description": "an open centre: one closed, or temporarily closed, is refused (422)"},
    )
    nearest = fields.Boolean()
    referrer = fields.Nested(ReferrerSchema, required=True)
    family = fields.Nested(FamilySchema, required=True)
    children = fields.List(fields.Nested(ChildSchema), required=True, validate=validate.Length(1, 12))
    support_needed = support_needed()
    urgency = fields.String(required=True, validate=validate.OneOf(c.URGENCIES))
    consent = fields.Nested(ConsentSchema, required=True)
    notes = text(5000, multiline=True)
    rules = (
        *PlaceSchema.rules,
        apidoc.ExactlyOne(
            ("centre_id", "nearest"),
            "centre_id",
            "give centre_id, or nearest: true with postcode_district or lat and lon",
            both="give centre_id or nearest, not both",
        ),
        apidoc.NotWith(
            "centre_id",
            ("postcode_district", "lat", "lon"),
            "give centre_id or a location (with nearest: true), not both",
        ),
        apidoc.NeededWith(
            "nearest",
            ("postcode_district", "lat"),
            "postcode_district",
            "needed with nearest (or give lat and lon)",
        ),
    )


class RoutingSchema(Schema):
    """How the referral's centre was chosen."""

    chosen = fields.String(metadata={"enum": ["named", "nearest"]})
    reason = fields.String()
    services_missing = fields.List(fields.String())
    distance_km = fields.Float(allow_none=True)


class NearestCentreSchema(Schema):
    centre_id = fields.String()
    centre_name = fields.String()
    area = fields.String()
    offers_all = fields.Boolean()
    routing = fields.Nested(RoutingSchema)


# Responses --------------------------------------------------------------------


def page_of(items: type[Schema], name: str) -> type[Schema]:
    """One page of a list (views.page): its items, how many match in all, and where it is."""
    return Schema.from_dict(
        {
            "items": fields.List(fields.Nested(items)),
            "total": fields.Integer(),
            "page": fields.Integer(),
            "per_page": fields.Integer(),
        },
        name=name,
    )


class TransitionSchema(Schema):
    by = fields.String()
    at = fields.DateTime(metadata={"description": "when the step was recorded"})
    from_status = fields.String(data_key="from", allow_none=True)
    to_status = fields.String(data_key="to")
    action = fields.String()
    dated = fields.DateTime(
        allow_none=True,
        metadata={"description": "the date entered for the step, when earlier than recorded (a response)"},
    )
    assigned_to = fields.String(
        allow_none=True,
        metadata={
            "description": "an assignment's assignee (username); null on other steps and on "
            "assignments recorded before it was kept"
        },
    )
    from_area = fields.String(
        allow_none=True,
        metadata={"description": "an area move's former area (its centre moved area); null on other steps"},
    )
    to_area = fields.String(
        allow_none=True, metadata={"description": "an area move's new area; null on other steps"}
    )


class AgencyNamedSchema(Schema):
    """The partner agency a referral came from."""

    agency_id = fields.String()
    agency_name = fields.String()


class ReferralOutlineSchema(Schema):
    """What a referral asks for, where it was routed and any decline: staff and its agency see the same."""

    urgency = fields.String()
    support_needed = fields.List(fields.String())
    routing = fields.Nested(RoutingSchema, allow_none=True)
    decline_reason_code = fields.String(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)


class ReferralSummarySchema(AgencyNamedSchema, ReferralOutlineSchema):
    status = fields.String()
    consent_recorded_at = fields.DateTime()


class ReferralDetailSchema(ReferralSummarySchema):
    decline_reason = fields.String(allow_none=True)
    history = fields.List(fields.Nested(TransitionSchema))


class PauseViewSchema(Schema):
    paused_at = fields.DateTime()
    paused_by = fields.String()
    reason_code = fields.String(metadata={"enum": list(c.PAUSE_REASONS)})
    note = fields.String(allow_none=True)
    resumed_at = fields.DateTime(allow_none=True)
    resumed_by = fields.String(allow_none=True)
    note_for_partner = fields.Boolean(
        metadata={"description": "the referral's agency reads the note (a pause waiting on it)"}
    )


class ContactNamedSchema(Schema):
    """How every view of a contact names it: its id, reference and centre."""

    id = fields.String()
    reference = fields.String()
    centre_id = fields.String()


class ContactStandingSchema(ContactNamedSchema):
    """A contact as staff and its partner agency both see it: when it came, where it stands."""

    received_at = fields.DateTime()
    status = fields.String()
    personal_erased_at = fields.DateTime(allow_none=True)


class ContactSummarySchema(ContactStandingSchema):
    """A contact without personal data: safe to list."""

    channel = fields.String()
    area = fields.String()
    created_at = fields.DateTime()
    assignee = fields.String(allow_none=True)
    responded_at = fields.DateTime(allow_none=True)
    response_method = fields.String(allow_none=True)
    ended_at = fields.DateTime(allow_none=True)
    urgency = fields.String(allow_none=True)
    paused_since = fields.DateTime(
        allow_none=True, metadata={"description": "when its current pause began; null when not paused"}
    )
    pause_reason = fields.String(
        allow_none=True, metadata={"enum": list(c.PAUSE_REASONS), "description": "who it is waiting on"}
    )
    referral = fields.Nested(ReferralSummarySchema, allow_none=True)
    referral_status = fields.String(
        allow_none=True,
        metadata={
            "enum": list(c.REFERRAL_STATUSES),
            "description": "a referral's status as its agency reads it (the referral's `status` is its "
            "decision only); null for other channels",
        },
    )


class ContactDetailSchema(ContactSummarySchema):
    """A contact with its personal data, for an authorised (and audited) read."""

    created_by = fields.String()
    history = fields.List(fields.Nested(TransitionSchema))
    personal = fields.Dict(allow_none=True)
    pauses = fields.List(
        fields.Nested(PauseViewSchema), metadata={"description": "every pause, oldest first"}
    )
    referral = fields.Nested(ReferralDetailSchema, allow_none=True)


ContactPageSchema = page_of(ContactSummarySchema, "ContactPageSchema")


class AgencyTransitionSchema(Schema):
    at = fields.DateTime()
    from_status = fields.String(data_key="from", allow_none=True)
    to_status = fields.String(data_key="to")


class AgencyReferralSchema(ContactStandingSchema, ReferralOutlineSchema):
    """What a partner agency may see of its own referral: status and outcome."""

    status = fields.String(
        metadata={
            "enum": list(c.REFERRAL_STATUSES),
            "description": "the referral status the agency follows (the same as `referral_status`): "
            "new, opened, accepted, declined, responded (answered without a decision; also once "
            "the centre has closed it) or withdrawn; never the centre's own contact status",
        }
    )
    referral_status = fields.String(metadata={"enum": list(c.REFERRAL_STATUSES)})
    waiting_on_partner_since = fields.DateTime(
        allow_none=True,
        metadata={
            "description": "while the centre has paused the referral waiting on the agency, when that "
            "began (its SLA clock stands still); null otherwise. The single read adds "
            "`waiting_on_partner_note`, what staff wait for"
        },
    )
    outcome = fields.String(allow_none=True)
    decline_reason = fields.String(allow_none=True)
    withdraw_reason_code = fields.String(
        allow_none=True,
        metadata={
            "description": f"why it was withdrawn: a code ({', '.join(c.WITHDRAW_REASONS)}; older "
            "withdrawals may carry others), never words; null if not withdrawn or withdrawn without one"
        },
    )
    history = fields.List(fields.Nested(AgencyTransitionSchema))
    respond_by = fields.DateTime(
        allow_none=True,
        metadata={
            "description": "the date the centre aims to respond by: the SLA monitor's due date for "
            "the referral (its working-day target from when it came in, moved on by any time the "
            "centre waited on the family or your agency), the same as in the receipt e-mail. Null "
            "until the SLA monitor has worked it out, moments after the referral arrives: read it "
            "again. Kept once the referral is answered or withdrawn"
        },
    )


class AgencyReferralDetailSchema(AgencyReferralSchema):
    waiting_on_partner_note = fields.String(
        allow_none=True,
        metadata={
            "description": "what the centre waits on the agency for, as staff wrote it when pausing "
            "(audited like the rest of this read); null when not waiting on the agency, when staff "
            "wrote nothing, or once retention has erased it"
        },
    )
    sent = fields.Dict(
        allow_none=True,
        metadata={
            "description": "what the agency sent (referrer, family, children, notes, consent); "
            "null once retention has erased it"
        },
    )


AgencyReferralPageSchema = page_of(AgencyReferralSchema, "AgencyReferralPageSchema")


class AuditEntrySchema(Schema):
    who = fields.String()
    action = fields.String()
    contact_id = fields.String()
    at = fields.String()
    details = fields.Dict(metadata={"description": "codes and counts only (a pause's reason code)"})


class AgencyNoticeSchema(AgencyNamedSchema):
    """For the notifier only: where to tell an agency of its own affairs."""

    agency_email = fields.String(allow_none=True)


class ReferralNoticeSchema(AgencyNoticeSchema, ContactNamedSchema):
    """For the notifier only: where to tell a referral's referrer, and the decline reason's words."""

    referrer_email = fields.String(allow_none=True)
    referral_status = fields.String()
    decline_reason_code = fields.String(allow_none=True)
    decline_reason = fields.String(allow_none=True)
    personal_erased = fields.Boolean()


# Webhook delivery log ---------------------------------------------------------


class WebhookDeliveryQuerySchema(PageQuerySchema):
    agency_id = fields.String(validate=validate.Regexp(AGENCY_ID, error="not an agency id"))
    status = fields.String(validate=validate.OneOf(wh.STATUSES))


class WebhookDeliverySchema(Schema):
    """One delivery as staff see it: no URL, no secret, no body."""

    id = fields.String(metadata={"description": "the webhook-id header: the contact event's id"})
    agency_id = fields.String()
    referral_id = fields.String()
    reference = fields.String()
    type = fields.String(metadata={"enum": [wh.TYPE_PREFIX + change for change in CHANGES]})
    status = fields.String(metadata={"enum": list(wh.STATUSES)})
    attempts = fields.Integer()
    last_status_code = fields.Integer(allow_none=True)
    last_error = fields.String(allow_none=True, metadata={"enum": list(wh.ERROR_KINDS)})
    created_at = fields.DateTime()
    next_attempt_at = fields.DateTime(allow_none=True)
    delivered_at = fields.DateTime(allow_none=True)


WebhookDeliveryPageSchema = page_of(WebhookDeliverySchema, "WebhookDeliveryPageSchema")
