"""Which months the public sees, and their figures kept as first published.

Live figures would let anyone subtract: the same month asked before and after one more contact
is logged (or answered, or withdrawn before its breach, which takes it out of the counts)
differs by exactly one, which gives a small count back. So, as official statistics do, a month is
published once, when it has settled, and its published figures are never worked out again: a
letter logged late with an old date of receipt, an erasure or a withdrawal changes the live
figures staff see, never the public's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from ccshared.timeutil import LONDON, Clock, to_str

from .reports import COUNTED, STILL_OPEN, Unit, month_figures
from .repository import ClockRepository, PublishedMonths

# A month's contacts reach the monitor moments after they are logged, but an outage of the
# broker or the monitor over the month's end could hold some back: a month is looked at only
# this long after it ends, so none is published, for good, without contacts still on their way.
LATE_EVENTS_GRACE = timedelta(days=3)


def publishable(month: str, now: datetime, settled: Callable[[], bool]) -> bool:
    """Whether a month's public figures may be published (the one rule): once the month has ended
    (Europe/London, `LATE_EVENTS_GRACE` ago) and settled, every contact counted in it met or breached; or, at the latest,
    once the month after it has ended too. The longest target is a few working days (5 for a
    letter), so a contact received on a month's last day is met or breached early in the next
    month unless its clock is paused, waiting on a family or a partner; a pause must not hold a
    month back for ever, so the contacts still open by then are published in the `open` column.
    `settled` is asked only when it decides (a store query)."""
    if now < start_of(following(month)) + LATE_EVENTS_GRACE:
        return False
    return now >= start_of(following(following(month))) or settled()


def months_between(first: date, last: date) -> list[str]:
    """The months (YYYY-MM) from the one `first` falls in to the one `last` falls in."""
    months, month = [], first.strftime("%Y-%m")
    while month <= last.strftime("%Y-%m"):
        months.append(month)
        month = following(month)
    return months


def following(month: str) -> str:
    year, number = int(month[:4]), int(month[5:])
    return f"{year + number // 12:04d}-{number % 12 + 1:02d}"


def preceding(month: str) -> str:
    year, number = int(month[:4]), int(month[5:])
    return f"{year - (number == 1):04d}-{(number - 2) % 12 + 1:02d}"


def start_of(month: str) -> datetime:
    """The first instant of the month in Europe/London."""
    return datetime(int(month[:4]), int(month[5:]), 1, tzinfo=LONDON)


@dataclass(eq=False)
class Publisher:
    """Gives the public each month's published figures, publishing a month the first time it is
    asked for (or looked at by the worker) once it is publishable."""

    clocks: ClockRepository
    published: PublishedMonths
    clock: Clock

    def figures(self, months: list[str]) -> tuple[dict[str, dict[Unit, dict]], list[str]]:
        """The published figures of those of the months that are published (or publishable, and
        published now), by month; and the months not yet published."""
        found = self.published.of(months)
        now = self.clock.now()
        waiting = []
        for month in months:
            if month in found:
                continue
            figures = self._publish(month, now)
            if figures is None:
                waiting.append(month)
            else:
                found[month] = figures
        return found, waiting

    def publish_due(self) -> list[str]:
        """The worker's pass: publish the two months before this one, where publishable and not
        published yet; the months published. (An older month is publishable in any case, and is
        published when first asked for.)"""
        last = preceding(self.clock.now().astimezone(LONDON).strftime("%Y-%m"))
        published, _ = self.figures([preceding(last), last])
        return sorted(published)

    def _publish(self, month: str, now: datetime) -> dict[Unit, dict] | None:
        """The month's figures as published now, or None if it is not publishable yet."""
        start, end = to_str(start_of(month)), to_str(start_of(following(month)))
        received = {"received_at": {"$gte": start, "$lt": end}}
        still_open = {**received, "state": {"$in": list(STILL_OPEN)}}
        if not publishable(month, now, lambda: not self.clocks.count(still_open)):
            return None
        figures, proved = month_figures(self.clocks.find({**received, **COUNTED}))
        if not proved:  # every cell "withheld": safe to answer, but left for a fixed build to publish
            return figures
        return self.published.publish(month, figures, now)
