"""The names every service agrees on: topics, event types, channels, areas.

One place for each vocabulary, so a producer and its consumers cannot drift.
The data schema of each event type lives in `events.py`'s registry.
"""

from __future__ import annotations

# Topics. Keys are aggregate ids (centre id, contact id), so one aggregate's
# events stay in order within a partition.
CENTRES_TOPIC = "centres"
CONTACTS_TOPIC = "contacts"
SLA_TOPIC = "sla"
DEAD_LETTER_TOPIC = "dead-letter"
ALL_TOPICS = (CENTRES_TOPIC, CONTACTS_TOPIC, SLA_TOPIC, DEAD_LETTER_TOPIC)

# Event types, versioned.
CENTRE_CREATED = "centre.created.v1"
CENTRE_UPDATED = "centre.updated.v1"
CENTRE_VERIFIED = "centre.verified.v1"
CENTRE_CLOSED = "centre.closed.v1"
CENTRE_STALE = "directory.centre_stale.v1"

CONTACT_RECEIVED = "contact.received.v1"
CONTACT_ASSIGNED = "contact.assigned.v1"
CONTACT_RESPONDED = "contact.responded.v1"
CONTACT_CLOSED = "contact.closed.v1"
CONTACT_WITHDRAWN = "contact.withdrawn.v1"
# Waiting on someone else: the SLA clock stops while paused (reason code below).
CONTACT_PAUSED = "contact.paused.v1"
CONTACT_RESUMED = "contact.resumed.v1"
REFERRAL_OPENED = "referral.opened.v1"
REFERRAL_ACCEPTED = "referral.accepted.v1"
REFERRAL_DECLINED = "referral.declined.v1"
# Contacts erased personal data of a contact (retention, or a subject's request): those who
# keep copies of what they were told about it (the notifier's e-mails) erase theirs. Not a
# lifecycle step, so not in CONTACT_EVENTS; its data names the contact and the parts erased.
CONTACT_PERSONAL_ERASED = "contact.personal_erased.v1"
# An unanswered contact followed its centre into another area (staff moved the centre in the
# directory): its SLA clock's area follows. Not a lifecycle step, so not in CONTACT_EVENTS;
# its data names the contact, its centre and the two areas.
CONTACT_AREA_MOVED = "contact.area_moved.v1"

SLA_STARTED = "sla.started.v1"
SLA_AT_RISK = "sla.at_risk.v1"
SLA_BREACHED = "sla.breached.v1"
SLA_MET = "sla.met.v1"
SLA_RESPONDED_LATE = "sla.responded_late.v1"
# A breached contact still unanswered N working days after its breach, and every N
# working days after that (the escalation ladder's reminders; data.reminder counts them).
SLA_STILL_BREACHED = "sla.still_breached.v1"
# A started referral's due date moved while it runs (a pause ended, a new calendar or target, a
# move into another area): ids, channel, area and the new due_at only (contacts shows partners
# their respond-by date from sla.started and this).
SLA_DUE_MOVED = "sla.due_moved.v1"

# A partner agency's webhook receiver has kept failing (published on the contacts
# topic, key = agency id), so that the agency can be told by e-mail.
AGENCY_WEBHOOK_FAILING = "agency.webhook_failing.v1"
# A partner's notice is addressed to a role, "<role>:<id>" (the notifier asks its address at send time).
RECIPIENT_AGENCY_OF = "agency-of"  # a referral's agency (its notification address), by contact id
RECIPIENT_REFERRER_OF = "referrer-of"  # the professional who referred, by contact id
RECIPIENT_AGENCY = "agency"  # an agency by its own id

CENTRE_EVENTS = (CENTRE_CREATED, CENTRE_UPDATED, CENTRE_VERIFIED, CENTRE_CLOSED)
CONTACT_EVENTS = (
    CONTACT_RECEIVED,
    CONTACT_ASSIGNED,
    CONTACT_RESPONDED,
    CONTACT_CLOSED,
    CONTACT_WITHDRAWN,
    CONTACT_PAUSED,
    CONTACT_RESUMED,
    REFERRAL_OPENED,
    REFERRAL_ACCEPTED,
    REFERRAL_DECLINED,
)
SLA_EVENTS = (
    SLA_STARTED,
    SLA_DUE_MOVED,
    SLA_AT_RISK,
    SLA_BREACHED,
    SLA_STILL_BREACHED,
    SLA_MET,
    SLA_RESPONDED_LATE,
    CENTRE_STALE,
)
# What contacts reads of the sla topic: a referral's due date, for its agency (respond_by).
DUE_DATE_EVENTS = (SLA_STARTED, SLA_DUE_MOVED)
AGENCY_EVENTS = (AGENCY_WEBHOOK_FAILING,)

# A contact's statuses: the contacts service moves them, the others read them.
CONTACT_STATUS_RECEIVED = "received"
CONTACT_STATUS_ASSIGNED = "assigned"
CONTACT_STATUS_RESPONDED = "responded"
CONTACT_STATUS_CLOSED = "closed"
CONTACT_STATUS_WITHDRAWN = "withdrawn"
CONTACT_STATUSES = (
    CONTACT_STATUS_RECEIVED,
    CONTACT_STATUS_ASSIGNED,
    CONTACT_STATUS_RESPONDED,
    CONTACT_STATUS_CLOSED,
    CONTACT_STATUS_WITHDRAWN,
)
CONTACT_OPEN_STATUSES = (CONTACT_STATUS_RECEIVED, CONTACT_STATUS_ASSIGNED, CONTACT_STATUS_RESPONDED)
CONTACT_UNANSWERED_STATUSES = (CONTACT_STATUS_RECEIVED, CONTACT_STATUS_ASSIGNED)  # the SLA clock runs
CONTACT_ENDED_STATUSES = (CONTACT_STATUS_CLOSED, CONTACT_STATUS_WITHDRAWN)

# Contact channels, as the service standards name them.
LETTER = "letter"
TELEPHONE = "telephone"
EMAIL = "email"
REFERRAL = "referral"
CHANNELS = (LETTER, TELEPHONE, EMAIL, REFERRAL)
STAFF_CHANNELS = (LETTER, TELEPHONE, EMAIL)  # what staff log; partners post referrals

# The children's centres serve families with children under five (the statement of service): a
# child's age is 0 to 4 in whole years, or 0 to 59 in months. A referral is for such a child,
# and the public search offers those ages, whatever ages partners' own services take.
UNDER_AGE_YEARS = 5
CHILD_AGE_YEARS = range(UNDER_AGE_YEARS)
CHILD_AGE_MONTHS = range(UNDER_AGE_YEARS * 12)

# How staff answered a contact (a referral's decision answers it too: ccshared.referrals).
IN_PERSON = "in_person"
RESPONSE_METHODS = (LETTER, TELEPHONE, EMAIL, IN_PERSON)
# How the person who wrote or telephoned asked to be answered.
POST = "post"
REPLY_BY = (POST, TELEPHONE, EMAIL)

# An SLA clock's states: the SLA monitor keeps the clocks, the front end shows them.
CLOCK_AWAITING_RECEIPT = "awaiting_receipt"  # an answer came before the contact's own event
CLOCK_OPEN = "open"
CLOCK_AT_RISK = "at_risk"
CLOCK_PAUSED = "paused"
CLOCK_BREACHED = "breached"
CLOCK_MET = "met"
CLOCK_RESPONDED_LATE = "responded_late"
CLOCK_WITHDRAWN = "withdrawn"
CLOCK_STATES = (
    CLOCK_AWAITING_RECEIPT,
    CLOCK_OPEN,
    CLOCK_AT_RISK,
    CLOCK_PAUSED,
    CLOCK_BREACHED,
    CLOCK_MET,
    CLOCK_RESPONDED_LATE,
    CLOCK_WITHDRAWN,
)
CLOCK_RUNNING = (CLOCK_OPEN, CLOCK_AT_RISK, CLOCK_PAUSED, CLOCK_BREACHED)  # the clock list shows these

# Why a referral was declined (the free-text reason is kept as well).
DECLINE_REASONS = (
    "not_eligible",
    "outside_area",
    "service_not_offered",
    "family_declined",
    "duplicate",
    "other",
)

# Why a contact was closed or withdrawn. Codes only, never words: the code travels in
# the contact's closed or withdrawn event, which nothing erases. (Events written
# before these lists carry other codes; readers take any code.)
CLOSE_REASONS = (
    "answered",
    "no_further_action",
    "family_not_reachable",
    "referred_elsewhere",
    "no_longer_needed",
    "duplicate",
    "other",
)
WITHDRAW_REASONS = (
    "logged_in_error",
    "duplicate",
    "no_longer_needed",
    "family_withdrew",
    "other",
)

# Subject access requests (UK GDPR): what a person is looked for by, and the
# grounds on which their contacts are erased on request (article 17).
SUBJECT_ACCESS_IDENTIFIERS = ("name", "phone", "email", "postcode")
ERASURE_REASONS = (
    "erasure_request",
    "consent_withdrawn",
    "objection",
    "no_longer_needed",
    "unlawful_processing",
)
# What an erasure cleared (contact.personal_erased's parts): all of the contact's personal
# data, or only one person's part of a referral (its referrer's, its consent recorder's).
ERASED_ALL = "all"
ERASED_REFERRER = "referrer"
ERASED_CONSENT_RECORDER = "consent_recorded_by"
ERASED_PARTS = (ERASED_ALL, ERASED_REFERRER, ERASED_CONSENT_RECORDER)
# The store's scrub after an erasure on request (the erase answer's `scrub`): done, or owed
# when it failed; the erasure stands either way, and the contacts worker retries an owed scrub.
ERASURE_SCRUB_DONE = "done"
ERASURE_SCRUB_OWED = "owed"
ERASURE_SCRUBS = (ERASURE_SCRUB_DONE, ERASURE_SCRUB_OWED)

# The states every outgoing-delivery queue shares (the notifier's e-mails,
# contacts' webhooks); each adds its own end states.
DELIVERY_PENDING = "pending"
DELIVERY_SENDING = "sending"
DELIVERY_RETRYING = "retrying"
DELIVERY_FAILED = "failed"
DELIVERY_DUE_STATUSES = (DELIVERY_PENDING, DELIVERY_RETRYING)  # what a delivery loop picks up

# A notification's statuses in the notifier's delivery log (the staff pages filter by them).
NOTIFICATION_SENT = "sent"
NOTIFICATION_HELD = "held"  # for a digest reader's next digest
NOTIFICATION_DIGESTED = "digested"
NOTIFICATION_SKIPPED = "skipped"  # no address to send to
NOTIFICATION_WAITING = "waiting"  # for its recipient's next group mail
NOTIFICATION_GROUPED = "grouped"
NOTIFICATION_STATUSES = (
    DELIVERY_PENDING,
    DELIVERY_SENDING,
    DELIVERY_RETRYING,
    NOTIFICATION_SENT,
    DELIVERY_FAILED,
    NOTIFICATION_HELD,
    NOTIFICATION_DIGESTED,
    NOTIFICATION_SKIPPED,
    NOTIFICATION_WAITING,
    NOTIFICATION_GROUPED,
)

# What was done to a centre's entry: each raises its event above, and its audit
# record (which the staff pages show) names it.
CENTRE_ACTION_CREATED = "created"
CENTRE_ACTION_UPDATED = "updated"
CENTRE_ACTION_VERIFIED = "verified"
CENTRE_ACTION_CLOSED = "closed"
CENTRE_ACTIONS = (CENTRE_ACTION_CREATED, CENTRE_ACTION_UPDATED, CENTRE_ACTION_VERIFIED, CENTRE_ACTION_CLOSED)

# How the directory's last fetch of a partner's feed went (the staff pages show it).
FEED_IMPORTED = "imported"
FEED_NOT_MODIFIED = "not_modified"
FEED_FAILED = "failed"
FEED_RESULTS = (FEED_IMPORTED, FEED_NOT_MODIFIED, FEED_FAILED)

# A service's status in Open Referral UK: the directory publishes its centres'
# and shows partners' services only while active.
ORUK_ACTIVE = "active"
ORUK_INACTIVE = "inactive"
ORUK_DEFUNCT = "defunct"
ORUK_TEMPORARILY_CLOSED = "temporarily closed"
ORUK_STATUSES = (ORUK_ACTIVE, ORUK_INACTIVE, ORUK_DEFUNCT, ORUK_TEMPORARILY_CLOSED)

# How the directory's centre search placed a postcode (its located_by; the find page says it).
LOCATED_BY_POSTCODE = "postcode"  # at the postcode's own coordinates (geocoded)
LOCATED_BY_DISTRICT_MIDDLE = "district_middle"  # at the middle of its district's known centres
LOCATED_BY_DISTRICT = "district"  # not placed: its district matched exactly, no distances

# The days of a centre's week, Monday first.
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

# How soon a partner's referral needs an answer.
ROUTINE = "routine"
SOON = "soon"
URGENT = "urgent"
URGENCIES = (ROUTINE, SOON, URGENT)

# Why a contact is paused: who it is waiting on.
WAITING_ON_FAMILY = "waiting_on_family"
WAITING_ON_PARTNER = "waiting_on_partner"
PAUSE_REASONS = (WAITING_ON_FAMILY, WAITING_ON_PARTNER)

# A referral's status as its referrer follows it. The first four are the
# referral's own decision; the last two come from its contact (answered by
# another means without a decision, or withdrawn before an answer).
REFERRAL_STATUS_NEW = "new"
REFERRAL_STATUS_OPENED = "opened"
REFERRAL_STATUS_ACCEPTED = "accepted"
REFERRAL_STATUS_DECLINED = "declined"
REFERRAL_STATUS_RESPONDED = "responded"
REFERRAL_STATUS_WITHDRAWN = "withdrawn"
REFERRAL_STATUSES = (
    REFERRAL_STATUS_NEW,
    REFERRAL_STATUS_OPENED,
    REFERRAL_STATUS_ACCEPTED,
    REFERRAL_STATUS_DECLINED,
    REFERRAL_STATUS_RESPONDED,
    REFERRAL_STATUS_WITHDRAWN,
)

# What anonymous callers of the compliance report see in place of a count (the SLA monitor
# writes them, the public "How we are doing" page reads them): a count from 1 to 4, and a
# cell withheld only because a small count could be worked out from it, whatever its size.
FEWER_THAN_5 = "fewer than 5"
WITHHELD = "withheld"
HIDDEN_COUNTS = (FEWER_THAN_5, WITHHELD)

# The three area coordinators' areas of the city.
NORTH = "north"
CENTRAL = "central"
SOUTH = "south"
AREAS = (NORTH, CENTRAL, SOUTH)

# Centre statuses.
CENTRE_OPEN = "open"
CENTRE_TEMPORARILY_CLOSED = "temporarily_closed"
CENTRE_CLOSED_STATUS = "closed"
CENTRE_STATUSES = (CENTRE_OPEN, CENTRE_TEMPORARILY_CLOSED, CENTRE_CLOSED_STATUS)

# Staff roles, carried in the signed staff token.
ROLE_STAFF = "staff"
ROLE_COORDINATOR = "coordinator"
ROLE_PRINCIPAL = "principal_officer"
ROLE_ADMIN = "admin"
ROLES = (ROLE_STAFF, ROLE_COORDINATOR, ROLE_PRINCIPAL, ROLE_ADMIN)
# Staff who look after an area or the whole city, not one centre: they change centres' entries and
# hide partners' services (the directory), and read the delivery log and send a failed e-mail again
# (the notifier); each service still limits a coordinator to their own area.
OVERSIGHT_ROLES = (ROLE_COORDINATOR, ROLE_PRINCIPAL, ROLE_ADMIN)
# Who a partner agency's step names in the contacts service's audit trail and
# histories: `agency:<agency id>` for its own software (an API key), and
# `partner:<username>@<agency id>` for one of its users on the partner pages.
AGENCY_ACTOR = "agency"
PARTNER_ACTOR = "partner"
# Who a step names when no person took it: the system following another service's event
# (a contact moved with its centre into another area).
SYSTEM_ACTOR = "system"
# Not staff: a partner agency's user of the partner pages (the token names the
# agency), and one service calling another's internal API. Staff endpoints take
# ROLES only, so neither passes them.
ROLE_PARTNER = "partner"
ROLE_SERVICE = "service"
TOKEN_ROLES = (*ROLES, ROLE_PARTNER, ROLE_SERVICE)

# The parts of the system by name: each service is the audience of the tokens
# made for it, and the front end is the issuer of staff tokens.
SERVICE_WEB = "web"
SERVICE_DIRECTORY = "directory"
SERVICE_CONTACTS = "contacts"
SERVICE_SLA_MONITOR = "sla-monitor"
SERVICE_NOTIFIER = "notifier"
