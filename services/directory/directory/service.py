"""The directory's service layer: commands in, entries saved with their events.

Each command loads the entry as a domain.Centre, checks the actor may act on
it (policy), lets the Centre change itself, then collects the changes it
recorded: each is appended to the entry's audit trail and becomes an event,
and the repository writes entry and events in one compare-and-set through the
outbox.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from ccshared.calendar import WorkingCalendar
from ccshared.contracts import (
    CENTRE_CLOSED_STATUS,
    LOCATED_BY_DISTRICT,
    LOCATED_BY_DISTRICT_MIDDLE,
    LOCATED_BY_POSTCODE,
)
from ccshared.errors import Conflict, Forbidden, NotFound
from ccshared.geo import district_middle, district_of
from ccshared.outbox import VersionConflict
from ccshared.store import Document, DuplicateKey
from ccshared.timeutil import Clock

from . import domain, policy, search
from .geocoder import Geocoder
from .policy import Actor
from .repository import CentreRepository, version_of

AUDIT = "_audit"


@dataclass(frozen=True)
class Located:
    """How a postcode search was answered: by is one of contracts' LOCATED_BY_* (None without one)."""

    query: search.CentreQuery
    by: str | None = None


@dataclass(eq=False)
class DirectoryService:
    repository: CentreRepository
    clock: Clock
    geocoder: Geocoder
    stale_days: int
    calendar: WorkingCalendar | None = None  # None: England's bank holidays alone

    def __post_init__(self) -> None:
        self.calendar = self.calendar or WorkingCalendar()

    # Reading

    def get(self, centre_id: str) -> Document:
        centre = self.repository.get(centre_id)
        if centre is None:
            raise NotFound(f"no centre with id {centre_id}")
        return centre

    def search(
        self, query: search.CentreQuery, predicate: Callable[[Document], bool] | None = None
    ) -> search.Page:
        centres = self.repository.find(search.store_filter(query))
        if predicate is not None:
            centres = [centre for centre in centres if predicate(centre)]
        return search.finish(centres, query, self.clock.now(), self.calendar)

    def locate(self, query: search.CentreQuery, postcode: str | None, *, full: bool) -> Located:
        """Turn a postcode into a "near" search: near its coordinates when the geocoder knows a
        full one, else near the middle of its district's centres (open or not, so a closure does
        not move the district), else, when none of those has coordinates, into a district match."""
        if not postcode:
            return Located(query)
        point = self.geocoder.locate(postcode) if full else None
        if point is not None:
            return Located(replace(query, near=point), LOCATED_BY_POSTCODE)
        district = district_of(postcode)
        known = self.repository.find({"postcode_district": district})
        middle = district_middle(district, (_place_of(centre) for centre in known))
        if middle is not None:
            return Located(replace(query, near=middle, near_district=district), LOCATED_BY_DISTRICT_MIDDLE)
        return Located(replace(query, district=district), LOCATED_BY_DISTRICT)

    def stale(self, actor: Actor) -> list[Document]:
        if not policy.may(actor, policy.LIST_STALE):
            raise Forbidden(f"role {actor.role} may not list stale centres")
        filter: dict[str, Any] = {
            "status": {"$ne": CENTRE_CLOSED_STATUS},
            "$or": [
                {"last_verified_at": None},
                {"last_verified_at": {"$lt": domain.stale_before(self.clock.now(), self.stale_days)}},
            ],
        }
        areas = policy.areas_visible(actor)
        if areas is not None:
            filter["area"] = {"$in": list(areas)}
        centres = self.repository.find(filter)
        return sorted(
            centres, key=lambda c: (c.get("last_verified_at") or "", c["name"].casefold(), c["_id"])
        )

    def audit(self, centre_id: str, actor: Actor) -> list[dict]:
        centre = self.get(centre_id)
        self._check(actor, policy.READ_AUDIT, centre)
        return list(reversed(centre.get(AUDIT) or []))

    # Changing

    def create(
        self,
        fields: Mapping[str, Any],
        actor: Actor,
        centre_id: str | None = None,
        verified_at: datetime | None = None,
    ) -> Document:
        if not policy.may(actor, policy.CREATE, fields["area"]):
            raise Forbidden(f"role {actor.role} may not create centres")
        centre = domain.Centre.create(
            centre_id or str(uuid.uuid4()),
            fields,
            by=actor.username,
            now=self.clock.now(),
            verified_at=verified_at,
        )
        try:
            return self.repository.add(centre, self._staged(centre, actor, version=1))
        except DuplicateKey as exc:
            raise Conflict(f"a centre with id {centre.id} already exists") from exc

    def update(
        self, centre_id: str, fields: Mapping[str, Any], actor: Actor, expected_version: int
    ) -> Document:
        centre = self._load(centre_id, expected_version)
        self._check(actor, policy.UPDATE, centre.doc, new_area=fields.get("area"))
        centre.update(fields, now=self.clock.now())
        if not centre.events:
            return centre.doc
        return self._save(centre, actor)

    def verify(self, centre_id: str, actor: Actor, expected_version: int | None = None) -> Document:
        centre = self._load(centre_id, expected_version)
        self._check(actor, policy.VERIFY, centre.doc)
        try:
            centre.verify(by=actor.username, now=self.clock.now())
        except domain.ClosedCentre as exc:
            raise Conflict(str(exc)) from exc
        return self._save(centre, actor)

    def close(
        self, centre_id: str, reason: str, actor: Actor, expected_version: int | None = None
    ) -> Document:
        centre = self._load(centre_id, expected_version)
        self._check(actor, policy.CLOSE, centre.doc)
        try:
            centre.close(reason=reason, now=self.clock.now())
        except domain.ClosedCentre as exc:
            raise Conflict(str(exc)) from exc
        return self._save(centre, actor)

    # Plumbing

    def _load(self, centre_id: str, expected_version: int | None) -> domain.Centre:
        doc = self.get(centre_id)
        if expected_version is not None and version_of(doc) != expected_version:
            raise VersionConflict(centre_id, expected_version)
        return domain.Centre(doc)

    def _check(self, actor: Actor, action: str, centre: Document, new_area: str | None = None) -> None:
        reason = policy.refusal(actor, action, centre, new_area)
        if reason:
            raise Forbidden(reason)

    def _save(self, centre: domain.Centre, actor: Actor) -> Document:
        return self.repository.save(centre, self._staged(centre, actor, version_of(centre.doc) + 1))

    def _staged(self, centre: domain.Centre, actor: Actor, version: int) -> list[dict]:
        """Audit each change the centre collected and turn it into its event's envelope;
        both carry the version the write gives the entry."""
        envelopes = []
        for change in centre.collect_events():
            record = domain.audit_record(
                change, by=actor.username, role=actor.role, now=self.clock.now(), version=version
            )
            centre.doc[AUDIT] = [*(centre.doc.get(AUDIT) or []), record]
            envelopes.append(
                self.repository.event(
                    change.event_type, centre.id, domain.event_data(centre.doc, version, change)
                )
            )
        return envelopes


def _place_of(centre: Document) -> tuple[str | None, float | None, float | None]:
    location = centre.get("location") or {}
    return centre.get("postcode"), location.get("latitude"), location.get("longitude")
