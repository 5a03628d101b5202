"""The logic behind the fixtures and hooks in tests/conftest.py.

A test "uses" an engine when it carries the ``kafka``/``mongo`` marker. Tests that request the
fixture statically (directly or through other fixtures) are marked at collection; tests that
reach it through ``request.getfixturevalue`` must carry the marker themselves.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from .common import Engine

ENGINE_FIXTURES = ("kafka", "mongo")
E = TypeVar("E", bound=Engine)

_running: dict[str, Engine] = {}
_skipped_key = pytest.StashKey[list[str]]()


def in_ci() -> bool:
    return os.environ.get("CI") == "true"


def require_tools(fixture: str, missing: list[str]) -> None:
    """Skip locally when tools are missing, but fail under CI so the suite cannot pass hollow."""
    if not missing:
        return
    reason = f"the {fixture!r} fixture needs tools that are missing: " + "; ".join(missing)
    if in_ci():
        pytest.fail(f"CI=true and {reason}", pytrace=False)
    pytest.skip(reason)


def serve(
    fixture: str,
    missing: list[str],
    factory: Callable[[Path], E],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[E]:
    """Body of a session fixture: check tools, start in a fresh pytest temp dir, stop at the end."""
    require_tools(fixture, missing)
    engine = factory(tmp_path_factory.mktemp(fixture))
    engine.start()
    _running[fixture] = engine
    try:
        yield engine
    finally:
        _running.pop(fixture, None)
        # Clients that tests left open would log every failed reconnect to a stopped engine.
        logging.getLogger("kafka").setLevel(logging.CRITICAL)
        logging.getLogger("pymongo").setLevel(logging.CRITICAL)
        engine.stop()


def mark_engine_tests(items: list[pytest.Item]) -> None:
    for item in items:
        for name in ENGINE_FIXTURES:
            if name in getattr(item, "fixturenames", ()) and item.get_closest_marker(name) is None:
                item.add_marker(name)


def _engines_used(item: pytest.Item) -> list[str]:
    return [name for name in ENGINE_FIXTURES if item.get_closest_marker(name) is not None]


def attach_engine_logs(item: pytest.Item, report: pytest.TestReport) -> None:
    if not report.failed:
        return
    for name in _engines_used(item):
        engine = _running.get(name)
        if engine is not None:
            lines = engine.log_tail_lines
            title = f"{name} log, last {lines} lines of {engine.process.log_path}"
            report.sections.append((title, engine.log_tail(lines)))


def record_skip(item: pytest.Item, report: pytest.TestReport) -> None:
    if report.skipped and not hasattr(report, "wasxfail") and _engines_used(item):
        item.config.stash.setdefault(_skipped_key, []).append(item.nodeid)


def _skipped(config: pytest.Config) -> list[str]:
    return config.stash.get(_skipped_key, [])


def fail_session_if_engine_tests_skipped(session: pytest.Session) -> None:
    if in_ci() and _skipped(session.config):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def report_skipped_engine_tests(reporter: pytest.TerminalReporter) -> None:
    skipped = _skipped(reporter.config)
    if not (in_ci() and skipped):
        return
    reporter.section("Kafka/FerretDB tests skipped under CI=true", sep="!", red=True, bold=True)
    reporter.write_line(
        f"{len(skipped)} test(s) needing the kafka or mongo engine were skipped; "
        "CI must run them, so the session fails:",
        red=True,
    )
    for nodeid in skipped:
        reporter.write_line(f"  {nodeid}")
