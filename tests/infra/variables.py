"""The environment variables each service declares, for the tests that check deployments and secrets."""

from __future__ import annotations

import importlib
from dataclasses import is_dataclass

from ccshared import config


def known_variables(package: str) -> dict[str, config.Var]:
    """Every environment variable the service's config module declares: its Vars and its settings' fields."""
    found: dict[str, config.Var] = {}
    for value in vars(importlib.import_module(f"{package}.config")).values():
        for candidate in value if isinstance(value, (list, tuple)) else [value]:
            if isinstance(candidate, config.Var):
                found[candidate.name] = candidate
            elif isinstance(candidate, type) and is_dataclass(candidate):
                found.update((var.name, var) for var in config.variables(candidate))
    return found
