"""README's table of what `make run` serves: every URL it lists answers (a bare API root is a 404)."""

from __future__ import annotations

import re
from pathlib import Path

import requests

from tests.infra.system import System

ROOT = Path(__file__).resolve().parents[2]
PORTS = {8000: "web", 8001: "directory", 8002: "contacts", 8003: "sla-monitor", 8004: "notifier"}


def _listed() -> list[tuple[str, str]]:
    """(service, path) for each URL and extra path in the table's rows."""
    table = re.search(r"\| what \| URL \|\n((?:\|.*\n)+)", (ROOT / "README.md").read_text()).group(1)
    found = []
    for row in table.splitlines():
        for port, path in re.findall(r"http://localhost:(\d+)(/\S*)", row):
            found.append((PORTS[int(port)], path))
            found += [(PORTS[int(port)], extra) for extra in re.findall(r"`(/[^`]*)`", row)]
    return found


def test_every_url_the_readme_lists_for_the_run_answers(system: System):
    listed = _listed()
    assert {service for service, _ in listed} == set(PORTS.values())
    for service, path in listed:
        answer = requests.get(system.url(service) + path, timeout=10)
        assert answer.status_code == 200, (service, path, answer.status_code)
