"""Public pages, no sign-in: find a centre, a centre's page, how we are doing."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from ccshared import contracts as c
from ccshared.geo import outward_code
from ccshared.timeutil import LONDON
from flask import Blueprint, render_template, request

from ..clients import ServiceError, ServiceUnavailable
from ..field_words import in_plain_words
from ..presenters import answered_within, by_month, opening_today, week_of, withheld_answered
from . import backends, context

bp = Blueprint("public", __name__)
POSTCODE_LIKE = re.compile(r"^[A-Za-z]{1,2}[0-9][0-9A-Za-z]?(\s*[0-9][A-Za-z]{2})?$")
SEARCH_FIELDS = ("q", "service", "place", "age", "free", "language", "open_now", "lat", "lon")
AGES = tuple(c.CHILD_AGE_YEARS)
STANDARDS = (
    "Up to date information on all children's centres will be available to the public.",
    "We will respond to all letters within 5 working days.",
    "Telephone messages will be responded to within 2 working days.",
    "Team members will respect confidentiality.",
    "We will work in partnership with other services, such as health, Job Centre Plus and the voluntary sector.",
)
PUBLISHED_CHANNELS = (c.LETTER, c.TELEPHONE)  # the channels the published standards name


def directory_query(form: dict[str, str]) -> dict[str, Any]:
    """The directory's search parameters from the public form's fields. A place that is not a
    postcode goes as `place` (part of a ward, a centre's name or address), never as `ward`, which
    must name a ward whole: families type "Garston", not "Speke-Garston"."""
    query: dict[str, Any] = {"per_page": 50}
    if form.get("q"):
        query["q"] = form["q"]
    if form.get("service"):
        query["service"] = form["service"]
    place = form.get("place", "").strip()
    if place:
        query["postcode" if POSTCODE_LIKE.match(place) else "place"] = place
    elif form.get("lat") and form.get("lon"):
        query.update(lat=form["lat"], lon=form["lon"], radius_km=10)
    if form.get("open_now"):
        query["open_now"] = "true"
    if form.get("age"):
        query["age"] = form["age"]
    if form.get("free"):
        query["free"] = "true"
    if form.get("language"):
        query["language"] = form["language"]
    return query


@bp.get("/")
def find() -> Any:
    form = {name: request.args.get(name, "").strip() for name in SEARCH_FIELDS}
    searched = any(form.values())
    page: dict[str, Any] = {"form": form, "searched": searched, "results": None, "errors": _unserved(form)}
    try:
        page["services"] = backends().directory.services_list()
        if searched and not page["errors"]:
            page["results"] = backends().directory.search(**directory_query(form))
    except ServiceUnavailable:
        page["unavailable"] = True
        page.setdefault("services", [])
    except ServiceError as error:
        page["errors"] = _form_errors(error)
    page["service_labels"] = {s["id"]: s["label"] for s in page["services"]}
    page.update(located(page["results"], form["place"]))
    status = 503 if page.get("unavailable") else 422 if page["errors"] else 200
    page["ages"] = AGES
    return render_template("public/find.html", opening_today=opening_today, **page), status


def located(results: dict | None, place: str) -> dict[str, Any]:
    """How the directory placed the postcode typed, for the page to say where distances run from."""
    by = (results or {}).get("located_by")
    return {
        "nearest_first": by in (c.LOCATED_BY_POSTCODE, c.LOCATED_BY_DISTRICT_MIDDLE),
        "from_district": by == c.LOCATED_BY_DISTRICT_MIDDLE,
        "district_only": by == c.LOCATED_BY_DISTRICT,
        "district": outward_code(place) if place else None,
    }


# The directory's search parameters, each as the field of the form it came from; each field's label.
_FORM_FIELD = {
    "q": "q",
    "service": "service",
    "postcode": "place",
    "ward": "place",
    "place": "place",
    "lat": "place",
    "lon": "place",
    "age": "age",
    "language": "language",
}
FORM_LABELS = {
    "q": "Name of centre",
    "service": "Service you are looking for",
    "place": "Place or postcode",
    "age": "Your child's age",
    "language": "Language you would like to speak",
}
# What to do when the directory refuses a choice the page offers: its own range or list is not the
# page's (ages to 25, internal service codes), and lat/lon come from "near me", not from typing.
_NOT_LOCATED = "we could not use your location; type a place or postcode instead"
_CHOICE_WORDS = {
    "service": "choose a service from the list",
    "age": f"choose an age from {AGES[0]} to {AGES[-1]}",
    "lat": _NOT_LOCATED,
    "lon": _NOT_LOCATED,
}


def _unserved(form: dict[str, str]) -> dict[str, str]:
    """An age the form does not offer (a link edited by hand) is not searched: the centres serve
    children under five, as referrals do, though the directory takes ages to 25."""
    if form["age"] and form["age"] not in {str(age) for age in AGES}:
        return {"age": f"{FORM_LABELS['age']}: {_CHOICE_WORDS['age']}"}
    return {}


def _form_errors(error: ServiceError) -> dict[str, str]:
    """The directory names its own parameters; say each problem beside the field it came from,
    named by that field's label, in words about the form rather than the API."""
    found = {}
    for name, message in error.field_messages().items():
        field = _FORM_FIELD.get(name)
        if field is None:  # not one the form sends (a link edited by hand): nothing on the form to fix
            found["_"] = "We could not search with that link: please choose again below."
            continue
        words = _CHOICE_WORDS.get(name)
        label = FORM_LABELS[field]
        found[field] = f"{label}: {words}" if words else in_plain_words(label, message)
    return found or {"q": error.message}


@bp.get("/centres/<centre_id>")
def centre(centre_id: str) -> Any:
    found = backends().directory.centre(centre_id)
    return render_template("public/centre.html", centre=found, opening_today=opening_today, week_of=week_of)


def last_twelve_months(today: date) -> tuple[str, str]:
    start_month = today.month - 11
    start = date(today.year + (start_month - 1) // 12, (start_month - 1) % 12 + 1, 1)
    return start.isoformat(), today.isoformat()


def monthly_by_channel(start: date, end: date) -> tuple[list[dict[str, Any]], list[str]]:
    """Each published month with contacts, newest first, with its compliance per channel; and
    the months not published yet. Asked anonymously, the SLA monitor gives each month's figures
    on their own, once the month has settled, and the same ever after."""
    report = backends().sla.compliance(
        **{"from": start.isoformat(), "to": end.isoformat(), "group_by": "channel"}
    )
    return by_month(report["monthly"]), report.get("not_yet_published") or []


@bp.get("/how-we-are-doing")
def how_we_are_doing() -> Any:
    now = context().clock.now()
    start, end = last_twelve_months(now.astimezone(LONDON).date())
    rows, waiting, unavailable = [], [], False
    try:
        rows, waiting = monthly_by_channel(date.fromisoformat(start), date.fromisoformat(end))
    except ServiceUnavailable:
        unavailable = True
    return render_template(
        "public/how_we_are_doing.html",
        withheld_answered=withheld_answered,
        answered_within=answered_within,
        standards=STANDARDS,
        channels=PUBLISHED_CHANNELS,
        rows=rows,
        waiting=waiting,
        unavailable=unavailable,
        period=(start, end),
    )
