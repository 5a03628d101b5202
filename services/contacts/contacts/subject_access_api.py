"""HTTP entrypoints of subject access requests: search and export, and erasure. Admins only.

The values searched for travel in a POST body, never in a URL, so no request
log or proxy log holds them.
"""

from __future__ import annotations

from ccshared import apidoc
from ccshared import contracts as c
from ccshared.web import context
from flask import g
from marshmallow import Schema, fields, validate

from . import api, blind_index
from . import vocabulary as v
from .blind_index import InvalidQuery
from .schemas import Strict, text
from .subject_access import MAX_FOUND, SubjectAccess, invalid_query

CASE_REFERENCE = validate.Regexp(
    r"^[A-Za-z0-9][A-Za-z0-9/._-]{0,39}$", error="letters, digits and / . _ - only, up to 40"
)


class SubjectSearchSchema(Strict):
    name = text(200)
    phone = text(40)
    email = text(254)
    postcode = text(12)
    rules = (
        apidoc.AtLeastOne(blind_index.KINDS, "name", "give at least one of name, phone, email or postcode"),
    )


class SubjectEraseSchema(Strict):
    contact_ids = fields.List(
        fields.String(validate=validate.Length(1, 100)), required=True, validate=validate.Length(1, MAX_FOUND)
    )
    reason = fields.String(required=True, validate=validate.OneOf(v.ERASURE_REASONS))
    case_reference = fields.String(validate=CASE_REFERENCE)


class SubjectExportSchema(Schema):
    """A readable export: each contact's details decrypted, its history and who read it."""

    about = fields.String()
    search_id = fields.String()
    generated_at = fields.String()
    generated_by = fields.String()
    searched_for = fields.List(fields.String(metadata={"enum": list(blind_index.KINDS)}))
    count = fields.Integer()
    contacts = fields.List(fields.Dict())


class ErasureSchema(Schema):
    erased = fields.List(fields.String())
    already_erased = fields.List(fields.String())
    not_found = fields.List(fields.String())


def _service() -> SubjectAccess:
    return context(SubjectAccess)


bp = api.guarded(
    "subject_access",
    "/api/v1/subject-access",
    "Subject access requests: find, export and erase a person's contacts (admins only)",
    api.authenticate((c.ROLE_ADMIN,)),
)


@bp.post("/search")
@bp.doc(**apidoc.STAFF_ONLY)
@bp.arguments(SubjectSearchSchema)
@bp.response(200, SubjectExportSchema)
def search(form: dict) -> dict:
    """Every contact and referral about a person, found by name, phone, e-mail or postcode (audited)."""
    try:
        asked = blind_index.query(
            form.get("name"), form.get("phone"), form.get("email"), form.get("postcode")
        )
    except InvalidQuery as exc:
        raise invalid_query(exc) from None
    return _service().search(g.staff.username, asked)


@bp.post("/erase")
@bp.doc(**apidoc.STAFF_ONLY)
@bp.arguments(SubjectEraseSchema)
@bp.response(200, ErasureSchema)
def erase(form: dict) -> dict:
    """Erase the personal data of the contacts named, on the person's request (audited)."""
    done = _service().erase(g.staff.username, form["contact_ids"], form["reason"], form.get("case_reference"))
    return {"erased": done.erased, "already_erased": done.already_erased, "not_found": done.not_found}
