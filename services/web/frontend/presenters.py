"""Shaping the services' answers into what a page shows. Pure functions: no
Flask, no HTTP; the time comes in as an argument."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from ccshared import contracts as c
from ccshared.calendar import EARLIEST_DAY, LATEST_DAY, in_supported_range
from ccshared.timeutil import LONDON

from .formatting import CLOCK_MARKERS, WEEKDAY_LABELS, parse_instant, working_days

UNANSWERED = c.CONTACT_UNANSWERED_STATUSES


def breach_pending(clock: Mapping[str, Any] | None, now: datetime) -> bool:
    """A running clock past its due time that the SLA monitor has not called breached yet: its
    scan records the breach a few seconds after a contact logged late is saved, and until then
    the state still reads on time (or at risk)."""
    if not clock or clock.get("state") not in (c.CLOCK_OPEN, c.CLOCK_AT_RISK):
        return False
    due = parse_instant(clock.get("due_at"))
    remaining = clock.get("working_days_remaining")
    return (due is not None and due < now) or (remaining is not None and remaining < 0)


@dataclass
class CaseRow:
    contact: Mapping[str, Any]
    clock: Mapping[str, Any] | None
    centre_name: str
    breach_pending: bool = False  # see `breach_pending`

    @property
    def state(self) -> str | None:
        return self.clock.get("state") if self.clock else None

    @property
    def breached(self) -> bool:
        return self.state == c.CLOCK_BREACHED or self.breach_pending

    @property
    def marker(self) -> str:
        if self.breach_pending:
            return CLOCK_MARKERS[c.CLOCK_BREACHED]
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
    now: datetime,
) -> Caseload:
    """Unanswered contacts, soonest due first, each with its clock and marker."""
    by_contact = {clock.get("contact_id"): clock for clock in clocks}
    rows = [
        CaseRow(
            contact,
            by_contact.get(contact["id"]),
            centre_names.get(contact.get("centre_id"), "Unknown centre"),
            breach_pending(by_contact.get(contact["id"]), now),
        )
        for contact in contacts
        if contact.get("status") in UNANSWERED
    ]
    rows.sort(key=_due_order)
    counts = {
        "open": len(rows),
        "breached": sum(row.breached for row in rows),
        "at_risk": sum(row.state == c.CLOCK_AT_RISK for row in rows),
        "unassigned": sum(not row.contact.get("assignee") for row in rows),
        "paused": sum(bool(row.paused_since) for row in rows),
    }
    return Caseload(rows, counts)


def _due_order(row: CaseRow) -> tuple:
    due = parse_instant(row.due_at)
    received = parse_instant(row.contact.get("received_at"))
    return (due is None, due or received, received)


@dataclass(frozen=True)
class ContactPage:
    """What the contact page says beyond the contact and its clock as the services give them."""

    history: list[Mapping[str, Any]]  # the contact's steps and its referral's decisions, in time order
    breach_pending: bool  # see `breach_pending`; before the monitor has a clock, by the due date alone
    kept_breached: bool  # answered before it was due, but recorded after the breach was raised
    answered_late: bool  # answered after it was due, whether or not the monitor has said so yet
    due_at: str | None  # the clock's due date, or the monitor's answer for the contact before it has one
    working_days_remaining: int | None  # the clock's; None before the monitor has one


# The steps of a referral's history that are its own decisions; the rest (sent, answered,
# withdrawn) are the contact's steps too.
REFERRAL_DECISIONS = (c.REFERRAL_STATUS_OPENED, c.REFERRAL_STATUS_ACCEPTED, c.REFERRAL_STATUS_DECLINED)


def contact_page(
    contact: Mapping[str, Any],
    clock: Mapping[str, Any] | None,
    now: datetime,
    due: Mapping[str, Any] | None = None,
) -> ContactPage:
    """`due` is the SLA monitor's due date for a contact it has no clock for yet: the page says
    from it what the clock will say (overdue, answered late) instead of waiting a few seconds."""
    referral = contact.get("referral") or {}
    decisions = [step for step in referral.get("history") or [] if step.get("to") in REFERRAL_DECISIONS]
    # A decision first where it shares its instant with the answer it makes.
    history = sorted(
        [*decisions, *(contact.get("history") or [])], key=lambda step: parse_instant(step["at"])
    )
    clock_state = (clock or {}).get("state")
    answered = parse_instant(contact.get("responded_at") or (clock or {}).get("responded_at"))
    due_at = (clock or due or {}).get("due_at")
    due_by = parse_instant(due_at)
    monitor_late = clock_state in (c.CLOCK_BREACHED, c.CLOCK_RESPONDED_LATE)
    kept_breached = monitor_late and answered is not None and due_by is not None and answered <= due_by
    # The response's own time decides met or late, so an answer after the due date is late before
    # the monitor records it (unless the monitor has already said otherwise).
    answered_late = not kept_breached and (
        monitor_late
        or (clock_state != c.CLOCK_MET and answered is not None and due_by is not None and answered > due_by)
    )
    if clock:
        pending = breach_pending(clock, now)
    else:
        pending = answered is None and due_by is not None and due_by < now
    return ContactPage(
        history,
        pending,
        kept_breached,
        answered_late,
        due_at,
        (clock or {}).get("working_days_remaining"),
    )


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


def answered_within(targets: Sequence[int] | None) -> str:
    """The time a month's answers were measured against, in words. Each letter or message keeps
    the time it was given when it arrived, so a month in which that changed names each time."""
    if not targets:  # not named where the counts are withheld
        return "answered in time"
    if len(targets) == 1:
        return f"answered within {working_days(targets[0])}"
    days = ", ".join(str(days) for days in targets[:-1]) + f" or {targets[-1]}"
    return f"answered within {days} working days (not every one had the same time to answer)"


def withheld_answered(group: Mapping[str, Any]) -> str:
    """What the public page says where a month's answered figures for a channel are not shown:
    "fewer than 5" is a small count; "withheld" hides a figure of any size, so that a small
    one cannot be worked out from it."""
    small = [
        words
        # Breached counts the late answers and those past their time still unanswered.
        for name, words in (("met", "answered in time"), ("breached", "not answered in time"))
        if group.get(name) == c.FEWER_THAN_5
    ]
    if small:
        counts = " and fewer than 5 ".join(small)
        return f"Fewer than 5 {counts}: too few to show without risk of identifying anyone"
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
