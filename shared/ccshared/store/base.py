"""The document store port: collections of JSON documents keyed by `_id`.

Both adapters speak the same small subset of MongoDB's query language, so a
repository is written once:

- equality `{"f": v}`, dotted paths `{"a.b": v}`, and `None` for null-or-missing;
- operators `$eq $ne $gt $gte $lt $lte $in $nin $exists $all $regex` (+ `$options: "i"`);
- `$or` / `$and` over lists of such filters.

Instants are stored as `ccshared.timeutil.to_str` strings, which sort as time.
Atomicity is single-document: `replace` compares `_version`, and `update`
applies only where its filter still matches, which is how a state transition is
claimed exactly once.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

Document = dict[str, Any]
Filter = dict[str, Any]
Sort = Sequence[tuple[str, int]]

OPERATORS = {
    "$eq",
    "$ne",
    "$gt",
    "$gte",
    "$lt",
    "$lte",
    "$in",
    "$nin",
    "$exists",
    "$all",
    "$regex",
    "$options",
}


class StoreError(Exception):
    pass


class StoreUnavailable(StoreError):
    """The database cannot be reached; the caller should fail fast or retry later."""


class DuplicateKey(StoreError):
    """A document with this `_id` (or unique index value) already exists."""


class BadFilter(StoreError):
    """A filter uses an operator outside the supported subset."""


class Collection(Protocol):
    name: str

    def insert(self, doc: Document) -> None: ...

    def get(self, doc_id: str) -> Document | None: ...

    def find(
        self, filter: Filter | None = None, sort: Sort = (), skip: int = 0, limit: int = 0
    ) -> list[Document]: ...

    def count(self, filter: Filter | None = None) -> int: ...

    def replace(self, doc: Document, expected_version: int | None = None) -> bool:
        """Replace by `_id`; when expected_version is given, only if `_version` still equals it."""

    def upsert(self, doc: Document) -> None: ...

    def update(self, filter: Filter, set: Document) -> int:
        """Set fields on every document matching filter; return how many matched."""

    def update_each(self, changes: Sequence[tuple[Filter, Document]]) -> int:
        """Apply many (filter, set) updates in one round trip; return how many matched."""

    def delete(self, filter: Filter) -> int: ...

    def ensure_index(self, fields: Sequence[str], unique: bool = False) -> None: ...


class Store(Protocol):
    def collection(self, name: str) -> Collection: ...

    def ping(self) -> None:
        """Raise StoreUnavailable unless the database answers."""

    def batch(self) -> AbstractContextManager[None]:
        """Group this thread's writes until the block ends, where the store can: one
        transaction on SQLite, committed at the end (rolled back if the block raises);
        on MongoDB each write stands alone, as outside a batch. Single-document atomicity
        and the outcome of each conditional write are as outside a batch either way."""

    def scrub(self) -> None:
        """Push deleted and overwritten documents' bytes out of the files, as far as a
        client can (after an erasure): see each adapter."""

    def close(self) -> None: ...


def insert_new(collection: Collection, doc: Document) -> bool:
    """Insert `doc`; False, and nothing written, if a document with its `_id` is there already."""
    try:
        collection.insert(doc)
    except DuplicateKey:
        return False
    return True


def check_filter(filter: Filter) -> None:
    """Reject operator keys from untrusted input that reached a filter unchecked."""
    for key, value in filter.items():
        if key in ("$or", "$and"):
            for part in value:
                check_filter(part)
            continue
        if key.startswith("$"):
            raise BadFilter(f"unsupported top-level operator {key}")
        if isinstance(value, dict):
            unknown = set(value) - OPERATORS
            if unknown:
                raise BadFilter(f"unsupported operator(s) {sorted(unknown)} on {key}")
