"""Event bus adapters, chosen by URL: sqlite:///path (embedded) or kafka://hosts."""

from __future__ import annotations

from .base import Bus, BusUnavailable, Consumer, Message, Producer

__all__ = ["Bus", "BusUnavailable", "Consumer", "Message", "Producer", "connect"]


def connect(url: str) -> Bus:
    scheme, _, rest = url.partition("://")
    if scheme == "sqlite":
        from .sqlite_log import SqliteBus

        return SqliteBus(rest.removeprefix("/"))
    if scheme == "kafka":
        from .kafka_bus import KafkaBus

        return KafkaBus(rest.rstrip("/").split(","))
    raise ValueError(f"EVENT_BUS_URL scheme {scheme!r} is not sqlite or kafka")
