"""`python -m sla_monitor due`, run as staff and ops run it: a fresh process, no settings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def run(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLA_", "STAFF_", "STORE_", "EVENT_"))}
    return subprocess.run(
        [sys.executable, "-m", "sla_monitor", "due", *args],
        cwd=REPO,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_prints_the_due_instant_with_the_london_offset() -> None:
    result = run("--channel", "letter", "--received", "2026-12-24T16:00:00+00:00")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "2027-01-05T23:59:59+00:00\n"


def test_prints_the_at_risk_instant_when_asked() -> None:
    result = run("--channel", "telephone", "--received", "2026-07-09T23:30:00Z", "--at-risk")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "2026-07-14T00:00:00+01:00\n"


def test_follows_the_configured_closure_days() -> None:
    result = run(
        "--channel",
        "letter",
        "--received",
        "2026-12-23T10:00:00+00:00",
        SLA_CLOSURE_DAYS="2026-12-24..2026-12-31",
    )
    assert result.stdout == "2027-01-08T23:59:59+00:00\n"


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--channel", "fax", "--received", "2026-12-24T16:00:00+00:00"], "fax"),
        (["--channel", "letter", "--received", "Christmas Eve"], "Christmas Eve"),
        (["--channel", "letter", "--received", "2026-12-24T16:00:00"], "no UTC offset"),
    ],
)
def test_refuses_bad_input_naming_it(args: list[str], named: str) -> None:
    result = run(*args)
    assert result.returncode != 0
    assert result.stdout == ""
    assert named in result.stderr


def test_refuses_bad_calendar_settings_naming_the_variable() -> None:
    result = run("--channel", "letter", "--received", "2026-12-24T16:00:00Z", SLA_TARGET_LETTER="five")
    assert result.returncode != 0
    assert "SLA_TARGET_LETTER" in result.stderr
