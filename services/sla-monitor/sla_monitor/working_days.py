"""The working-day calendar and the due-date rules (DESIGN.md, "SLA rules").

Working days are Monday to Friday in Europe/London, minus bank holidays in
England (the `holidays` package, GB with subdivision ENG: without ENG it drops
Easter Monday and the late summer bank holiday), minus closure days the team
configures. The local date of receipt is day 0; a contact with an N working
day target is at risk from 00:00 local on working day N and due at 23:59:59
local on it; it is breached from the first instant after the due second.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import holidays
from ccshared.timeutil import LONDON

END_OF_DAY = time(23, 59, 59)
DUE_SECOND = timedelta(seconds=1)


def parse_closure_days(raw: str) -> frozenset[date]:
    """`2026-12-24..2026-12-31,2027-04-01` -> the set of dates; ValueError names a bad part."""
    days: set[date] = set()
    for part in (piece.strip() for piece in raw.split(",")):
        if not part:
            continue
        first, sep, last = part.partition("..")
        try:
            start = date.fromisoformat(first.strip())
            end = date.fromisoformat(last.strip()) if sep else start
        except ValueError:
            raise ValueError(f"{part!r} is not an ISO date or a range like 2026-12-24..2026-12-31") from None
        if end < start:
            raise ValueError(f"{part!r} ends before it starts")
        if (end - start).days > 366:
            raise ValueError(f"{part!r} is longer than a year")
        days.update(start + timedelta(days=offset) for offset in range((end - start).days + 1))
    return frozenset(days)


@dataclass(frozen=True)
class Deadline:
    """When one contact becomes at risk and when it is due."""

    target_working_days: int
    at_risk_at: datetime
    due_at: datetime

    @property
    def breach_at(self) -> datetime:
        """The first instant that is late: the due second still counts as on time."""
        return self.due_at + DUE_SECOND


class WorkingCalendar:
    """England's working days with the team's closure days; pure and thread-safe."""

    def __init__(self, closure_days: Iterable[date] = (), targets: Mapping[str, int] | None = None):
        self.closure_days = frozenset(closure_days)
        self.targets = dict(targets or {})
        self._bank_holidays: dict[date, str] = {}
        self._years: set[int] = set()
        self._lock = threading.Lock()

    @property
    def fingerprint(self) -> str:
        """Changes whenever a rule that moves a deadline changes (closures, targets, holiday data)."""
        parts = [
            f"holidays={holidays.__version__}",
            "targets=" + ",".join(f"{k}:{v}" for k, v in sorted(self.targets.items())),
            "closed=" + ",".join(day.isoformat() for day in sorted(self.closure_days)),
        ]
        return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]

    def bank_holiday(self, day: date) -> str | None:
        with self._lock:
            if day.year not in self._years:
                self._bank_holidays.update(holidays.country_holidays("GB", subdiv="ENG", years=day.year))
                self._years.add(day.year)
            return self._bank_holidays.get(day)

    def is_working_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self.closure_days and self.bank_holiday(day) is None

    def add_working_days(self, start: date, count: int) -> date:
        """The count-th working day after start (start itself is day 0)."""
        day = start
        remaining = count
        while remaining > 0:
            day += timedelta(days=1)
            if self.is_working_day(day):
                remaining -= 1
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """Working days d with start < d <= end; negative when end is before start."""
        if end < start:
            return -self.working_days_between(end, start)
        return sum(
            1
            for offset in range(1, (end - start).days + 1)
            if self.is_working_day(start + timedelta(days=offset))
        )

    def target(self, channel: str) -> int:
        try:
            return self.targets[channel]
        except KeyError:
            raise ValueError(f"unknown channel {channel!r}: use one of {', '.join(self.targets)}") from None

    def deadline(self, channel: str, received_at: datetime) -> Deadline:
        if received_at.tzinfo is None:
            raise ValueError("received_at must carry a UTC offset")
        target = self.target(channel)
        day_zero = received_at.astimezone(LONDON).date()
        due_day = self.add_working_days(day_zero, target)
        return Deadline(
            target_working_days=target,
            at_risk_at=datetime.combine(due_day, time(0), LONDON),
            due_at=datetime.combine(due_day, END_OF_DAY, LONDON),
        )
