"""Fixtures of the SLA monitor's tests: a store in tmp_path, a clock that moves when told."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from ccshared import store as ccstore
from ccshared.timeutil import FixedClock
from sla_monitor.policy import Policy
from sla_monitor.repository import repositories
from sla_monitor.service import Monitor

MONDAY = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def store_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path}/sla-monitor.db"


@pytest.fixture
def store(store_url):
    opened = ccstore.connect(store_url)
    yield opened
    opened.close()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(MONDAY)


@pytest.fixture
def make_monitor(store, clock):
    def make(policy: Policy | None = None, *, on=None, **kw) -> Monitor:
        clocks, centres = repositories(on or store, clock)
        return Monitor(clocks, centres, policy or Policy(), clock, **kw)

    return make


@pytest.fixture
def monitor(make_monitor) -> Monitor:
    return make_monitor()
