"""Compliance figures: counts by outcome, grouped, with the percentage met.

Public and aggregate: groups carry channel, centre id, area or month, never a
contact. Withdrawn contacts are left out. `breached` counts contacts answered
late and contacts past due still unanswered; `open` counts those still in time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ccshared.timeutil import LONDON

from .domain import AT_RISK, BREACHED, MET, OPEN, RESPONDED_LATE, ContactClock

GROUPINGS: dict[str, Callable[[ContactClock], str]] = {
    "channel": lambda clock: clock.channel or "",
    "centre": lambda clock: clock.centre_id or "",
    "area": lambda clock: clock.area or "",
    "month": lambda clock: clock.received_at.astimezone(LONDON).strftime("%Y-%m"),
}
_COLUMN = {OPEN: "open", AT_RISK: "open", BREACHED: "breached", RESPONDED_LATE: "breached", MET: "met"}
COUNTED_STATES = tuple(_COLUMN)


@dataclass
class Tally:
    key: str
    met: int = 0
    breached: int = 0
    open: int = 0

    @property
    def total(self) -> int:
        return self.met + self.breached + self.open

    @property
    def percent_met(self) -> float | None:
        """Met as a share of the contacts whose outcome is known; None before any is."""
        decided = self.met + self.breached
        return round(100 * self.met / decided, 1) if decided else None

    def count(self, state: str) -> None:
        column = _COLUMN[state]
        setattr(self, column, getattr(self, column) + 1)

    def as_dict(self) -> dict:
        return {
            "key": self.key,
            "met": self.met,
            "breached": self.breached,
            "open": self.open,
            "total": self.total,
            "percent_met": self.percent_met,
        }


def compliance(clocks: Iterable[ContactClock], group_by: str) -> tuple[list[Tally], Tally]:
    """Tallies per group (sorted by key) and the overall tally."""
    key_of = GROUPINGS[group_by]
    groups: dict[str, Tally] = {}
    overall = Tally("all")
    for clock in clocks:
        if clock.state not in _COLUMN:
            continue
        key = key_of(clock)
        groups.setdefault(key, Tally(key)).count(clock.state)
        overall.count(clock.state)
    return [groups[key] for key in sorted(groups)], overall
