"""How a stored entry is shown: public fields plus helpers worked out for now."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ccshared.calendar import WorkingCalendar
from ccshared.service_types import BY_ID

from . import domain, hours, partners, sample
from .repository import version_of

# What a family sees of a centre: what staff edit (exceptions and services shaped below), and
# the fields the directory derives or keeps about each edit. Every editable field is public
# information; one that is not (a staff-only note) must be left out here.
PUBLIC = (*domain.EDITABLE, "postcode_district", "last_verified_at", "updated_at")
# Who last checked a centre is a member of staff's sign-in name: staff see it, families do not.
STAFF_ONLY = ("verified_by",)


def centre(
    doc: Mapping[str, Any],
    *,
    now: datetime,
    stale_days: int,
    distance_km: float | None = None,
    calendar: WorkingCalendar | None = None,
    for_staff: bool = False,
) -> dict:
    today = hours.local(now).date().isoformat()
    shown = (*PUBLIC, *STAFF_ONLY) if for_staff else PUBLIC
    view = {"id": doc["_id"], **{name: doc.get(name) for name in shown}}
    view.update(
        exceptions=[e for e in doc.get("exceptions") or [] if e["date"] >= today],
        services=[BY_ID[s] for s in doc.get("services") or [] if s in BY_ID],
        stale=domain.is_stale(doc, now, stale_days),
        version=version_of(doc),
        open_now=hours.is_open_at(doc, now, calendar),
        today=hours.today(doc, now, calendar),
        week=hours.week(doc, now, calendar),
        free=domain.is_free(doc),
        distance_km=round(distance_km, 2) if distance_km is not None else None,
        sample=sample.is_sample(doc["_id"]),
    )
    return view


def stale_centre(doc: Mapping[str, Any], *, now: datetime) -> dict:
    checked = domain.verified_at(doc)
    return {
        "id": doc["_id"],
        **{
            name: doc.get(name)
            for name in ("name", "area", "ward", "status", "last_verified_at", "verified_by")
        },
        "days_since_verified": (now - checked).days if checked else None,
        "version": version_of(doc),
        "sample": sample.is_sample(doc["_id"]),
    }


def partner_service(doc: Mapping[str, Any], distance_km: float | None = None) -> dict:
    """A partner's service as the public search lists it, labelled with who offers it."""
    place = next(iter(doc.get("places") or ()), {})
    return {
        "id": doc["_id"],
        "feed": doc["feed"],
        "name": doc["name"],
        "description": doc.get("description") or "",
        "organization": doc.get("organization") or "",
        "label": f"from {doc.get('organization') or doc['feed']}",
        "url": _web_link(doc.get("url")),
        "email": doc.get("email"),
        "fees": doc.get("fees"),
        "min_age": _whole(doc.get("min_age")),
        "max_age": _whole(doc.get("max_age")),
        "languages": list(doc.get("languages") or ()),
        "free": partners.is_free(doc),
        "postcode": place.get("postcode"),
        "assured_date": doc.get("assured_date"),
        "distance_km": round(distance_km, 2) if distance_km is not None else None,
    }


def partner_service_for_staff(doc: Mapping[str, Any]) -> dict:
    return {
        **partner_service(doc),
        "service_id": doc["service_id"],
        "status": doc.get("status"),
        "hidden": bool(doc.get("hidden")),
        "imported_at": doc.get("imported_at"),
        "audit": list(reversed(doc.get("_audit") or [])),
    }


def partner_feed(state: Mapping[str, Any]) -> dict:
    status = state["status"]
    error = status.get("last_error")
    return {
        "name": state["name"],
        "services": state["services"],
        "hidden": state["hidden"],
        "last_attempt_at": status.get("last_attempt_at"),
        "last_success_at": status.get("last_success_at"),
        "last_result": status.get("last_result"),
        "failures_in_a_row": int(status.get("failures") or 0),
        "next_attempt_at": status.get("next_attempt_at"),
        "last_error": dict(error) if error else None,
    }


def _whole(value: float | None) -> float | int | None:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _web_link(url: str | None) -> str | None:
    """A partner's link, only if it is a web address (never javascript: or data:)."""
    return url if url and url.lower().startswith(("https://", "http://")) else None
