"""The environment variables each service declares, for the tests that check deployments and secrets."""

from __future__ import annotations

import importlib

from ccshared import config


def known_variables(package: str) -> dict[str, config.Var]:
    """Every environment variable the service's config module declares: its Vars and its settings' fields."""
    return config.declared(importlib.import_module(f"{package}.config"))
