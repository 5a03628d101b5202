"""Retention: erase the personal data of contacts ended, or answered and never closed,
long enough ago.

The anonymous record (reference, channel, centre, area, times, statuses)
stays for reports; the erasure is written to the audit log and announced
(contact.personal_erased, ids only) so that the notifier erases its copies.
Every other copy goes with it: the contact's Idempotency-Key record (with its
body fingerprint), and, through the store's scrub, the bytes the old document
left in the files: a scrub owed until one succeeds (scrubbing.py), so a run
whose scrub failed is followed by one that scrubs though nothing is left to erase.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from ccshared.outbox import VersionConflict
from ccshared.timeutil import Clock

from . import vocabulary as v
from .idempotency import IdempotentRequests
from .repository import AuditLog, ContactRepository
from .scrubbing import OwedScrub, ScrubOwed
from .service import envelopes

ACTOR = "retention"


def erase_expired(
    contacts: ContactRepository,
    audit: AuditLog,
    requests: IdempotentRequests,
    clock: Clock,
    retention_days: int,
    scrub: OwedScrub,
) -> int:
    """Erase what has passed its retention period, then pay the scrub owed (by this run or an
    earlier one); return how many contacts were erased. Raises ScrubOwed, carrying that count,
    if the scrub fails."""
    now = clock.now()
    cutoff = now - timedelta(days=retention_days)
    erased = 0
    skipped: set[str] = set()
    while True:
        batch = [c for c in contacts.past_retention(cutoff) if c.id not in skipped]
        if not batch:
            if erased:
                scrub.owe()
            try:
                scrub.pay()
            except ScrubOwed as exc:
                exc.erased = erased
                raise
            return erased
        scrub.owe()
        for contact in batch:
            contact.erase_personal_data(now)
            try:
                contacts.save(contact, envelopes(contacts, contact, now))
            except VersionConflict:
                skipped.add(contact.id)
                continue
            requests.forget(contact.id)
            audit.record(str(uuid.uuid4()), ACTOR, v.AUDIT_ERASE, contact.id, now)
            erased += 1
