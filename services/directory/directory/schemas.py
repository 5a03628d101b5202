"""Request and response schemas of the directory's own API (the OpenAPI document comes from these).

Loading a request validates and normalises it: postcodes become "L8 1AA",
opening times get every weekday with sessions in order, dates become ISO
strings. The domain then compares like with like when it works out what changed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ccshared import apidoc, geo, phone
from ccshared.contracts import (
    AREAS,
    CENTRE_ACTIONS,
    CENTRE_OPEN,
    CENTRE_STATUSES,
    CENTRE_TEMPORARILY_CLOSED,
    FEED_RESULTS,
)
from ccshared.service_types import SERVICE_IDS
from ccshared.text import NoControlCharacters
from marshmallow import RAISE, Schema, ValidationError, fields, post_load, validate, validates_schema

from . import hours
from .vocabulary import WEEKDAYS

_TIME = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
DATE_TIME = {"format": "date-time"}
SAMPLE = {
    "description": "one of the SAMPLE centres `make run` loads: invented for demonstration, "
    "not the council's list of children's centres"
}


class Strict(apidoc.RuledSchema):
    class Meta:
        unknown = RAISE


def postcode_or_district(message: str) -> list[Callable[[str], Any]]:
    """A field's checks: 2-10 characters, then a full UK postcode or a district (`message` if not;
    text of the wrong length gets the length's message alone)."""
    length = validate.Length(2, 10)

    def check(value: str) -> None:
        fits = length.min <= len(value) <= length.max
        if fits and not geo.normalise_postcode_or_district(value):
            raise ValidationError(message)

    return [length, check]


class Text(fields.String):
    """Text typed by staff: no control characters (a line break in a centre's name
    would end up in e-mail headers); `multiline` lets a textarea's line breaks in."""

    def __init__(self, *, multiline: bool = False, **kwargs: Any):
        super().__init__(**kwargs)
        self._no_control_characters = NoControlCharacters(multiline)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        """Checked as sent, before a subclass normalises it (a postcode's spaces)."""
        return self._no_control_characters(super()._deserialize(value, attr, data, **kwargs))


class Postcode(Text):
    """A full UK postcode, normalised to 'L8 1AA'."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        postcode = geo.normalise_postcode(text)
        if postcode is None:
            raise ValidationError("Not a valid UK postcode, e.g. L1 0AA.")
        return postcode


class Phone(Text):
    """A UK phone number: 0151 496 0000 or +44 151 496 0000."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        return phone.Phone("Not a valid UK phone number, e.g. 0151 496 0000.")(text)


def _time() -> fields.String:
    return Text(
        required=True,
        validate=validate.Regexp(_TIME, error="Use 24-hour HH:MM, e.g. 09:30."),
        metadata={"example": "09:00"},
    )


class SessionSchema(Strict):
    opens = _time()
    closes = _time()

    @validates_schema
    def _in_order(self, data: dict, **kwargs: Any) -> None:
        if data["opens"] >= data["closes"]:
            raise ValidationError("Must be after opens.", "closes")


MAX_SESSIONS = 6


def _sessions_fit(sessions: list[dict]) -> None:
    """A day's sessions in order and apart; more than MAX_SESSIONS is left to the field's Length."""
    problems = hours.session_problems(sessions) if len(sessions) <= MAX_SESSIONS else []
    if problems:
        raise ValidationError(problems)


def _sessions() -> fields.List:
    return fields.List(
        fields.Nested(SessionSchema),
        load_default=list,
        validate=[validate.Length(max=MAX_SESSIONS), _sessions_fit],
    )


class OpeningTimesSchema(Strict):
    """Sessions per weekday; a day left out or empty is closed."""

    monday = _sessions()
    tuesday = _sessions()
    wednesday = _sessions()
    thursday = _sessions()
    friday = _sessions()
    saturday = _sessions()
    sunday = _sessions()

    @post_load
    def _every_day_in_order(self, data: dict, **kwargs: Any) -> dict:
        return {day: sorted(data.get(day) or [], key=lambda s: s["opens"]) for day in WEEKDAYS}


class ExceptionSchema(Strict):
    """A dated change to the weekly times: closed all day, or holiday sessions."""

    date = fields.Date(required=True)
    closed = fields.Boolean(load_default=False)
    sessions = _sessions()
    note = Text(load_default="", validate=validate.Length(max=200))

    rules = (
        apidoc.ExactlyOne(
            ("closed", "sessions"),
            "sessions",
            "Give the sessions, or set closed to true.",
            both="A closed day has no sessions.",
        ),
    )

    @post_load
    def _as_stored(self, data: dict, **kwargs: Any) -> dict:
        return {
            **data,
            "date": data["date"].isoformat(),
            "sessions": sorted(data["sessions"], key=lambda s: s["opens"]),
        }


def _exceptions_unique(items: list[dict]) -> None:
    dates = [item["date"] for item in items]
    if len(dates) != len(set(dates)):
        raise ValidationError("Each date may appear only once.")


class AddressSchema(Strict):
    line1 = Text(required=True, validate=validate.Length(1, 120))
    line2 = Text(load_default=None, allow_none=True, validate=validate.Length(max=120))
    town = Text(load_default="Liverpool", validate=validate.Length(1, 60))


class LocationSchema(Strict):
    latitude = fields.Float(required=True, validate=validate.Range(-90, 90))
    longitude = fields.Float(required=True, validate=validate.Range(-180, 180))


class CostOptionSchema(Strict):
    option = Text(required=True, validate=validate.Length(1, 120), metadata={"example": "Childcare places"})
    amount = fields.Float(
        load_default=None, allow_none=True, validate=validate.Range(0, 10_000), metadata={"example": 6.5}
    )
    amount_description = Text(load_default="", validate=validate.Length(max=120))


class CentreInputSchema(Strict):
    """A centre's editable details. PATCH takes any subset of them."""

    name = Text(required=True, validate=validate.Length(1, 120))
    description = Text(multiline=True, validate=validate.Length(max=2000))
    address = fields.Nested(AddressSchema, required=True)
    postcode = Postcode(required=True, metadata={"example": "L8 0AA"})
    ward = Text(required=True, validate=validate.Length(1, 80))
    area = fields.String(required=True, validate=validate.OneOf(AREAS))
    location = fields.Nested(LocationSchema, allow_none=True)
    phone = Phone(allow_none=True, metadata={"example": "0151 496 0000"})
    email = fields.Email(allow_none=True, validate=validate.Length(max=254))
    website = fields.URL(allow_none=True, schemes={"http", "https"}, validate=validate.Length(max=300))
    opening_times = fields.Nested(OpeningTimesSchema, required=True)
    exceptions = fields.List(
        fields.Nested(ExceptionSchema), validate=[validate.Length(max=100), _exceptions_unique]
    )
    services = fields.List(
        fields.String(validate=validate.OneOf(SERVICE_IDS)), validate=validate.Length(max=len(SERVICE_IDS))
    )
    min_age = fields.Integer(validate=validate.Range(0, 25))
    max_age = fields.Integer(validate=validate.Range(0, 25))
    accessibility = Text(multiline=True, validate=validate.Length(max=1000))
    languages = fields.List(
        Text(validate=validate.Length(1, 40)),
        validate=validate.Length(max=20),
        metadata={"description": "languages spoken by the staff, e.g. English, Polish"},
    )
    cost_options = fields.List(
        fields.Nested(CostOptionSchema),
        validate=validate.Length(max=20),
        metadata={"description": "what costs money; none (or only zero amounts) means free"},
    )
    status = fields.String(
        validate=validate.OneOf((CENTRE_OPEN, CENTRE_TEMPORARILY_CLOSED)),
        metadata={"description": "open or temporarily_closed; closing for good is POST .../close"},
    )

    @validates_schema
    def _ages_in_order(self, data: dict, **kwargs: Any) -> None:
        if "min_age" in data and "max_age" in data and data["min_age"] > data["max_age"]:
            raise ValidationError("Must not be below min_age.", "max_age")

    @post_load
    def _tidy(self, data: dict, **kwargs: Any) -> dict:
        if "services" in data:
            data["services"] = sorted(set(data["services"]), key=SERVICE_IDS.index)
        if "exceptions" in data:
            data["exceptions"] = sorted(data["exceptions"], key=lambda e: e["date"])
        return data


class CentrePatchSchema(CentreInputSchema):
    """Any subset of a centre's editable details; each one given is validated whole."""

    def __init__(self, **kwargs: Any):
        super().__init__(partial=tuple(CentreInputSchema._declared_fields), **kwargs)


class CloseSchema(Strict):
    reason = Text(required=True, validate=validate.Length(1, 500))


class CentreSearchArgs(Strict):
    q = Text(
        validate=validate.Length(1, 100), metadata={"description": "text in name, ward, address or postcode"}
    )
    service = fields.String(
        validate=validate.OneOf(SERVICE_IDS),
        metadata={"description": "a service id from /api/v1/services-list"},
    )
    ward = Text(validate=validate.Length(1, 80), metadata={"description": "a ward's whole name, any case"})
    place = Text(
        validate=validate.Length(1, 100),
        metadata={
            "description": "a place as a family types it: part of a centre's ward, name or address, "
            "any case (Garston finds the Speke-Garston ward's centres and Garston Children's Centre)"
        },
    )
    area = fields.String(validate=validate.OneOf(AREAS))
    postcode = Text(
        validate=postcode_or_district("Not a UK postcode or postcode district, e.g. L8 or L8 0AA."),
        metadata={
            "description": "a district (L8) or a full postcode (L8 0AA): results come nearest first, "
            "measured from a full postcode the geocoder locates, else from the middle of its "
            "district's known centres (see located_by); a district none of whose centres has "
            "coordinates is matched exactly"
        },
    )
    open_now = fields.Boolean(load_default=False)
    age = fields.Integer(
        validate=validate.Range(0, 25),
        metadata={"description": "a child's age in years: centres that take it"},
    )
    free = fields.Boolean(
        load_default=False, metadata={"description": "only centres whose services are free"}
    )
    language = Text(validate=validate.Length(1, 40), metadata={"description": "a language the staff speak"})
    lat = fields.Float(validate=validate.Range(-90, 90))
    lon = fields.Float(validate=validate.Range(-180, 180))
    radius_km = fields.Float(validate=validate.Range(0, 100, min_inclusive=False))
    include_closed = fields.Boolean(
        load_default=False, metadata={"description": "include centres closed for good"}
    )
    page = fields.Integer(load_default=1, validate=validate.Range(1, 10_000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(1, 100))

    # Query parameters: checked, and said in the operation's description (OpenAPI 3.0 cannot state them).
    rules = (
        apidoc.Together(("lat", "lon"), "Give lat and lon together."),
        apidoc.NeededWith(
            "radius_km", ("lat", "postcode"), "radius_km", "radius_km needs lat and lon, or a postcode."
        ),
        apidoc.AtMostOne(("postcode", "lat"), "postcode", "Search near lat/lon or a postcode, not both."),
    )


# Responses


class SessionOut(Schema):
    opens = fields.String(metadata={"example": "09:00"})
    closes = fields.String(metadata={"example": "17:00"})


class ExceptionOut(Schema):
    date = fields.String(metadata={"format": "date"})
    closed = fields.Boolean()
    sessions = fields.List(fields.Nested(SessionOut))
    note = fields.String()


class TodayOut(Schema):
    date = fields.String(metadata={"format": "date"})
    weekday = fields.String(validate=validate.OneOf(WEEKDAYS))
    sessions = fields.List(fields.Nested(SessionOut))
    closed = fields.Boolean()
    note = fields.String(allow_none=True)


class AddressOut(Schema):
    line1 = fields.String()
    line2 = fields.String(allow_none=True)
    town = fields.String()


class DayOut(TodayOut):
    today = fields.Boolean()


class CostOptionOut(Schema):
    option = fields.String()
    amount = fields.Float(allow_none=True)
    amount_description = fields.String()


class CentreSchema(Schema):
    """A centre as the public sees it, with helpers worked out for now (Europe/London)."""

    id = fields.String(metadata={"format": "uuid"})
    name = fields.String()
    description = fields.String()
    address = fields.Nested(AddressOut)
    postcode = fields.String()
    postcode_district = fields.String()
    ward = fields.String()
    area = fields.String(validate=validate.OneOf(AREAS))
    location = fields.Nested(LocationSchema, allow_none=True)
    phone = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    website = fields.String(allow_none=True)
    opening_times = fields.Dict(
        keys=fields.String(validate=validate.OneOf(WEEKDAYS)), values=fields.List(fields.Nested(SessionOut))
    )
    exceptions = fields.List(fields.Nested(ExceptionOut))
    services = fields.List(fields.Nested(lambda: ServiceTypeSchema()))
    min_age = fields.Integer()
    max_age = fields.Integer()
    accessibility = fields.String()
    status = fields.String(validate=validate.OneOf(CENTRE_STATUSES))
    last_verified_at = fields.String(allow_none=True, metadata=DATE_TIME)
    verified_by = fields.String(
        allow_none=True,
        metadata={"description": "who last checked it: only in a read made with a staff token"},
    )
    stale = fields.Boolean(metadata={"description": "not verified within DIRECTORY_STALE_DAYS"})
    updated_at = fields.String(metadata=DATE_TIME)
    version = fields.Integer(metadata={"description": "also the ETag; send it as If-Match when editing"})
    open_now = fields.Boolean()
    today = fields.Nested(TodayOut)
    week = fields.List(
        fields.Nested(DayOut),
        metadata={"description": "this week, Monday to Sunday; bank holidays and closure days closed"},
    )
    languages = fields.List(fields.String())
    cost_options = fields.List(fields.Nested(CostOptionOut))
    free = fields.Boolean(metadata={"description": "no cost option with an amount above zero"})
    distance_km = fields.Float(allow_none=True)
    sample = fields.Boolean(metadata=SAMPLE)


class PartnerServiceSchema(Schema):
    id = fields.String(metadata={"description": "<feed>:<the partner's service id>"})
    feed = fields.String(metadata={"description": "the short name of the ORUK feed it came from"})
    name = fields.String()
    description = fields.String()
    organization = fields.String(metadata={"description": "the organisation that offers it"})
    label = fields.String(metadata={"description": '"from <organisation>": show it beside the name'})
    url = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    fees = fields.String(allow_none=True)
    min_age = fields.Float(allow_none=True)
    max_age = fields.Float(allow_none=True)
    languages = fields.List(fields.String())
    free = fields.Boolean(metadata={"description": "the feed lists its costs and none has a price"})
    postcode = fields.String(allow_none=True)
    assured_date = fields.String(
        allow_none=True, metadata={"description": "when the partner last checked it (their assured_date)"}
    )
    distance_km = fields.Float(allow_none=True)


class CentrePageSchema(Schema):
    items = fields.List(fields.Nested(CentreSchema))
    total = fields.Integer(metadata={"description": "centres matching"})
    page = fields.Integer()
    per_page = fields.Integer()
    pages = fields.Integer(metadata={"description": "pages of centres and then partners' services"})
    partner_services = fields.List(
        fields.Nested(PartnerServiceSchema),
        metadata={
            "description": "partners' services matching the same filters, listed after the centres: "
            "the part of this page that comes after the last centre"
        },
    )
    partner_total = fields.Integer(metadata={"description": "partners' services matching"})
    located_by = fields.String(
        allow_none=True,
        metadata={
            "description": "how a postcode was searched: postcode (nearest its own coordinates), "
            "district_middle (nearest the middle of its district's known centres: distance_km and "
            "radius_km are measured from there, not from the address) or district (its district "
            "matched exactly, no distances); null without a postcode"
        },
    )


class ServiceTypeSchema(Schema):
    id = fields.String()
    label = fields.String()
    description = fields.String()
    taxonomy_term_id = fields.String(attribute="term_id", metadata={"format": "uuid"})


class ServiceListSchema(Schema):
    items = fields.List(fields.Nested(ServiceTypeSchema))


class AuditRecordSchema(Schema):
    at = fields.String(metadata=DATE_TIME)
    by = fields.String()
    role = fields.String()
    action = fields.String(validate=validate.OneOf(CENTRE_ACTIONS))
    version = fields.Integer()
    changed_fields = fields.List(fields.String())
    changes = fields.Dict(metadata={"description": "{field: {from, to}}"})
    reason = fields.String()


class AuditSchema(Schema):
    centre_id = fields.String()
    items = fields.List(fields.Nested(AuditRecordSchema))


class StaleCentreSchema(Schema):
    id = fields.String()
    name = fields.String()
    area = fields.String()
    ward = fields.String()
    status = fields.String()
    last_verified_at = fields.String(allow_none=True, metadata=DATE_TIME)
    verified_by = fields.String(allow_none=True)
    days_since_verified = fields.Integer(allow_none=True)
    version = fields.Integer()
    sample = fields.Boolean(metadata=SAMPLE)


class StaleListSchema(Schema):
    stale_days = fields.Integer()
    items = fields.List(fields.Nested(StaleCentreSchema))


class PartnerFeedErrorSchema(Schema):
    at = fields.String(metadata=DATE_TIME)
    reason = fields.String(
        metadata={"description": "unreachable, timeout, http_error, too_large, invalid_json or invalid_data"}
    )
    detail = fields.String()


class PartnerFeedSchema(Schema):
    name = fields.String()
    services = fields.Integer()
    hidden = fields.Integer()
    last_attempt_at = fields.String(allow_none=True, metadata=DATE_TIME)
    last_success_at = fields.String(allow_none=True, metadata=DATE_TIME)
    last_result = fields.String(allow_none=True, metadata={"enum": list(FEED_RESULTS)})
    failures_in_a_row = fields.Integer()
    next_attempt_at = fields.String(allow_none=True, metadata=DATE_TIME)
    last_error = fields.Nested(PartnerFeedErrorSchema, allow_none=True)


class PartnerAuditRecordSchema(Schema):
    at = fields.String(metadata=DATE_TIME)
    by = fields.String()
    role = fields.String()
    action = fields.String(validate=validate.OneOf(("hidden", "shown")))
    reason = fields.String()


class StaffPartnerServiceSchema(PartnerServiceSchema):
    service_id = fields.String()
    status = fields.String()
    hidden = fields.Boolean()
    imported_at = fields.String(metadata=DATE_TIME)
    audit = fields.List(fields.Nested(PartnerAuditRecordSchema))


class PartnerFeedsSchema(Schema):
    feeds = fields.List(fields.Nested(PartnerFeedSchema))
    services = fields.List(fields.Nested(StaffPartnerServiceSchema))


class HideSchema(Strict):
    reason = Text(validate=validate.Length(1, 500))
