"""Showing times, distances and labels to people (Europe/London, plain English)."""

from __future__ import annotations

from datetime import date, datetime
from email.utils import parsedate_to_datetime

from ccshared import contracts as c
from ccshared import labels, service_types
from ccshared.timeutil import LONDON

# A test checks that each label map labels its whole vocabulary (ccshared.contracts) and nothing else.
STATUS_LABELS = {
    "received": "Received",
    "assigned": "Assigned",
    "responded": "Responded",
    "closed": "Closed",
    "withdrawn": "Withdrawn",
}
CLOCK_LABELS = {
    "open": "On time",
    "at_risk": "At risk",
    "breached": "Breached",
    "met": "Met",
    "responded_late": "Answered late",
    "withdrawn": "Withdrawn",
    "awaiting_receipt": "Waiting",
    "paused": "Paused",
}
# The marker (a CSS class) of a running clock's state.
CLOCK_MARKERS = {"breached": "breached", "at_risk": "at-risk", "open": "on-time", "paused": "paused"}
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
    "area_moved": "Moved with its centre",
}
# What an e-mail was about (the notifier's event types; a test checks it labels every one).
EVENT_LABELS = {
    c.SLA_STARTED: "New referral",
    c.SLA_AT_RISK: "At risk",
    c.SLA_BREACHED: "Breached",
    c.SLA_STILL_BREACHED: "Still breached (reminder)",
    c.SLA_MET: "Answered in time",
    c.SLA_RESPONDED_LATE: "Answered late",
    c.CENTRE_STALE: "Centre needs checking",
    c.REFERRAL_OPENED: "Referral opened",
    c.REFERRAL_ACCEPTED: "Referral accepted",
    c.REFERRAL_DECLINED: "Referral declined",
    c.CONTACT_RESPONDED: "Response recorded",
    c.CONTACT_WITHDRAWN: "Referral withdrawn",
    c.CONTACT_PAUSED: "Referral waiting on the agency",
    c.AGENCY_WEBHOOK_FAILING: "Agency's webhook failing",
    "notifier.digest": "Daily digest",
    "notifier.group": "Grouped notices",
    "notifier.monthly_report": "Monthly report",
}
# A partner's notice names a role, not an address: who that is (contracts.RECIPIENT_*).
RECIPIENT_ROLE_LABELS = {
    c.RECIPIENT_AGENCY_OF: "the referring agency",
    c.RECIPIENT_REFERRER_OF: "the referrer",
    c.RECIPIENT_AGENCY: "the agency",
}
# The status a partner agency follows (contacts' referral_status).
REFERRAL_STATUS_LABELS = {
    "new": "New",
    "opened": "Opened",
    "accepted": "Accepted",
    "declined": "Declined",
    "responded": "Responded",
    "withdrawn": "Withdrawn",
}
DECLINE_REASON_LABELS = labels.DECLINE_REASONS
WITHDRAW_REASON_LABELS = labels.WITHDRAW_REASONS
# Who a paused contact is waiting on (contracts.PAUSE_REASONS).
PAUSE_REASON_LABELS = {
    "waiting_on_family": "Waiting on the family",
    "waiting_on_partner": "Waiting on a partner",
}
# The words the notifier's e-mails use too.
CHANNEL_LABELS = labels.CHANNELS
URGENCY_LABELS = labels.URGENCIES
# An area's or a weekday's label is its name, capitalised ("north": "North", "monday": "Monday").
AREA_LABELS = {area: area.capitalize() for area in c.AREAS}
WEEKDAY_LABELS = {day: day.capitalize() for day in c.WEEKDAYS}


def recipient(value: str | None) -> str:
    """An address as it is, a partner's role ('referrer-of:<id>') in words ('the referrer')."""
    role, sep, _ = (value or "").partition(":")
    return RECIPIENT_ROLE_LABELS[role] if sep and role in RECIPIENT_ROLE_LABELS else (value or "–")


def mail_date(value: str | None) -> str:
    """A message's Date header (RFC 2822) as the rest of the page shows times; as written if unreadable."""
    try:
        return when(parsedate_to_datetime(value or ""))
    except (TypeError, ValueError):
        return value or "–"


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


def short_date(value: str | datetime | None) -> str:
    """'Tue 24 Nov 2026': the London day of an instant (a due date's day)."""
    instant = parse_instant(value)
    if instant is None:
        return "–"
    local = instant.astimezone(LONDON)
    return f"{local:%a} {local.day} {local:%b %Y}"


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


def number(value: float) -> str:
    """A number as people write it: 3, not 3.0 (partners' feeds give ages as decimals)."""
    return f"{value:g}"


def label(vocabulary: dict[str, str], key: str | None) -> str:
    if not key:
        return "–"
    return vocabulary.get(key, key.replace("_", " ").capitalize())


def centre_choices(centres: list[dict]) -> list[tuple[str, str]]:
    """A select's options for centres: the name and, to tell like names apart, the area."""
    return [(centre["id"], f"{centre['name']} ({label(AREA_LABELS, centre['area'])})") for centre in centres]


def actor(by: str) -> str:
    """Who took a step, in words: a partner agency's user or its software, else the username."""
    kind, _, who = by.partition(":")
    if kind == c.PARTNER_ACTOR and "@" in who:
        user, _, agency = who.rpartition("@")
        return f"{user} of {agency} (partner pages)"
    if kind == c.AGENCY_ACTOR and who:
        return f"{who} (partner API)"
    return by


FILTERS = {
    "actor": actor,
    "centre_choices": centre_choices,
    "when": when,
    "day": day,
    "short_date": short_date,
    "month": month,
    "short_day": short_day,
    "iso": iso,
    "distance": distance,
    "percent": percent,
    "number": number,
    "days_left": days_left,
    "working_days": working_days,
    "history": lambda key: label(HISTORY_LABELS, key),
    "event": lambda key: label(EVENT_LABELS, key),
    "recipient": recipient,
    "mail_date": mail_date,
    "channel": lambda key: label(CHANNEL_LABELS, key),
    "status": lambda key: label(STATUS_LABELS, key),
    "clock_state": lambda key: label(CLOCK_LABELS, key),
    "clock_marker": lambda key, otherwise="unknown": CLOCK_MARKERS.get(key, otherwise),
    "area": lambda key: label(AREA_LABELS, key),
    "weekday": lambda key: label(WEEKDAY_LABELS, key),
    "words": lambda key: label({}, key),
    "referral_status": lambda key: label(REFERRAL_STATUS_LABELS, key),
    "decline_reason": lambda key: label(DECLINE_REASON_LABELS, key),
    "withdraw_reason": lambda key: label(WITHDRAW_REASON_LABELS, key),
    "pause_reason": lambda key: label(PAUSE_REASON_LABELS, key),
    "urgency": lambda key: label(URGENCY_LABELS, key),
    "service": service_types.label,
}
