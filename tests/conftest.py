"""Shared fixtures: real Kafka and FerretDB engines from tests/infra, started once per session."""

from __future__ import annotations

import uuid
from collections.abc import Generator, Iterator

import pytest
from pymongo import MongoClient

from tests.infra import pytest_support as support
from tests.infra.ferretdb import FerretDB
from tests.infra.ferretdb import missing_tools as ferretdb_missing_tools
from tests.infra.kafka import KafkaBroker
from tests.infra.kafka import missing_tools as kafka_missing_tools


@pytest.fixture(scope="session")
def kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaBroker]:
    yield from support.serve("kafka", kafka_missing_tools(), KafkaBroker, tmp_path_factory)


@pytest.fixture(scope="session")
def mongo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FerretDB]:
    yield from support.serve("mongo", ferretdb_missing_tools(), FerretDB, tmp_path_factory)


@pytest.fixture(scope="session")
def scrubbing_mongo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FerretDB]:
    """FerretDB that zeroes what is deleted and checkpoints every commit, for the tests that
    grep its files after an erasure (the other tests skip that cost on every write). Always
    on SQLite, whatever FERRETDB_BACKEND says: the files grepped are SQLite's."""
    yield from support.serve(
        "scrubbing_mongo",
        ferretdb_missing_tools("sqlite"),
        lambda path: FerretDB(path, scrub=True),
        tmp_path_factory,
    )


@pytest.fixture
def fresh_mongo_db(mongo: FerretDB) -> Iterator[str]:
    """A database name no other test uses; dropped afterwards."""
    name = f"test_{uuid.uuid4().hex[:8]}"
    yield name
    with MongoClient(mongo.url, serverSelectionTimeoutMS=5000) as client:
        client.drop_database(name)


@pytest.fixture
def kafka_topic_prefix() -> str:
    return f"t-{uuid.uuid4().hex[:8]}-"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    support.mark_engine_tests(items)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report: pytest.TestReport = yield
    support.attach_engine_logs(item, report)
    support.record_skip(item, report)
    return report


def pytest_sessionfinish(session: pytest.Session) -> None:
    support.fail_session_if_engine_tests_skipped(session)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    support.report_skipped_engine_tests(terminalreporter)
