"""Prometheus metrics of the clocks: open, at risk and breached by area, and how late breaches are.

The gauges are counted from the store by the worker every few seconds
(`report`), so every instance reports the same figures: take max, not sum,
across instances. The breach delay is observed by the instance that claims
each breach event, once per breach.
"""

from __future__ import annotations

from datetime import datetime

from ccshared import contracts
from ccshared.store import Collection
from ccshared.timeutil import from_str, to_str
from prometheus_client import Gauge, Histogram

from .domain import AT_RISK, BREACHED, MOVABLE, OPEN

CLOCKS = Gauge(
    "cc_sla_clocks",
    "Running SLA clocks by state (open, at_risk, breached) and area",
    ["state", "area"],
    multiprocess_mode="mostrecent",
)
OVERDUE_LIMIT = 500  # clocks read per count of the overdue ones; more than that reads as 500
DUE_UNBREACHED = Gauge(
    "cc_sla_due_unbreached_clocks",
    "Unanswered clocks past their due instant whose breach event is not yet raised",
    multiprocess_mode="mostrecent",
)
OLDEST_DUE_UNBREACHED = Gauge(
    "cc_sla_oldest_due_unbreached_seconds",
    "How long ago the earliest of those clocks fell due (0: none)",
    multiprocess_mode="mostrecent",
)
BREACH_DELAY = Histogram(
    "cc_sla_breach_event_delay_seconds",
    "From a clock's due instant to the staging of its breach event",
    ["area"],
    buckets=(1, 2, 5, 10, 30, 60, 120, 300, 900, 3600, 21600, 86400),
)


def report(clocks: Collection, now: datetime) -> None:
    """Count the clocks into the gauges."""
    for state in (OPEN, AT_RISK, BREACHED):
        for area in contracts.AREAS:
            CLOCKS.labels(state, area).set(clocks.count({"state": state, "area": area}))
    for area in contracts.AREAS:
        BREACH_DELAY.labels(area)  # present from the start, so the first breach shows as an increase
    stamp = to_str(now)
    overdue = clocks.find(
        {"state": {"$in": list(MOVABLE)}, "due_at": {"$lt": stamp}}, sort=[("due_at", 1)], limit=OVERDUE_LIMIT
    )
    # A late receipt's clock waits out its grace (not_before) on purpose; that is not a missed breach.
    missed = [doc for doc in overdue if not doc.get("not_before") or doc["not_before"] <= stamp]
    DUE_UNBREACHED.set(len(missed))
    age = (now - from_str(missed[0]["due_at"])).total_seconds() if missed else 0.0
    OLDEST_DUE_UNBREACHED.set(max(0.0, age))


def breach_staged(data: dict, now: datetime) -> None:
    """Observe how long after its due instant a breach event was staged."""
    due = data.get("due_at")
    if isinstance(due, str):
        due = from_str(due)
    if isinstance(due, datetime):
        BREACH_DELAY.labels(data.get("area") or "unknown").observe(max(0.0, (now - due).total_seconds()))
