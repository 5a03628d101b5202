"""`python -m notifier run` as the embedded run starts it: gunicorn and the worker in one process group."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Mapping

import requests
from ccshared import bus as buses
from ccshared import contracts as c
from ccshared import events
from ccshared.auth import StaffUser
from notifier_testkit import environment, sla_event

from tests.infra import tokens
from tests.infra.common import free_port
from tests.infra.waiting import wait_for


def get(url: str, token: Mapping[str, str] | None = None) -> tuple[int, dict]:
    try:
        response = requests.get(url, headers=token or {}, timeout=5)
    except requests.ConnectionError:
        return 0, {}
    return response.status_code, response.json()


def test_run_serves_the_api_and_delivers_a_breach_to_files(tmp_path):
    port = free_port()
    env = {**os.environ, **environment(tmp_path), "NOTIFIER_PORT": str(port), "WEB_CONCURRENCY": "1"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "notifier", "run"], env=env, cwd=tmp_path, start_new_session=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: get(f"{base}/readyz")[0] == 200, 90, "the notifier ready")
        breach = sla_event()
        buses.connect(env["EVENT_BUS_URL"]).producer().publish(
            c.SLA_TOPIC, breach["subject"], events.encode(breach)
        )
        token = tokens.staff_headers(StaffUser("test.principal", c.ROLE_PRINCIPAL), "notifier")

        wait_for(
            lambda: len(get(f"{base}/api/v1/messages", token)[1].get("items", [])) == 2, 90, "two messages"
        )
        status, log = get(f"{base}/api/v1/notifications?status=sent", token)
        assert status == 200
        assert sorted(n["recipient"] for n in log["items"]) == [
            "coordinator.north@example.org",
            "principal.officer@example.org",
        ]
        metrics = requests.get(f"{base}/metrics", timeout=5).text
        assert f'cc_notifications_sent_total{{event_type="{c.SLA_BREACHED}"}} 2.0' in metrics
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    assert process.returncode == 0


def test_a_malformed_closure_calendar_stops_the_notifier_at_start_naming_file_and_line(tmp_path):
    calendar = tmp_path / "closures.ics"
    calendar.write_text(
        "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART;VALUE=DATE 20260706\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    env = {**os.environ, **environment(tmp_path), "SLA_CLOSURE_CALENDAR": str(calendar)}
    result = subprocess.run(
        [sys.executable, "-m", "notifier", "worker"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "SLA_CLOSURE_CALENDAR" in result.stderr and f"{calendar}, line 3:" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
