"""Turns a notification into a subject, a plain-text part and an HTML part (Jinja2).

Messages carry the contact's reference, channel, centre, dates in Europe/London
and a link to the staff front end; never a member of the public's details,
which the event data does not hold in the first place.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from ccshared import contracts as c
from ccshared import labels, referrals
from ccshared.service_types import label
from ccshared.timeutil import LONDON
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from .domain import DIGEST, GROUP, Notification

if TYPE_CHECKING:
    from .referrers import AgencyFacts, ReferralFacts

CHANNEL_LABELS = {channel: words.lower() for channel, words in labels.CHANNELS.items()}  # mid-sentence
HEADLINES = {
    c.SLA_STARTED: "New referral",
    c.SLA_AT_RISK: "Due today",
    c.SLA_BREACHED: "Overdue",
    c.SLA_STILL_BREACHED: "Still overdue",
    c.CENTRE_STALE: "Centre details need checking",
}


# What the referrer reads, by what happened to its referral.
PARTNER_NEWS = {
    referrals.RECEIVED: "We have your referral",
    referrals.OPENED: "Your referral has been opened",
    referrals.ACCEPTED: "Your referral has been accepted",
    referrals.DECLINED: "Your referral has been declined",
    referrals.RESPONDED: "The centre has responded to your referral",
    referrals.WITHDRAWN: "Your referral has been withdrawn",
    referrals.WAITING_ON_PARTNER: "The centre is waiting on you about your referral",
}
URGENCY_LABELS = labels.URGENCIES


@dataclass(frozen=True)
class RenderedMessage:
    subject: str
    text: str
    html: str


def london(instant: datetime | str | None) -> str:
    """'Monday 6 July 2026, 09:15' in Europe/London."""
    if instant is None:
        return "not recorded"
    if isinstance(instant, str):
        instant = datetime.fromisoformat(instant)
    local = instant.astimezone(LONDON)
    return f"{local:%A} {local.day} {local:%B %Y, %H:%M}"


def london_day(day: date) -> str:
    return f"{day:%A} {day.day} {day:%B %Y}"


def duration(seconds: float) -> str:
    """'2 days 3 hours', '45 minutes': how late, to the minute."""
    minutes = max(0, int(seconds // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [(days, "day"), (hours, "hour")] if days else [(hours, "hour"), (minutes, "minute")]
    words = [f"{n} {unit}{'' if n == 1 else 's'}" for n, unit in parts if n]
    return " ".join(words) or "less than a minute"


def withdraw_label(code: str | None) -> str | None:
    """Why a referral was withdrawn, in words; None without a code (withdrawn before codes were
    kept), 'Other reason' for a code this list does not know (events written before it)."""
    if not code:
        return None
    return labels.WITHDRAW_REASONS.get(code, labels.WITHDRAW_REASONS["other"])


class Renderer:
    def __init__(self, web_base_url: str, centre_name: Callable[[str], str]):
        self.web_base_url = web_base_url.rstrip("/")
        self.centre_name = centre_name
        self.env = Environment(
            loader=PackageLoader("notifier", "templates"),
            autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )

    def render(
        self, notification: Notification, now: datetime, items: Sequence[Notification] = ()
    ) -> RenderedMessage:
        if notification.kind == DIGEST:
            return self._digest(notification, items, now)
        if notification.kind == GROUP:
            return self._group(items, now)
        item = self.item(notification.event_type, notification.data, now)
        return self._render(item["template"], f"{item['headline']}: {item['title']}", item=item)

    def item(self, event_type: str, data: Mapping[str, Any], now: datetime) -> dict[str, Any]:
        """The facts of one event, ready for a template."""
        centre = self.centre_name(data["centre_id"])
        if event_type == c.CENTRE_STALE:
            return {
                "template": "centre_stale",
                "headline": HEADLINES[event_type],
                "title": centre,
                "centre": centre,
                "area": data["area"],
                "last_verified": london(data.get("last_verified_at")),
                "stale_since": london(data["stale_since"]),
                "link": f"{self.web_base_url}/staff/centres/{data['centre_id']}",
            }
        if event_type == c.SLA_STARTED:
            return self._new_referral(data)
        channel = CHANNEL_LABELS.get(data["channel"], data["channel"])
        due = datetime.fromisoformat(data["due_at"])
        late = data.get("late_seconds")
        late_seconds = late if late is not None else (now - due).total_seconds()
        return {
            "template": "contact",
            "headline": HEADLINES[event_type],
            "title": f"{channel} {data['reference']} at {centre}",
            "breached": event_type in (c.SLA_BREACHED, c.SLA_STILL_BREACHED),
            "reminder": data.get("reminder") if event_type == c.SLA_STILL_BREACHED else None,
            "reference": data["reference"],
            "channel": channel,
            "centre": centre,
            "area": data["area"],
            "assignee": data.get("assignee"),
            "target": labels.working_days(data["target_working_days"]),
            "received": london(data["received_at"]),
            "due": london(due),
            "late": duration(late_seconds) if late_seconds > 0 else None,
            "link": f"{self.web_base_url}/staff/contacts/{data['contact_id']}",
        }

    def _new_referral(self, data: Mapping[str, Any]) -> dict[str, Any]:
        centre = self.centre_name(data["centre_id"])
        urgency = data.get("urgency") or c.ROUTINE
        headline = "URGENT referral" if urgency == c.URGENT else HEADLINES[c.SLA_STARTED]
        return {
            "template": "referral_new",
            "headline": headline,
            "title": f"{data['reference']} for {centre}",
            "reference": data["reference"],
            "centre": centre,
            "area": data["area"],
            "urgency": URGENCY_LABELS.get(urgency, urgency),
            "services": [label(code) for code in data.get("support_needed") or ()],
            "received": london(data["received_at"]),
            "due": london(data["due_at"]),
            "target": labels.working_days(data["target_working_days"]),
            "link": f"{self.web_base_url}/staff/contacts/{data['contact_id']}",
        }

    def render_for_partner(
        self, notification: Notification, facts: ReferralFacts | AgencyFacts, now: datetime
    ) -> RenderedMessage:
        """A partner's notice: what became of its referral (no family details), or of its webhooks."""
        data = notification.data
        if notification.event_type == c.AGENCY_WEBHOOK_FAILING:
            return self._webhook_failing(data, facts.agency_name)
        if notification.event_type == c.SLA_STARTED:
            news = referrals.RECEIVED
        else:
            news = referrals.change_of(notification.event_type, data) or referrals.RESPONDED
        centre = self.centre_name(data["centre_id"])
        item = {
            "news": news,
            "headline": PARTNER_NEWS[news],
            "reference": data["reference"],
            "centre": centre,
            "agency": facts.agency_name,
            "due": london(data["due_at"]) if data.get("due_at") else None,
            "decline_reason": facts.decline_reason if news == referrals.DECLINED else None,
            "decline_label": labels.DECLINE_REASONS.get(facts.decline_reason_code or "other"),
            # A code from the event, never words: staff write none for a withdrawal.
            "withdraw_label": withdraw_label(data.get("reason_code"))
            if news == referrals.WITHDRAWN
            else None,
            # The change's own time; a receipt's is when the referral came in, not when this is sent.
            "when": london(data.get("occurred_at") or data.get("received_at") or now),
            "link": f"{self.web_base_url}/partners/referrals/{data['contact_id']}",
        }
        return self._render(
            "referral_update", f"{item['headline']}: {data['reference']} for {centre}", item=item
        )

    def _webhook_failing(self, data: Mapping[str, Any], agency_name: str) -> RenderedMessage:
        code = data.get("last_status_code")
        item = {
            "agency": agency_name,
            "since": london(data["failing_since"]),
            "failures": data["consecutive_failures"],
            "answer": f"HTTP {code}" if code else (data.get("error_kind") or "no answer").replace("_", " "),
        }
        return self._render("webhook_failing", "Your webhook receiver is failing", item=item)

    def _digest(
        self, notification: Notification, items: Sequence[Notification], now: datetime
    ) -> RenderedMessage:
        facts = [self.item(n.event_type, n.data, now) for n in items]
        day = london_day(date.fromisoformat(notification.data["day"]))
        count = len(facts)
        subject = f"Daily digest for {day}: {count} notification{'' if count == 1 else 's'}"
        return self._render("digest", subject, items=facts, day=day)

    def _group(self, items: Sequence[Notification], now: datetime) -> RenderedMessage:
        """Notices that came close together, one line each: reference, centre, due date."""
        facts = [self.item(n.event_type, n.data, now) for n in items]
        by_headline: dict[str, int] = {}
        for fact in facts:
            by_headline[fact["headline"]] = by_headline.get(fact["headline"], 0) + 1
        counts = ", ".join(f"{count} {headline.lower()}" for headline, count in by_headline.items())
        count = len(facts)
        subject = f"{count} contact notice{'' if count == 1 else 's'}: {counts}"
        return self._render("group", subject, items=facts, count=count)

    def _render(self, template: str, subject: str, **context: Any) -> RenderedMessage:
        context["subject"] = subject
        text = self.env.get_template(f"{template}.txt").render(**context)
        html = self.env.get_template(f"{template}.html").render(**context)
        return RenderedMessage(subject=subject, text=text, html=html)
