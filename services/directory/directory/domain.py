"""A centre's directory entry and what can happen to it.

A Centre wraps the entry's document (a dict already validated by the schemas);
its methods change it and record what changed (a Change), which the service
layer collects to audit the change and raise the matching event. The free
functions below read an entry as stored. No Flask, no database, no bus: the
time comes in as an argument.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ccshared import contracts as c
from ccshared.aggregate import Aggregate
from ccshared.geo import district_of
from ccshared.timeutil import from_str, to_str

from .vocabulary import WEEKDAYS

EDITABLE = (
    "name",
    "description",
    "address",
    "postcode",
    "ward",
    "area",
    "location",
    "phone",
    "email",
    "website",
    "opening_times",
    "exceptions",
    "services",
    "min_age",
    "max_age",
    "accessibility",
    "languages",
    "cost_options",
    "status",
)
DEFAULTS: Mapping[str, Any] = {
    "description": "",
    "location": None,
    "phone": None,
    "email": None,
    "website": None,
    "opening_times": {day: [] for day in WEEKDAYS},
    "exceptions": [],
    "services": [],
    "min_age": 0,
    "max_age": 5,
    "accessibility": "",
    "languages": ["English"],
    "cost_options": [],
    "status": c.CENTRE_OPEN,
}
EVENT_FOR = {
    c.CENTRE_ACTION_CREATED: c.CENTRE_CREATED,
    c.CENTRE_ACTION_UPDATED: c.CENTRE_UPDATED,
    c.CENTRE_ACTION_VERIFIED: c.CENTRE_VERIFIED,
    c.CENTRE_ACTION_CLOSED: c.CENTRE_CLOSED,
}


class ClosedCentre(Exception):
    """A closed centre cannot be verified or closed again."""


@dataclass
class Change:
    """What one command did to an entry: the event a Centre records, the basis of its audit record."""

    action: str
    changes: dict[str, dict[str, Any]] = field(default_factory=dict)
    reason: str | None = None

    @property
    def changed_fields(self) -> list[str]:
        return sorted(self.changes)

    @property
    def event_type(self) -> str:
        return EVENT_FOR[self.action]


@dataclass
class Centre(Aggregate[Change]):
    """A centre's entry, changed only by these methods, each recording its Change.

    The state stays the plain document the schemas validated and the store keeps,
    so reads (views, search, ORUK) take `doc` as it is stored.
    """

    doc: dict[str, Any]

    @property
    def id(self) -> str:
        return self.doc["_id"]

    @classmethod
    def create(
        cls,
        centre_id: str,
        fields: Mapping[str, Any],
        *,
        by: str,
        now: datetime,
        verified_at: datetime | None = None,
    ) -> Centre:
        """A new entry; whoever enters the details has just checked them."""
        centre = cls({"_id": centre_id, **DEFAULTS, **fields})
        doc = centre.doc
        doc["postcode_district"] = district_of(doc["postcode"])
        doc["created_at"] = doc["updated_at"] = to_str(now)
        doc["last_verified_at"] = to_str(verified_at or now)
        doc["verified_by"] = by
        centre.record(
            Change(c.CENTRE_ACTION_CREATED, {name: {"from": None, "to": doc[name]} for name in EDITABLE})
        )
        return centre

    def update(self, fields: Mapping[str, Any], *, now: datetime) -> None:
        """Apply the fields that differ; records nothing when nothing was different."""
        doc, changes = self.doc, {}
        for name, value in fields.items():
            if name in EDITABLE and doc.get(name) != value:
                changes[name] = {"from": doc.get(name), "to": value}
                doc[name] = value
        if changes:
            doc["postcode_district"] = district_of(doc["postcode"])
            doc["updated_at"] = to_str(now)
            self.record(Change(c.CENTRE_ACTION_UPDATED, changes))

    def verify(self, *, by: str, now: datetime) -> None:
        if self.doc["status"] == c.CENTRE_CLOSED_STATUS:
            raise ClosedCentre(f"centre {self.id} is closed; reopen it before verifying")
        previous = self.doc.get("last_verified_at")
        self.doc["last_verified_at"] = to_str(now)
        self.doc["verified_by"] = by
        self.record(
            Change(
                c.CENTRE_ACTION_VERIFIED,
                {"last_verified_at": {"from": previous, "to": self.doc["last_verified_at"]}},
            )
        )

    def close(self, *, reason: str, now: datetime) -> None:
        if self.doc["status"] == c.CENTRE_CLOSED_STATUS:
            raise ClosedCentre(f"centre {self.id} is already closed")
        change = Change(
            c.CENTRE_ACTION_CLOSED,
            {"status": {"from": self.doc["status"], "to": c.CENTRE_CLOSED_STATUS}},
            reason,
        )
        self.doc["status"] = c.CENTRE_CLOSED_STATUS
        self.doc["updated_at"] = to_str(now)
        self.record(change)


def is_free(centre: Mapping[str, Any]) -> bool:
    """Free: nothing it offers has a price above zero."""
    return not any((option.get("amount") or 0) > 0 for option in centre.get("cost_options") or ())


def speaks(centre: Mapping[str, Any], language: str) -> bool:
    wanted = language.strip().casefold()
    return any(spoken.casefold() == wanted for spoken in centre.get("languages") or ())


def takes_age(centre: Mapping[str, Any], age: int) -> bool:
    return centre.get("min_age", 0) <= age <= centre.get("max_age", 5)


def verified_at(centre: Mapping[str, Any]) -> datetime | None:
    raw = centre.get("last_verified_at")
    return from_str(raw) if raw else None


def is_stale(centre: Mapping[str, Any], now: datetime, stale_days: int) -> bool:
    """Unchecked for longer than stale_days (closed centres never go stale)."""
    if centre.get("status") == c.CENTRE_CLOSED_STATUS:
        return False
    checked = verified_at(centre)
    return checked is None or now - checked > timedelta(days=stale_days)


def stale_before(now: datetime, stale_days: int) -> str:
    """The stored-instant string below which last_verified_at is stale."""
    return to_str(now - timedelta(days=stale_days))


def event_data(centre: Mapping[str, Any], version: int, change: Change) -> dict[str, Any]:
    """The public fields a centre event carries (ccshared.events.CentreData)."""
    return {
        "centre_id": centre["_id"],
        "name": centre["name"],
        "area": centre["area"],
        "ward": centre["ward"],
        "postcode": centre["postcode"],
        "status": centre["status"],
        "email": centre.get("email"),
        "last_verified_at": verified_at(centre),
        "latitude": (centre.get("location") or {}).get("latitude"),
        "longitude": (centre.get("location") or {}).get("longitude"),
        "services": list(centre.get("services") or []),
        "version": version,
        "changed_fields": change.changed_fields,
    }


def audit_record(change: Change, *, by: str, role: str, now: datetime, version: int) -> dict[str, Any]:
    record = {
        "at": to_str(now),
        "by": by,
        "role": role,
        "action": change.action,
        "version": version,
        "changed_fields": change.changed_fields,
        "changes": change.changes,
    }
    if change.reason:
        record["reason"] = change.reason
    return record
