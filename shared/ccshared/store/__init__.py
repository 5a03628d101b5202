"""Document store adapters, chosen by URL: sqlite:///path or mongodb://host/db.

ferretdb://host/db is MongoDB's adapter with the test-engine shim that FerretDB v1
needs for racing writers (ferretdb_shim); production on MongoDB uses mongodb://.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from .. import urls
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
    "check_url",
    "connect",
    "insert_new",
]


def check_url(raw: str) -> str:
    """sqlite:///path, or a MongoDB URL (mongodb, mongodb+srv, ferretdb) naming its host and database."""
    scheme = urls.with_scheme("sqlite", "mongodb", "mongodb+srv", "ferretdb")(raw).split(":", 1)[0]
    if scheme == "sqlite":
        urls.sqlite_path(raw)
        return raw
    parts = urlsplit(raw)
    if not raw.startswith(f"{scheme}://"):
        raise ValueError(f"expected {scheme}://host:27017/dbname")
    urls.hosts(parts.netloc.rpartition("@")[2], "database")
    if not parts.path.strip("/"):
        raise ValueError(f"names no database: expected {scheme}://host:27017/dbname")
    return raw


def connect(url: str) -> Store:
    """The store a URL names (`check_url` says which are taken)."""
    scheme = check_url(url).split(":", 1)[0]
    if scheme == "sqlite":
        from .sqlite_store import SqliteStore

        return SqliteStore(urls.sqlite_path(url))
    if scheme == "ferretdb":
        from .ferretdb_shim import FerretDbStore

        return FerretDbStore(url)
    from .mongo_store import MongoStore

    return MongoStore(url)
