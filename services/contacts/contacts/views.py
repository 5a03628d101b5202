"""What each kind of reader is shown of a contact, as dicts for the schemas.

The domain objects hold personal data only as encrypted tokens; these views
never copy a token out, and take decrypted data only from a `Reading`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from datetime import datetime
from typing import Any

from ccshared import contracts as c

from .domain import Contact, Pause, Referral, Transition
from .nearest import Choice
from .service import NEAREST, Reading, routing
from .webhooks import Delivery

_CONTACT_FIELDS = (
    "id",
    "reference",
    "channel",
    "centre_id",
    "area",
    "received_at",
    "created_at",
    "status",
    "assignee",
    "responded_at",
    "response_method",
    "ended_at",
    "personal_erased_at",
    "urgency",
)
_REFERRAL_FIELDS = (
    "agency_id",
    "agency_name",
    "status",
    "urgency",
    "support_needed",
    "consent_recorded_at",
    "decline_reason_code",
    "decided_at",
    "routing",
)

# The personal fields of a referral that its agency sent (and may read back).
_SENT_FIELDS = ("referrer", "family", "children", "notes", "consent")


def _referral_summary(referral: Referral | None) -> dict | None:
    if referral is None:
        return None
    return {name: getattr(referral, name) for name in _REFERRAL_FIELDS}


def contact_summary(contact: Contact) -> dict[str, Any]:
    view = {name: getattr(contact, name) for name in _CONTACT_FIELDS}
    pause = contact.pause_now
    view["paused_since"] = pause.paused_at if pause else None
    view["pause_reason"] = pause.reason_code if pause else None
    view["referral"] = _referral_summary(contact.referral)
    view["referral_status"] = contact.referral_status
    return view


# What a download of the contacts list holds: no personal data, no staff notes.
EXPORT_COLUMNS = [
    ("reference", "reference"),
    ("channel", "channel"),
    ("centre_name", "centre"),
    ("centre_id", "centre id"),
    ("area", "area"),
    ("received_at", "received (UK time)"),
    ("responded_at", "responded (UK time)"),
    ("ended_at", "ended (UK time)"),
    ("status", "status"),
    ("urgency", "urgency"),
]


def _steps(history: list[Transition]) -> list[dict[str, Any]]:
    """A status history as dicts. A Transition holds only strings and datetimes, so its
    fields are copied as they are: `asdict` would deep-copy every datetime."""
    return [dict(vars(step)) for step in history]


def contact_export_row(contact: Contact, centre_names: Mapping[str, str]) -> dict[str, Any]:
    """A contact as a row of the download; its centre named as the read model of centres knows it."""
    row = {name: getattr(contact, name) for name, _ in EXPORT_COLUMNS if name != "centre_name"}
    return row | {"centre_name": centre_names.get(contact.centre_id, "")}


def contact_detail(reading: Reading) -> dict[str, Any]:
    contact = reading.contact
    view = contact_summary(contact)
    view["created_by"] = contact.created_by
    view["history"] = _steps(contact.history)
    view["personal"] = reading.personal
    notes = reading.pause_notes or (None,) * len(contact.pauses)
    view["pauses"] = [
        asdict(pause) | {"note": note} for pause, note in zip(contact.pauses, notes, strict=True)
    ]
    if contact.referral is not None:
        view["referral"] |= {
            "decline_reason": reading.decline_reason,
            "history": _steps(contact.referral_history),
        }
    return view


def _waiting_on_partner(contact: Contact) -> Pause | None:
    """The pause the referral is in while staff wait on its agency, if any."""
    pause = contact.pause_now
    return pause if pause is not None and pause.reason_code == c.WAITING_ON_PARTNER else None


def agency_referral(
    contact: Contact, decline_reason: str | None = None, respond_by: datetime | None = None
) -> dict[str, Any]:
    """What an agency is shown of its referral: no assignee, no staff's own notes, and the
    referral status it follows, never the contact's staff status (assigned, closed...).
    `respond_by` is its due date as the SLA monitor announced it (None until heard)."""
    referral = contact.referral
    assert referral is not None
    decided = referral.status in (c.REFERRAL_STATUS_ACCEPTED, c.REFERRAL_STATUS_DECLINED)
    waiting = _waiting_on_partner(contact)
    return {
        "id": contact.id,
        "reference": contact.reference,
        "centre_id": contact.centre_id,
        "received_at": contact.received_at,
        "status": contact.referral_status,
        "referral_status": contact.referral_status,
        "waiting_on_partner_since": waiting.paused_at if waiting else None,
        "outcome": referral.status if decided else None,
        "decline_reason_code": referral.decline_reason_code,
        "decline_reason": decline_reason,
        "decided_at": referral.decided_at,
        "withdraw_reason_code": contact.withdraw_reason_code,
        "urgency": referral.urgency,
        "respond_by": respond_by,
        "support_needed": referral.support_needed,
        "routing": referral.routing,
        "history": _steps(contact.referral_history),
        "personal_erased_at": contact.personal_erased_at,
    }


def agency_referral_detail(reading: Reading, respond_by: datetime | None = None) -> dict[str, Any]:
    """One referral for its agency, with what the agency itself sent (None once erased) and,
    while staff wait on the agency, the note saying what for (written for the agency to read)."""
    contact, personal = reading.contact, reading.personal
    sent = {name: personal[name] for name in _SENT_FIELDS if name in personal} if personal else None
    # The pause it waits in is the last (Contact.pause_now); its note is the last decrypted.
    waiting = _waiting_on_partner(contact)
    shown = waiting is not None and waiting.note_for_partner and reading.pause_notes
    note = reading.pause_notes[-1] if shown else None
    return agency_referral(contact, reading.decline_reason, respond_by) | {
        "sent": sent,
        "waiting_on_partner_note": note,
    }


def page(items: list[dict], total: int, page_number: int, per_page: int) -> dict[str, Any]:
    return {"items": items, "total": total, "page": page_number, "per_page": per_page}


def nearest_centre(choice: Choice) -> dict[str, Any]:
    return {
        "centre_id": choice.centre.id,
        "centre_name": choice.centre.name,
        "area": choice.centre.area,
        "offers_all": choice.offers_all,
        "routing": routing(NEAREST, choice.reason, choice.missing, choice.distance_km),
    }


def webhook_delivery(delivery: Delivery) -> dict[str, Any]:
    return {
        "id": delivery.id,
        "agency_id": delivery.agency_id,
        "referral_id": delivery.contact_id,
        "reference": delivery.reference,
        "type": delivery.type,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "last_status_code": delivery.last_status_code,
        "last_error": delivery.last_error,
        "created_at": delivery.created_at,
        "next_attempt_at": delivery.next_attempt_at,
        "delivered_at": delivery.delivered_at,
    }
