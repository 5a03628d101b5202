"""Finding centres: the public search's filters, ordering and pages.

The store narrows by the indexed, exact filters (area, ward, service, district,
status) and by text (q, place); "open now" and distance are worked out here, because they need
the clock and arithmetic that neither store adapter shares. A city has tens of
centres, so the narrowed set is small enough to finish in memory, and both
adapters then order and page identically.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ccshared.calendar import WorkingCalendar
from ccshared.contracts import CENTRE_CLOSED_STATUS
from ccshared.geo import distance_km
from ccshared.store import Filter

from . import domain, hours

TEXT_FIELDS = ("name", "ward", "postcode", "address.line1", "address.line2", "description")
PLACE_FIELDS = ("ward", "name", "address.line1", "address.line2")  # where a place a family types shows


@dataclass(frozen=True)
class CentreQuery:
    q: str | None = None
    service: str | None = None
    ward: str | None = None
    place: str | None = None
    area: str | None = None
    district: str | None = None
    open_now: bool = False
    age: int | None = None
    free: bool = False
    language: str | None = None
    near: tuple[float, float] | None = None
    radius_km: float | None = None
    # A search placed at the middle of this district keeps its centres that have no coordinates.
    near_district: str | None = None
    include_closed: bool = False
    page: int = 1
    per_page: int = 20


@dataclass(frozen=True)
class Hit:
    centre: Mapping[str, Any]
    distance_km: float | None = None


@dataclass(frozen=True)
class Page:
    hits: list[Hit]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return math.ceil(self.total / self.per_page) if self.total else 0


def _exactly(text: str) -> dict[str, str]:
    return {"$regex": f"^{re.escape(text)}$", "$options": "i"}


def store_filter(query: CentreQuery) -> Filter:
    """The part of the query both stores answer; built only from validated values."""
    filter: Filter = {}
    if query.area:
        filter["area"] = query.area
    if query.ward:
        filter["ward"] = _exactly(query.ward)
    if query.service:
        filter["services"] = {"$all": [query.service]}
    if query.district:
        filter["postcode_district"] = query.district
    if not query.include_closed:
        filter["status"] = {"$ne": CENTRE_CLOSED_STATUS}
    texts = [
        _mentioning(text, fields)
        for text, fields in ((query.q, TEXT_FIELDS), (query.place, PLACE_FIELDS))
        if text
    ]
    if texts:
        filter["$and"] = texts
    return filter


def _mentioning(text: str, fields: tuple[str, ...]) -> Filter:
    """Any of the fields contains the text, in any case."""
    pattern = {"$regex": re.escape(text.strip()), "$options": "i"}
    return {"$or": [{field: pattern} for field in fields]}


def _distance(centre: Mapping[str, Any], near: tuple[float, float]) -> float | None:
    location = centre.get("location")
    if not location:
        return None
    return distance_km(near[0], near[1], location["latitude"], location["longitude"])


def finish(
    centres: list[Mapping[str, Any]],
    query: CentreQuery,
    now: datetime,
    calendar: WorkingCalendar | None = None,
) -> Page:
    """Apply the in-memory filters, order stably and cut the requested page."""
    hits = [Hit(c, _distance(c, query.near) if query.near else None) for c in centres]
    if query.open_now:
        hits = [h for h in hits if hours.is_open_at(h.centre, now, calendar)]
    if query.age is not None:
        hits = [h for h in hits if domain.takes_age(h.centre, query.age)]
    if query.free:
        hits = [h for h in hits if domain.is_free(h.centre)]
    if query.language:
        hits = [h for h in hits if domain.speaks(h.centre, query.language)]
    if query.near:
        unplaced = [h for h in hits if h.distance_km is None and _in(h.centre, query.near_district)]
        hits = [h for h in hits if h.distance_km is not None]
        if query.radius_km is not None:
            hits = [h for h in hits if h.distance_km <= query.radius_km]
        hits += unplaced  # after those placed: how near they are is not known
    hits.sort(key=lambda h: _order(h, query.near is not None))
    start = (query.page - 1) * query.per_page
    return Page(hits[start : start + query.per_page], len(hits), query.page, query.per_page)


def _in(centre: Mapping[str, Any], district: str | None) -> bool:
    return district is not None and centre.get("postcode_district") == district


def _order(hit: Hit, by_distance: bool) -> tuple:
    by_name = (hit.centre["name"].casefold(), hit.centre["_id"])
    if not by_distance:
        return by_name
    return (hit.distance_km is None, hit.distance_km or 0.0, *by_name)
