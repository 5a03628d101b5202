"""MongoDB adapter: the store port in plain pymongo.

Relies on single-document atomicity only: no transactions, TTL indexes or change
streams. MongoDB applies a filtered update, replace or delete atomically, so a
compare-and-set on `_version` (`replace_one({_id, _version})`) or a conditional
claim (`update_many({_id, state})`) has exactly one winner. This is what
production runs (`STORE_URL=mongodb://...`). The test engine, FerretDB v1, does
not make those writes atomic; `ferretdb_shim` adds what it needs on top.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar

import pymongo
from pymongo.errors import (
    ConnectionFailure,
    DuplicateKeyError,
    PyMongoError,
    ServerSelectionTimeoutError,
)

from .base import Document, DuplicateKey, Filter, Sort, StoreError, StoreUnavailable, check_filter

T = TypeVar("T")


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

    def collection(self, name: str) -> MongoCollection:
        return MongoCollection(self._db[name])

    @contextmanager
    def batch(self) -> Iterator[None]:
        """No grouping: the adapter uses no transactions, and each write here already
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


class MongoCollection:
    def __init__(self, collection: pymongo.collection.Collection):
        self._c = collection
        self.name = collection.name

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
        query = {"_id": doc["_id"]}
        if expected_version is not None:
            query["_version"] = expected_version
        return _call(self.name, lambda: self._c.replace_one(query, doc).matched_count > 0)

    def upsert(self, doc: Document) -> None:
        _call(self.name, lambda: self._c.replace_one({"_id": doc["_id"]}, doc, upsert=True))

    def update(self, filter: Filter, set: Document) -> int:
        return self.update_each([(filter, set)])

    def update_each(self, changes: Sequence[tuple[Filter, Document]]) -> int:
        if not changes:
            return 0
        operations = [pymongo.UpdateMany(_checked(filter), {"$set": set}) for filter, set in changes]
        return _call(self.name, lambda: self._c.bulk_write(operations, ordered=True).matched_count)

    def delete(self, filter: Filter) -> int:
        query = _checked(filter)
        return _call(self.name, lambda: self._c.delete_many(query).deleted_count)

    def ensure_index(self, fields: Sequence[str], unique: bool = False) -> None:
        keys = [(field, pymongo.ASCENDING) for field in fields]
        _call(self.name, lambda: self._c.create_index(keys, unique=unique))


def _checked(filter: Filter | None) -> Filter:
    query = filter or {}
    check_filter(query)
    return query
