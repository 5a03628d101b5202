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


@pytest.fixture(params=["sqlite", pytest.param("mongo", marks=pytest.mark.mongo)])
def store_url(request: pytest.FixtureRequest, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/store.db"
    engine = request.getfixturevalue("mongo")
    return f"{engine.url.rstrip('/')}/contract_{uuid.uuid4().hex[:10]}"


@pytest.fixture
def doc_store(store_url: str):
    opened = store.connect(store_url)
    yield opened
    opened.close()


@pytest.fixture
def topic() -> str:
    return f"t-{uuid.uuid4().hex[:10]}"
