"""The Open Referral UK read API under /oruk/: open, keyless, any origin.

Responses follow the ORUK profile's own schemas (shared/oruk), which are the
contract here, so they are built by `directory.oruk` rather than dumped through
marshmallow; only the query parameters go through schemas.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC
from typing import Any

from ccshared import geo
from ccshared.errors import NotFound
from ccshared.service_types import BY_TERM_ID
from ccshared.timeutil import Clock
from flask import Flask, Response, request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import EXCLUDE, Schema, ValidationError, fields, post_load, validate, validates_schema

from . import oruk
from .schemas import Text
from .search import CentreQuery
from .service import DirectoryService
from .vocabulary import RRULE_DAYS, WEEKDAYS

PREFIX = "/oruk"
_TIME = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$")
_DAYS = {**{day: day for day in WEEKDAYS}, **{code.lower(): day for day, code in RRULE_DAYS.items()}}


class Lenient(Schema):
    """Federated consumers send parameters we do not use (full, format...): ignore them."""

    class Meta:
        unknown = EXCLUDE


def _time() -> fields.String:
    return Text(validate=validate.Regexp(_TIME, error="Use HH:MM, e.g. 09:30."))


class ServicesArgs(Lenient):
    search = Text(validate=validate.Length(1, 100))
    page = fields.Integer(load_default=1, validate=validate.Range(1, 10_000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(1, 100))
    taxonomy_term_id = Text(validate=validate.Length(1, 64))
    modified_after = fields.DateTime(metadata={"description": "ISO 8601; UTC when it has no offset"})
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


class ServiceAtLocationArgs(ServicesArgs):
    postcode = Text(validate=validate.Length(2, 10))
    proximity = fields.Float(
        validate=validate.Range(0, 100_000, min_inclusive=False),
        metadata={"description": "metres from the postcode's centroid"},
    )

    @validates_schema
    def _postcode(self, data: dict, **kwargs: Any) -> None:
        raw = data.get("postcode")
        if raw and not (geo.normalise_postcode(raw) or geo.normalise_district(raw)):
            raise ValidationError("Not a UK postcode or postcode district.", "postcode")


@dataclass(frozen=True)
class OrukContext:
    service: DirectoryService
    clock: Clock
    organization: oruk.Organization
    public_url: str


def _query(args: dict[str, Any]) -> tuple[CentreQuery, oruk.ServiceFilter]:
    term = args.get("taxonomy_term_id")
    offered = BY_TERM_ID.get(term).id if term in BY_TERM_ID else term
    query = CentreQuery(
        q=args.get("search"),
        service=offered,
        include_closed=True,
        page=args["page"],
        per_page=args["per_page"],
    )
    schedule = oruk.ScheduleFilter(args.get("day"), args.get("start_time"), args.get("end_time"))
    keep = oruk.ServiceFilter(
        args.get("modified_after"), args.get("minimum_age"), args.get("maximum_age"), schedule
    )
    return query, keep


def blueprint(ctx: OrukContext) -> Blueprint:
    blp = Blueprint(
        "oruk",
        __name__,
        url_prefix=PREFIX,
        description="Open Referral UK (HSDS 3.0 UK profile) feed of the centres: open data, no key",
    )

    @blp.route("/")
    class Root(MethodView):
        @blp.response(200)
        def get(self) -> dict:
            """About this API and the HSDS profile it follows"""
            base = ctx.public_url or request.host_url.rstrip("/")
            return {
                "version": oruk.HSDS_VERSION,
                "profile": oruk.PROFILE_URL,
                "openapi_url": f"{base}/openapi.json",
            }

    @blp.route("/services")
    class Services(MethodView):
        @blp.arguments(ServicesArgs, location="query", as_kwargs=False)
        @blp.response(200)
        def get(self, args: dict) -> dict:
            """A page of services (one per centre), one-to-one fields only"""
            query, keep = _query(args)
            page = ctx.service.search(query, keep.matches)
            now = ctx.clock.now()
            contents = [oruk.service_summary(hit.centre, ctx.organization, now) for hit in page.hits]
            return oruk.page_envelope(contents, page.total, page.page, page.per_page)

    @blp.route("/services/<service_id>")
    class Service(MethodView):
        @blp.response(200)
        def get(self, service_id: str) -> dict:
            """One service, fully nested: organisation, location, address, schedules, taxonomy terms"""
            try:
                centre = ctx.service.get(service_id)
            except NotFound:
                raise NotFound(f"no service with id {service_id}") from None
            return oruk.service_full(centre, ctx.organization, ctx.clock.now())

    @blp.route("/service_at_locations")
    class ServiceAtLocations(MethodView):
        @blp.arguments(ServiceAtLocationArgs, location="query", as_kwargs=False)
        @blp.response(200)
        def get(self, args: dict) -> dict:
            """A page of services at locations, nearest first when a postcode is given"""
            query, keep = _query(args)
            raw = args.get("postcode")
            if raw:
                full = geo.normalise_postcode(raw)
                located = ctx.service.locate(
                    query, full or geo.normalise_district(raw), full=full is not None
                )
                query = located.query
                if located.by == "postcode" and "proximity" in args:
                    query = replace(query, radius_km=args["proximity"] / 1000)
            page = ctx.service.search(query, keep.matches)
            now = ctx.clock.now()
            contents = [
                oruk.service_at_location_summary(hit.centre, ctx.organization, now) for hit in page.hits
            ]
            return oruk.page_envelope(contents, page.total, page.page, page.per_page)

    return blp


def allow_any_origin(app: Flask) -> None:
    """ORUK feeds are read by other sites' browsers: any origin may read /oruk/."""

    @app.after_request
    def _cors(response: Response) -> Response:
        if request.path == PREFIX or request.path.startswith(PREFIX + "/"):
            response.headers["Access-Control-Allow-Origin"] = "*"
            response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
        return response
