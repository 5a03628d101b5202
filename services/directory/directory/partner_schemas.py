"""What a partner's ORUK 3.0 `/services` page must look like before anything of it is imported.

The rules are the specification's own (shared/oruk-3.0/schema/service_list.json
and the schemas a fully nested service refers to) for every field the import
reads: required fields, uuid ids, the status vocabulary, numbers, ISO dates.
Fields the import does not read are let through unchecked, as the specification
allows extra fields. A page that breaks a rule is refused whole, with the path
of the first bad field.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from ccshared.contracts import ORUK_STATUSES
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate


def _uuid(value: str) -> None:
    try:
        uuid.UUID(value)
    except ValueError:
        raise ValidationError("Not a valid UUID.") from None


def _date(value: str) -> None:
    try:
        date.fromisoformat(value)
    except ValueError:
        raise ValidationError("Not a valid ISO date.") from None


def _datetime(value: str) -> None:
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError("Not a valid ISO date-time.") from None


def Id(**kwargs: Any) -> fields.String:  # noqa: N802 - reads as a field type
    return fields.String(validate=_uuid, **kwargs)


class _Lenient(Schema):
    class Meta:
        unknown = EXCLUDE


class _Record(_Lenient):
    """An object of the specification: each has a uuid id."""

    id = Id(required=True)


class _Described(_Record):
    """An object the specification requires a name and a description of."""

    name = fields.String(required=True)
    description = fields.String(required=True)


class OrganizationSchema(_Described):
    """The organisation a service belongs to."""


class LanguageSchema(_Record):
    name = fields.String()
    code = fields.String()


class CostOptionSchema(_Record):
    option = fields.String(allow_none=True)
    amount = fields.Float(allow_none=True)


class TaxonomyTermSchema(_Described):
    term = fields.String(allow_none=True)


class AttributeSchema(_Record):
    taxonomy_term_id = Id(allow_none=True)
    taxonomy_term = fields.Nested(TaxonomyTermSchema, allow_none=True)


class AddressSchema(_Record):
    postal_code = fields.String(required=True)


class LocationSchema(_Record):
    location_type = fields.String(required=True)
    latitude = fields.Float(allow_none=True, allow_nan=False)
    longitude = fields.Float(allow_none=True, allow_nan=False)
    addresses = fields.List(fields.Nested(AddressSchema))


class ServiceAtLocationSchema(_Record):
    location = fields.Nested(LocationSchema, allow_none=True)


class ServiceSchema(_Record):
    organization_id = Id(allow_none=True)
    name = fields.String(required=True)
    description = fields.String(allow_none=True)
    url = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    status = fields.String(required=True, validate=validate.OneOf(ORUK_STATUSES))
    fees = fields.String(allow_none=True)
    minimum_age = fields.Float(allow_none=True, allow_nan=False)
    maximum_age = fields.Float(allow_none=True, allow_nan=False)
    assured_date = fields.String(allow_none=True, validate=_date)
    last_modified = fields.String(allow_none=True, validate=_datetime)
    organization = fields.Nested(OrganizationSchema, allow_none=True)
    languages = fields.List(fields.Nested(LanguageSchema))
    cost_options = fields.List(fields.Nested(CostOptionSchema))
    attributes = fields.List(fields.Nested(AttributeSchema))
    service_at_locations = fields.List(fields.Nested(ServiceAtLocationSchema))


class ServicePageSchema(_Lenient):
    total_items = fields.Integer(strict=True)
    total_pages = fields.Integer(strict=True, required=True, validate=validate.Range(min=0))
    page_number = fields.Integer(strict=True, required=True, validate=validate.Range(min=1))
    size = fields.Integer(strict=True)
    first_page = fields.Boolean()
    last_page = fields.Boolean(required=True)
    empty = fields.Boolean()
    contents = fields.List(fields.Nested(ServiceSchema), required=True)


class InvalidPage(ValueError):
    """The page breaks the specification; the message names the first bad field."""


def _first(messages: Any, path: str = "") -> str:
    if isinstance(messages, dict):
        key = sorted(messages, key=str)[0]
        return _first(messages[key], f"{path}.{key}" if path else str(key))
    if isinstance(messages, list) and messages and not isinstance(messages[0], str):
        return _first(messages[0], path)
    text = messages[0] if isinstance(messages, list) and messages else str(messages)
    return f"{path}: {text}"


def load_page(body: Any, page_number: int) -> dict[str, Any]:
    """The page's validated fields; raises InvalidPage naming the field (and never echoing values)."""
    if not isinstance(body, dict):
        raise InvalidPage("the page is not a JSON object")
    try:
        page = ServicePageSchema().load(body)
    except ValidationError as exc:
        raise InvalidPage(_first(exc.messages)) from None
    if page["page_number"] != page_number:
        raise InvalidPage(f"page_number: asked for page {page_number}, got {page['page_number']}")
    ids = [service["id"] for service in page["contents"]]
    if len(set(ids)) != len(ids):
        raise InvalidPage("contents: a service id is listed twice on one page")
    return page
