"""`python -m sla_monitor due`, run as staff and ops run it: a fresh process, no settings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.infra import tokens

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
        (["--channel", "letter", "--received", "2026-12-24T16:00:00Z", "--urgency", "critical"], "critical"),
        (["--channel", "letter", "--received", "2026-12-24T16:00:00Z", "--area", "west"], "west"),
        (["--channel", "letter", "--received", "1989-12-31T12:00:00Z"], "between 1990-01-01 and 2100-12-31"),
        (["--channel", "letter", "--received", "2101-01-01T00:00:00Z"], "between 1990-01-01 and 2100-12-31"),
    ],
)
def test_refuses_bad_input_naming_it(args: list[str], named: str) -> None:
    result = run(*args)
    assert result.returncode != 0
    assert result.stdout == ""
    assert named in result.stderr


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("SLA_TARGET_LETTER", "five", "must be a positive whole number"),
        # A typo of a few digits would hang each deadline's working-day count, or overflow it.
        ("SLA_TARGET_LETTER", "100000", "must be at most 260 working days"),
        ("SLA_TARGET_REFERRAL_URGENT", "99999999999999999999", "must be at most 260 working days"),
    ],
)
def test_refuses_bad_calendar_settings_naming_the_variable(variable: str, value: str, says: str) -> None:
    result = run("--channel", "letter", "--received", "2026-12-24T16:00:00Z", **{variable: value})
    assert result.returncode != 0
    assert f"{variable}={value!r} is invalid: {says}" in result.stderr


def test_takes_an_urgency_and_an_area() -> None:
    received = ["--received", "2026-06-01T09:00:00+01:00"]
    urgent = run("--channel", "referral", "--urgency", "urgent", *received)
    assert urgent.stdout == "2026-06-02T23:59:59+01:00\n", urgent.stderr
    assert run("--channel", "referral", *received).stdout == "2026-06-03T23:59:59+01:00\n"
    north = run(
        "--channel",
        "referral",
        "--urgency",
        "urgent",
        "--area",
        "north",
        *received,
        SLA_AREA_CLOSURE_DAYS="north:2026-06-02",
        SLA_TARGET_REFERRAL_URGENT="2",
    )
    assert north.stdout == "2026-06-04T23:59:59+01:00\n", north.stderr


def test_reads_closures_from_an_icalendar_file(tmp_path) -> None:
    path = tmp_path / "closures.ics"
    path.write_text(CLOSURES_ICS, encoding="utf-8")
    result = run(
        "--channel",
        "telephone",
        "--area",
        "south",
        "--received",
        "2026-06-01T09:00:00+01:00",
        SLA_CLOSURE_CALENDAR=str(path),
    )
    assert result.stdout == "2026-06-04T23:59:59+01:00\n", result.stderr


CLOSURES_ICS = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tests//closures//EN\r\n"
    "BEGIN:VEVENT\r\nUID:one@example.invalid\r\nDTSTAMP:20260101T000000Z\r\n"
    "DTSTART;VALUE=DATE:20260602\r\nCATEGORIES:south\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)


@pytest.mark.parametrize("mode", ["worker", "serve"])
def test_a_malformed_icalendar_file_stops_the_service_at_start_naming_file_and_line(tmp_path, mode) -> None:
    path = tmp_path / "closures.ics"
    path.write_text(CLOSURES_ICS.replace("DTSTART;VALUE=DATE:20260602", "DTSTART;VALUE=DATE 20260602"))
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLA_", "STAFF_", "STORE_", "EVENT_"))}
    result = subprocess.run(
        [sys.executable, "-m", "sla_monitor", mode],
        cwd=tmp_path,
        env={
            **clean,
            "SLA_CLOSURE_CALENDAR": str(path),
            **tokens.key_env("sla-monitor"),
            "STORE_URL": f"sqlite:///{tmp_path}/sla.db",
            "EVENT_BUS_URL": f"sqlite:///{tmp_path}/events.db",
            "SLA_MONITOR_PORT": "1",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "SLA_CLOSURE_CALENDAR" in result.stderr
    assert f"{path}, line 7:" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("package", "own_command"), [("sla_monitor", "due"), ("notifier", None), ("directory", "load-sample")]
)
def test_help_lists_the_commands_and_succeeds(package: str, own_command: str | None) -> None:
    result = subprocess.run(
        [sys.executable, "-m", package, "--help"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    usage = result.stdout.splitlines()[0]
    assert usage.startswith(f"usage: python -m {package} run|serve|worker")
    assert ("|due" in usage) is (own_command == "due")
    if own_command:
        assert f"  {own_command}  " in result.stdout
