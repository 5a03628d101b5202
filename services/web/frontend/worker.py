"""The front end has no background work; `run` serves pages only."""

from __future__ import annotations

from ccshared.worker import Task


def tasks() -> list[Task]:
    return []
