"""What the /oruk/ list parameters select: centres narrowed, located and paged.

The feed publishes the centres only (never imported partners' services), one
service and one service-at-location per centre, so every list and lookup here
works on the centres.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from ccshared import contracts, geo
from ccshared.errors import ApiError, NotFound
from ccshared.service_types import BY_TERM_ID
from ccshared.store import Document

from . import oruk
from .search import CentreQuery
from .service import DirectoryService

ALL = 1_000_000

Shape = Callable[[oruk.Centre], dict[str, Any]]
Build = Callable[[int, int], tuple[list[dict[str, Any]], int]]


def _not_applicable(name: str, why: str) -> ApiError:
    return ApiError(f"{name} cannot apply: {why}", {name: [why]})


class OrukQueries:
    def __init__(self, service: DirectoryService, organization: oruk.Organization):
        self.service = service
        self.organization = organization

    def all_centres(self) -> list[Document]:
        found = self.service.search(CentreQuery(include_closed=True, per_page=ALL))
        return [hit.centre for hit in found.hits]

    def full_services(self, now: datetime) -> list[dict[str, Any]]:
        return [oruk.service_full(c, self.organization, now) for c in self.all_centres()]

    def centre_at(self, service_at_location_id: str) -> Document:
        for centre in self.all_centres():
            if oruk.service_at_location_id(centre) == service_at_location_id:
                return centre
        raise NotFound(f"no service_at_location with id {service_at_location_id}")

    def centres(self, args: dict[str, Any], shape: Shape, *, near_postcode: bool = False) -> Build:
        """A page builder for the centres the list parameters select, each in `shape`."""

        def build(page: int, per_page: int) -> tuple[list[dict[str, Any]], int]:
            query, keep = self._query(args, page, per_page)
            if "organization_id" in args and args["organization_id"] != self.organization.id:
                return [], 0
            if near_postcode:
                query = self._near(query, args)
            found = self.service.search(query, keep.matches)
            return [shape(hit.centre) for hit in found.hits], found.total

        return build

    def _query(
        self, args: dict[str, Any], page: int, per_page: int
    ) -> tuple[CentreQuery, oruk.ServiceFilter]:
        term = args.get("taxonomy_term_id")
        offered = BY_TERM_ID[term].id if term in BY_TERM_ID else term
        query = CentreQuery(
            q=args.get("search"), service=offered, include_closed=True, page=page, per_page=per_page
        )
        schedule = oruk.ScheduleFilter(args.get("day"), args.get("start_time"), args.get("end_time"))
        keep = oruk.ServiceFilter(
            args.get("modified_after"),
            args.get("minimum_age"),
            args.get("maximum_age"),
            schedule,
            args.get("taxonomy_id"),
        )
        return query, keep

    def _near(self, query: CentreQuery, args: dict[str, Any]) -> CentreQuery:
        """postcode: nearest first (as the centre search: from the middle of its district's centres
        when it cannot be located); proximity: within metres of the postcode itself, so only of one
        located (a district's middle is a guess the feed has no field to admit)."""
        raw = args.get("postcode")
        if not raw:
            if "proximity" in args:
                raise _not_applicable("proximity", "it is measured from a postcode; send postcode too.")
            return query
        full = geo.normalise_postcode(raw)
        located = self.service.locate(query, full or geo.normalise_district(raw), full=full is not None)
        if "proximity" not in args:
            return located.query
        if located.by != contracts.LOCATED_BY_POSTCODE:
            raise _not_applicable(
                "proximity", "the postcode could not be located to a point; send a full, known postcode."
            )
        return replace(located.query, radius_km=args["proximity"] / 1000)
