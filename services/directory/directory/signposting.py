"""The service layer of partners' services: finding them for the public, their feeds for staff, hiding.

The public search lists them after the centres with the centres' filters; a
filter their data cannot answer (a ward, place or area of ours, "open now") leaves
them out rather than in. Hidden services and any not `active` never show.
Hiding and showing again are staff actions, audited on the service itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ccshared import contracts as c
from ccshared.errors import Forbidden, NotFound
from ccshared.store import Document
from ccshared.timeutil import Clock

from . import partners, policy
from .config import ImportSettings
from .partner_repository import PartnerRepository
from .policy import Actor
from .search import CentreQuery


@dataclass(frozen=True)
class PartnerHit:
    service: Document
    distance_km: float | None = None


@dataclass(eq=False)
class Signposting:
    repository: PartnerRepository
    settings: ImportSettings
    clock: Clock

    def search(self, query: CentreQuery) -> list[PartnerHit]:
        """Every shown partner service matching the query, nearest first near a point, else by name."""
        if query.area or query.ward or query.place or query.open_now:
            return []
        found = self.repository.find({"hidden": {"$ne": True}, "status": c.ORUK_ACTIVE, **self._configured()})
        checks = [
            (query.q, lambda s: partners.mentions(s, query.q)),
            (query.service, lambda s: partners.offers(s, query.service)),
            (query.age is not None, lambda s: partners.takes_age(s, query.age)),
            (query.free, partners.is_free),
            (query.language, lambda s: partners.speaks(s, query.language)),
            (query.district, lambda s: partners.in_district(s, query.district)),
        ]
        for wanted, check in checks:
            if wanted:
                found = [service for service in found if check(service)]
        pairs = [(s, partners.nearest_km(s, query.near) if query.near else None) for s in found]
        if query.near:
            pairs = [(s, km) for s, km in pairs if km is not None]
            if query.radius_km is not None:
                pairs = [(s, km) for s, km in pairs if km <= query.radius_km]
        return [PartnerHit(s, km) for s, km in partners.order(pairs, query.near is not None)]

    def feeds(self, actor: Actor) -> list[dict[str, Any]]:
        """Each configured feed's state, in the order of ORUK_IMPORT_FEEDS."""
        self._check(actor, policy.READ_PARTNER_FEEDS, "see partner feeds")
        statuses = self.repository.all_feed_status()
        return [
            {
                "name": feed.name,
                "status": statuses.get(feed.name) or {},
                "services": self.repository.count(feed.name),
                "hidden": self.repository.count(feed.name, hidden=True),
            }
            for feed in self.settings.feeds
        ]

    def services(self, actor: Actor, feed: str | None = None) -> list[Document]:
        """Every imported service, hidden ones included, by feed then name (staff)."""
        self._check(actor, policy.READ_PARTNER_FEEDS, "see partner services")
        found = self.repository.of_feed(feed) if feed else self.repository.find(self._configured())
        return sorted(found, key=lambda s: (s["feed"], s["name"].casefold(), s["_id"]))

    def get(self, partner_id: str) -> Document:
        found = self.repository.get(partner_id)
        if found is None:
            raise NotFound(f"no partner service with id {partner_id}")
        return found

    def set_hidden(self, partner_id: str, hidden: bool, actor: Actor, reason: str | None = None) -> Document:
        self._check(actor, policy.HIDE_PARTNER_SERVICE, "hide or show partner services")
        service = self.get(partner_id)
        if bool(service.get("hidden")) == hidden:
            return service
        record = partners.hide_record(
            hidden=hidden, by=actor.username, role=actor.role, now=self.clock.now(), reason=reason
        )
        return self.repository.mark(service, hidden, record)

    def _configured(self) -> dict[str, Any]:
        """Only the feeds ORUK_IMPORT_FEEDS names now: one taken out is neither refreshed nor
        reported, so its copies must not stay on the public search. They stay stored, with
        staff's hide marks and their audit, for the feed's return (a mistyped setting, a
        rolling deploy)."""
        return {"feed": {"$in": [feed.name for feed in self.settings.feeds]}}

    @staticmethod
    def _check(actor: Actor, action: str, what: str) -> None:
        if not policy.may(actor, action):
            raise Forbidden(f"role {actor.role} may not {what}")
