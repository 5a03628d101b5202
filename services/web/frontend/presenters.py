"""Shaping the services' answers into what a page shows. Pure functions: no
Flask, no HTTP; the time comes in as an argument."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from ccshared import contracts as c
from ccshared.calendar import EARLIEST_DAY, LATEST_DAY, in_supported_range
from ccshared.timeutil import LONDON

from .formatting import CLOCK_MARKERS, WEEKDAY_LABELS, parse_instant

UNANSWERED = c.CONTACT_UNANSWERED_STATUSES


@dataclass
class CaseRow:
    contact: Mapping[str, Any]
    clock: Mapping[str, Any] | None
    centre_name: str

    @property
    def state(self) -> str | None:
        return self.clock.get("state") if self.clock else None

    @property
    def marker(self) -> str:
        return CLOCK_MARKERS.get(self.state or "", "unknown")

    @property
    def paused_since(self) -> str | None:
        """When the contact began waiting on the family or a partner, if it is."""
        return self.contact.get("paused_since")

    @property
    def due_at(self) -> str | None:
        return self.clock.get("due_at") if self.clock else None

    @property
    def working_days_remaining(self) -> int | None:
        return self.clock.get("working_days_remaining") if self.clock else None


@dataclass
class Caseload:
    rows: list[CaseRow]
    counts: dict[str, int] = field(default_factory=dict)


def caseload(
    contacts: Iterable[Mapping[str, Any]],
    clocks: Iterable[Mapping[str, Any]],
    centre_names: Mapping[str, str],
) -> Caseload:
    """Unanswered contacts, soonest due first, each with its clock and marker."""
    by_contact = {clock.get("contact_id"): clock for clock in clocks}
    rows = [
        CaseRow(
            contact,
            by_contact.get(contact["id"]),
            centre_names.get(contact.get("centre_id"), "Unknown centre"),
        )
        for contact in contacts
        if contact.get("status") in UNANSWERED
    ]
    rows.sort(key=_due_order)
    counts = {
        "open": len(rows),
        "breached": sum(row.state == c.CLOCK_BREACHED for row in rows),
        "at_risk": sum(row.state == c.CLOCK_AT_RISK for row in rows),
        "unassigned": sum(not row.contact.get("assignee") for row in rows),
        "paused": sum(bool(row.paused_since) for row in rows),
    }
    return Caseload(rows, counts)


def _due_order(row: CaseRow) -> tuple:
    due = parse_instant(row.due_at)
    received = parse_instant(row.contact.get("received_at"))
    return (due is None, due or received, received)


class BadLocalTime(ValueError):
    pass


def local_instant(day: str, clock_time: str, now: datetime, what: str = "The time received") -> datetime:
    """A date and time typed in London, as an aware instant: never in the future, and on a
    day the calendar holds (the project's one date rule)."""
    try:
        parsed = datetime.combine(date.fromisoformat(day.strip()), time.fromisoformat(clock_time.strip()))
    except ValueError as exc:
        raise BadLocalTime("Enter a real date and time, for example 2026-03-04 and 14:30.") from exc
    if not in_supported_range(parsed.date()):
        raise BadLocalTime(f"Enter a date from {EARLIEST_DAY:%-d %B %Y} to {LATEST_DAY:%-d %B %Y}.")
    instant = parsed.replace(tzinfo=LONDON)
    if instant > now.astimezone(LONDON):
        raise BadLocalTime(f"{what} cannot be in the future.")
    return instant


def local_now_fields(now: datetime) -> tuple[str, str]:
    local = now.astimezone(LONDON)
    return local.date().isoformat(), local.strftime("%H:%M")


@dataclass(frozen=True)
class Bar:
    key: str
    percent: float | None
    met: int
    breached: int
    open: int
    total: int


def bars(groups: Iterable[Mapping[str, Any]]) -> list[Bar]:
    return [
        Bar(
            key=str(group.get("key", "")),
            percent=group.get("percent_met"),
            met=int(group.get("met", 0)),
            breached=int(group.get("breached", 0)),
            open=int(group.get("open", 0)),
            total=int(group.get("total", 0)),
        )
        for group in groups
    ]


def by_month(groups: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The public compliance report's rows (one per month and channel) as one row per month,
    newest first: the month and its group per channel."""
    months: dict[str, dict[str, Any]] = {}
    for group in groups:
        months.setdefault(group["month"], {"month": group["month"]})[group["key"]] = group
    return [months[key] for key in sorted(months, reverse=True)]


def withheld_answered(group: Mapping[str, Any]) -> str:
    """What the public page says where a month's answered figures for a channel are not shown:
    "fewer than 5" is a small count; "withheld" hides a figure of any size, so that a small
    one cannot be worked out from it."""
    small = [
        words
        for name, words in (("met", "in time"), ("breached", "late"))
        if group.get(name) == c.FEWER_THAN_5
    ]
    if small:
        answered = " and fewer than 5 ".join(small)
        return f"Fewer than 5 answered {answered}: too few to show without risk of identifying anyone"
    return "Withheld, so that a smaller figure for this month cannot be worked out from it"


def week_of(centre: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The centre's week, Monday to Sunday, as the directory works it out (bank holidays, closures, today)."""
    if centre.get("week"):
        return list(centre["week"])
    times = centre.get("opening_times") or {}
    return [{"weekday": day, "sessions": times.get(day) or []} for day in WEEKDAY_LABELS]


def opening_today(centre: Mapping[str, Any]) -> str:
    today = centre.get("today") or {}
    if centre.get("status") == "temporarily_closed":
        return "Temporarily closed"
    sessions = today.get("sessions") or []
    if not sessions:
        note = today.get("note")
        return f"Closed today ({note})" if note else "Closed today"
    return "Open today " + ", ".join(f"{s['opens']} to {s['closes']}" for s in sessions)
