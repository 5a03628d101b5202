"""Showing times, distances and labels to people (Europe/London, plain English)."""

from __future__ import annotations

from datetime import date, datetime

from ccshared import contracts as c
from ccshared import service_types
from ccshared.timeutil import LONDON

# Labels are keyed by the shared vocabularies' own names (ccshared.contracts), and a test checks
# that each map labels its whole vocabulary and nothing else.
CHANNEL_LABELS = {
    c.LETTER: "Letter",
    c.TELEPHONE: "Telephone message",
    c.EMAIL: "E-mail",
    c.REFERRAL: "Partner referral",
}
STATUS_LABELS = {
    c.CONTACT_STATUS_RECEIVED: "Received",
    c.CONTACT_STATUS_ASSIGNED: "Assigned",
    c.CONTACT_STATUS_RESPONDED: "Responded",
    c.CONTACT_STATUS_CLOSED: "Closed",
    c.CONTACT_STATUS_WITHDRAWN: "Withdrawn",
}
CLOCK_LABELS = {
    c.CLOCK_OPEN: "On time",
    c.CLOCK_AT_RISK: "At risk",
    c.CLOCK_BREACHED: "Breached",
    c.CLOCK_MET: "Met",
    c.CLOCK_RESPONDED_LATE: "Answered late",
    c.CLOCK_WITHDRAWN: "Withdrawn",
    c.CLOCK_AWAITING_RECEIPT: "Waiting",
    c.CLOCK_PAUSED: "Paused",
}
# The marker (a CSS class) of a running clock's state.
CLOCK_MARKERS = {
    c.CLOCK_BREACHED: "breached",
    c.CLOCK_AT_RISK: "at-risk",
    c.CLOCK_OPEN: "on-time",
    c.CLOCK_PAUSED: "paused",
}
HISTORY_LABELS = {
    "receive": "Logged",
    "refer": "Referred by the partner agency",
    "assign": "Assigned",
    "respond": "Response recorded",
    "close": "Closed",
    "withdraw": "Withdrawn",
    "open": "Referral opened",
    "accept": "Referral accepted",
    "decline": "Referral declined",
    "pause": "Paused",
    "resume": "Resumed",
}
EVENT_LABELS = {
    "sla.at_risk.v1": "At risk",
    "sla.breached.v1": "Breached",
    "sla.still_breached.v1": "Still breached (reminder)",
    "sla.met.v1": "Answered in time",
    "sla.responded_late.v1": "Answered late",
    "directory.centre_stale.v1": "Centre needs checking",
    "notifier.digest": "Daily digest",
    "notifier.group": "Grouped notices",
}
# The status a partner agency follows (contacts' referral_status).
REFERRAL_STATUS_LABELS = {
    c.REFERRAL_STATUS_NEW: "New",
    c.REFERRAL_STATUS_OPENED: "Opened",
    c.REFERRAL_STATUS_ACCEPTED: "Accepted",
    c.REFERRAL_STATUS_DECLINED: "Declined",
    c.REFERRAL_STATUS_RESPONDED: "Responded",
    c.REFERRAL_STATUS_WITHDRAWN: "Withdrawn",
}
DECLINE_REASON_LABELS = {
    "not_eligible": "Not eligible",
    "outside_area": "Outside our area",
    "service_not_offered": "Service not offered",
    "family_declined": "Family declined",
    "duplicate": "Duplicate referral",
    "other": "Other reason",
}
# Who a paused contact is waiting on (contracts.PAUSE_REASONS).
PAUSE_REASON_LABELS = {
    c.WAITING_ON_FAMILY: "Waiting on the family",
    c.WAITING_ON_PARTNER: "Waiting on a partner",
}
URGENCY_LABELS = {c.URGENT: "Urgent", c.SOON: "Soon", c.ROUTINE: "Routine"}
# How staff answered, and how the person asked to be answered (the casework forms' choices).
RESPONSE_METHOD_LABELS = {
    c.LETTER: "Letter",
    c.TELEPHONE: "Telephone call",
    c.EMAIL: "E-mail",
    c.IN_PERSON: "In person",
}
REPLY_BY_LABELS = {c.POST: "Letter by post", c.TELEPHONE: "Telephone", c.EMAIL: "E-mail"}
# An area's or a weekday's label is its name, capitalised ("north": "North", "monday": "Monday").
AREA_LABELS = {area: area.capitalize() for area in c.AREAS}
WEEKDAY_LABELS = {day: day.capitalize() for day in c.WEEKDAYS}


def parse_instant(value: str | datetime | None) -> datetime | None:
    if not value:
        return None
    if isinstance(value, datetime):
        return value
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=LONDON)


def when(value: str | datetime | None) -> str:
    """'Tue 4 Nov 2025, 2:05pm' in London time."""
    instant = parse_instant(value)
    if instant is None:
        return "–"
    local = instant.astimezone(LONDON)
    hour = local.strftime("%I").lstrip("0")
    return f"{local:%a} {local.day} {local:%b %Y}, {hour}:{local:%M}{local:%p}".replace("AM", "am").replace(
        "PM", "pm"
    )


def day(value: str | datetime | date | None) -> str:
    """'4 November 2025'."""
    if not value:
        return "–"
    if isinstance(value, str) and len(value) == 10:
        local = date.fromisoformat(value)
    elif isinstance(value, date) and not isinstance(value, datetime):
        local = value
    else:
        local = parse_instant(value).astimezone(LONDON).date()
    return f"{local.day} {local:%B %Y}"


def short_day(value: str) -> str:
    """'2026-12-25' -> '25 December'."""
    local = date.fromisoformat(value)
    return f"{local.day} {local:%B}"


def month(key: str) -> str:
    """'2025-11' -> 'November 2025'."""
    try:
        return datetime.strptime(key, "%Y-%m").strftime("%B %Y")
    except ValueError:
        return key


def iso(value: str | datetime | None) -> str:
    instant = parse_instant(value)
    return instant.isoformat() if instant else ""


def distance(km: float | None) -> str:
    if km is None:
        return ""
    if km < 1:
        return f"{round(km * 1000, -1):.0f} metres"
    return f"{km:.1f} km"


def working_days(days: int) -> str:
    return f"{days} working day{'s' if days != 1 else ''}"


def days_left(remaining: int | None) -> str:
    """Working days to the due day, in words: overdue, due today or how many are left."""
    if remaining is None:
        return "–"
    if remaining < 0:
        return f"Overdue by {working_days(-remaining)}"
    if remaining == 0:
        return "Due today"
    return working_days(remaining)


def percent(value: float | None) -> str:
    return "no answers yet" if value is None else f"{value:g}%"


def label(vocabulary: dict[str, str], key: str | None) -> str:
    if not key:
        return "–"
    return vocabulary.get(key, key.replace("_", " ").capitalize())


def centre_choices(centres: list[dict]) -> list[tuple[str, str]]:
    """A select's options for centres: the name and, to tell like names apart, the area."""
    return [(centre["id"], f"{centre['name']} ({label(AREA_LABELS, centre['area'])})") for centre in centres]


FILTERS = {
    "centre_choices": centre_choices,
    "when": when,
    "day": day,
    "month": month,
    "short_day": short_day,
    "iso": iso,
    "distance": distance,
    "percent": percent,
    "days_left": days_left,
    "working_days": working_days,
    "history": lambda key: label(HISTORY_LABELS, key),
    "event": lambda key: label(EVENT_LABELS, key),
    "channel": lambda key: label(CHANNEL_LABELS, key),
    "status": lambda key: label(STATUS_LABELS, key),
    "clock_state": lambda key: label(CLOCK_LABELS, key),
    "clock_marker": lambda key, otherwise="unknown": CLOCK_MARKERS.get(key, otherwise),
    "area": lambda key: label(AREA_LABELS, key),
    "weekday": lambda key: label(WEEKDAY_LABELS, key),
    "words": lambda key: label({}, key),
    "referral_status": lambda key: label(REFERRAL_STATUS_LABELS, key),
    "decline_reason": lambda key: label(DECLINE_REASON_LABELS, key),
    "pause_reason": lambda key: label(PAUSE_REASON_LABELS, key),
    "urgency": lambda key: label(URGENCY_LABELS, key),
    "service": service_types.label,
}
