"""How a stored entry is shown: public fields plus helpers worked out for now."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ccshared.calendar import WorkingCalendar
from ccshared.service_types import BY_ID

from . import domain, hours
from .repository import version_of

PUBLIC = (
    "name",
    "description",
    "address",
    "postcode",
    "postcode_district",
    "ward",
    "area",
    "location",
    "phone",
    "email",
    "website",
    "opening_times",
    "min_age",
    "max_age",
    "accessibility",
    "languages",
    "cost_options",
    "status",
    "last_verified_at",
    "verified_by",
    "updated_at",
)


def centre(
    doc: Mapping[str, Any],
    *,
    now: datetime,
    stale_days: int,
    distance_km: float | None = None,
    calendar: WorkingCalendar | None = None,
) -> dict:
    today = hours.local(now).date().isoformat()
    view = {"id": doc["_id"], **{name: doc.get(name) for name in PUBLIC}}
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
    }
