"""The whole system, started as separate processes on each pair of engines."""

from __future__ import annotations

import uuid

import pytest

from tests.infra.system import System


@pytest.fixture(
    params=["embedded", pytest.param("kafka+ferretdb", marks=[pytest.mark.kafka, pytest.mark.mongo])]
)
def system(request: pytest.FixtureRequest, tmp_path):
    if request.param == "embedded":
        bus_url = f"sqlite:///{tmp_path}/events.db"

        def store_url(name: str) -> str:
            return f"sqlite:///{tmp_path}/{name}.db"
    else:
        broker, database = request.getfixturevalue("kafka"), request.getfixturevalue("mongo")
        run = uuid.uuid4().hex[:8]
        bus_url = f"kafka://{broker.bootstrap}?topic_prefix=e2e-{run}-"

        def store_url(name: str) -> str:
            return database.store_url(f"e2e_{run}_{name.replace('-', '_')}")

    system = System(tmp_path / "system", bus_url, store_url)
    try:
        system.command("directory", "load-sample")
        system.start()
        system.settle()
        yield system
    finally:
        system.stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call" and report.failed and "system" in item.funcargs:
        report.sections.append(("system logs", item.funcargs["system"].dump_logs()))
    return report
