"""The directory's service layer: commands in, entries saved with their events.

Each command loads the entry, checks the actor may act on it (policy), lets
the domain change it, appends the audit record and stages the event, then
writes all of it in one compare-and-set through the outbox.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from ccshared.calendar import WorkingCalendar
from ccshared.contracts import CENTRE_CLOSED_STATUS
from ccshared.errors import Conflict, Forbidden, NotFound
from ccshared.geo import district_of
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
    """How a postcode search was answered: by coordinates, or by its district."""

    query: search.CentreQuery
    by: str | None = None


class DirectoryService:
    def __init__(
        self,
        repository: CentreRepository,
        clock: Clock,
        geocoder: Geocoder,
        stale_days: int,
        calendar: WorkingCalendar | None = None,
    ):
        self.repository = repository
        self.clock = clock
        self.geocoder = geocoder
        self.stale_days = stale_days
        self.calendar = calendar or WorkingCalendar()

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
        """Turn a postcode into a "near" search, or into a district match when it cannot be located."""
        if not postcode:
            return Located(query)
        point = self.geocoder.locate(postcode) if full else None
        if point is not None:
            return Located(replace(query, near=point), "postcode")
        return Located(replace(query, district=district_of(postcode)), "district")

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
        now = self.clock.now()
        centre, change = domain.new_centre(
            centre_id or str(uuid.uuid4()), fields, by=actor.username, now=now, verified_at=verified_at
        )
        self._record(centre, change, actor, version=1)
        try:
            return self.repository.add(centre, [self._event(centre, change, 1)])
        except DuplicateKey as exc:
            raise Conflict(f"a centre with id {centre['_id']} already exists") from exc

    def update(
        self, centre_id: str, fields: Mapping[str, Any], actor: Actor, expected_version: int
    ) -> Document:
        centre = self._load(centre_id, expected_version)
        self._check(actor, policy.UPDATE, centre, new_area=fields.get("area"))
        change = domain.update(centre, fields, now=self.clock.now())
        if not change.changes:
            return centre
        return self._save(centre, change, actor)

    def verify(self, centre_id: str, actor: Actor, expected_version: int | None = None) -> Document:
        centre = self._load(centre_id, expected_version)
        self._check(actor, policy.VERIFY, centre)
        try:
            change = domain.verify(centre, by=actor.username, now=self.clock.now())
        except domain.ClosedCentre as exc:
            raise Conflict(str(exc)) from exc
        return self._save(centre, change, actor)

    def close(
        self, centre_id: str, reason: str, actor: Actor, expected_version: int | None = None
    ) -> Document:
        centre = self._load(centre_id, expected_version)
        self._check(actor, policy.CLOSE, centre)
        try:
            change = domain.close(centre, reason=reason, now=self.clock.now())
        except domain.ClosedCentre as exc:
            raise Conflict(str(exc)) from exc
        return self._save(centre, change, actor)

    # Plumbing

    def _load(self, centre_id: str, expected_version: int | None) -> Document:
        centre = self.get(centre_id)
        if expected_version is not None and version_of(centre) != expected_version:
            raise VersionConflict(centre_id, expected_version)
        return centre

    def _check(self, actor: Actor, action: str, centre: Document, new_area: str | None = None) -> None:
        reason = policy.refusal(actor, action, centre, new_area)
        if reason:
            raise Forbidden(reason)

    def _save(self, centre: Document, change: domain.Change, actor: Actor) -> Document:
        version = version_of(centre) + 1
        self._record(centre, change, actor, version)
        return self.repository.save(centre, [self._event(centre, change, version)])

    def _record(self, centre: Document, change: domain.Change, actor: Actor, version: int) -> None:
        record = domain.audit_record(
            change, by=actor.username, role=actor.role, now=self.clock.now(), version=version
        )
        centre[AUDIT] = [*(centre.get(AUDIT) or []), record]

    def _event(self, centre: Document, change: domain.Change, version: int) -> dict:
        return self.repository.event(
            change.event_type, centre["_id"], domain.event_data(centre, version, change)
        )
