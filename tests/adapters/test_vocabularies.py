"""Every vocabulary has one home: ccshared (contracts, service_types, calendar).

A service may name a shared vocabulary (`STATUSES = c.CONTACT_STATUSES`) or keep
one of its own, but not write out a list that another service, or ccshared,
also writes out: two copies drift (contacts' service codes once did).
Label maps (code -> words) are presentation and may key on a shared list.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections import defaultdict
from types import ModuleType

from ccshared import contracts, service_types

PACKAGES = {
    "directory": "directory",
    "contacts": "contacts",
    "sla-monitor": "sla_monitor",
    "notifier": "notifier",
    "web": "frontend",
}
SHARED = (contracts, service_types)


def vocabularies(module: ModuleType) -> list[tuple[str, object, frozenset[str]]]:
    """The module's constant lists of two or more codes."""
    found = []
    for name, value in vars(module).items():
        if not name.isupper() or not isinstance(value, tuple | list | set | frozenset):
            continue
        if len(value) >= 2 and all(isinstance(item, str) for item in value):
            found.append((name, value, frozenset(value)))
    return found


def service_modules(package: str) -> list[ModuleType]:
    root = importlib.import_module(package)
    return [root] + [
        importlib.import_module(info.name) for info in pkgutil.walk_packages(root.__path__, package + ".")
    ]


def test_no_service_writes_out_a_vocabulary_that_lives_elsewhere() -> None:
    shared = {codes: value for module in SHARED for _, value, codes in vocabularies(module)}
    written: dict[frozenset[str], dict[int, tuple[str, str]]] = defaultdict(dict)
    for service, package in PACKAGES.items():
        for module in service_modules(package):
            for name, value, codes in vocabularies(module):
                written[codes].setdefault(id(value), (service, f"{module.__name__}.{name}"))
    problems = []
    for codes, copies in written.items():
        if codes in shared:
            own = [where for identity, (_, where) in copies.items() if identity != id(shared[codes])]
            problems += [f"{where} repeats a shared vocabulary: import it from ccshared" for where in own]
        elif len({service for service, _ in copies.values()}) > 1:
            places = ", ".join(sorted(where for _, where in copies.values()))
            problems.append(f"{places} each write out {sorted(codes)}: give it one home in ccshared")
    assert not problems, "\n".join(problems)


def test_the_check_finds_a_copy(monkeypatch) -> None:  # noqa: ANN001
    """The check above can fail: a service's own copy of the channels is found."""
    module = importlib.import_module("notifier.domain")
    monkeypatch.setattr(module, "COPIED_CHANNELS", list(contracts.CHANNELS), raising=False)
    shared = {codes for m in SHARED for _, _, codes in vocabularies(m)}
    copies = [
        name
        for name, value, codes in vocabularies(module)
        if codes in shared and value is not contracts.CHANNELS
    ]
    assert "COPIED_CHANNELS" in copies
