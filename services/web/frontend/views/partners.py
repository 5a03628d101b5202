"""Partner agencies' pages: refer a family, and follow the agency's referrals.

Every call to contacts carries the partner user's token, which names the
agency, so contacts alone decides what the agency may see. Only partner users
reach these pages; staff have their own.
"""

from __future__ import annotations

import math
import re
from typing import Any

from ccshared import contracts as c
from ccshared import query, service_types
from flask import Blueprint, flash, redirect, render_template, request, session, url_for

from ..clients import ServiceError, ServiceUnavailable
from ..formatting import URGENCY_LABELS, parse_instant, short_date
from ..presenters import local_now_fields
from ..referral_form import AGE_UNITS, ReferralForm
from . import backends, context, one_value
from .auth import signed_in

bp = Blueprint("partners", __name__, url_prefix="/partners")
PER_PAGE = 20
_PAGE = re.compile(r"[1-9][0-9]{0,8}")  # a page number as the pager writes it
# Referrals this browser session has sent, by idempotency key: a form sent again
# (back button, a second click after the first answer) goes to its referral.
SENT_KEY = "referrals_sent"
SENT_KEPT = 20


@bp.get("/")
@signed_in(c.ROLE_PARTNER)
def referrals() -> Any:
    status = one_value("status")
    status = status if status in c.REFERRAL_STATUSES else ""
    asked = _PAGE.fullmatch(one_value("page", "1"))
    page_number = min(int(asked.group()), query.MAX_PAGE) if asked else 1
    page = backends().referrals.page(status=status, page=page_number, per_page=PER_PAGE)
    last = max(1, math.ceil(page.get("total", 0) / PER_PAGE))
    if not asked or int(asked.group()) > last:  # no page number, or one past the last: go to the nearest
        return redirect(url_for("partners.referrals", status=status or None, page=min(page_number, last)))
    centres = _centres()
    listed = [
        centres[item["centre_id"]] for item in page.get("items", []) if item.get("centre_id") in centres
    ]
    for item in page.get("items", []):
        item["respond_by_words"] = _respond_by_words(item)
    return render_template(
        "partners/referrals.html",
        page=page,
        status=status,
        statuses=c.REFERRAL_STATUSES,
        names={centre_id: centre["name"] for centre_id, centre in centres.items()},
        listed_centres=listed,
        has_next=page_number * PER_PAGE < page.get("total", 0),
    )


@bp.get("/referrals/<referral_id>")
@signed_in(c.ROLE_PARTNER)
def referral(referral_id: str) -> Any:
    found = backends().referrals.get(referral_id)
    found["respond_by_words"] = _respond_by_words(found)
    return render_template(
        "partners/referral.html", referral=found, centre=_centre(found.get("centre_id")) or {}
    )


def _respond_by_words(referral: dict) -> str | None:
    """When the centre will respond, as true as the partner can be told it: only while the referral
    waits for an answer; a pause on the agency moves the date on when it ends (by the working days
    it lasted), and a date gone by is said to be (never "late": a pause on the family is not shown)."""
    due = parse_instant(referral.get("respond_by"))
    if due is None or referral.get("referral_status") not in (
        c.REFERRAL_STATUS_NEW,
        c.REFERRAL_STATUS_OPENED,
    ):
        return None
    if referral.get("waiting_on_partner_since"):
        return "The date the centre aims to respond by moves on by the working days it waits on you"
    if due < context().clock.now():  # late, or paused waiting on the family: true either way
        return f"The centre aimed to respond by {short_date(due)} and has not responded yet"
    return f"The centre aims to respond by {short_date(due)}"


@bp.get("/refer")
@signed_in(c.ROLE_PARTNER)
def refer() -> Any:
    return _form_page(ReferralForm.blank(*local_now_fields(context().clock.now())), {})


@bp.post("/refer")
@signed_in(c.ROLE_PARTNER)
def refer_post() -> Any:
    form = ReferralForm.read(request.form, request.form.getlist)
    if request.form.get("action") == "check":
        return _check(form)
    return _send(form)


def _check(form: ReferralForm, notice: str | None = None) -> Any:
    """Look up the nearest suitable centre, or the one named, to show it (and why) before anything is sent."""
    if not form.nearest:
        return _check_named(form, notice)
    errors = form.check_problems()
    if errors:
        return _form_page(form, errors, status=422)
    try:
        choice = backends().referrals.nearest_centre(form.place, form.services)
    except ServiceError as error:
        if error.status != 422:
            raise
        return _form_page(form, _check_refused(form, error), 422)
    form.values["checked"] = form.check_signature()
    return _form_page(form, {}, choice=choice, notice=notice)


def _check_named(form: ReferralForm, notice: str | None = None, choice: dict | None = None) -> Any:
    if not form.values["centre_id"]:
        return _form_page(form, {"centre_id": "Choose a centre, or choose the nearest suitable centre"}, 422)
    form.values["checked"] = form.check_signature()
    return _form_page(form, {}, choice=choice or _named_choice(form), notice=notice)


def _named_choice(form: ReferralForm) -> dict | None:
    """The centre named, shown as the nearest check shows one: with the services asked for that it
    does not offer (the contacts service routes it there all the same). None if the directory
    cannot say."""
    centre = _centre(form.values["centre_id"])
    if centre is None:
        return None
    offered = {service["id"] for service in centre.get("services") or []}
    missing = [code for code in form.services if code not in offered]
    reason = f"{centre['name']}: the centre you chose."
    return {
        "centre_name": centre["name"],
        "routing": {"chosen": "named", "reason": reason, "services_missing": missing},
    }


def _centre(centre_id: str | None) -> dict | None:
    """The directory's centre of this id; None if it has none or cannot say."""
    return _centres().get(centre_id or "")


def _centres() -> dict[str, dict]:
    """The directory's centres by id; none if it cannot say."""
    try:
        return {centre["id"]: centre for centre in backends().directory.all_centres()}
    except ServiceUnavailable:
        return {}


def _check_refused(form: ReferralForm, error: ServiceError) -> dict[str, str]:
    messages = error.field_messages()
    errors = form.errors_from(messages) or {"_": error.message}
    if "postcode_district" in messages:
        errors["family_postcode"] = (
            f"No open centre was found near {form.place}. Check the postcode or district "
            "(for example L8 or L8 0AA), or choose a centre yourself."
        )
    return errors


def _send(form: ReferralForm) -> Any:
    key = form.values["idempotency_key"]
    already = session.get(SENT_KEY, {}).get(key)
    if already:
        flash("You had already sent this referral: here it is.")
        return redirect(url_for("partners.referral", referral_id=already))
    now = context().clock.now()
    errors = form.problems(now)
    if errors:
        return _form_page(form, errors, status=422)
    if form.values["checked"] != form.check_signature():
        if form.nearest:
            return _check(form, notice="Check the centre this referral will go to, then send it.")
        choice = _named_choice(form)
        if choice and choice["routing"]["services_missing"]:
            notice = (
                "The centre you chose does not offer every service the family needs: check, then send it."
            )
            return _check_named(form, notice, choice)
    try:
        created = backends().referrals.send(form.body(now), key)
    except ServiceError as error:
        if error.status not in (400, 409, 422):
            raise
        return _form_page(form, _refused(form, error), status=error.status)
    _remember_sent(key, created["id"])
    flash(f"Referral sent. Its reference is {created['reference']}.")
    return redirect(url_for("partners.referral", referral_id=created["id"]))


def _refused(form: ReferralForm, error: ServiceError) -> dict[str, str]:
    messages = error.field_messages()
    if "Idempotency-Key" in messages:
        return {
            "_": "This form was already sent with other details. "
            "See your agency's referrals, or start a new referral."
        }
    return form.errors_from(messages) or {"_": error.message}


def _remember_sent(key: str, referral_id: str) -> None:
    sent = dict(session.get(SENT_KEY, {}))
    sent[key] = referral_id
    session[SENT_KEY] = dict(list(sent.items())[-SENT_KEPT:])


def _form_page(
    form: ReferralForm,
    errors: dict[str, str],
    status: int = 200,
    *,
    choice: dict | None = None,
    notice: str | None = None,
) -> Any:
    services, centres = _services_and_centres()
    return (
        render_template(
            "partners/refer.html",
            form=form.with_spare_row(),
            values=form.values,
            errors=errors,
            services=services,
            centres=centres,
            urgencies=[(urgency, URGENCY_LABELS[urgency]) for urgency in reversed(c.URGENCIES)],
            units=AGE_UNITS,
            choice=choice,
            notice=notice,
        ),
        status,
    )


def _services_and_centres() -> tuple[list[dict], list[dict]]:
    """The directory's list of services and its open centres; without the directory the
    services come from the same shared list, and only "nearest suitable" is offered."""
    try:
        services = backends().directory.services_list()
        centres = [centre for centre in backends().directory.all_centres() if centre.get("status") == "open"]
    except ServiceUnavailable:
        services = [{"id": s.id, "label": s.label} for s in service_types.SERVICE_TYPES]
        centres = []
    return services, centres
