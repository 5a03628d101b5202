"""Opening times: weekly sessions plus dated exceptions, read in Europe/London.

A centre document holds `opening_times` ({weekday: [{"opens": "09:00",
"closes": "17:00"}]}) and `exceptions` ([{"date": "2026-12-25", "closed": true,
"sessions": [], "note": "..."}]). An exception replaces the weekly sessions for
its date: a closure, or holiday hours. Without one, bank holidays and the
team's closure days (of every area, or of the centre's area) are closed days:
they come from the one working-day calendar, ccshared.calendar.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from ccshared.calendar import WorkingCalendar
from ccshared.contracts import CENTRE_OPEN
from ccshared.timeutil import LONDON

from .vocabulary import WEEKDAYS

Session = Mapping[str, str]


def local(instant: datetime) -> datetime:
    return instant.astimezone(LONDON)


def weekday_name(day: date) -> str:
    return WEEKDAYS[day.weekday()]


def exception_on(centre: Mapping[str, Any], day: date) -> Mapping[str, Any] | None:
    wanted = day.isoformat()
    return next((e for e in centre.get("exceptions") or () if e.get("date") == wanted), None)


def closure_on(centre: Mapping[str, Any], day: date, calendar: WorkingCalendar | None) -> str | None:
    """Why the calendar closes the centre on a day (a bank holiday's name, a closure day), if it does."""
    if calendar is None:
        return None
    holiday = calendar.bank_holiday(day)
    if holiday:
        return holiday
    if calendar.closures.closed(day, centre.get("area")):
        return "Closure day"
    return None


def sessions_on(
    centre: Mapping[str, Any], day: date, calendar: WorkingCalendar | None = None
) -> list[Session]:
    """The sessions that apply on a local date: its exception, else none on a closed day, else the week's."""
    exception = exception_on(centre, day)
    if exception is not None:
        return [] if exception.get("closed") else list(exception.get("sessions") or [])
    if closure_on(centre, day, calendar):
        return []
    return list((centre.get("opening_times") or {}).get(weekday_name(day)) or [])


def is_open_at(centre: Mapping[str, Any], instant: datetime, calendar: WorkingCalendar | None = None) -> bool:
    if centre.get("status") != CENTRE_OPEN:
        return False
    moment = local(instant)
    clock = moment.strftime("%H:%M")
    return any(s["opens"] <= clock < s["closes"] for s in sessions_on(centre, moment.date(), calendar))


def on_day(centre: Mapping[str, Any], day: date, calendar: WorkingCalendar | None = None) -> dict[str, Any]:
    """One local date's sessions, and why it is closed when it is."""
    exception = exception_on(centre, day)
    sessions = sessions_on(centre, day, calendar) if centre.get("status") == CENTRE_OPEN else []
    note = exception.get("note") if exception else closure_on(centre, day, calendar)
    return {
        "date": day.isoformat(),
        "weekday": weekday_name(day),
        "sessions": [dict(s) for s in sessions],
        "closed": not sessions,
        "note": note or None,
    }


def today(
    centre: Mapping[str, Any], instant: datetime, calendar: WorkingCalendar | None = None
) -> dict[str, Any]:
    """What a visitor needs to know about today: the sessions, and why if closed."""
    return on_day(centre, local(instant).date(), calendar)


def week(centre: Mapping[str, Any], instant: datetime, calendar: WorkingCalendar | None = None) -> list[dict]:
    """This week, Monday to Sunday, each day as it really is (holidays and closures closed), today marked."""
    day = local(instant).date()
    monday = day - timedelta(days=day.weekday())
    days = [on_day(centre, monday + timedelta(days=n), calendar) for n in range(7)]
    for entry in days:
        entry["today"] = entry["date"] == day.isoformat()
    return days


def session_problems(sessions: Sequence[Session]) -> list[str]:
    """Why a day's sessions make no sense (empty when they do)."""
    problems = []
    for s in sessions:
        if s["opens"] >= s["closes"]:
            problems.append(f"opens ({s['opens']}) must be before closes ({s['closes']})")
    ordered = sorted(sessions, key=lambda s: s["opens"])
    for before, after in zip(ordered, ordered[1:], strict=False):
        if after["opens"] < before["closes"]:
            problems.append(
                f"sessions {before['opens']}-{before['closes']} and {after['opens']}-{after['closes']} overlap"
            )
    return problems
