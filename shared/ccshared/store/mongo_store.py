"""MongoDB adapter (pymongo). Works on MongoDB and on FerretDB v1: relies on
single-document atomicity only, no transactions, TTL indexes or change streams."""

from __future__ import annotations

from collections.abc import Callable, Sequence
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

    def ping(self) -> None:
        _call("ping", lambda: self._client.admin.command("ping"))

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
        query: dict[str, Any] = {"_id": doc["_id"]}
        if expected_version is not None:
            query["_version"] = expected_version
        return _call(self.name, lambda: self._c.replace_one(query, doc).matched_count > 0)

    def upsert(self, doc: Document) -> None:
        _call(self.name, lambda: self._c.replace_one({"_id": doc["_id"]}, doc, upsert=True))

    def update(self, filter: Filter, set: Document) -> int:
        query = _checked(filter)
        return _call(self.name, lambda: self._c.update_many(query, {"$set": set}).matched_count)

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
