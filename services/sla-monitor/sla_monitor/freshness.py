"""Centre information freshness: the monitor's own read model of centres.

A centre whose information has not been verified for `stale_after` gets one
`directory.centre_stale.v1` per lapse: the event clears the pending check, and
only a new verification (a newer last_verified_at) arms it again. A centre
never verified is judged from when the monitor first heard of it, so a new
centre gets the same grace as a freshly verified one. Closed centres are not
checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ccshared import contracts
from ccshared.aggregate import Aggregate

from .domain import SlaEvent

NEVER = "never"


@dataclass
class CentreRecord(Aggregate[SlaEvent]):
    centre_id: str
    name: str = ""
    area: str | None = None
    status: str | None = None
    last_verified_at: datetime | None = None
    first_seen_at: datetime | None = None
    version: int = 0
    stale_days: int = 0
    stale_reported_for: str | None = None
    next_stale_at: datetime | None = None

    @property
    def verification_key(self) -> str:
        return self.last_verified_at.isoformat() if self.last_verified_at else NEVER

    def apply(self, data: dict[str, Any], seen_at: datetime, stale_days: int) -> bool:
        """Take a centre event's data; False when it is older than what is held."""
        if data["version"] < self.version:
            return False
        self.name = data["name"]
        self.area = data["area"]
        self.status = data["status"]
        self.version = data["version"]
        self.first_seen_at = self.first_seen_at or seen_at
        verified = data.get("last_verified_at")
        if verified is not None and (self.last_verified_at is None or verified > self.last_verified_at):
            self.last_verified_at = verified
        self.rearm(stale_days)
        return True

    def rearm(self, stale_days: int) -> None:
        """Work out when this centre next goes stale (None: not before a new verification)."""
        self.stale_days = stale_days
        basis = self.last_verified_at or self.first_seen_at
        if self.status == contracts.CENTRE_CLOSED_STATUS or basis is None:
            self.next_stale_at = None
        elif self.stale_reported_for == self.verification_key:
            self.next_stale_at = None
        else:
            self.next_stale_at = basis + timedelta(days=stale_days)

    def check(self, now: datetime) -> None:
        """Record the centre gone stale, once per lapse, if it has by `now`."""
        if self.next_stale_at is None or now < self.next_stale_at:
            return
        stale_since = self.next_stale_at
        self.stale_reported_for = self.verification_key
        self.next_stale_at = None
        data = {
            "centre_id": self.centre_id,
            "name": self.name,
            "area": self.area,
            "last_verified_at": self.last_verified_at,
            "stale_since": stale_since,
        }
        self.record(SlaEvent(contracts.CENTRE_STALE, data, once_per=self.stale_reported_for))
