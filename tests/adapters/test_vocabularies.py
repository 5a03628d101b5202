"""Every vocabulary has one home: ccshared (contracts, service_types, calendar...).

A service may name a shared vocabulary (`STATUSES = c.CONTACT_STATUSES`) or keep
one of its own, but not write out a list that another service, or ccshared,
also writes out: two copies drift (contacts' service codes once did).
Label maps (code -> words) are presentation and may key on a shared list.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections import defaultdict
from pathlib import Path
from types import ModuleType

import pytest
from ccshared import contracts, labels
from frontend import formatting
from frontend.views import contacts as casework

PACKAGES = {
    "directory": "directory",
    "contacts": "contacts",
    "sla-monitor": "sla_monitor",
    "notifier": "notifier",
    "web": "frontend",
}
TEMPLATES = Path(__file__).resolve().parents[2] / "services" / "web" / "frontend" / "templates"
# A template's literal choice: `x in ('a', 'b')`; and a literal word compared with: `x == 'a'`.
LITERAL_CHOICE = re.compile(r"\bin \(\s*('[^']*'(?:\s*,\s*'[^']*')+)\s*,?\s*\)")
LITERAL_COMPARISON = re.compile(r"[!=]=\s*'([^']*)'")


def vocabularies(module: ModuleType) -> list[tuple[str, object, frozenset[str]]]:
    """The module's constant lists of two or more codes."""
    found = []
    for name, value in vars(module).items():
        if not name.isupper() or not isinstance(value, tuple | list | set | frozenset):
            continue
        if len(value) >= 2 and all(isinstance(item, str) for item in value):
            found.append((name, value, frozenset(value)))
    return found


def modules(package: str) -> list[ModuleType]:
    root = importlib.import_module(package)
    return [root] + [
        importlib.import_module(info.name) for info in pkgutil.walk_packages(root.__path__, package + ".")
    ]


def copies() -> list[str]:
    """Every list a service writes out that ccshared, or another service, also writes out."""
    shared = {codes: value for module in modules("ccshared") for _, value, codes in vocabularies(module)}
    written: dict[frozenset[str], dict[int, tuple[str, str]]] = defaultdict(dict)
    for service, package in PACKAGES.items():
        for module in modules(package):
            for name, value, codes in vocabularies(module):
                written[codes].setdefault(id(value), (service, f"{module.__name__}.{name}"))
    problems = []
    for codes, found in written.items():
        if codes in shared:
            own = [where for identity, (_, where) in found.items() if identity != id(shared[codes])]
            problems += [f"{where} repeats a shared vocabulary: import it from ccshared" for where in own]
        elif len({service for service, _ in found.values()}) > 1:
            places = ", ".join(sorted(where for _, where in found.values()))
            problems.append(f"{places} each write out {sorted(codes)}: give it one home in ccshared")
    return problems


def test_no_service_writes_out_a_vocabulary_that_lives_elsewhere() -> None:
    problems = copies()
    assert not problems, "\n".join(problems)


def test_the_check_finds_a_copy(monkeypatch) -> None:  # noqa: ANN001
    """The check above can fail: a service's own copy of the channels is found."""
    module = importlib.import_module("notifier.domain")
    monkeypatch.setattr(module, "COPIED_CHANNELS", list(contracts.CHANNELS), raising=False)
    assert "notifier.domain.COPIED_CHANNELS repeats a shared vocabulary: import it from ccshared" in copies()


def literal_choices(text: str) -> list[frozenset[str]]:
    choices = [frozenset(re.findall(r"'([^']*)'", found)) for found in LITERAL_CHOICE.findall(text)]
    return choices + [frozenset({word}) for word in LITERAL_COMPARISON.findall(text)]


def test_no_template_writes_out_part_of_a_shared_vocabulary() -> None:
    """`contact.status in ('received', 'assigned')` drifts when the statuses change: a template
    names the list (`contracts.CONTACT_UNANSWERED_STATUSES`), the app's `contracts` global."""
    shared = [codes for module in modules("ccshared") for _, _, codes in vocabularies(module)]
    problems = [
        f"{path.relative_to(TEMPLATES)} writes out {sorted(choice)}"
        for path in sorted(TEMPLATES.rglob("*.html"))
        for choice in literal_choices(path.read_text())
        if any(choice <= codes for codes in shared)
    ]
    assert not problems, "\n".join(problems)
    assert literal_choices("{% if contact.status in ('received', 'assigned') %}") == [
        frozenset({"received", "assigned"})
    ]
    assert literal_choices("{% if f.last_result == 'failed' or s != 'active' %}") == [
        frozenset({"failed"}),
        frozenset({"active"}),
    ]


@pytest.mark.parametrize(
    ("labels", "vocabulary"),
    [
        (formatting.CHANNEL_LABELS, contracts.CHANNELS),
        (formatting.STATUS_LABELS, contracts.CONTACT_STATUSES),
        (formatting.CLOCK_LABELS, contracts.CLOCK_STATES),
        (formatting.REFERRAL_STATUS_LABELS, contracts.REFERRAL_STATUSES),
        (formatting.DECLINE_REASON_LABELS, contracts.DECLINE_REASONS),
        (formatting.PAUSE_REASON_LABELS, contracts.PAUSE_REASONS),
        (formatting.URGENCY_LABELS, contracts.URGENCIES),
        (casework.RESPONSE_METHODS, contracts.RESPONSE_METHODS),
        (casework.REPLY_BY, contracts.REPLY_BY),
        (formatting.AREA_LABELS, contracts.AREAS),
        (formatting.WEEKDAY_LABELS, contracts.WEEKDAYS),
        (labels.CHANNELS, contracts.CHANNELS),
        (labels.URGENCIES, contracts.URGENCIES),
        (formatting.CLOCK_MARKERS, contracts.CLOCK_RUNNING),
    ],
)
def test_each_label_map_labels_its_whole_vocabulary_and_nothing_else(labels, vocabulary) -> None:  # noqa: ANN001
    assert set(labels) == set(vocabulary)
