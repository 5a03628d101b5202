"""The Prometheus metrics every service shares: consumer lag and heartbeat, outbox backlog, dead letters.

Defined once here, updated by the consumer loop (consumer.py) and the outbox
relay (outbox.py), so every service that runs one exports the same names. Names
carry their unit (`_seconds`, `_messages`, `_events`), counters end in
`_total`, and labels are bounded sets (consumer group, topic, partition number,
collection), never an id or anything about a person.

The background worker and the gunicorn workers are separate processes, so
metrics go through prometheus_client's multiprocess mode (ccshared.runner sets
PROMETHEUS_MULTIPROC_DIR). A gauge there keeps the value the last process wrote
(`mostrecent`); the worker refreshes them every few seconds. It keeps it, too,
when the thread that sets it hangs or the worker is frozen: a stuck consumer's
lag reads as it last was. So each consumer stamps every poll of the bus
(CONSUMER_LAST_POLL), and the time since that stamp tells a stuck loop from an
idle one.

A partition this process no longer owns (after a rebalance) reports lag 0 here,
its new owner the real figure: sum or max over instances, per partition, tells
the truth.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge

REFRESH_SECONDS = 5.0  # how often the worker re-reads lag and backlog

CONSUMER_LAG = Gauge(
    "cc_consumer_lag_messages",
    "Messages in the partition after this consumer group's position (behind the log end)",
    ["consumer", "topic", "partition"],
    multiprocess_mode="mostrecent",
)
CONSUMER_OLDEST_AGE = Gauge(
    "cc_consumer_oldest_unprocessed_age_seconds",
    "Age of the oldest event read from the partition and not yet handled (0: none waiting)",
    ["consumer", "topic", "partition"],
    multiprocess_mode="mostrecent",
)
CONSUMER_LAST_POLL = Gauge(
    "cc_consumer_last_poll_timestamp_seconds",
    "When this consumer last polled the bus (Unix time); a live loop polls at least every 30 s, idle or not",
    ["consumer"],
    multiprocess_mode="mostrecent",
)
DEAD_LETTERS = Counter(
    "cc_dead_letters_total",
    "Messages sent to the dead-letter topic, by the consumer or component that gave up on them",
    ["consumer"],
)
OUTBOX_PENDING = Gauge(
    "cc_outbox_pending_events",
    "Events staged in the collection's outbox and not yet published",
    ["collection"],
    multiprocess_mode="mostrecent",
)
OUTBOX_OLDEST_AGE = Gauge(
    "cc_outbox_oldest_pending_age_seconds",
    "Age of the oldest event waiting in the collection's outbox (0: none waiting)",
    ["collection"],
    multiprocess_mode="mostrecent",
)
EVENTS_PUBLISHED = Counter(
    "cc_events_published_total",
    "Events the outbox relay published, by topic",
    ["topic"],
)
