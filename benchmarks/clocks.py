"""Open clocks written straight into the SLA monitor's store through its repository.

Due instants are end of working day N, so clocks that fall due in the next
minute cannot come from contacts received now; they are made here with the due
instant the benchmark needs and the monitor's own calendar fingerprint (so its
recompute pass leaves them as they are).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from ccshared import contracts
from ccshared.calendar import DUE_SECOND
from sla_monitor import bootstrap, config
from sla_monitor.domain import AT_RISK, OPEN, ContactClock
from sla_monitor.repository import ClockRepository

AREAS_CENTRES = (
    ("north", "bench-centre-north"),
    ("central", "bench-centre-central"),
    ("south", "bench-centre-south"),
)


def fingerprint(environ: Mapping[str, str] | None = None) -> str:
    return bootstrap.policy(config.CalendarSettings.from_env(dict(environ or {}))).fingerprint


def open_clock(index: int, breach_at: datetime, fingerprint: str) -> ContactClock:
    """A letter clock, already at risk (its at-risk event sent), that is breached from `breach_at`."""
    area, centre_id = AREAS_CENTRES[index % len(AREAS_CENTRES)]
    due_at = breach_at - DUE_SECOND
    at_risk = due_at - timedelta(hours=24)
    state = AT_RISK if at_risk <= datetime.now(breach_at.tzinfo) else OPEN
    return ContactClock(
        contact_id=f"bench-{index:08d}",
        state=state,
        reference=f"BENCH-{index:08d}",
        channel=contracts.LETTER,
        centre_id=centre_id,
        area=area,
        received_at=due_at - timedelta(days=7),
        target_working_days=5,
        at_risk_at=at_risk,
        due_at=due_at,
        calendar_fingerprint=fingerprint,
        at_risk_emitted=state == AT_RISK,
    )


def insert(clocks: ClockRepository, items: Iterable[ContactClock]) -> int:
    """Write each clock as the monitor would when its receipt arrives: one outbox add."""
    count = 0
    for item in items:
        clocks.outbox.add(clocks.to_doc(item))
        count += 1
    return count
