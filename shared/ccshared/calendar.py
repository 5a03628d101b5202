"""The working-day calendar every service reads (DESIGN.md, "SLA rules").

Working days are Monday to Friday in Europe/London, minus bank holidays in
England (the `holidays` package, GB with subdivision ENG: without ENG it drops
Easter Monday and the late summer bank holiday), minus the closure days the
team configures, for all areas or for one area. The local date of receipt is
day 0; a contact with an N working day target is at risk from 00:00 local on
working day N and due at 23:59:59 local on it; it is breached from the first
instant after the due second. A pause moves the due date on by the working time
it held in whole working days (the part of each working day inside it, added
up and rounded down), not by the dates it touched.

Closure days come from three settings, merged: `SLA_CLOSURE_DAYS` (all
areas), `SLA_AREA_CLOSURE_DAYS` (per area) and `SLA_CLOSURE_CALENDAR` (an
iCalendar file of all-day events; a `CATEGORIES` naming an area limits an
event to that area). The SLA monitor's deadlines and the notifier's digest days
both come from here, so the two cannot disagree about what a working day is.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from types import MappingProxyType

import holidays
import icalendar
from marshmallow import ValidationError

from . import contracts
from .config import Var
from .timeutil import LONDON

END_OF_DAY = time(23, 59, 59)
DUE_SECOND = timedelta(seconds=1)
# How paused_working_days counts, in the fingerprint: a new rule moves the clocks made under the old.
PAUSE_RULE = "pauses=working-time-held"
# Received dates the clock accepts: the holiday data and the team's records lie
# within these; anything outside is a mistake (a year typed as 0026 or 9999).
EARLIEST_DAY = date(1990, 1, 1)
LATEST_DAY = date(2100, 12, 31)
MAX_RANGE_DAYS = 366


def in_supported_range(day: date) -> bool:
    return EARLIEST_DAY <= day <= LATEST_DAY


def supported_instant(instant: datetime) -> bool:
    """Whether an aware instant's local date is one the calendar accepts."""
    try:
        return in_supported_range(instant.astimezone(LONDON).date())
    except (OverflowError, ValueError):  # year 1 or 9999 with an offset that leaves datetime's range
        return False


_OUT_OF_RANGE = f"must be between {EARLIEST_DAY} and {LATEST_DAY}"


def validate_received_at(instant: datetime) -> None:
    """A marshmallow validator for a date someone gives (a contact received, a family's consent
    recorded), so bad years get a 422 naming the field."""
    if not supported_instant(instant):
        raise ValidationError(_OUT_OF_RANGE)


def validate_day(day: date) -> None:
    """The same rule for a local calendar date (a report's first or last day of receipt)."""
    if not in_supported_range(day):
        raise ValidationError(_OUT_OF_RANGE)


# Closure days ------------------------------------------------------------------


@dataclass(frozen=True)
class Closures:
    """Closure days for every area, and for single areas."""

    everywhere: frozenset[date] = frozenset()
    by_area: Mapping[str, frozenset[date]] = field(default_factory=lambda: MappingProxyType({}))

    def closed(self, day: date, area: str | None = None) -> bool:
        if day in self.everywhere:
            return True
        return area is not None and day in self.by_area.get(area, frozenset())

    def merged(self, other: Closures) -> Closures:
        areas = set(self.by_area) | set(other.by_area)
        by_area = {
            area: self.by_area.get(area, frozenset()) | other.by_area.get(area, frozenset()) for area in areas
        }
        return Closures(self.everywhere | other.everywhere, MappingProxyType(by_area))

    def describe(self) -> str:
        """A stable text of every closure, for fingerprints."""
        parts = ["all=" + ",".join(day.isoformat() for day in sorted(self.everywhere))]
        for area in sorted(self.by_area):
            if self.by_area[area]:
                parts.append(f"{area}=" + ",".join(day.isoformat() for day in sorted(self.by_area[area])))
        return ";".join(parts)


def _days(first: date, last: date) -> Iterator[date]:
    return (first + timedelta(days=offset) for offset in range((last - first).days + 1))


def _time_inside(day: date, start: datetime, end: datetime) -> timedelta:
    """How much of a local day (midnight to midnight) lies between two UTC instants."""
    opens = datetime.combine(day, time(0), LONDON).astimezone(UTC)
    closes = datetime.combine(day + timedelta(days=1), time(0), LONDON).astimezone(UTC)
    return max(timedelta(0), min(end, closes) - max(start, opens))


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
        if (end - start).days > MAX_RANGE_DAYS:
            raise ValueError(f"{part!r} is longer than a year")
        days.update(_days(start, end))
    return frozenset(days)


def _area(name: str) -> str:
    area = name.strip().lower()
    if area not in contracts.AREAS:
        raise ValueError(f"{name.strip()!r} is not an area; use one of {', '.join(contracts.AREAS)}")
    return area


def parse_area_closure_days(raw: str) -> Closures:
    """`north:2026-12-21..2026-12-22;south:2027-01-04` -> closures of single areas."""
    by_area: dict[str, frozenset[date]] = {}
    for part in (piece.strip() for piece in raw.split(";")):
        if not part:
            continue
        name, sep, days = part.partition(":")
        if not sep:
            raise ValueError(f"{part!r} names no area; write area:dates, e.g. north:2026-12-21..2026-12-22")
        area = _area(name)
        by_area[area] = by_area.get(area, frozenset()) | parse_closure_days(days)
    return Closures(by_area=MappingProxyType(by_area))


# iCalendar ---------------------------------------------------------------------


class CalendarFileError(ValueError):
    """An iCalendar file that cannot be read as closure days; names the file and line."""

    def __init__(self, path: Path, line: int | None, problem: str):
        self.path = path
        self.line = line
        where = f"{path}, line {line}" if line is not None else str(path)
        super().__init__(f"{where}: {problem}")


@dataclass
class _Lines:
    """Where each property of each VEVENT starts, by physical line, in file order."""

    events: list[dict[str, int]] = field(default_factory=list)


def _logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """Unfold RFC 5545 content lines, keeping the physical line each one starts on."""
    start, buffer = 0, None
    for number, line in enumerate(text.splitlines(), start=1):
        if line[:1] in (" ", "\t") and buffer is not None:
            buffer += line[1:]
            continue
        if buffer is not None:
            yield start, buffer
        start, buffer = number, line
    if buffer is not None:
        yield start, buffer


def _check_lines(path: Path, text: str) -> _Lines:
    """Find malformed lines and unbalanced BEGIN/END ourselves: icalendar does not say where."""
    found = _Lines()
    stack: list[tuple[str, int]] = []
    for number, line in _logical_lines(text):
        if not line.strip():
            continue
        try:
            name, params, value = icalendar.parser.Contentline(line).parts()
        except ValueError as exc:
            raise CalendarFileError(path, number, f"not an iCalendar content line ({exc})") from None
        name = name.upper()
        if name == "BEGIN":
            stack.append((value.upper(), number))
            if value.upper() == "VEVENT":
                found.events.append({"BEGIN": number})
        elif name == "END":
            if not stack or stack[-1][0] != value.upper():
                raise CalendarFileError(path, number, f"END:{value} without a matching BEGIN")
            stack.pop()
        elif stack and stack[-1][0] == "VEVENT":
            found.events[-1].setdefault(name, number)
    if stack:
        component, number = stack[-1]
        raise CalendarFileError(path, number, f"BEGIN:{component} is never ended")
    return found


def _event_days(path: Path, event: icalendar.Event, lines: dict[str, int]) -> tuple[list[date], list[str]]:
    def fail(prop: str, problem: str) -> CalendarFileError:
        return CalendarFileError(path, lines.get(prop, lines["BEGIN"]), problem)

    for prop, problem in getattr(event, "errors", ()):
        raise fail(str(prop).upper(), f"{prop} cannot be read ({problem})")
    for prop in ("RRULE", "RDATE"):
        if prop in event:
            raise fail(prop, "repeating events are not supported; list each closure as its own event")
    if "DTSTART" not in event:
        raise fail("BEGIN", "the event has no DTSTART")
    try:
        start = event.decoded("DTSTART")
        end = event.decoded("DTEND") if "DTEND" in event else None
        duration = event.decoded("DURATION") if "DURATION" in event else None
    except (ValueError, TypeError) as exc:
        raise fail("DTSTART", f"a date cannot be read ({exc})") from None
    if isinstance(start, datetime) or not isinstance(start, date):
        raise fail("DTSTART", "closures must be all-day events (DTSTART;VALUE=DATE:YYYYMMDD)")
    if end is None:
        end = start + (duration if isinstance(duration, timedelta) else timedelta(days=1))
    if isinstance(end, datetime) or not isinstance(end, date):
        raise fail("DTEND", "closures must be all-day events (DTEND;VALUE=DATE:YYYYMMDD)")
    last = end - timedelta(days=1)  # DTEND of an all-day event is the day after
    if last < start:
        raise fail("DTEND", "the event ends before it starts")
    if (last - start).days > MAX_RANGE_DAYS:
        raise fail("DTEND", "the event is longer than a year")
    areas: list[str] = []
    for categories in _as_list(event.get("CATEGORIES")):
        for name in categories.cats:
            try:
                areas.append(_area(str(name)))
            except ValueError as exc:
                raise fail("CATEGORIES", str(exc)) from None
    return list(_days(start, last)), areas


def _as_list(value: object) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def read_icalendar(path: str | Path) -> Closures:
    """All-day VEVENTs of an iCalendar file as closure days; CalendarFileError names file and line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CalendarFileError(path, None, f"cannot be read ({exc})") from None
    lines = _check_lines(path, text)
    try:
        calendars = icalendar.Calendar.from_ical(text, multiple=True)
    except ValueError as exc:
        raise CalendarFileError(path, None, f"not an iCalendar file ({exc})") from None
    if not calendars:
        raise CalendarFileError(path, 1, "no VCALENDAR in the file")
    events = [event for calendar in calendars for event in calendar.walk("VEVENT")]
    everywhere: set[date] = set()
    by_area: dict[str, set[date]] = {}
    for event, where in zip(events, lines.events, strict=True):
        days, areas = _event_days(path, event, where)
        if not areas:
            everywhere.update(days)
        for area in areas:
            by_area.setdefault(area, set()).update(days)
    return Closures(
        frozenset(everywhere), MappingProxyType({area: frozenset(days) for area, days in by_area.items()})
    )


# The calendar --------------------------------------------------------------------


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

    def __init__(self, closures: Closures | Iterable[date] = ()):
        self.closures = closures if isinstance(closures, Closures) else Closures(frozenset(closures))
        self._bank_holidays: dict[date, str] = {}
        self._years: set[int] = set()
        self._lock = threading.Lock()

    @property
    def fingerprint(self) -> str:
        """Changes whenever a rule that moves a due date changes (closures, holiday data, how a
        pause is counted), so the SLA monitor recomputes the clocks made under the old rule."""
        text = f"holidays={holidays.__version__}|closed={self.closures.describe()}|{PAUSE_RULE}"
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def bank_holiday(self, day: date) -> str | None:
        with self._lock:
            if day.year not in self._years:
                self._bank_holidays.update(holidays.country_holidays("GB", subdiv="ENG", years=day.year))
                self._years.add(day.year)
            return self._bank_holidays.get(day)

    def is_working_day(self, day: date, area: str | None = None) -> bool:
        """A weekday that is no bank holiday and no closure day (of every area, or of `area`)."""
        return day.weekday() < 5 and not self.closures.closed(day, area) and self.bank_holiday(day) is None

    def add_working_days(self, start: date, count: int, area: str | None = None) -> date:
        """The count-th working day after start (start itself is day 0)."""
        day = start
        remaining = count
        while remaining > 0:
            day += timedelta(days=1)
            if self.is_working_day(day, area):
                remaining -= 1
        return day

    def working_days_between(self, start: date, end: date, area: str | None = None) -> int:
        """Working days d with start < d <= end; negative when end is before start."""
        if end < start:
            return -self.working_days_between(end, start, area)
        return sum(1 for day in _days(start + timedelta(days=1), end) if self.is_working_day(day, area))

    def deadline(self, received_at: datetime, working_days: int, area: str | None = None) -> Deadline:
        """At risk and due instants of a contact received at `received_at` with this many working days."""
        if received_at.tzinfo is None:
            raise ValueError("received_at must carry a UTC offset")
        if not supported_instant(received_at):
            raise ValueError(f"received_at must be between {EARLIEST_DAY} and {LATEST_DAY}")
        day_zero = received_at.astimezone(LONDON).date()
        due_day = self.add_working_days(day_zero, working_days, area)
        return Deadline(
            target_working_days=working_days,
            at_risk_at=datetime.combine(due_day, time(0), LONDON),
            due_at=datetime.combine(due_day, END_OF_DAY, LONDON),
        )

    def paused_working_days(self, paused_at: datetime, resumed_at: datetime, area: str | None = None) -> int:
        """Whole working days a pause takes off the clock: the working time it held, rounded down.

        The part of each working day (local midnight to midnight) that fell inside the pause,
        added up: two minutes across a midnight take none, nor does a weekend, nor a pause from
        Friday 17:00 to Monday 08:00; Tuesday 09:00 to Thursday 09:00 takes two. A time, not
        the dates it touched, so a short pause cannot carry a contact past its due instant."""
        start, end = paused_at.astimezone(UTC), resumed_at.astimezone(UTC)
        days = _days(start.astimezone(LONDON).date(), end.astimezone(LONDON).date())
        held = sum(
            (_time_inside(day, start, end) for day in days if self.is_working_day(day, area)), timedelta(0)
        )
        return held // timedelta(days=1)  # the clocks change on Sundays: every working day has 24 hours

    def extended(self, deadline: Deadline, working_days: int, area: str | None = None) -> Deadline:
        """The deadline moved on by working days (those a contact spent paused)."""
        due_day = self.add_working_days(deadline.due_at.astimezone(LONDON).date(), working_days, area)
        return Deadline(
            target_working_days=deadline.target_working_days,
            at_risk_at=datetime.combine(due_day, time(0), LONDON),
            due_at=datetime.combine(due_day, END_OF_DAY, LONDON),
        )


# Settings ----------------------------------------------------------------------

CLOSURE_DAYS = Var(
    "SLA_CLOSURE_DAYS",
    frozenset(),
    parse_closure_days,
    "closure days of every area: ISO dates and ranges, e.g. 2026-12-24..2026-12-31,2027-04-01",
)
AREA_CLOSURE_DAYS = Var(
    "SLA_AREA_CLOSURE_DAYS",
    Closures(),
    parse_area_closure_days,
    "closure days of single areas, e.g. north:2026-12-21..2026-12-22;south:2027-01-04",
)
CLOSURE_CALENDAR = Var(
    "SLA_CLOSURE_CALENDAR",
    Closures(),
    read_icalendar,
    "an iCalendar file of all-day closure events; a CATEGORIES of an area name limits one to that area",
)
VARS = (CLOSURE_DAYS, AREA_CLOSURE_DAYS, CLOSURE_CALENDAR)


def from_values(values: Mapping[str, object]) -> WorkingCalendar:
    """The calendar from values loaded with VARS (among others)."""
    closures = Closures(values[CLOSURE_DAYS.name])  # type: ignore[arg-type]
    closures = closures.merged(values[AREA_CLOSURE_DAYS.name])  # type: ignore[arg-type]
    return WorkingCalendar(closures.merged(values[CLOSURE_CALENDAR.name]))  # type: ignore[arg-type]
