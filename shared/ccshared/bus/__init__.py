"""Event bus adapters, chosen by URL: sqlite:///path (embedded) or kafka://hosts.

A `topic_prefix` query parameter (e.g. kafka://host:9092?topic_prefix=staging-)
puts every topic of this process under a prefix, so several environments or
test runs can share one broker without seeing each other's events.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from .base import Bus, BusUnavailable, Consumer, Message, Producer
from .prefixed import PrefixedBus

__all__ = ["Bus", "BusUnavailable", "Consumer", "Message", "Producer", "connect"]


def connect(url: str) -> Bus:
    scheme, _, rest = url.partition("://")
    rest, _, query = rest.partition("?")
    options = {key: values[-1] for key, values in parse_qs(query).items()}
    unknown = set(options) - {"topic_prefix"}
    if unknown:
        raise ValueError(f"EVENT_BUS_URL has unknown option(s) {sorted(unknown)}; only topic_prefix is known")
    if scheme == "sqlite":
        from .sqlite_log import SqliteBus

        bus: Bus = SqliteBus(rest.removeprefix("/"))
    elif scheme == "kafka":
        from .kafka_bus import KafkaBus

        bus = KafkaBus(rest.rstrip("/").split(","))
    else:
        raise ValueError(f"EVENT_BUS_URL scheme {scheme!r} is not sqlite or kafka")
    prefix = options.get("topic_prefix", "")
    return PrefixedBus(bus, prefix) if prefix else bus
