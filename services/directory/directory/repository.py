"""Where centre entries live: one collection; a Centre and its events are written together through the outbox."""

from __future__ import annotations

from collections.abc import Sequence

from ccshared.outbox import VERSION, AggregateStore
from ccshared.store import Document, Filter, Store
from ccshared.timeutil import Clock

from .domain import Centre

COLLECTION = "centres"
SOURCE = "directory"
INDEXED = ("area", "ward", "postcode_district", "status", "last_verified_at", "name")


class CentreRepository:
    def __init__(self, store: Store, clock: Clock):
        self.collection = store.collection(COLLECTION)
        self.aggregates = AggregateStore(self.collection, SOURCE, clock)
        for field in INDEXED:
            self.collection.ensure_index([field])

    def get(self, centre_id: str) -> Document | None:
        return self.collection.get(centre_id)

    def find(self, filter: Filter) -> list[Document]:
        return self.collection.find(filter)

    def event(self, type_: str, subject: str, data: dict) -> dict:
        return self.aggregates.event(type_, subject, data)

    def add(self, centre: Centre, events: Sequence[dict]) -> Document:
        """Insert a new entry with its events; raises ccshared.store.DuplicateKey."""
        return self.aggregates.add(centre.doc, events)

    def save(self, centre: Centre, events: Sequence[dict]) -> Document:
        """Compare-and-set on the version read; raises ccshared.outbox.VersionConflict."""
        return self.aggregates.save(centre.doc, events)


def version_of(centre: Document) -> int:
    return int(centre[VERSION])
