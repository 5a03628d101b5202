"""The real promtool for the ops tests, built once and cached (tests/infra/promtool.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.infra import pytest_support as support
from tests.infra.promtool import install_promtool, missing_tools


@pytest.fixture(scope="session")
def promtool() -> Path:
    """Skipped without Go locally; under CI=true a missing Go fails instead (no hollow pass)."""
    support.require_tools("promtool", missing_tools())
    return install_promtool()
