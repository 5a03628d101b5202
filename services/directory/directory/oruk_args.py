"""The query parameters of each /oruk/ path, as the ORUK 3.0 OpenAPI document lists them.

Parameters the document does not list for a path are ignored (federated
readers send their own); a listed one with a bad value is refused naming it.
`day`, `start_time`, `end_time`, `minimum_age` and `maximum_age` are ours,
kept from the earlier profile.
"""

from __future__ import annotations

import re
from datetime import UTC
from typing import Any

from ccshared import apidoc
from marshmallow import EXCLUDE, ValidationError, fields, post_load, validate, validates_schema

from .schemas import Text, postcode_or_district
from .vocabulary import RRULE_DAYS, WEEKDAYS

FORMATS = ("json", "ndjson")
PER_PAGE = 20
MAX_PER_PAGE = 1000
_TIME = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$")
_DAYS = {**{day: day for day in WEEKDAYS}, **{code.lower(): day for day, code in RRULE_DAYS.items()}}


class Lenient(apidoc.RuledSchema):
    """Federated consumers send parameters a path does not list: ignore those."""

    class Meta:
        unknown = EXCLUDE


def _time() -> fields.String:
    return Text(validate=validate.Regexp(_TIME, error="Use HH:MM, e.g. 09:30."))


def _id() -> fields.String:
    return Text(validate=validate.Length(1, 64))


class ListArgs(Lenient):
    search = Text(validate=validate.Length(1, 100), metadata={"description": "full text search"})
    page = fields.Integer(load_default=1, validate=validate.Range(1, 10_000))
    per_page = fields.Integer(load_default=PER_PAGE, validate=validate.Range(1, MAX_PER_PAGE))
    format = Text(
        load_default="json",
        validate=validate.OneOf(FORMATS),
        metadata={"description": "json (pages) or ndjson (every item, one per line, no pages)"},
    )


class CentreArgs(ListArgs):
    taxonomy_term_id = _id()
    taxonomy_id = _id()
    organization_id = _id()
    modified_after = fields.DateTime(metadata={"description": "ISO 8601; UTC when it has no offset"})
    full = fields.Boolean(metadata={"description": "fully nested records"})
    minimum_age = fields.Float(validate=validate.Range(0, 150))
    maximum_age = fields.Float(validate=validate.Range(0, 150))
    day = Text(metadata={"description": "MO..SU or monday..sunday"})
    start_time = _time()
    end_time = _time()

    @validates_schema
    def _known_day(self, data: dict, **kwargs: Any) -> None:
        if "day" in data and data["day"].strip().lower() not in _DAYS:
            raise ValidationError("Use MO, TU, WE, TH, FR, SA or SU.", "day")

    @post_load
    def _normalise(self, data: dict, **kwargs: Any) -> dict:
        if "day" in data:
            data["day"] = _DAYS[data["day"].strip().lower()]
        for name in ("start_time", "end_time"):
            if name in data:
                data[name] = data[name][:5]
        if data.get("modified_after") and data["modified_after"].tzinfo is None:
            data["modified_after"] = data["modified_after"].replace(tzinfo=UTC)
        return data


class ServicesArgs(CentreArgs):
    minimal = fields.Boolean(
        metadata={"description": "each service's id, name, status and last_modified only"}
    )

    rules = (apidoc.AtMostOne(("minimal", "full"), "minimal", "Ask for minimal or full, not both."),)


class ServiceAtLocationArgs(CentreArgs):
    postcode = Text(validate=postcode_or_district("Not a UK postcode or postcode district."))
    proximity = fields.Float(
        validate=validate.Range(0, 100_000),
        metadata={"description": "metres from the postcode's centroid; needs a full postcode"},
    )


class TaxonomiesArgs(ListArgs):
    pass


class TaxonomyTermsArgs(ListArgs):
    taxonomy_id = _id()
    top_only = fields.Boolean(metadata={"description": "only terms without a parent (all of ours)"})
    parent_id = _id()


class OrganizationArgs(Lenient):
    full_service = fields.Boolean(metadata={"description": "the organisation's services in full"})


class OrganizationsArgs(ListArgs, OrganizationArgs):
    full = fields.Boolean(metadata={"description": "fully nested organisations"})
