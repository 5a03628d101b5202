"""Test-engine shim: what FerretDB v1 needs beyond the plain MongoDB adapter.

Chosen explicitly by `STORE_URL=ferretdb://host:port/db` (the tests' FerretDB, the
benchmarks); production on MongoDB uses `mongodb://` and never runs this code.

Why it exists: MongoDB applies a filtered update, replace or delete atomically.
FerretDB v1 does not: it reads the matching documents, then writes them back by
id, so two writers racing on one document can both "win" and the later clobbers
the earlier. The one write it does make atomic is an insert, against the unique
`_id`. So here every conditional write runs under a per-document lock, itself a
document in `_document_locks` that only one insert can take (`DocumentLocks`),
and re-checks its condition under that lock (`_still_matches`). With a single
writer the plain adapter is correct on FerretDB too; the contract tests run it
there (tests/adapters/test_store_contract.py).

The other two parts are for speed on FerretDB, whose only index use is a query on
`_id` alone: `_still_matches` asks by `_id` first, and `_pinned_id` skips the
find that a filter naming one `_id` would otherwise cost as a whole-collection scan.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pymongo

from .base import Document, DuplicateKey, Filter, StoreUnavailable
from .mongo_store import MongoCollection, MongoStore, _call, _checked

log = logging.getLogger(__name__)

SCHEME = "ferretdb://"
LOCKS = "_document_locks"
LOCK_WAIT_SECONDS = 10.0
STALE_LOCK_SECONDS = 30.0


class FerretDbStore(MongoStore):
    def __init__(self, url: str):
        super().__init__("mongodb://" + url.removeprefix(SCHEME))
        self.url = url
        self._locks = DocumentLocks(self._db[LOCKS])
        log.info("store %s: FerretDB shim, conditional writes take a per-document lock", self._db.name)

    def collection(self, name: str) -> FerretDbCollection:
        return FerretDbCollection(self._db[name], self._locks)


class DocumentLocks:
    """Mutual exclusion per document across processes, for servers without atomic CAS."""

    def __init__(self, collection: pymongo.collection.Collection):
        self._c = collection
        self.owner = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"

    @contextmanager
    def hold(self, key: str) -> Iterator[None]:
        token = f"{self.owner}-{uuid.uuid4().hex[:8]}"
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        pause = 0.001
        while not self._take(key, token):
            if time.monotonic() > deadline:
                raise StoreUnavailable(f"document {key} stayed locked for {LOCK_WAIT_SECONDS:.0f}s")
            time.sleep(pause)
            pause = min(pause * 2, 0.05)
        try:
            yield
        finally:
            _call(LOCKS, lambda: self._c.delete_one({"_id": key, "token": token}))

    def _take(self, key: str, token: str) -> bool:
        try:
            _call(LOCKS, lambda: self._c.insert_one({"_id": key, "token": token, "at": time.time()}))
            return True
        except DuplicateKey:
            held = _call(LOCKS, lambda: self._c.find_one({"_id": key}))
            if held and held["at"] < time.time() - STALE_LOCK_SECONDS:
                _call(LOCKS, lambda: self._c.delete_one({"_id": key, "token": held["token"]}))
            return False


class FerretDbCollection(MongoCollection):
    """The plain collection, with each conditional write made exclusive per document."""

    def __init__(self, collection: pymongo.collection.Collection, locks: DocumentLocks):
        super().__init__(collection)
        self._locks = locks

    @contextmanager
    def _exclusive(self, doc_id: Any) -> Iterator[None]:
        with self._locks.hold(f"{self.name}:{doc_id}"):
            yield

    def replace(self, doc: Document, expected_version: int | None = None) -> bool:
        with self._exclusive(doc["_id"]):
            if expected_version is not None and not self._still_matches(
                doc["_id"], {"_version": expected_version}
            ):
                return False
            return super().replace(doc)

    def upsert(self, doc: Document) -> None:
        with self._exclusive(doc["_id"]):
            super().upsert(doc)

    def update_each(self, changes: Sequence[tuple[Filter, Document]]) -> int:
        return sum(self._update_locked(_checked(filter), set) for filter, set in changes)

    def _update_locked(self, filter: Filter, set: Document) -> int:
        """Re-check the filter under each matching document's lock, then write."""
        ids = _pinned_id(filter)
        if ids is None:
            ids = [doc["_id"] for doc in _call(self.name, lambda: list(self._c.find(filter, {"_id": 1})))]
        matched = 0
        for doc_id in ids:
            with self._exclusive(doc_id):
                if self._still_matches(doc_id, filter):
                    by_id = {"_id": doc_id}
                    matched += _call(
                        self.name, lambda by_id=by_id: self._c.update_one(by_id, {"$set": set}).matched_count
                    )
        return matched

    def delete(self, filter: Filter) -> int:
        """A delete of one document on a condition (a claim) runs locked; any other is plain."""
        query = _checked(filter)
        ids = _pinned_id(query)
        if ids is None or len(query) == 1:
            return super().delete(query)
        with self._exclusive(ids[0]):
            if not self._still_matches(ids[0], query):
                return 0
            by_id = {"_id": ids[0]}
            return _call(self.name, lambda: self._c.delete_one(by_id).deleted_count)

    def _still_matches(self, doc_id: Any, filter: Filter) -> bool:
        """Whether the document with this id matches filter, asked so that FerretDB finds it by id.

        FerretDB v1 uses an index only for a query on `_id` alone; any other filter, and a
        write with one, reads the whole collection. An aggregation's first `$match` is the
        query it runs, so this is one indexed lookup whose result the second `$match` checks.
        """
        pipeline = [{"$match": {"_id": doc_id}}, {"$match": filter}, {"$project": {"_id": 1}}]
        return bool(_call(self.name, lambda: list(self._c.aggregate(pipeline))))


def _pinned_id(filter: Filter) -> list[Any] | None:
    """The one id a filter names by equality, if it does.

    Saves a find that FerretDB answers with a scan of the whole collection when the
    filter has fields beside `_id` (the outbox relay's `{_id, _version}` clears cost
    O(collection) each). The update or delete under the lock re-checks the whole filter.
    """
    doc_id = filter.get("_id")
    return [doc_id] if isinstance(doc_id, str | int) else None
