"""Adapter fixtures: every contract test runs against each adapter of its port."""

from __future__ import annotations

import uuid

import pytest
from ccshared import bus, store


@pytest.fixture(params=["sqlite", pytest.param("kafka", marks=pytest.mark.kafka)])
def bus_url(request: pytest.FixtureRequest, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/events.db"
    broker = request.getfixturevalue("kafka")
    return f"kafka://{broker.bootstrap}"


@pytest.fixture
def event_bus(bus_url: str) -> bus.Bus:
    return bus.connect(bus_url)


# The store adapters a contract case runs on. "mongo" is the plain pymongo adapter that
# production runs on MongoDB, here on FerretDB; "ferretdb" is the same server through the
# test-engine shim (ccshared/store/ferretdb_shim.py).
EVERY_STORE = [
    "sqlite",
    pytest.param("mongo", marks=pytest.mark.mongo),
    pytest.param("ferretdb", marks=pytest.mark.mongo),
]
# Cases FerretDB passes only through the shim, so they leave "mongo" out:
# - racing writers: FerretDB v1 does not apply a filtered write atomically, so through the
#   plain adapter two racers can both win there (never on MongoDB, which is what they check);
# - filtered writes by the hundred: FerretDB scans the whole collection for each write whose
#   filter has more than `_id` (MongoDB uses the `_id` index), so they outlast the socket
#   timeout; the shim asks by `_id` first.
SHIM_ONLY = ["sqlite", pytest.param("ferretdb", marks=pytest.mark.mongo)]


def _store_url(request: pytest.FixtureRequest, tmp_path) -> str:
    database = f"contract_{uuid.uuid4().hex[:10]}"
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/store.db"
    engine = request.getfixturevalue("mongo")
    return engine.store_url(database) if request.param == "ferretdb" else f"{engine.url}{database}"


@pytest.fixture(params=EVERY_STORE)
def store_url(request: pytest.FixtureRequest, tmp_path) -> str:
    return _store_url(request, tmp_path)


@pytest.fixture(params=SHIM_ONLY)
def shim_store_url(request: pytest.FixtureRequest, tmp_path) -> str:
    return _store_url(request, tmp_path)


@pytest.fixture
def doc_store(store_url: str):
    opened = store.connect(store_url)
    yield opened
    opened.close()


@pytest.fixture
def shim_store(shim_store_url: str):
    """SQLite, or FerretDB through its shim: for the cases in SHIM_ONLY's comment."""
    opened = store.connect(shim_store_url)
    yield opened
    opened.close()


@pytest.fixture
def topic() -> str:
    return f"t-{uuid.uuid4().hex[:10]}"
