"""The Open Referral UK read API under /oruk/: open, keyless, any origin.

Every path of the ORUK 3.0 OpenAPI document (shared/oruk-3.0) is served, and
every query parameter it lists for a path does what it says or is refused by
name: a federated reader must never get an unfiltered list it believes is
filtered. Responses follow the profile's own schemas, so they are built by
`directory.oruk` rather than dumped through marshmallow; only the query
parameters go through schemas.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property, partial
from typing import Any

from ccshared.apidoc import Blueprint, used_components
from ccshared.errors import NotFound
from ccshared.service_types import BY_TERM_ID, SERVICE_TYPES
from ccshared.timeutil import Clock
from ccshared.web import Api, context
from flask import Flask, Response, jsonify, request
from flask.views import MethodView
from marshmallow import Schema

from . import oruk
from .oruk_args import (
    OrganizationArgs,
    OrganizationsArgs,
    ServiceAtLocationArgs,
    ServicesArgs,
    TaxonomiesArgs,
    TaxonomyTermsArgs,
)
from .oruk_query import ALL, Build, OrukQueries, Shape
from .service import DirectoryService

PREFIX = "/oruk"
DOCUMENT_PATH = "/openapi.json"  # under PREFIX: the partner host sends only /oruk/... to the directory
NDJSON = "application/x-ndjson"


@dataclass(frozen=True)
class OrukContext:
    service: DirectoryService
    clock: Clock
    organization: oruk.Organization
    public_url: str

    @cached_property
    def queries(self) -> OrukQueries:
        return OrukQueries(self.service, self.organization)


def _about(ctx: OrukContext) -> dict[str, Any]:
    return {"organization": ctx.organization, "now": ctx.clock.now()}


def _listing(args: dict[str, Any], build: Build) -> dict | Response:
    """format=json: one page in HSDS's envelope; format=ndjson: every item, a line each, no pages."""
    if args["format"] == "ndjson":
        items, _ = build(1, ALL)
        return Response("".join(json.dumps(item) + "\n" for item in items), mimetype=NDJSON)
    items, total = build(args["page"], args["per_page"])
    return oruk.page_envelope(items, total, args["page"], args["per_page"])


def _slice(records: list[dict[str, Any]]) -> Build:
    def build(page: int, per_page: int) -> tuple[list[dict[str, Any]], int]:
        start = (page - 1) * per_page
        return records[start : start + per_page], len(records)

    return build


def _found(text: str | None, *values: str | None) -> bool:
    if not text:
        return True
    wanted = text.strip().casefold()
    return any(wanted in (value or "").casefold() for value in values)


def _one(records: Iterable[dict[str, Any]], record_id: str, what: str) -> dict[str, Any]:
    found = next((record for record in records if record["id"] == record_id), None)
    if found is None:
        raise NotFound(f"no {what} with id {record_id}")
    return found


blp = Blueprint(
    "oruk",
    __name__,
    url_prefix=PREFIX,
    description="Open Referral UK (HSDS 3.0 UK profile) feed of the centres: open data, no key",
)


def _ctx() -> OrukContext:
    return context(OrukContext)


def _list_path(rule: str, args: type[Schema]) -> Callable[[type[MethodView]], type[MethodView]]:
    """A list path: its view's get takes the query `args` parses (paging, format, the path's filters),
    as one dict, and answers through `_listing`."""

    def register(view: type[MethodView]) -> type[MethodView]:
        view.get = blp.arguments(args, location="query", as_kwargs=False)(blp.response(200)(view.get))
        return blp.route(rule)(view)

    return register


def _feed_url(ctx: OrukContext) -> str:
    """The feed's public base URL: DIRECTORY_PUBLIC_URL's, else the host the request named."""
    return (ctx.public_url or request.host_url.rstrip("/")) + PREFIX


@blp.route("/")
class Root(MethodView):
    @blp.response(200)
    def get(self) -> dict:
        """About this API and the HSDS profile it follows"""
        return {
            "version": oruk.HSDS_VERSION,
            "profile": oruk.PROFILE_URL,
            "openapi_url": f"{_feed_url(_ctx())}{DOCUMENT_PATH}",
        }


@_list_path("/services", ServicesArgs)
class Services(MethodView):
    def get(self, args: dict) -> dict | Response:
        """A page of services (one per centre): one-to-one fields, or in full, or minimal (not both)"""
        ctx = _ctx()
        if args.get("minimal"):
            shape: Shape = oruk.service_minimal
        else:
            full = args.get("full")
            shape = partial(oruk.service_full if full else oruk.service_summary, **_about(ctx))
        return _listing(args, ctx.queries.centres(args, shape))


@blp.route("/services/<service_id>")
class Service(MethodView):
    @blp.response(200)
    def get(self, service_id: str) -> dict:
        """One service, fully nested: organisation, location, address, schedules, taxonomy terms"""
        ctx = _ctx()
        try:
            centre = ctx.service.get(service_id)
        except NotFound:
            raise NotFound(f"no service with id {service_id}") from None
        return oruk.service_full(centre, ctx.organization, ctx.clock.now())


@_list_path("/service_at_locations", ServiceAtLocationArgs)
class ServiceAtLocations(MethodView):
    def get(self, args: dict) -> dict | Response:
        """A page of services at locations, nearest first when a postcode is located"""
        ctx = _ctx()
        full = args.get("full")
        shape = oruk.service_at_location_full if full else oruk.service_at_location_summary
        return _listing(args, ctx.queries.centres(args, partial(shape, **_about(ctx)), near_postcode=True))


@blp.route("/service_at_locations/<service_at_location_id>")
class ServiceAtLocation(MethodView):
    @blp.response(200)
    def get(self, service_at_location_id: str) -> dict:
        """One service at a location: the location in full (address, accessibility) and its service"""
        ctx = _ctx()
        centre = ctx.queries.centre_at(service_at_location_id)
        return oruk.service_at_location_full(centre, ctx.organization, ctx.clock.now())


@_list_path("/taxonomies", TaxonomiesArgs)
class Taxonomies(MethodView):
    def get(self, args: dict) -> dict | Response:
        """The taxonomies the feed's terms come from (one: the services a centre offers)"""
        found = [t for t in [oruk.taxonomy()] if _found(args.get("search"), t["name"], t["description"])]
        return _listing(args, _slice(found))


@blp.route("/taxonomies/<taxonomy_id>")
class Taxonomy(MethodView):
    @blp.response(200)
    def get(self, taxonomy_id: str) -> dict:
        """One taxonomy with its terms"""
        return _one([oruk.taxonomy(with_terms=True)], taxonomy_id, "taxonomy")


@_list_path("/taxonomy_terms", TaxonomyTermsArgs)
class TaxonomyTerms(MethodView):
    def get(self, args: dict) -> dict | Response:
        """The terms services are tagged with; none has a parent, so each is a top term"""
        terms = [oruk.taxonomy_term(offered) for offered in SERVICE_TYPES]
        found = [
            term
            for term in terms
            if _found(args.get("search"), term["name"], term["description"], term["term"])
            and args.get("taxonomy_id", term["taxonomy_id"]) == term["taxonomy_id"]
            and args.get("parent_id", term.get("parent_id")) == term.get("parent_id")
            and not (args.get("top_only") and term.get("parent_id"))
        ]
        return _listing(args, _slice(found))


@blp.route("/taxonomy_terms/<taxonomy_term_id>")
class TaxonomyTerm(MethodView):
    @blp.response(200)
    def get(self, taxonomy_term_id: str) -> dict:
        """One taxonomy term"""
        offered = BY_TERM_ID.get(taxonomy_term_id)
        if offered is None:
            raise NotFound(f"no taxonomy term with id {taxonomy_term_id}")
        return oruk.taxonomy_term(offered)


@_list_path("/organizations", OrganizationsArgs)
class Organizations(MethodView):
    def get(self, args: dict) -> dict | Response:
        """The organisations whose services the feed lists (one: ours)"""
        ctx = _ctx()
        base = ctx.organization.as_oruk()
        if not _found(args.get("search"), base["name"], base["description"]):
            return _listing(args, _slice([]))
        record = ctx.organization.in_full() if args.get("full") else base
        if args.get("full_service"):
            record = {**record, "services": ctx.queries.full_services(ctx.clock.now())}
        return _listing(args, _slice([record]))


@blp.route("/organizations/<organization_id>")
class Organization(MethodView):
    @blp.arguments(OrganizationArgs, location="query", as_kwargs=False)
    @blp.response(200)
    def get(self, args: dict, organization_id: str) -> dict:
        """One organisation in full, with its services' ids (or the services in full: full_service)"""
        ctx = _ctx()
        if organization_id != ctx.organization.id:
            raise NotFound(f"no organization with id {organization_id}")
        if args.get("full_service"):
            services = ctx.queries.full_services(ctx.clock.now())
        else:
            services = [{"id": centre["_id"]} for centre in ctx.queries.all_centres()]
        return {**ctx.organization.in_full(), "services": services}


def feed_document(document: dict[str, Any], feed_url: str) -> dict[str, Any]:
    """The directory's OpenAPI document cut down to the feed: its paths written from the feed's
    root (`/services`, as the ORUK profile's own document writes them), served from `feed_url`,
    with the components those paths use and nothing of the staff API."""
    paths = {
        path.removeprefix(PREFIX) or "/": operations
        for path, operations in document["paths"].items()
        if path.startswith(PREFIX + "/")
    }
    return {
        "openapi": document["openapi"],
        "info": {**document["info"], "title": f"{document['info']['title']}: Open Referral UK feed"},
        "servers": [{"url": feed_url}],
        "tags": [tag for tag in document.get("tags", []) if tag["name"] == blp.name],
        "paths": paths,
        "components": used_components(paths, document.get("components", {})),
    }


def publish(app: Flask, smorest: Api) -> None:
    """The feed's routes, open to any origin, and its own OpenAPI document at /oruk/openapi.json:
    the one the root's `openapi_url` names (the service's /openapi.json is not on the feed's host)."""
    smorest.register_blueprint(blp)
    allow_any_origin(app)

    def document() -> Response:
        return jsonify(feed_document(smorest.spec.to_dict(), _feed_url(_ctx())))

    app.add_url_rule(PREFIX + DOCUMENT_PATH, "oruk_openapi", document, methods=["GET"])


def allow_any_origin(app: Flask) -> None:
    """ORUK feeds are read by other sites' browsers: any origin may read /oruk/, errors included."""

    @app.after_request
    def _cors(response: Response) -> Response:
        if request.path == PREFIX or request.path.startswith(PREFIX + "/"):
            response.headers["Access-Control-Allow-Origin"] = "*"
            response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
        return response
