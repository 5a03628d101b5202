"""Event bus adapters, chosen by URL: sqlite:///path (embedded) or kafka://hosts.

A `topic_prefix` query parameter (e.g. kafka://host:9092?topic_prefix=staging-)
puts every topic of this process under a prefix, so several environments or
test runs can share one broker without seeing each other's events.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from .. import urls
from .base import Bus, BusUnavailable, Consumer, Message, Producer
from .prefixed import PrefixedBus

__all__ = ["Bus", "BusUnavailable", "Consumer", "Message", "Producer", "check_url", "connect"]


def check_url(raw: str) -> str:
    """sqlite:///path or kafka://host[:port][,host[:port]], either with ?topic_prefix=..."""
    urls.with_scheme("sqlite", "kafka")(raw)
    location, _, query = raw.partition("?")
    if raw.startswith("sqlite:"):
        urls.sqlite_path(location)
    else:
        parts = urlsplit(location)
        if not raw.startswith("kafka://") or parts.path.strip("/"):
            raise ValueError("expected kafka://host:9092[,host2:9092]")
        if "@" in parts.netloc:
            raise ValueError("takes no user or password: the Kafka bus connects without SASL")
        urls.hosts(parts.netloc, "broker")
    unknown = set(parse_qs(query)) - {"topic_prefix"}
    if unknown:
        raise ValueError(f"unknown option(s) {sorted(unknown)}; only topic_prefix is known")
    return raw


def connect(url: str) -> Bus:
    """The bus a URL names (`check_url` says which are taken)."""
    check_url(url)
    location, _, query = url.partition("?")
    if url.startswith("sqlite:"):
        from .sqlite_log import SqliteBus

        bus: Bus = SqliteBus(urls.sqlite_path(location))
    else:
        from .kafka_bus import KafkaBus

        bus = KafkaBus(urlsplit(location).netloc.split(","))
    prefix = parse_qs(query).get("topic_prefix", [""])[-1]
    return PrefixedBus(bus, prefix) if prefix else bus
