"""What a referrer is told: which contact events are a change its referrer hears of.

One rule for every service that tells partners (the notifier's e-mails, the
contacts service's webhooks), so they cannot disagree about what happened.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import contracts as c

RECEIVED = "received"
OPENED = "opened"
ACCEPTED = "accepted"
DECLINED = "declined"
RESPONDED = "responded"
WITHDRAWN = "withdrawn"
# Staff paused the referral to wait on its partner: the agency is asked for something.
WAITING_ON_PARTNER = c.WAITING_ON_PARTNER
CHANGES = (RECEIVED, OPENED, ACCEPTED, DECLINED, RESPONDED, WITHDRAWN, WAITING_ON_PARTNER)

_BY_TYPE = {
    c.CONTACT_RECEIVED: RECEIVED,
    c.REFERRAL_OPENED: OPENED,
    c.REFERRAL_ACCEPTED: ACCEPTED,
    c.REFERRAL_DECLINED: DECLINED,
    c.CONTACT_RESPONDED: RESPONDED,
    c.CONTACT_WITHDRAWN: WITHDRAWN,
}
# Accepting or declining answers the contact too; that answer is not news of its own.
DECISION_METHOD = "referral_outcome"


def change_of(event_type: str, data: Mapping[str, Any]) -> str | None:
    """The change a referrer hears of for this contact event, or None (not a referral, or no news:
    a pause waiting on the family, a resume)."""
    if data.get("channel") != c.REFERRAL:
        return None
    if event_type == c.CONTACT_PAUSED:
        return WAITING_ON_PARTNER if data.get("reason_code") == c.WAITING_ON_PARTNER else None
    change = _BY_TYPE.get(event_type)
    if change == RESPONDED and data.get("response_method") == DECISION_METHOD:
        return None
    return change
