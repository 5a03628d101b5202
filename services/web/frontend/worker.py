"""The front end has no background work; `run` serves pages only."""

from __future__ import annotations

import threading
from collections.abc import Callable


def tasks() -> list[Callable[[threading.Event], None]]:
    return []
