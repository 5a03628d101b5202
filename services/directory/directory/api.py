"""The directory's own HTTP API: public search and reads, staff edits.

Public reads need no sign-in; a read with a staff token also says who last
checked each centre (`verified_by`), which the public never sees. Staff routes need `Authorization: Bearer <staff
token>`; what each role may do is in `directory.policy`. Edits use optimistic
concurrency: every centre's `version` is also its ETag, PATCH must send it back
as If-Match (428 without it), and a stale one gets 409.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ccshared import apidoc, geo
from ccshared.apidoc import Blueprint
from ccshared.auth import StaffUser, TokenVerifier, bearer_token, current_staff
from ccshared.contracts import ROLES
from ccshared.errors import InvalidInput, PreconditionRequired
from ccshared.service_types import SERVICE_TYPES
from ccshared.timeutil import Clock
from ccshared.web import context
from flask import request, url_for
from flask.views import MethodView

from . import schemas, views
from .repository import version_of
from .search import CentreQuery
from .service import DirectoryService
from .signposting import PartnerHit, Signposting

IF_MATCH = {
    "in": "header",
    "name": "If-Match",
    "schema": {"type": "string"},
    "description": 'the version you read, as its ETag (e.g. "3"); a stale one gets 409',
}


@dataclass(frozen=True)
class Context:
    service: DirectoryService
    tokens: TokenVerifier
    clock: Clock
    stale_days: int
    signposting: Signposting

    def staff(self) -> StaffUser:
        return current_staff(self.tokens)

    def read_by_staff(self) -> bool:
        """Whether this read carries a staff token: a bad one is 401, a partner's reads as public."""
        token = bearer_token()
        return token is not None and self.tokens.verify(token).role in ROLES

    def view(self, doc: dict, distance_km: float | None = None, *, for_staff: bool = False) -> dict:
        return views.centre(
            doc,
            now=self.clock.now(),
            stale_days=self.stale_days,
            distance_km=distance_km,
            calendar=self.service.calendar,
            for_staff=for_staff,
        )

    def answer(self, doc: dict, status: int = 200) -> tuple[dict, int, dict]:
        return self.view(doc, for_staff=self.read_by_staff()), status, {"ETag": f'"{version_of(doc)}"'}


def if_match(required: bool) -> int | None:
    """The version named by If-Match; 428 when required and absent."""
    raw = (request.headers.get("If-Match") or "").strip()
    if not raw:
        if required:
            raise PreconditionRequired('send If-Match with the version you edited, e.g. If-Match: "3"')
        return None
    text = raw.removeprefix("W/").strip('"')
    if not text.isdigit():
        raise InvalidInput("invalid input: If-Match", {"If-Match": ['Expected a centre version, e.g. "3".']})
    return int(text)


def query_from(args: dict[str, Any]) -> tuple[CentreQuery, str | None, bool]:
    """The search query, plus a postcode to locate (and whether it is a full one)."""
    near = (args["lat"], args["lon"]) if "lat" in args else None
    query = CentreQuery(
        q=args.get("q"),
        service=args.get("service"),
        ward=args.get("ward"),
        place=args.get("place"),
        area=args.get("area"),
        open_now=args["open_now"],
        age=args.get("age"),
        free=args["free"],
        language=args.get("language"),
        near=near,
        radius_km=args.get("radius_km"),
        include_closed=args["include_closed"],
        page=args["page"],
        per_page=args["per_page"],
    )
    raw = args.get("postcode")
    if not raw:
        return query, None, False
    full = geo.normalise_postcode(raw)
    return query, full or geo.normalise_district(raw), full is not None


def after_centres(partners: list[PartnerHit], centres: int, page: int, per_page: int) -> list[PartnerHit]:
    """The partners' services on this page: the list goes on after the last centre."""
    start, end = (page - 1) * per_page, page * per_page
    return partners[max(0, start - centres) : max(0, end - centres)]


blp = Blueprint(
    "centres", __name__, url_prefix="/api/v1", description="Children's centres: search, read and edit"
)


def _ctx() -> Context:
    return context(Context)


@blp.before_request
def _staff_before_body() -> None:
    """Who is asking is checked before what they sent: 401 beats 422."""
    ctx = _ctx()
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        ctx.staff()


@blp.route("/services-list")
class ServiceTypes(MethodView):
    @blp.response(200, schemas.ServiceListSchema)
    def get(self) -> dict:
        """The controlled list of services a centre can offer"""
        return {"items": SERVICE_TYPES}


@blp.route("/centres")
class Centres(MethodView):
    @blp.arguments(schemas.CentreSearchArgs, location="query", as_kwargs=False)
    @blp.response(200, schemas.CentrePageSchema)
    def get(self, args: dict) -> dict:
        """Search centres, and partners' services after them

        Ordered by name (then id), or nearest first when searching near a
        point or a full postcode. Partners' services imported from their
        Open Referral UK feeds (ORUK_IMPORT_FEEDS) follow the centres, in
        the same order, under the same filters, each labelled "from
        <organisation>"; a filter their data cannot answer (ward, place,
        area, open now) leaves them out.

        Give lat and lon together; near a point or a postcode, not both;
        radius_km with either.
        """
        ctx = _ctx()
        query, postcode, full = query_from(args)
        located = ctx.service.locate(query, postcode, full=full)
        page = ctx.service.search(located.query)
        partners = ctx.signposting.search(located.query)
        for_staff = ctx.read_by_staff()
        return {
            "items": [ctx.view(hit.centre, hit.distance_km, for_staff=for_staff) for hit in page.hits],
            "total": page.total,
            "page": page.page,
            "per_page": page.per_page,
            "pages": -(-(page.total + len(partners)) // page.per_page),
            "located_by": located.by,
            "partner_services": [
                views.partner_service(hit.service, hit.distance_km)
                for hit in after_centres(partners, page.total, page.page, page.per_page)
            ],
            "partner_total": len(partners),
        }

    @blp.arguments(schemas.CentreInputSchema)
    @blp.response(201, schemas.CentreSchema)
    @blp.doc(**apidoc.STAFF_ONLY)
    def post(self, fields: dict) -> tuple:
        """Add a centre (admin)"""
        ctx = _ctx()
        centre = ctx.service.create(fields, ctx.staff())
        body, status, headers = ctx.answer(centre, 201)
        headers["Location"] = url_for("centres.Centre", centre_id=centre["_id"])
        return body, status, headers


@blp.route("/centres/stale")
class StaleCentres(MethodView):
    @blp.response(200, schemas.StaleListSchema)
    @blp.doc(**apidoc.STAFF_ONLY)
    def get(self) -> dict:
        """Centres not verified within DIRECTORY_STALE_DAYS (staff; own area unless principal or admin)"""
        ctx = _ctx()
        now = ctx.clock.now()
        centres = ctx.service.stale(ctx.staff())
        return {"stale_days": ctx.stale_days, "items": [views.stale_centre(c, now=now) for c in centres]}


@blp.route("/centres/<centre_id>")
class Centre(MethodView):
    @blp.response(200, schemas.CentreSchema)
    def get(self, centre_id: str) -> tuple:
        """One centre, with its ETag"""
        ctx = _ctx()
        return ctx.answer(ctx.service.get(centre_id))

    @blp.arguments(schemas.CentrePatchSchema)
    @blp.response(200, schemas.CentreSchema)
    @blp.doc(parameters=[{**IF_MATCH, "required": True}], **apidoc.STAFF_ONLY)
    def patch(self, fields: dict, centre_id: str) -> tuple:
        """Change a centre's details (coordinator in own area, principal officer, admin)"""
        ctx = _ctx()
        user = ctx.staff()
        expected = if_match(required=True)
        return ctx.answer(ctx.service.update(centre_id, fields, user, expected))


@blp.route("/centres/<centre_id>/verify")
class Verify(MethodView):
    @blp.response(200, schemas.CentreSchema)
    @blp.doc(parameters=[IF_MATCH], **apidoc.STAFF_ONLY)
    def post(self, centre_id: str) -> tuple:
        """Record that the centre's information was checked and is still correct"""
        ctx = _ctx()
        user = ctx.staff()
        return ctx.answer(ctx.service.verify(centre_id, user, if_match(required=False)))


@blp.route("/centres/<centre_id>/close")
class Close(MethodView):
    @blp.arguments(schemas.CloseSchema)
    @blp.response(200, schemas.CentreSchema)
    @blp.doc(parameters=[IF_MATCH], **apidoc.STAFF_ONLY)
    def post(self, body: dict, centre_id: str) -> tuple:
        """Close a centre for good (admin)"""
        ctx = _ctx()
        user = ctx.staff()
        return ctx.answer(ctx.service.close(centre_id, body["reason"], user, if_match(required=False)))


@blp.route("/centres/<centre_id>/audit")
class Audit(MethodView):
    @blp.response(200, schemas.AuditSchema)
    @blp.doc(**apidoc.STAFF_ONLY)
    def get(self, centre_id: str) -> dict:
        """Every change to a centre, newest first (staff; own area unless principal or admin)"""
        ctx = _ctx()
        return {"centre_id": centre_id, "items": ctx.service.audit(centre_id, ctx.staff())}
