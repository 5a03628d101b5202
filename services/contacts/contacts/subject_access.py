"""Subject access requests (UK GDPR articles 15 and 17), for administrators.

A search finds the contacts and referrals about a person through their blind
indexes (blind_index.py), decrypts only those, and gives them back as one
readable export. Each contact gives the person their own part of it
(personal_parts.py): a referrer is not handed the family's details, and the
export says what was left out as other people's. Each search is written to
the audit log with the kinds of identifier asked about and the contacts
found, never the values; each contact exported gets its own entry, so its
audit trail shows the disclosure. Erasure
on request of the person a contact is about clears its personal data and blind
index, as retention does; on request of the referrer or consent recorder only,
it clears their part and re-indexes the rest. Either way it records the ground,
the council's case reference and the part erased.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from ccshared.errors import InvalidInput
from ccshared.outbox import VersionConflict
from ccshared.timeutil import to_str

from . import personal_parts as parts
from . import vocabulary as v
from .blind_index import InvalidQuery, Query
from .domain import Contact, Transition
from .repository import SAVE_ATTEMPTS
from .scrubbing import OwedScrub, ScrubOwed
from .service import ContactRecords, envelopes

# A person has a handful of contacts; more than this means the search is too broad to be about one.
MAX_FOUND = 500
BATCH = 200
ABOUT = (
    "Every contact and referral the Children's Centres contacts service holds about the person "
    "searched for, with who has read each one. Times are UTC: a step's at is when it was recorded, "
    "and its dated, when given, the earlier date entered for it (an answer given before it was "
    "logged). Each contact's details hold only the person's own part of it (found_as says who they "
    "are in it); other people's details in the record (a referral's family, referrer or consent "
    "recorder) are left out, and left_out names those fields. Words staff or a referrer wrote (a "
    "subject, summary, notes, a pause's note, a decline reason) may name other people too: "
    "free_text lists where each is, to read before the copy is given, taking out anyone else's details."
)
# The fields written in words, not chosen: what a person's copy may hold of someone else.
FREE_TEXT = frozenset({"subject", "summary", "notes", "note", "decline_reason"})
CASE_REFERENCE = re.compile(r"^(?=[^0-9]*[0-9])[A-Za-z0-9][A-Za-z0-9/-]{0,39}$")
CASE_REFERENCE_RULE = (
    "a case number: letters, digits, / and - only, with a digit, up to 40 (e.g. SAR/2026/0042)"
)


@dataclass(frozen=True)
class Erasure:
    erased: list[str]
    already_erased: list[str]
    not_found: list[str]
    not_matched: list[str]  # the person asked about is not (or no longer) in these contacts
    parts: dict[str, list[str]]  # each contact erased: the parts cleared, or ["all"]
    scrub: str = v.SCRUB_DONE  # or SCRUB_OWED: the store's scrub failed, and the worker retries it


@dataclass(eq=False, kw_only=True)
class SubjectAccess(ContactRecords):
    # Erasing a contact forgets its Idempotency-Key record too (`requests`), and `scrub` clears
    # the bytes its old document left in the store's files (owed until it succeeds: the worker
    # retries it, and a retry of the request finds the contacts already erased, and scrubs).
    scrub: OwedScrub

    def search(self, who: str, asked: Query) -> dict[str, Any]:
        """The export: every contact about the person asked for (audited)."""
        alternatives = [self.index.digests(terms) for _, terms in asked.alternatives()]
        candidates = self.contacts.holding(alternatives, MAX_FOUND + 1)
        if len(candidates) > MAX_FOUND:
            message = f"more than {MAX_FOUND} contacts match; give the full name or another identifier"
            raise InvalidInput(message, fields={asked.kinds[0]: [message]})
        # A name's words may be spread over different people in one contact: keep
        # only contacts in which one person matches.
        found = []
        for contact in candidates:
            personal = self._decrypt(contact.personal)
            matched = self.index.matched(personal, asked)
            if matched:
                found.append((contact, personal, matched))
        now = self.clock.now()
        search_id = str(uuid.uuid4())
        details = {"searched": asked.kinds, "found": len(found), "contact_ids": [c.id for c, _, _ in found]}
        self.audit.record(search_id, who, v.AUDIT_SUBJECT_SEARCH, None, now, details)
        for contact, _, _ in found:
            self.audit.record(
                str(uuid.uuid4()), who, v.AUDIT_SUBJECT_EXPORT, contact.id, now, {"search_id": search_id}
            )
        names = {centre.id: centre.name for centre in self.centres.all()}
        return {
            "about": ABOUT,
            "search_id": search_id,
            "generated_at": to_str(now),
            "generated_by": who,
            "searched_for": asked.kinds,
            "count": len(found),
            "contacts": [self._entry(c, personal, matched, names) for c, personal, matched in found],
        }

    def erase(
        self,
        who: str,
        asked: Query,
        contact_ids: Sequence[str],
        reason: str,
        case_reference: str | None = None,
    ) -> Erasure:
        """Erase the asker's data from each contact named (audited): all of it when the contact is
        about them, else only their part (as referrer or consent recorder)."""
        check_case_reference(case_reference)
        result = Erasure([], [], [], [], {})
        for contact_id in dict.fromkeys(contact_ids):
            outcome, erased = self._erase_one(who, asked, contact_id, reason, case_reference)
            getattr(result, outcome).append(contact_id)
            if erased:
                result.parts[contact_id] = erased
        if result.erased:
            self.scrub.owe()
        return replace(result, scrub=self._pay_scrub())

    def _pay_scrub(self) -> str:
        """Pay the scrub owed, by this request or an earlier erasure. A scrub that fails leaves the
        erasure written and the scrub owed (its mark kept for the worker): the answer says so, not
        an error that would read as a failed erasure."""
        try:
            self.scrub.pay()
        except ScrubOwed:
            return v.SCRUB_OWED
        return v.SCRUB_DONE

    def backfill(self, *, everything: bool = False) -> int:
        """Index contacts written before blind indexes (or all, after a key change); return how many."""
        indexed, after = 0, ""
        while batch := self.contacts.with_personal_data(after, BATCH, unindexed_only=not everything):
            for contact in batch:
                indexed += self._reindex(contact)
            after = batch[-1].id
        return indexed

    def _reindex(self, contact: Contact) -> int:
        for _ in range(SAVE_ATTEMPTS):
            contact.blind_index = self.index.of_personal(self._decrypt(contact.personal))
            try:
                self.contacts.save(contact, [])
                return 1
            except VersionConflict:
                fresh = self.contacts.get(contact.id)
                if fresh is None or fresh.personal is None:
                    return 0
                contact = fresh
        raise VersionConflict(contact.id, contact.version)

    def _erase_one(
        self, who: str, asked: Query, contact_id: str, reason: str, case_reference: str | None
    ) -> tuple[str, list[str]]:
        for _ in range(SAVE_ATTEMPTS):
            contact = self.contacts.get(contact_id)
            if contact is None:
                return "not_found", []
            if contact.personal_erased_at is not None:
                return "already_erased", []
            personal = self._decrypt(contact.personal)
            roles = list(self.index.matched(personal, asked))
            if not roles:
                return "not_matched", []
            now = self.clock.now()
            if parts.about_them(roles):
                erased = [parts.WHOLE]
                contact.erase_personal_data(now)
            else:
                erased = roles
                kept = parts.without(personal, roles)
                contact.erase_people(roles, self.cipher.encrypt(kept), self.index.of_personal(kept))
            self.scrub.owe()
            try:
                self.contacts.save(contact, envelopes(self.contacts, contact, now))
            except VersionConflict:
                continue
            if erased == [parts.WHOLE]:
                self.requests.forget(contact_id)
            details = {
                "reason": reason,
                "case_reference": case_reference,
                "on_request": True,
                "parts": erased,
            }
            self.audit.record(str(uuid.uuid4()), who, v.AUDIT_ERASE, contact_id, now, details)
            return "erased", erased
        raise VersionConflict(contact_id, -1)

    def _decrypt(self, token: str | None) -> Any:
        return self.cipher.decrypt(token) if token else None

    def _entry(
        self, contact: Contact, personal: Any, matched: dict[str, list[str]], centre_names: dict[str, str]
    ) -> dict[str, Any]:
        referral = contact.referral
        about_them = parts.about_them(matched)
        details, left_out = parts.own_part(personal or {}, matched)
        entry = {
            "id": contact.id,
            "reference": contact.reference,
            "channel": contact.channel,
            "centre": {"id": contact.centre_id, "name": centre_names.get(contact.centre_id)},
            "area": contact.area,
            "received_at": to_str(contact.received_at),
            "created_at": to_str(contact.created_at),
            "created_by": contact.created_by,
            "urgency": contact.urgency,
            "status": contact.status,
            "assignee": contact.assignee,
            "responded_at": _when(contact.responded_at),
            "response_method": contact.response_method,
            "ended_at": _when(contact.ended_at),
            "found_as": matched,
            "details": details,
            "left_out": left_out + ([] if about_them else _about_the_family(contact)),
            "referral": None
            if referral is None
            else {
                "agency": {"id": referral.agency_id, "name": referral.agency_name},
                "urgency": referral.urgency,
                "support_needed": list(referral.support_needed),
                "status": contact.referral_status,
                "decline_reason_code": referral.decline_reason_code,
                "decline_reason": self._decrypt(referral.decline_reason) if about_them else None,
                "decided_at": _when(referral.decided_at),
                "routing": referral.routing,
                "history": _history(contact.referral_history),
            },
            "pauses": [
                {
                    "paused_at": to_str(pause.paused_at),
                    "paused_by": pause.paused_by,
                    "reason_code": pause.reason_code,
                    "note": self._decrypt(pause.note) if about_them else None,
                    "resumed_at": _when(pause.resumed_at),
                    "resumed_by": pause.resumed_by,
                }
                for pause in contact.pauses
            ],
            "history": _history(contact.history),
            "access_log": [
                {"at": entry["at"], "who": entry["who"], "action": entry["action"]}
                for entry in self.audit.for_contact(contact.id)
            ],
        }
        return entry | {"free_text": _free_text(entry)}


def _free_text(value: Any, path: str = "") -> list[str]:
    """Where an export entry holds words someone wrote (`FREE_TEXT`), as dotted paths."""
    if isinstance(value, dict):
        found = []
        for key, item in value.items():
            here = f"{path}.{key}" if path else key
            found += [here] if key in FREE_TEXT and isinstance(item, str) and item else _free_text(item, here)
        return found
    if isinstance(value, list):
        return [found for index, item in enumerate(value) for found in _free_text(item, f"{path}[{index}]")]
    return []


def _when(value: datetime | None) -> str | None:
    return to_str(value) if value is not None else None


def _about_the_family(contact: Contact) -> list[str]:
    """What else a referral holds about the family, kept from its referrer's export."""
    held = ["decline_reason"] if contact.referral and contact.referral.decline_reason else []
    return held + (["pause notes"] if any(pause.note for pause in contact.pauses) else [])


def _history(steps: list[Transition]) -> list[dict[str, Any]]:
    return [
        {
            "at": to_str(step.at),
            "dated": _when(step.dated),
            "by": step.by,
            "from": step.from_status,
            "to": step.to_status,
            "action": step.action,
            "assigned_to": step.assigned_to,
            "from_area": step.from_area,
            "to_area": step.to_area,
        }
        for step in steps
    ]


def invalid_query(exc: InvalidQuery) -> InvalidInput:
    """The API's 422, naming the field that cannot be searched for."""
    return InvalidInput(exc.message, fields={exc.field: [exc.message]})


def check_case_reference(case_reference: str | None) -> None:
    """A case reference goes into the audit log area staff read: a case number, never a name."""
    if case_reference is not None and not CASE_REFERENCE.match(case_reference):
        raise InvalidInput(CASE_REFERENCE_RULE, fields={"case_reference": [CASE_REFERENCE_RULE]})
