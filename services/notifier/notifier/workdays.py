"""Working days in England for the daily digest: weekdays that are not bank holidays."""

from __future__ import annotations

from datetime import date, datetime, time
from functools import lru_cache

import holidays
from ccshared.timeutil import LONDON


@lru_cache(maxsize=32)
def _bank_holidays(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("GB", subdiv="ENG", years=year)


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _bank_holidays(day.year)


def digest_day_due(now: datetime, at: time) -> date | None:
    """The local date whose digest is due at `now`, or None on a non-working day or before `at`."""
    local = now.astimezone(LONDON)
    if not is_working_day(local.date()) or local.time() < at:
        return None
    return local.date()


def digest_cutoff(day: date, at: time) -> datetime:
    """A day's digest covers what was held before its local digest time; later items wait a day."""
    return datetime.combine(day, at, tzinfo=LONDON)
