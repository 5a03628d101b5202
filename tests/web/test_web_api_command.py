"""`python -m frontend api`: how a script on the front end's host calls a service as a user.

Staff tokens live seconds, so a script cannot keep one; the command signs one per
call with the front end's key, for an active account only, with that account's
role and area, exactly as the pages do.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import uuid

from tests.infra.system import System


def _user(system: System, role: str, area: str | None = None) -> str:
    username = f"script-{uuid.uuid4().hex[:8]}"
    system.command("web", "create-user", username, "--role", role, *(["--area", area] if area else []))
    return username


def test_a_script_reads_the_compliance_report_as_a_principal_officer(system):
    username = _user(system, "principal_officer")
    answer = system.command(
        "web", "api", username, "sla-monitor", "/api/v1/reports/compliance?from=2026-11-01&to=2026-11-30"
    )
    report = json.loads(answer.stdout)
    assert report["from"] == "2026-11-01", report


def test_a_coordinators_script_downloads_contacts_of_their_area_only(system):
    username = _user(system, "coordinator", "north")
    answer = system.command("web", "api", username, "contacts", "/api/v1/contacts?format=csv")
    rows = list(csv.DictReader(io.StringIO(answer.stdout)))
    assert {row["area"] for row in rows} <= {"north"}


def test_a_call_the_user_may_not_make_fails_with_the_services_answer(system):
    """Subject access is for admins: a staff member's script is refused by contacts itself."""
    username = _user(system, "staff", "south")
    answer = system.command(
        "web",
        "api",
        username,
        "contacts",
        "/api/v1/subject-access/search",
        "--method",
        "POST",
        "--json-stdin",
        stdin=json.dumps({"postcode": "L1 1AA"}),
        check=False,
    )
    assert answer.returncode == 1
    assert "contacts answered 403" in answer.stderr
    assert answer.stdout == "", "a script's `> file` gets no error body"
    error = next(json.loads(line) for line in answer.stderr.splitlines() if line.startswith('{"error"'))
    assert error["error"]["code"]


def test_each_call_is_logged_with_the_username_on_standard_error(system):
    """The log line once went nowhere: logging was set up for run, serve and worker alone."""
    username = _user(system, "principal_officer")
    answer = subprocess.run(
        [sys.executable, "-m", "frontend", "api", username, "contacts", "/api/v1/contacts"],
        env={**system.env("web"), "LOG_LEVEL": "INFO"},
        cwd=system.workdir,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert answer.returncode == 0, answer.stderr
    assert json.loads(answer.stdout), "the answer alone on standard output"
    logged = [json.loads(line) for line in answer.stderr.splitlines() if '"message": "api call' in line]
    assert [(line["username"], line["service"], line["level"]) for line in logged] == [
        (username, "contacts", "info")
    ]


def test_no_token_for_a_disabled_or_unknown_account(system):
    unknown = system.command("web", "api", "nobody-here", "contacts", "/api/v1/contacts", check=False)
    assert unknown.returncode == 1
    assert "username: no active account nobody-here" in unknown.stderr
    username = _user(system, "principal_officer")
    assert system.command("web", "api", username, "contacts", "/api/v1/contacts").returncode == 0
    system.command("web", "disable-user", username)
    disabled = system.command("web", "api", username, "contacts", "/api/v1/contacts", check=False)
    assert disabled.returncode == 1
    assert f"no active account {username}" in disabled.stderr


def test_a_path_must_start_with_a_slash(system):
    username = _user(system, "principal_officer")
    answer = system.command("web", "api", username, "contacts", "api/v1/contacts", check=False)
    assert answer.returncode == 2
    assert "path: must start with /" in answer.stderr


def test_a_partner_user_is_made_only_for_an_agency_contacts_knows(system):
    """Else its user would meet 403 on every partner page; contacts is asked as that user would be."""
    username = f"partner-{uuid.uuid4().hex[:8]}"
    unknown = system.command(
        "web", "create-user", username, "--role", "partner", "--agency", "no-such-agency", check=False
    )
    assert unknown.returncode == 1
    assert "agency: contacts has no agency no-such-agency" in unknown.stderr
    assert "Password" not in unknown.stdout

    issued = system.command("contacts", "agency-key", "create", "--agency", f"Test Agency {username}").stdout
    agency = next(
        line.rsplit("(", 1)[1].rstrip(")") for line in issued.splitlines() if line.startswith("agency:")
    )
    made = system.command("web", "create-user", username, "--role", "partner", "--agency", agency)
    assert "Password: " in made.stdout and "not checked" not in made.stderr
    assert system.command("web", "api", username, "contacts", "/api/v1/referrals").returncode == 0
