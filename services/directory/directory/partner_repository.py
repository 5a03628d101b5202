"""Where partners' services and their feeds' status live: two collections of the directory's store.

`partner_services` holds one document per imported service (id `<feed>:<service
id>`); `partner_feeds` one per feed: when it was last fetched, what went wrong,
the validators for conditional requests, when to try again. Both go through
ccshared.store, so the embedded store and MongoDB/FerretDB behave alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ccshared.store import Document, Filter, Store

from . import partners

SERVICES = "partner_services"
FEEDS = "partner_feeds"


class PartnerRepository:
    def __init__(self, store: Store):
        self.services = store.collection(SERVICES)
        self.feeds = store.collection(FEEDS)
        for field in ("feed", "hidden", "status"):
            self.services.ensure_index([field])

    # Services

    def get(self, partner_id: str) -> Document | None:
        return self.services.get(partner_id)

    def find(self, filter: Filter) -> list[Document]:
        return self.services.find(filter)

    def of_feed(self, feed: str) -> list[Document]:
        return self.services.find({"feed": feed})

    def replace_feed(self, feed: str, imported: Iterable[partners.PartnerService]) -> tuple[int, int]:
        """Make the feed's services exactly `imported`, keeping staff's marks; (written, dropped)."""
        existing = {doc["_id"]: doc for doc in self.of_feed(feed)}
        written = 0
        keep: set[str] = set()
        for service in imported:
            keep.add(service["_id"])
            old = existing.get(service["_id"])
            if old is not None and partners.same_content(old, service):
                continue
            ours = {k: old[k] for k in ("hidden", "_audit") if old is not None and k in old}
            self.services.upsert({"hidden": False, **service, **ours})
            written += 1
        gone = [doc_id for doc_id in existing if doc_id not in keep]
        dropped = self.services.delete({"_id": {"$in": gone}}) if gone else 0
        return written, dropped

    def count(self, feed: str, hidden: bool | None = None) -> int:
        filter: Filter = {"feed": feed}
        if hidden is not None:
            filter["hidden"] = hidden
        return self.services.count(filter)

    def mark(self, service: Document, hidden: bool, record: Mapping[str, Any]) -> Document:
        audit = [*(service.get("_audit") or []), dict(record)]
        self.services.update({"_id": service["_id"]}, {"hidden": hidden, "_audit": audit})
        return {**service, "hidden": hidden, "_audit": audit}

    # Feeds

    def feed_status(self, feed: str) -> Document:
        return self.feeds.get(feed) or {"_id": feed}

    def all_feed_status(self) -> dict[str, Document]:
        return {doc["_id"]: doc for doc in self.feeds.find({})}

    def save_feed_status(self, status: Document) -> None:
        self.feeds.upsert(status)
