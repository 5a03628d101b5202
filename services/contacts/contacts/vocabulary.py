"""The contacts service's own vocabularies, in one place.

Channels and areas are shared contracts (ccshared.contracts); the rest belongs
to this service alone.
"""

from __future__ import annotations

from ccshared import contracts as c
from ccshared.referrals import DECISION_METHOD

# Contact statuses (shared contracts: the front end reads them too).
RECEIVED = c.CONTACT_STATUS_RECEIVED
ASSIGNED = c.CONTACT_STATUS_ASSIGNED
RESPONDED = c.CONTACT_STATUS_RESPONDED
CLOSED = c.CONTACT_STATUS_CLOSED
WITHDRAWN = c.CONTACT_STATUS_WITHDRAWN
STATUSES = c.CONTACT_STATUSES
OPEN_STATUSES = c.CONTACT_OPEN_STATUSES
UNANSWERED_STATUSES = c.CONTACT_UNANSWERED_STATUSES  # the SLA clock runs (unless paused)
ENDED_STATUSES = c.CONTACT_ENDED_STATUSES

# How a contact was answered.
RESPONSE_METHODS = (*c.RESPONSE_METHODS, DECISION_METHOD)

# Why a referral was declined (shared: the front end labels them).
DECLINE_REASONS = c.DECLINE_REASONS

# Why a contact was closed or withdrawn (shared: codes only, they travel in events).
CLOSE_REASONS = c.CLOSE_REASONS
WITHDRAW_REASONS = c.WITHDRAW_REASONS

# First letter of a contact's reference, by channel.
REFERENCE_LETTERS = {c.LETTER: "L", c.TELEPHONE: "T", c.EMAIL: "E", c.REFERRAL: "R"}

# Audit actions.
AUDIT_READ = "read_personal_data"
AUDIT_AGENCY_READ = "agency_read"
AUDIT_ERASE = "erase_personal_data"
AUDIT_SERVICE_READ = "service_read"  # another service read it to do its job (the notifier, to send)
AUDIT_SUBJECT_SEARCH = "subject_access_search"  # an admin searched for a person's contacts
AUDIT_SUBJECT_EXPORT = "subject_access_export"  # the contact was in a subject access export
AUDIT_PAUSE = "pause"  # staff stopped the clock to wait on the family or a partner
AUDIT_RESUME = "resume"
AUDIT_DECLINE = "decline_referral"  # staff wrote a decline reason (personal data) for the agency

# Why an admin erased a person's contacts on request (UK GDPR article 17 grounds).
ERASURE_REASONS = c.ERASURE_REASONS
# The store's scrub after an erasure on request: done, or owed (the worker retries it).
SCRUB_DONE = c.ERASURE_SCRUB_DONE
SCRUB_OWED = c.ERASURE_SCRUB_OWED
SCRUBS = c.ERASURE_SCRUBS
