"""Private engines for the fault tests.

These tests stop, kill and restart the broker and the database, so they get a
Kafka broker and a FerretDB of their own: nothing they do can disturb the
session engines other tests share. Each test then takes its own topics and
databases on them (fault_testkit.Run).
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from pathlib import Path

import pytest
from fault_testkit import Run

from tests.infra import pytest_support as support
from tests.infra.ferretdb import FerretDB
from tests.infra.ferretdb import missing_tools as ferretdb_missing_tools
from tests.infra.kafka import KafkaBroker
from tests.infra.kafka import missing_tools as kafka_missing_tools


@pytest.fixture(scope="session")
def fault_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaBroker]:
    support.require_tools("kafka", kafka_missing_tools())
    broker = KafkaBroker(tmp_path_factory.mktemp("fault-kafka"))
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture(scope="session")
def fault_mongo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FerretDB]:
    support.require_tools("mongo", ferretdb_missing_tools())
    database = FerretDB(tmp_path_factory.mktemp("fault-ferretdb"))
    database.start()
    try:
        yield database
    finally:
        database.stop()


@pytest.fixture
def run(fault_kafka: KafkaBroker, fault_mongo: FerretDB, tmp_path: Path) -> Iterator[Run]:
    """A fresh topic prefix and database names; its services are stopped afterwards."""
    for engine in (fault_kafka, fault_mongo):
        if not engine.running:
            engine.start()
    fault_run = Run(fault_kafka, fault_mongo, tmp_path)
    fault_run.ensure_topics()
    try:
        yield fault_run
    finally:
        fault_run.stop_all()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report: pytest.TestReport = yield
    fault_run = getattr(item, "funcargs", {}).get("run")
    if report.failed and isinstance(fault_run, Run):
        for system in fault_run.systems:
            report.sections.append(("service logs", system.dump_logs()))
        report.sections.append(("kafka log", fault_run.kafka.log_tail(40)))
        report.sections.append(("ferretdb log", fault_run.mongo.log_tail(40)))
    return report
