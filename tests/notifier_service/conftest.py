"""Fixtures for the notifier's tests; the parts live in notifier_testkit."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from notifier_testkit import Notifier, SmtpServer, smtp_wired, wire

from tests.infra.common import free_port


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer(free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def smtp_notifier(tmp_path: Path, smtp_server: SmtpServer) -> Notifier:
    return smtp_wired(tmp_path, smtp_server)


@pytest.fixture
def file_notifier(tmp_path: Path) -> Notifier:
    return wire(tmp_path)
