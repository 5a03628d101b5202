"""Every vocabulary has one home: ccshared (contracts, service_types, calendar...).

A service may name a shared vocabulary (`STATUSES = c.CONTACT_STATUSES`) or keep
one of its own, but not write out a list that another service, or ccshared,
also writes out, nor one that nearly is (a code added or dropped): two copies
drift (contacts' service codes once did). A list that is a shared one plus or
less a code says so by naming it (`(*c.ROLES, c.ROLE_SERVICE)`). Label maps
(code -> words) are presentation and may key on a shared list.
"""

from __future__ import annotations

import ast
import functools
import importlib
import inspect
import pkgutil
import re
from dataclasses import dataclass, field
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
    """The module's constant lists of two or more codes, and the codes its constant maps key on
    (a map's values are all alike: a dict whose values differ is a record, such as an OpenAPI parameter)."""
    found = []
    for name, value in vars(module).items():
        if not name.isupper() or not isinstance(value, tuple | list | set | frozenset | dict):
            continue
        if isinstance(value, dict) and len({type(item) for item in value.values()}) > 1:
            continue
        if len(value) >= 2 and all(isinstance(item, str) for item in value):
            found.append((name, value, frozenset(value)))
    return found


def modules(package: str) -> list[ModuleType]:
    root = importlib.import_module(package)
    return [root] + [
        importlib.import_module(info.name) for info in pkgutil.walk_packages(root.__path__, package + ".")
    ]


@dataclass
class Written:
    """One constant, under every name it goes by."""

    service: str
    value: object
    codes: frozenset[str]
    places: list[tuple[ModuleType, str]] = field(default_factory=list)

    @property
    def where(self) -> str:
        """Where it is defined (`ccshared.contracts.ROLES`, not `ccshared.auth.ROLES`, which imports it)."""
        defined = [(module, name) for module, name in self.places if name in definitions(module)]
        return min(f"{module.__name__}.{name}" for module, name in defined or self.places)

    def names(self, other: object) -> bool:
        """Whether it is written from `other`: `(*c.ROLES, c.ROLE_SERVICE)`, one constant plus the difference."""
        return any(other is named for module, name in self.places for named in named_in(module, name))


def resolve(module: ModuleType, node: ast.expr) -> object:
    if isinstance(node, ast.Name):
        return vars(module).get(node.id)
    if isinstance(node, ast.Attribute):
        return getattr(resolve(module, node.value), node.attr, None)
    return None


@functools.cache
def definitions(module: ModuleType) -> dict[str, ast.expr]:
    tree = ast.parse(inspect.getsource(module))
    found = {}
    for node in tree.body:
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            found.update({target.id: node.value for target in targets if isinstance(target, ast.Name)})
    return found


def named_in(module: ModuleType, name: str) -> list[object]:
    """What the constant's definition in this module names (none when it is imported from elsewhere)."""
    value = definitions(module).get(name)
    if value is None:
        return []
    return [resolve(module, node) for node in ast.walk(value) if isinstance(node, ast.Name | ast.Attribute)]


def near(codes: frozenset[str], other: frozenset[str]) -> bool:
    """A copy, or one that drifted: three or more codes in common, and at most one code added and one
    dropped, or one in five of them all for a long list. A list chosen from a vocabulary for a purpose
    (the running clock states, the clock states a report counts) leaves out more than that."""
    added, dropped = len(codes - other), len(other - codes)
    few = max(added, dropped) <= 1 or added + dropped <= len(codes | other) // 5
    return len(codes & other) >= 3 and few


def written_out() -> tuple[list[Written], list[Written]]:
    """ccshared's vocabularies, and every service's, each constant once."""
    shared: dict[int, Written] = {}
    for module in modules("ccshared"):
        for name, value, codes in vocabularies(module):
            shared.setdefault(id(value), Written("ccshared", value, codes)).places.append((module, name))
    services: dict[int, Written] = {}
    for service, package in PACKAGES.items():
        for module in modules(package):
            for name, value, codes in vocabularies(module):
                if id(value) not in shared:
                    services.setdefault(id(value), Written(service, value, codes)).places.append(
                        (module, name)
                    )
    return list(shared.values()), list(services.values())


def keyed_on_a_vocabulary(mapping: Written, lists: list[Written]) -> bool:
    """A map keyed on a whole vocabulary (labels, letters, targets per channel) is presentation or a
    rule per code, not a copy: the vocabulary it keys on is checked in its own right."""
    return isinstance(mapping.value, dict) and any(
        mapping.codes == other.codes and not isinstance(other.value, dict) for other in lists
    )


def difference(codes: frozenset[str], other: frozenset[str]) -> str:
    return ", ".join(
        [f"+{code}" for code in sorted(codes - other)] + [f"-{code}" for code in sorted(other - codes)]
    )


def copies() -> list[str]:
    """Every list a service writes out that is, or nearly is, one ccshared or another service writes out."""
    shared, services = written_out()
    # A map keyed on a whole vocabulary, or a list written from a shared vocabulary it nearly is
    # (`(*c.ROLES, c.ROLE_SERVICE)`), says where its codes come from: it is no copy.
    said = [
        written
        for written in services
        if keyed_on_a_vocabulary(
            written, shared + [other for other in services if other.service == written.service]
        )
        or any(near(written.codes, other.codes) and written.names(other.value) for other in shared)
    ]
    # ccshared's own label maps (labels.CHANNELS) would only say again what their vocabulary says.
    vocabularies_of_ccshared = [other for other in shared if not keyed_on_a_vocabulary(other, shared)]
    problems = []
    for written in services:
        if any(written is other for other in said):
            continue
        for other in vocabularies_of_ccshared:
            if written.codes == other.codes:
                problems.append(f"{written.where} repeats a shared vocabulary: import it from ccshared")
            elif near(written.codes, other.codes):
                problems.append(
                    f"{written.where} nearly repeats {other.where} ({difference(written.codes, other.codes)}):"
                    " write it from that one (plus the difference), or give it one home in ccshared"
                )
        for other in services:
            if other.service > written.service and near(written.codes, other.codes):
                if not any(other is given for given in said):
                    problems.append(
                        f"{written.where} and {other.where} each write out"
                        f" {sorted(written.codes | other.codes)}: give it one home in ccshared"
                    )
    return problems


def test_no_service_writes_out_a_vocabulary_that_lives_elsewhere() -> None:
    problems = copies()
    assert not problems, "\n".join(problems)


def test_the_check_finds_a_copy(monkeypatch) -> None:  # noqa: ANN001
    """The check above can fail: a service's own copy of the channels is found."""
    module = importlib.import_module("notifier.domain")
    monkeypatch.setattr(module, "COPIED_CHANNELS", list(contracts.CHANNELS), raising=False)
    assert "notifier.domain.COPIED_CHANNELS repeats a shared vocabulary: import it from ccshared" in copies()


@pytest.mark.parametrize(
    ("copy", "drift"),
    [
        ((*contracts.CLOCK_STATES, "suspended"), "+suspended"),
        (contracts.CLOCK_STATES[1:], "-awaiting_receipt"),
        ({state: state.title() for state in contracts.CLOCK_STATES[:-1]}, "-withdrawn"),
        (frozenset({*contracts.CLOCK_STATES[1:], "suspended"}), "+suspended, -awaiting_receipt"),
    ],
)
def test_the_check_finds_a_copy_that_drifted(monkeypatch, copy, drift) -> None:  # noqa: ANN001
    """A copy with a code added or dropped is found too: that is how copies drift."""
    module = importlib.import_module("sla_monitor.reports")
    monkeypatch.setattr(module, "DRIFTED_STATES", copy, raising=False)
    assert (
        f"sla_monitor.reports.DRIFTED_STATES nearly repeats ccshared.contracts.CLOCK_STATES ({drift}):"
        " write it from that one (plus the difference), or give it one home in ccshared"
    ) in copies()


def test_the_check_finds_a_copy_in_another_service(monkeypatch) -> None:  # noqa: ANN001
    """Two services' lists that nearly agree, and that ccshared does not hold, are found."""
    web, notifier = importlib.import_module("frontend.views.mail"), importlib.import_module("notifier.domain")
    monkeypatch.setattr(web, "KINDS", ("a", "b", "c", "d", "e"), raising=False)
    monkeypatch.setattr(notifier, "KINDS", ("a", "b", "c", "d"), raising=False)
    assert (
        "notifier.domain.KINDS and frontend.views.mail.KINDS each write out ['a', 'b', 'c', 'd', 'e']:"
        " give it one home in ccshared"
    ) in copies()


def test_a_list_chosen_from_a_vocabulary_or_written_from_one_is_no_copy() -> None:
    assert not near(frozenset(contracts.CLOCK_RUNNING), frozenset(contracts.CLOCK_STATES))
    assert not near(frozenset({"open", "at_risk"}), frozenset({"open", "at_risk", "paused"}))
    account_roles = Written(
        "web", None, frozenset(), [(importlib.import_module("frontend.accounts"), "ACCOUNT_ROLES")]
    )
    assert account_roles.names(contracts.ROLES)


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
