"""MongoDB adapter (pymongo). Works on MongoDB and on FerretDB v1.

Relies on single-document atomicity only: no transactions, TTL indexes or
change streams. MongoDB applies a filtered update or replace atomically, so a
compare-and-set on `_version` or a conditional claim is safe there. FerretDB
v1 does not: it reads the matching documents, then writes them back by id, so
two writers can both "win" and the later one clobbers the earlier. On FerretDB
(detected from buildInfo) every conditional write therefore runs under a
per-document lock, itself a document whose unique `_id` only one insert can
take; that is the one write FerretDB does make atomic.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import pymongo
from pymongo.errors import (
    ConnectionFailure,
    DuplicateKeyError,
    PyMongoError,
    ServerSelectionTimeoutError,
)

from .base import Document, DuplicateKey, Filter, Sort, StoreError, StoreUnavailable, check_filter

T = TypeVar("T")
LOCKS = "_document_locks"
LOCK_WAIT_SECONDS = 10.0
STALE_LOCK_SECONDS = 30.0


def _call(name: str, action: Callable[[], T]) -> T:
    try:
        return action()
    except DuplicateKeyError as exc:
        raise DuplicateKey(f"{name}: {exc}") from exc
    except (ConnectionFailure, ServerSelectionTimeoutError) as exc:
        raise StoreUnavailable(f"{name}: database unreachable ({type(exc).__name__})") from exc
    except PyMongoError as exc:
        raise StoreError(f"{name}: {exc}") from exc


class MongoStore:
    def __init__(self, url: str):
        self.url = url
        self._client: pymongo.MongoClient = pymongo.MongoClient(
            url,
            serverSelectionTimeoutMS=2000,
            connectTimeoutMS=2000,
            socketTimeoutMS=10000,
            tz_aware=True,
        )
        try:
            self._db = self._client.get_default_database()
        except pymongo.errors.ConfigurationError as exc:
            raise ValueError("STORE_URL must name a database, e.g. mongodb://host:27017/contacts") from exc
        self._locks: DocumentLocks | None | bool = False

    def collection(self, name: str) -> MongoCollection:
        return MongoCollection(self._db[name], self._document_locks)

    def _document_locks(self) -> DocumentLocks | None:
        """Locks when the server is FerretDB, None on MongoDB; asked once, on first write."""
        if self._locks is False:
            info = _call("buildInfo", lambda: self._db.command("buildInfo"))
            self._locks = DocumentLocks(self._db[LOCKS]) if "ferretdbVersion" in info else None
        return self._locks  # type: ignore[return-value]

    @contextmanager
    def batch(self) -> Iterator[None]:
        """No grouping: FerretDB v1 has no transactions, and each write here already
        returns the outcome its caller acts on."""
        yield

    def ping(self) -> None:
        _call("ping", lambda: self._client.admin.command("ping"))

    def scrub(self) -> None:
        """Nothing a client can do: MongoDB (WiredTiger) reuses freed space and rotates
        its journal itself; the test harness's FerretDB, started with -scrub for the
        erasure tests, runs SQLite with secure_delete and a checkpoint per commit
        (tools/ferretdb/main.go)."""

    def close(self) -> None:
        self._client.close()


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


class MongoCollection:
    def __init__(self, collection: pymongo.collection.Collection, locks: Callable[[], DocumentLocks | None]):
        self._c = collection
        self._locks = locks
        self.name = collection.name

    @contextmanager
    def _exclusive(self, doc_id: Any) -> Iterator[None]:
        locks = self._locks()
        if locks is None:
            yield
            return
        with locks.hold(f"{self.name}:{doc_id}"):
            yield

    def insert(self, doc: Document) -> None:
        _call(self.name, lambda: self._c.insert_one(dict(doc)))

    def get(self, doc_id: str) -> Document | None:
        return _call(self.name, lambda: self._c.find_one({"_id": doc_id}))

    def find(
        self, filter: Filter | None = None, sort: Sort = (), skip: int = 0, limit: int = 0
    ) -> list[Document]:
        query = _checked(filter)
        order = [*((field, pymongo.DESCENDING if d < 0 else pymongo.ASCENDING) for field, d in sort)]
        order.append(("_id", pymongo.ASCENDING))
        return _call(self.name, lambda: list(self._c.find(query, sort=order, skip=skip, limit=max(limit, 0))))

    def count(self, filter: Filter | None = None) -> int:
        return _call(self.name, lambda: self._c.count_documents(_checked(filter)))

    def replace(self, doc: Document, expected_version: int | None = None) -> bool:
        by_id = {"_id": doc["_id"]}
        if self._locks() is None:
            query = by_id if expected_version is None else {**by_id, "_version": expected_version}
            return _call(self.name, lambda: self._c.replace_one(query, doc).matched_count > 0)
        with self._exclusive(doc["_id"]):
            if expected_version is not None and not self._still_matches(
                doc["_id"], {"_version": expected_version}
            ):
                return False
            return _call(self.name, lambda: self._c.replace_one(by_id, doc).matched_count > 0)

    def upsert(self, doc: Document) -> None:
        with self._exclusive(doc["_id"]):
            _call(self.name, lambda: self._c.replace_one({"_id": doc["_id"]}, doc, upsert=True))

    def update(self, filter: Filter, set: Document) -> int:
        return self.update_each([(filter, set)])

    def update_each(self, changes: Sequence[tuple[Filter, Document]]) -> int:
        if not changes:
            return 0
        if self._locks() is None:
            operations = [pymongo.UpdateMany(_checked(filter), {"$set": set}) for filter, set in changes]
            return _call(self.name, lambda: self._c.bulk_write(operations, ordered=True).matched_count)
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

    def _still_matches(self, doc_id: Any, filter: Filter) -> bool:
        """Whether the document with this id matches filter, asked so that FerretDB finds it by id.

        FerretDB v1 uses an index only for a query on `_id` alone; any other filter, and a
        write with one, reads the whole collection. An aggregation's first `$match` is the
        query it runs, so this is one indexed lookup whose result the second `$match` checks.
        """
        pipeline = [{"$match": {"_id": doc_id}}, {"$match": filter}, {"$project": {"_id": 1}}]
        return bool(_call(self.name, lambda: list(self._c.aggregate(pipeline))))

    def delete(self, filter: Filter) -> int:
        query = _checked(filter)
        ids = _pinned_id(query)
        if ids is None or len(query) == 1 or self._locks() is None:
            return _call(self.name, lambda: self._c.delete_many(query).deleted_count)
        with self._exclusive(ids[0]):
            if not self._still_matches(ids[0], query):
                return 0
            by_id = {"_id": ids[0]}
            return _call(self.name, lambda: self._c.delete_one(by_id).deleted_count)

    def ensure_index(self, fields: Sequence[str], unique: bool = False) -> None:
        keys = [(field, pymongo.ASCENDING) for field in fields]
        _call(self.name, lambda: self._c.create_index(keys, unique=unique))


def _pinned_id(filter: Filter) -> list[Any] | None:
    """The one id a filter names by equality, if it does.

    Saves a find that FerretDB answers with a scan of the whole collection when the
    filter has fields beside `_id` (the outbox relay's `{_id, _version}` clears cost
    O(collection) each). The update or delete under the lock re-checks the whole filter.
    """
    doc_id = filter.get("_id")
    return [doc_id] if isinstance(doc_id, str | int) else None


def _checked(filter: Filter | None) -> Filter:
    query = filter or {}
    check_filter(query)
    return query
