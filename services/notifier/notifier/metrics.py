"""Prometheus counters of the delivery log, by event type."""

from __future__ import annotations

from prometheus_client import Counter

SENT = Counter("cc_notifications_sent_total", "E-mails accepted by the transport", ["event_type"])
RETRIED = Counter(
    "cc_notifications_retried_total", "Deliveries that failed temporarily and will be retried", ["event_type"]
)
FAILED = Counter(
    "cc_notifications_failed_total",
    "Notifications that failed for good (and went to dead letters)",
    ["event_type"],
)
