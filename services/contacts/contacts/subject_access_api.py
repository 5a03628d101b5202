"""HTTP entrypoints of subject access requests: search and export, and erasure. Admins only.

The values searched for travel in a POST body, never in a URL, so no request
log or proxy log holds them.
"""

from __future__ import annotations

import dataclasses

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


class SubjectSearchSchema(Strict):
    name = text(200)
    phone = text(40)
    email = text(254)
    postcode = text(12)
    rules = (
        apidoc.AtLeastOne(blind_index.KINDS, "name", "give at least one of name, phone, email or postcode"),
    )


class SubjectEraseSchema(SubjectSearchSchema):
    """Who asked (the identifiers their search was made with), and the contacts to erase them from."""

    contact_ids = fields.List(
        fields.String(validate=validate.Length(1, 100)), required=True, validate=validate.Length(1, MAX_FOUND)
    )
    reason = fields.String(required=True, validate=validate.OneOf(v.ERASURE_REASONS))
    case_reference = fields.String(
        metadata={"description": "the council's case number, e.g. SAR/2026/0042 (letters, digits, / -)"}
    )


class SubjectExportSchema(Schema):
    """A readable export: each contact's details decrypted, its history and who read it."""

    about = fields.String()
    search_id = fields.String()
    generated_at = fields.String()
    generated_by = fields.String()
    searched_for = fields.List(fields.String(metadata={"enum": list(blind_index.KINDS)}))
    count = fields.Integer()
    contacts = fields.List(
        fields.Dict(),
        metadata={
            "description": "each contact: found_as (who the person is in it), details (their own "
            "part only), left_out (other people's fields withheld), free_text (where words someone wrote "
            "are, which may name others: read them before release), who logged it and its urgency, its "
            "referral, pauses (who paused and resumed it), history (each step's dated: an earlier date "
            "entered) and readers"
        },
    )


class ErasureSchema(Schema):
    erased = fields.List(fields.String())
    already_erased = fields.List(fields.String())
    not_found = fields.List(fields.String())
    not_matched = fields.List(
        fields.String(), metadata={"description": "contacts the person asked about is not (or no longer) in"}
    )
    parts = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={"description": 'each contact erased: ["all"], or the parts cleared (referrer, ...)'},
    )
    scrub = fields.String(
        validate=validate.OneOf(v.SCRUBS),
        metadata={
            "description": "the store's scrub of the erased data's old copies: done, or owed when it "
            "failed (the erasure stands; the worker retries the scrub until it succeeds)"
        },
    )


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
    """Every contact and referral about a person, found by name, phone, e-mail or postcode (audited);
    of each, the person's own part."""
    return _service().search(g.staff.username, _asked(form))


@bp.post("/erase")
@bp.doc(**apidoc.STAFF_ONLY)
@bp.arguments(SubjectEraseSchema)
@bp.response(200, ErasureSchema)
def erase(form: dict) -> dict:
    """Erase the person's data from the contacts named, on their request (audited): the whole
    contact's when it is about them, else only their part (as referrer or consent recorder).
    A scrub of the store that fails after the erasure does not undo it: the answer is the same,
    with `scrub` owed, and the worker retries the scrub."""
    done = _service().erase(
        g.staff.username, _asked(form), form["contact_ids"], form["reason"], form.get("case_reference")
    )
    return dataclasses.asdict(done)


def _asked(form: dict) -> blind_index.Query:
    try:
        return blind_index.query(form.get("name"), form.get("phone"), form.get("email"), form.get("postcode"))
    except InvalidQuery as exc:
        raise invalid_query(exc) from None
