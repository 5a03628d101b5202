"""Breaches and compliance for staff: the report as a table and a bar chart."""

from __future__ import annotations

from typing import Any

from ccshared import contracts as c
from ccshared.timeutil import LONDON
from flask import Blueprint, g, render_template, request

from ..clients import ServiceError
from ..presenters import bars
from . import backends, context, file_format, passed_on
from .auth import signed_in
from .contacts import area_scope, centre_names
from .public import last_twelve_months

bp = Blueprint("reports", __name__, url_prefix="/staff")
# The SLA monitor's names for the period's fields, as the page labels them.
PERIOD_FIELDS = {"from": "From date", "to": "To date", "area": "Area"}


def _query() -> dict[str, Any]:
    """The period and area the page shows (and its downloads hold)."""
    today = context().clock.now().astimezone(LONDON).date()
    default_from, default_to = last_twelve_months(today)
    chosen_area = request.args.get("area", "") if g.user.sees_all_areas else g.user.area
    return {
        "from": request.args.get("from") or default_from,
        "to": request.args.get("to") or default_to,
        "area": area_scope(chosen_area),
    }


@bp.get("/compliance")
@signed_in()
def compliance() -> Any:
    query = _query()
    area = query["area"]
    error, status = None, 200
    by_month = by_channel = {"groups": [], "totals": None}
    try:
        by_month = backends().sla.compliance(as_staff=True, group_by="month", **query)
        by_channel = backends().sla.compliance(as_staff=True, group_by="channel", **query)
    except ServiceError as problem:
        named = {
            name: f"{PERIOD_FIELDS.get(name, name)}: {message}"
            for name, message in problem.field_messages().items()
        }
        error, status = named or {"_": problem.message}, problem.status
    breached = backends().sla.clocks(state="breached", area=area)
    page = render_template(
        "staff/compliance.html",
        query=query,
        area=area,
        areas=c.AREAS,
        months=bars(by_month["groups"]),
        channels=bars(by_channel["groups"]),
        overall=by_month.get("totals"),
        breaches=breached,
        names=centre_names(),
        error=error,
    )
    return page, status


@bp.get("/compliance.<format>")
@signed_in()
def compliance_file(format: str) -> Any:
    """The report by month, as on the page, to take away."""
    return passed_on(backends().sla.compliance_file(file_format(format), group_by="month", **_query()))
