"""Prometheus metrics of the delivery log: outcomes by event type, failures by reason, the queue.

Dead letters count in ccshared.metrics.DEAD_LETTERS (consumer "notifier.delivery"),
with every other component's.
"""

from __future__ import annotations

from ccshared import contracts
from prometheus_client import Counter, Gauge

SENT = Counter("cc_notifications_sent_total", "E-mails accepted by the transport", ["event_type"])
RETRIED = Counter(
    "cc_notifications_retried_total", "Deliveries that failed temporarily and will be retried", ["event_type"]
)
FAILED = Counter(
    "cc_notifications_failed_total",
    "Notifications that failed for good (and went to dead letters)",
    ["event_type"],
)
SEND_FAILURES = Counter(
    "cc_notifier_send_failures_total",
    "Send attempts that failed, by reason (smtp_rejected, smtp_unreachable, contacts_unreachable, ...)",
    ["reason"],
)
FAILURE_KINDS = (
    "temporary",
    "permanent",
    "smtp_deferred",
    "smtp_rejected",
    "smtp_unreachable",
    "contacts_unreachable",
    "contacts_error",
    "unexpected_error",
    "interrupted",
)
# The statuses that make up the queue (sent, digested and skipped ones are history).
QUEUE_STATUSES = (
    contracts.DELIVERY_PENDING,
    contracts.DELIVERY_SENDING,
    contracts.DELIVERY_RETRYING,
    contracts.NOTIFICATION_HELD,
    contracts.DELIVERY_FAILED,
)
QUEUE = Gauge(
    "cc_notifier_queue_notifications",
    "Notifications in the delivery log, by status",
    ["status"],
    multiprocess_mode="mostrecent",
)


def start() -> None:
    """Export the counters at 0 for every reason and SLA event type, so the first failure is an increase."""
    for kind in FAILURE_KINDS:
        SEND_FAILURES.labels(kind)
    for event_type in contracts.SLA_EVENTS:
        for counter in (SENT, RETRIED, FAILED):
            counter.labels(event_type)
