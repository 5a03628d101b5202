"""Prometheus metrics of the partner feed import, labelled by the feed's short name, never its URL."""

from __future__ import annotations

from collections.abc import Iterable

from ccshared.timeutil import from_str
from prometheus_client import Counter, Gauge

from .partners import FAILURE_REASONS

FETCH_FAILURES = Counter(
    "cc_partner_feed_fetch_failures_total",
    "Fetches of a partner's ORUK feed that failed and changed nothing, by feed and reason "
    "(unreachable, timeout, http_error, too_large, invalid_json, invalid_data)",
    ["feed", "reason"],
)
LAST_SUCCESS = Gauge(
    "cc_partner_feed_last_success_timestamp_seconds",
    "When the feed was last fetched successfully (imported or unchanged), Unix time; 0: never",
    ["feed"],
    multiprocess_mode="mostrecent",
)
SERVICES = Gauge(
    "cc_partner_feed_services",
    "Services imported from the feed and kept (hidden ones included)",
    ["feed"],
    multiprocess_mode="mostrecent",
)


def start(feeds: Iterable[str]) -> None:
    """Export every feed's failure counters at 0, so the first failure is an increase."""
    for feed in feeds:
        for reason in FAILURE_REASONS:
            FETCH_FAILURES.labels(feed, reason)


def feed_state(feed: str, services: int, last_success_at: str | None) -> None:
    SERVICES.labels(feed).set(services)
    LAST_SUCCESS.labels(feed).set(from_str(last_success_at).timestamp() if last_success_at else 0)
