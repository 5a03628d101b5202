"""The words people read for a shared vocabulary that more than one service shows: the front end's
pages and the notifier's e-mails name a channel or an urgency alike."""

from __future__ import annotations

CHANNELS = {
    "letter": "Letter",
    "telephone": "Telephone message",
    "email": "E-mail",
    "referral": "Partner referral",
}
URGENCIES = {"urgent": "Urgent", "soon": "Soon", "routine": "Routine"}
# Why a centre declined a referral (contracts.DECLINE_REASONS): the partner pages and the referrer's e-mail.
DECLINE_REASONS = {
    "not_eligible": "Not eligible",
    "outside_area": "Outside our area",
    "service_not_offered": "Service not offered",
    "family_declined": "Family declined",
    "duplicate": "Duplicate referral",
    "other": "Other reason",
}
# Why a contact was withdrawn (contracts.WITHDRAW_REASONS): the partner pages and the referrer's e-mail.
WITHDRAW_REASONS = {
    "logged_in_error": "Logged in error",
    "duplicate": "Duplicate referral",
    "no_longer_needed": "No longer needed",
    "family_withdrew": "The family withdrew",
    "other": "Other reason",
}


def working_days(count: int) -> str:
    """'1 working day', '5 working days'."""
    return f"{count} working day{'' if count == 1 else 's'}"
