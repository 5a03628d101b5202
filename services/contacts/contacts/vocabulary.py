"""The contacts service's own vocabularies, in one place.

Channels and areas are shared contracts (ccshared.contracts); the rest belongs
to this service alone.
"""

from __future__ import annotations

from ccshared import contracts as c
from ccshared.referrals import DECISION_METHOD

# Contact statuses.
RECEIVED = "received"
ASSIGNED = "assigned"
RESPONDED = "responded"
CLOSED = "closed"
WITHDRAWN = "withdrawn"
STATUSES = (RECEIVED, ASSIGNED, RESPONDED, CLOSED, WITHDRAWN)
OPEN_STATUSES = (RECEIVED, ASSIGNED, RESPONDED)
ENDED_STATUSES = (CLOSED, WITHDRAWN)

# How a contact was answered.
RESPONSE_METHODS = ("letter", "telephone", "email", "in_person", DECISION_METHOD)

# Why a referral was declined (the free-text reason is kept as well).
DECLINE_REASONS = (
    "not_eligible",
    "outside_area",
    "service_not_offered",
    "family_declined",
    "duplicate",
    "other",
)

# First letter of a contact's reference, by channel.
REFERENCE_LETTERS = {c.LETTER: "L", c.TELEPHONE: "T", c.EMAIL: "E", c.REFERRAL: "R"}

# Audit actions.
AUDIT_READ = "read_personal_data"
AUDIT_AGENCY_READ = "agency_read"
AUDIT_ERASE = "erase_personal_data"
AUDIT_SERVICE_READ = "service_read"  # another service read it to do its job (the notifier, to send)
