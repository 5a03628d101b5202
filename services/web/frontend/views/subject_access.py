"""Subject access requests (UK GDPR): find a person's contacts, download them, erase them. Admins only.

The contacts service does the finding (through its blind indexes), the export
and the audit; these pages carry the form. Every request is a POST, so the
name, phone, e-mail or postcode asked about never sits in a URL or a log.
"""

from __future__ import annotations

import json
from typing import Any

from ccshared import contracts as c
from flask import Blueprint, Response, flash, redirect, render_template, request, url_for

from ..clients import ServiceError
from . import backends, context
from .auth import signed_in

bp = Blueprint("subject_access", __name__, url_prefix="/admin/subject-access")
IDENTIFIERS = c.SUBJECT_ACCESS_IDENTIFIERS
ERASURE_REASONS = {
    "erasure_request": "The person asked for their data to be erased",
    "consent_withdrawn": "The person withdrew their consent",
    "objection": "The person objected to the processing",
    "no_longer_needed": "The data is no longer needed",
    "unlawful_processing": "The data was processed unlawfully",
}
ROLES_FOUND = {
    "requester": "The person who wrote or called",
    "family": "The family referred",
    "referrer": "The professional who referred",
    "consent_recorded_by": "Who recorded consent",
}


def _identifiers() -> dict[str, str]:
    return {name: request.form.get(name, "").strip() for name in IDENTIFIERS}


def _page(
    values: dict[str, str],
    errors: dict[str, str] | None = None,
    export: dict | None = None,
    erase: dict | None = None,
    status: int = 200,
) -> Any:
    return (
        render_template(
            "admin/subject_access.html",
            values=values,
            errors=errors or {},
            export=export,
            erase=erase or {},
            reasons=ERASURE_REASONS,
            roles_found=ROLES_FOUND,
        ),
        status,
    )


def _search(values: dict[str, str]) -> tuple[dict | None, dict[str, str]]:
    """(export, {}) or (None, errors by field)."""
    try:
        return backends().contacts.subject_search({k: v for k, v in values.items() if v}), {}
    except ServiceError as error:
        if error.status != 422:
            raise
        return None, error.field_messages() or {"_": error.message}


@bp.get("/")
@signed_in(c.ROLE_ADMIN)
def form() -> Any:
    return _page({})


@bp.post("/")
@signed_in(c.ROLE_ADMIN)
def search() -> Any:
    values = _identifiers()
    if not any(values.values()):
        return _page(
            values, {"name": "Give a name, telephone number, e-mail address or postcode."}, status=422
        )
    export, errors = _search(values)
    return _page(values, errors, export, status=422 if errors else 200)


@bp.post("/export")
@signed_in(c.ROLE_ADMIN)
def download() -> Any:
    """The export as a readable JSON file, made afresh (and audited again) for this download."""
    values = _identifiers()
    export, errors = _search(values)
    if export is None:
        return _page(values, errors, status=422)
    day = context().clock.now().strftime("%Y-%m-%d")
    return Response(
        json.dumps(export, indent=2, ensure_ascii=False) + "\n",
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="subject-access-{day}.json"'},
    )


@bp.post("/erase")
@signed_in(c.ROLE_ADMIN)
def erase() -> Any:
    values = _identifiers()
    chosen = {
        "contact_ids": request.form.getlist("contact_id"),
        "reason": request.form.get("reason", ""),
        "case_reference": request.form.get("case_reference", "").strip(),
        "confirmed": request.form.get("confirm") == "yes",
    }
    errors = {}
    if not chosen["contact_ids"]:
        errors["contact_id"] = "Choose the contacts to erase."
    if chosen["reason"] not in ERASURE_REASONS:
        errors["reason"] = "Choose why the personal data is being erased."
    if not chosen["confirmed"]:
        errors["confirm"] = "Confirm that the personal data should be erased. It cannot be undone."
    if not errors:
        try:
            done = backends().contacts.subject_erase(
                {k: v for k, v in values.items() if v},
                chosen["contact_ids"],
                chosen["reason"],
                chosen["case_reference"] or None,
            )
        except ServiceError as error:
            if error.status != 422:
                raise
            errors = {_FIELD_FOR.get(k, k): m for k, m in error.field_messages().items()} or {
                "_": error.message
            }
        else:
            flash(_erased_message(done))
            return redirect(url_for("subject_access.form"))
    export, _ = _search(values) if any(values.values()) else (None, {})
    return _page(values, errors, export, chosen, status=422)


_FIELD_FOR = {"contact_ids": "contact_id"}


def _erased_message(done: dict) -> str:
    erased = len(done.get("erased", []))
    parts = [f"Personal data erased from {erased} contact{'s' if erased != 1 else ''}."]
    own_part_only = [cleared for cleared in done.get("parts", {}).values() if cleared != ["all"]]
    if own_part_only:
        parts.append(
            f"From {len(own_part_only)} of them only the person's own details (as referrer or "
            "consent recorder) were erased; the family's stay."
        )
    if done.get("not_matched"):
        parts.append(f"{len(done['not_matched'])} no longer held the person's details.")
    if done.get("already_erased"):
        parts.append(f"{len(done['already_erased'])} had been erased already.")
    if done.get("not_found"):
        parts.append(f"{len(done['not_found'])} could not be found.")
    if done.get("scrub") == c.ERASURE_SCRUB_OWED:
        parts.append(
            "The erasure is done. Clearing the old copies from the database files is pending: "
            "it is retried automatically, and nothing more is needed."
        )
    return " ".join(parts)
