"""Keeping centre information current: edit, mark verified, the stale list.
The directory decides who may change what and keeps the audit trail."""

from __future__ import annotations

import re
from typing import Any

from ccshared import contracts as c
from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for

from ..clients import ServiceError
from ..field_words import labelled
from ..formatting import AREA_LABELS
from . import backends
from .auth import signed_in

bp = Blueprint("centres", __name__, url_prefix="/staff/centres")
WEEKDAYS = c.WEEKDAYS
SESSIONS_PER_DAY = 2
TEXT_FIELDS = (
    "name",
    "description",
    "postcode",
    "ward",
    "area",
    "phone",
    "email",
    "website",
    "accessibility",
    "status",
)
OPTIONAL = ("phone", "email", "website")
# The edit form's fields as a refusal names them (a day's opening times by the day).
LABELS = {
    "name": "Name",
    "description": "Description",
    "address_line1": "Address line 1",
    "address_line2": "Address line 2",
    "town": "Town",
    "postcode": "Postcode",
    "ward": "Ward",
    "area": "Area",
    "phone": "Telephone",
    "email": "E-mail",
    "website": "Website",
    "status": "Status",
    "accessibility": "Accessibility",
    "services": "Services",
    **{day: day.capitalize() for day in WEEKDAYS},
}
EDITABLE_STATUSES = (c.CENTRE_OPEN, c.CENTRE_TEMPORARILY_CLOSED)


@bp.get("/")
@signed_in()
def index() -> Any:
    centres = backends().directory.all_centres()
    if not g.user.sees_all_areas:
        centres = [centre for centre in centres if centre["area"] == g.user.area]
    return render_template("staff/centres.html", centres=centres)


@bp.get("/stale")
@signed_in()
def stale() -> Any:
    body = backends().directory.stale()
    return render_template("staff/stale.html", items=body.get("items", []), stale_days=body.get("stale_days"))


def form_values(centre: dict[str, Any]) -> dict[str, Any]:
    """A centre as the edit form's flat fields."""
    values = {name: centre.get(name) or "" for name in TEXT_FIELDS}
    address = centre.get("address") or {}
    values.update(
        address_line1=address.get("line1") or "",
        address_line2=address.get("line2") or "",
        town=address.get("town") or "Liverpool",
        services=[s["id"] if isinstance(s, dict) else s for s in centre.get("services") or []],
    )
    for day in WEEKDAYS:
        sessions = (centre.get("opening_times") or {}).get(day) or []
        for index in range(SESSIONS_PER_DAY):
            session = sessions[index] if index < len(sessions) else {}
            values[f"{day}_{index}_opens"] = session.get("opens", "")
            values[f"{day}_{index}_closes"] = session.get("closes", "")
    return values


def patch_body(form: dict[str, Any], services: list[str]) -> dict[str, Any]:
    """The directory's PATCH body from the edit form."""
    body: dict[str, Any] = {name: form.get(name, "").strip() for name in TEXT_FIELDS}
    for name in OPTIONAL:
        body[name] = body[name] or None
    if body["status"] not in EDITABLE_STATUSES:
        body.pop("status")
    body["address"] = {
        "line1": form.get("address_line1", "").strip(),
        "line2": form.get("address_line2", "").strip() or None,
        "town": form.get("town", "").strip() or "Liverpool",
    }
    body["services"] = services
    body["opening_times"] = {
        day: [
            {
                "opens": form.get(f"{day}_{i}_opens", "").strip(),
                "closes": form.get(f"{day}_{i}_closes", "").strip(),
            }
            for i in range(SESSIONS_PER_DAY)
            if form.get(f"{day}_{i}_opens", "").strip() or form.get(f"{day}_{i}_closes", "").strip()
        ]
        for day in WEEKDAYS
    }
    return body


def form_field(name: str) -> str:
    """Where the directory's field name shows on the form."""
    parts = name.split(".")
    if parts[0] == "address" and len(parts) > 1:
        return {"line1": "address_line1", "line2": "address_line2"}.get(parts[1], parts[1])
    if parts[0] == "opening_times" and len(parts) > 1:
        return parts[1]
    return parts[0]


def _area_choices(centre: dict[str, Any]) -> list[tuple[str, str]]:
    """The areas the user may put a centre in (a coordinator: their own), and the one it is in."""
    user = g.user
    offered = [area for area in c.AREAS if user.sees_all_areas or area in (user.area, centre.get("area"))]
    return [(area, AREA_LABELS[area]) for area in offered]


def _area_refused(form: dict[str, Any]) -> dict[str, str]:
    """The directory's refusal of a change outside the user's area, on the field that made it."""
    if form.get("area") != g.user.area:
        own = AREA_LABELS.get(g.user.area or "", "your own")
        return {
            "area": f"Choose the {own} area: you can keep a centre only in your own area. "
            "Ask the Principal Officer to move it to another."
        }
    return {"_": "You can change only the centres in your own area. Nothing was saved."}


def _edit_page(centre_id: str, values: dict, etag: str, errors: dict[str, str], status: int = 200) -> Any:
    centre, _ = backends().directory.centre_for_edit(centre_id)
    return (
        render_template(
            "staff/centre_edit.html",
            centre=centre,
            values=values,
            etag=etag,
            errors=errors,
            weekdays=WEEKDAYS,
            sessions_per_day=SESSIONS_PER_DAY,
            services=backends().directory.services_list(),
            audit=backends().directory.audit(centre_id),
            areas=_area_choices(centre),
            may_edit=g.user.role in c.OVERSIGHT_ROLES,
        ),
        status,
    )


@bp.get("/<centre_id>")
@signed_in()
def edit(centre_id: str) -> Any:
    centre, etag = backends().directory.centre_for_edit(centre_id)
    return _edit_page(centre_id, form_values(centre), etag or str(centre.get("version", "")), {})


# The version the edit page was given, sent back as If-Match: visible ASCII only, so an altered
# form cannot put a line break into a header (which the HTTP library refuses, as if the
# directory were down).
ETAG = re.compile(r'(W/)?"?[\x21\x23-\x7e]{0,100}"?')


@bp.post("/<centre_id>")
@signed_in(*c.OVERSIGHT_ROLES)
def save(centre_id: str) -> Any:
    form = request.form.to_dict()
    etag = form.get("etag", "")
    if not ETAG.fullmatch(etag):
        abort(400, description="The form was altered: reload the page and make your changes again.")
    services = request.form.getlist("services")
    try:
        backends().directory.update(centre_id, patch_body(form, services), etag)
    except ServiceError as error:
        if error.status == 409 or error.status == 412:
            message = "Someone else changed this centre after you opened it. Reload the page to see their changes, then make yours again."
            return _edit_page(centre_id, {**form, "services": services}, etag, {"_": message}, 409)
        if error.status == 403 and not g.user.sees_all_areas:
            return _edit_page(centre_id, {**form, "services": services}, etag, _area_refused(form), 403)
        if error.status != 422:
            raise
        errors = {form_field(name): message for name, message in error.field_messages().items()}
        errors = {name: labelled(LABELS, name, message) for name, message in errors.items()}
        return _edit_page(
            centre_id, {**form, "services": services}, etag, errors or {"_": error.message}, 422
        )
    flash("Centre information saved.")
    return redirect(url_for("centres.edit", centre_id=centre_id))


@bp.post("/<centre_id>/verify")
@signed_in()
def verify(centre_id: str) -> Any:
    backends().directory.verify(centre_id)
    flash("Marked as checked today.")
    return redirect(
        request.form.get("back")
        if request.form.get("back") == url_for("centres.stale")
        else url_for("centres.edit", centre_id=centre_id)
    )
