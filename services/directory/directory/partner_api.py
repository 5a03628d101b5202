"""Staff routes for partners' services: how each feed is doing, and hiding a service from the public."""

from __future__ import annotations

from collections.abc import Callable

from ccshared import apidoc
from ccshared.apidoc import Blueprint
from ccshared.web import context
from flask.views import MethodView

from . import schemas, views
from .api import Context

blp = Blueprint(
    "partners",
    __name__,
    url_prefix="/api/v1",
    description="Partners' services imported from their Open Referral UK feeds (staff)",
)


def _ctx() -> Context:
    return context(Context)


@blp.before_request
def _staff_before_body() -> None:
    """Who is asking is checked before what they sent: 401 beats 422."""
    ctx = _ctx()
    ctx.staff()


@blp.route("/partner-feeds")
class PartnerFeeds(MethodView):
    @blp.response(200, schemas.PartnerFeedsSchema)
    @blp.doc(**apidoc.STAFF_ONLY)
    def get(self) -> dict:
        """Each partner feed's state (last success, last error, services) and every imported service"""
        ctx = _ctx()
        user = ctx.staff()
        return {
            "feeds": [views.partner_feed(state) for state in ctx.signposting.feeds(user)],
            "services": [views.partner_service_for_staff(s) for s in ctx.signposting.services(user)],
        }


def _mark(partner_id: str, hidden: bool, body: dict | None) -> dict:
    ctx = _ctx()
    user = ctx.staff()
    reason = (body or {}).get("reason")
    return views.partner_service_for_staff(ctx.signposting.set_hidden(partner_id, hidden, user, reason))


def _marking(rule: str) -> Callable[[type[MethodView]], type[MethodView]]:
    """Hiding and showing a service: a staff POST with an optional reason, answered with the service."""

    def register(view: type[MethodView]) -> type[MethodView]:
        post = blp.doc(**apidoc.STAFF_ONLY)(view.post)
        post = blp.response(200, schemas.StaffPartnerServiceSchema)(post)
        view.post = blp.arguments(schemas.HideSchema, required=False)(post)
        return blp.route(rule)(view)

    return register


@_marking("/partner-services/<partner_id>/hide")
class Hide(MethodView):
    def post(self, body: dict | None, partner_id: str) -> dict:
        """Hide a partner's service from the public search (coordinator, principal officer, admin)"""
        return _mark(partner_id, True, body)


@_marking("/partner-services/<partner_id>/show")
class Show(MethodView):
    def post(self, body: dict | None, partner_id: str) -> dict:
        """Show a hidden partner's service again (coordinator, principal officer, admin)"""
        return _mark(partner_id, False, body)
