"""What every service's worker shares: the shape of a task and what its tasks run on.

A service's `worker.tasks(...)` returns its long-running tasks for ccshared.runner, which
configures the process's logs first. Each takes `(settings=None, **given)`: tests give it a
SQLite store, an in-process bus or a fixed clock, and what it is not given it connects from its
settings (the front end has no worker).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypedDict

from . import bus as buses
from . import store as stores
from .timeutil import Clock, SystemClock

Task = Callable[[threading.Event], None]


class Given(TypedDict, total=False):
    store: stores.Store
    bus: buses.Bus
    clock: Clock


def connect(settings: Any, given: Given) -> tuple[stores.Store, buses.Bus, Clock]:
    """The store, bus and clock the tasks run on: those given, else connected from the settings."""
    store = given.get("store") or stores.connect(settings.store_url)
    bus = given.get("bus") or buses.connect(settings.bus_url)
    return store, bus, given.get("clock") or SystemClock()
