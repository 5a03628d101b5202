"""The service-level policy: how many working days each contact gets, and its deadline.

Targets are a matrix of channel x urgency. A contact without an urgency gets
its channel's target (`SLA_TARGET_<CHANNEL>`); one with an urgency gets its
cell (`SLA_TARGET_<CHANNEL>_<URGENCY>`), which defaults to the channel's
target except for referrals, whose urgencies have targets of their own
(urgent 1, soon 2, routine 5). The working days themselves, closures of every
area and of single areas included, come from the one shared calendar.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

from ccshared import contracts
from ccshared.calendar import Deadline, WorkingCalendar

DEFAULT_TARGETS = {
    contracts.LETTER: 5,
    contracts.TELEPHONE: 2,
    contracts.EMAIL: 5,
    contracts.REFERRAL: 2,
}
DEFAULT_CELLS = {
    (contracts.REFERRAL, contracts.URGENT): 1,
    (contracts.REFERRAL, contracts.SOON): 2,
    (contracts.REFERRAL, contracts.ROUTINE): 5,
}


@dataclass(frozen=True)
class Targets:
    """Working days to respond, by channel and by channel x urgency."""

    channels: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_TARGETS))
    cells: Mapping[tuple[str, str], int] = field(default_factory=lambda: dict(DEFAULT_CELLS))

    def target(self, channel: str, urgency: str | None = None) -> int:
        if channel not in self.channels:
            raise ValueError(f"unknown channel {channel!r}: use one of {', '.join(self.channels)}")
        if urgency is None:
            return self.channels[channel]
        if urgency not in contracts.URGENCIES:
            raise ValueError(f"unknown urgency {urgency!r}: use one of {', '.join(contracts.URGENCIES)}")
        return self.cells.get((channel, urgency), self.channels[channel])

    def describe(self) -> str:
        rows = [f"{channel}:{days}" for channel, days in sorted(self.channels.items())]
        rows += [
            f"{channel}/{urgency}:{self.target(channel, urgency)}"
            for channel in sorted(self.channels)
            for urgency in contracts.URGENCIES
        ]
        return ",".join(rows)


class Policy:
    """Targets on the working-day calendar: the deadline of each contact."""

    def __init__(self, calendar: WorkingCalendar | None = None, targets: Targets | None = None):
        self.calendar = calendar or WorkingCalendar()
        self.targets = targets or Targets()

    @cached_property
    def fingerprint(self) -> str:
        """Changes whenever a rule that moves a deadline changes (closures, targets, holiday data).

        Worked out once: every contact event asks for it, and a policy does not change."""
        text = f"{self.calendar.fingerprint}|targets={self.targets.describe()}"
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def deadline(
        self, channel: str, received_at: datetime, urgency: str | None = None, area: str | None = None
    ) -> Deadline:
        return self.calendar.deadline(received_at, self.targets.target(channel, urgency), area)
