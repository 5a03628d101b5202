"""Document store adapters, chosen by URL: sqlite:///path or mongodb://host/db.

ferretdb://host/db is MongoDB's adapter with the test-engine shim that FerretDB v1
needs for racing writers (ferretdb_shim); production on MongoDB uses mongodb://.
"""

from __future__ import annotations

from .base import (
    BadFilter,
    Collection,
    Document,
    DuplicateKey,
    Filter,
    Store,
    StoreError,
    StoreUnavailable,
    insert_new,
)

__all__ = [
    "BadFilter",
    "Collection",
    "Document",
    "DuplicateKey",
    "Filter",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "connect",
    "insert_new",
]


def connect(url: str) -> Store:
    scheme = url.split("://", 1)[0]
    if scheme == "sqlite":
        from .sqlite_store import SqliteStore

        return SqliteStore(url.split("://", 1)[1].removeprefix("/"))
    if scheme in ("mongodb", "mongodb+srv"):
        from .mongo_store import MongoStore

        return MongoStore(url)
    if scheme == "ferretdb":
        from .ferretdb_shim import FerretDbStore

        return FerretDbStore(url)
    raise ValueError(f"STORE_URL scheme {scheme!r} is not sqlite, mongodb or ferretdb")
