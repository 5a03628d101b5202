"""Repositories over ccshared.store: contacts (with their outbox), the centre
read model, partner agencies, the audit log and idempotency records."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from ccshared import contracts as c
from ccshared.aggregate import state_doc, state_values
from ccshared.outbox import OUTBOX, VERSION, AggregateStore, VersionConflict
from ccshared.store import Collection, Document, DuplicateKey, Filter, Store
from ccshared.timeutil import Clock, from_str, to_str

from . import vocabulary as v
from .config import SERVICE
from .domain import Centre, Contact, Pause, Referral, Transition

CONTACTS = "contacts"
CENTRES = "centres"
DUE_DATES = "due_dates"
AGENCIES = "agencies"
AGENCY_PROFILES = "agency_profiles"
AUDIT = "audit"
IDEMPOTENCY = "idempotency"
PROCESSED = "processed_events"
MAINTENANCE = "maintenance"  # what the service owes its store: a scrub (scrubbing.py)
SAVE_ATTEMPTS = 5


class ReferenceTaken(Exception):
    """The generated reference is already in use; make another."""


class DuplicateContact(Exception):
    """A contact with this id exists already."""


def _stored(doc: Document) -> Document:
    """The document as written: without the body hash and Idempotency-Key that contacts
    carried before idempotency records held them (dropped at the next write), and with
    `dedupe_key`, unique-indexed since then, now simply the contact's own id."""
    doc.pop("request_hash", None)
    return doc | {"dedupe_key": f"id:{doc['_id']}"}


def _ts(value: datetime | None) -> str | None:
    return to_str(value) if value is not None else None


def _dt(value: str | None) -> datetime | None:
    return from_str(value) if value is not None else None


def _transition_doc(step: Transition) -> dict:
    return {
        "by": step.by,
        "at": to_str(step.at),
        "from": step.from_status,
        "to": step.to_status,
        "action": step.action,
        "dated": to_str(step.dated) if step.dated else None,
        "assigned_to": step.assigned_to,
        "from_area": step.from_area,
        "to_area": step.to_area,
    }


def _transition(doc: dict) -> Transition:
    dated = from_str(doc["dated"]) if doc.get("dated") else None
    # Steps stored before assignments named their assignee (or areas moved) lack those fields.
    return Transition(
        doc["by"],
        from_str(doc["at"]),
        doc["from"],
        doc["to"],
        doc["action"],
        dated,
        doc.get("assigned_to"),
        doc.get("from_area"),
        doc.get("to_area"),
    )


_PAUSE_INSTANTS = ("paused_at", "resumed_at")
_REFERRAL_INSTANTS = ("consent_recorded_at", "decided_at")
_CONTACT_INSTANTS = ("received_at", "created_at", "responded_at", "ended_at", "personal_erased_at")


def _pause_doc(pause: Pause) -> dict:
    return state_doc(pause, _PAUSE_INSTANTS)


def _pause(doc: dict) -> Pause:
    return Pause(**state_values(Pause, doc, _PAUSE_INSTANTS))


def _referral_doc(referral: Referral) -> dict:
    return state_doc(referral, _REFERRAL_INSTANTS) | {
        "support_needed": list(referral.support_needed),
        "history": [_transition_doc(step) for step in referral.history],
    }


def _referral(doc: dict | None) -> Referral | None:
    if doc is None:
        return None
    parts = {
        "support_needed": list(doc["support_needed"]),
        "history": [_transition(step) for step in doc.get("history", [])],
    }
    return Referral(**state_values(Referral, doc, _REFERRAL_INSTANTS) | parts)


def contact_doc(contact: Contact) -> Document:
    referral = contact.referral
    return state_doc(contact, _CONTACT_INSTANTS, skip=("version",)) | {
        "blind_index": list(contact.blind_index),
        "referral": _referral_doc(referral) if referral else None,
        "agency_id": referral.agency_id if referral else None,
        "pauses": [_pause_doc(pause) for pause in contact.pauses],
        "history": [_transition_doc(step) for step in contact.history],
    }


def contact_from_doc(doc: Document) -> Contact:
    referral = doc.get("referral")
    parts = {
        "blind_index": list(doc.get("blind_index") or []),
        # Contacts stored before any contact had an urgency took their referral's.
        "urgency": doc.get("urgency") or (referral["urgency"] if referral else None),
        "referral": _referral(referral),
        "pauses": [_pause(pause) for pause in doc.get("pauses") or []],
        "history": [_transition(step) for step in doc.get("history", [])],
    }
    values = state_values(Contact, doc, _CONTACT_INSTANTS, skip=("version",))
    return Contact(**values | parts, version=doc[VERSION])


class ContactRepository:
    """Contacts and their outgoing events, written together in one document."""

    def __init__(self, store: Store, clock: Clock):
        self.collection = store.collection(CONTACTS)
        self.aggregates = AggregateStore(self.collection, SERVICE, clock)
        for field in (
            "received_at",
            "status",
            "area",
            "centre_id",
            "assignee",
            "agency_id",
            "ended_at",
            "responded_at",
        ):
            self.collection.ensure_index([field])
        self.collection.ensure_index(["blind_index"])
        self.collection.ensure_index(["reference"], unique=True)
        self.collection.ensure_index(["dedupe_key"], unique=True)

    def add(self, contact: Contact, events: Sequence[dict]) -> None:
        """Insert a new contact; DuplicateContact if its id is taken (a racing retry of
        the same request made it), ReferenceTaken if its reference is."""
        doc = _stored(contact_doc(contact))
        try:
            self.aggregates.add(doc, events)
        except DuplicateKey:
            if self.collection.get(contact.id) is not None:
                raise DuplicateContact(contact.id) from None
            raise ReferenceTaken(contact.reference) from None
        contact.version = doc[VERSION]

    def save(self, contact: Contact, events: Sequence[dict]) -> None:
        """Write a changed contact if nobody else changed it since it was read."""
        current = self.collection.get(contact.id)
        if current is None or current[VERSION] != contact.version:
            raise VersionConflict(contact.id, contact.version)
        doc = _stored(current | contact_doc(contact))
        doc[OUTBOX] = current.get(OUTBOX) or []
        self.aggregates.save(doc, events)
        contact.version = doc[VERSION]

    def get(self, contact_id: str) -> Contact | None:
        doc = self.collection.get(contact_id)
        return contact_from_doc(doc) if doc else None

    def page(
        self, filter: Filter, skip: int, limit: int, *, newest_first: bool = False
    ) -> tuple[list[Contact], int]:
        order = -1 if newest_first else 1
        docs = self.collection.find(filter, sort=[("received_at", order)], skip=skip, limit=limit)
        return [contact_from_doc(doc) for doc in docs], self.collection.count(filter)

    def past_retention(self, cutoff: datetime, limit: int = 200) -> list[Contact]:
        """Contacts still holding personal data that ended (closed or withdrawn) before cutoff,
        or were answered before it and never closed, oldest first.

        An answered contact's period runs from the latest of its answer, its logging (a
        contact logged after it was answered) and its referral's decision (a decline's
        reason may be written after the answer); an answer is never undone, so nothing
        re-opens it.
        """
        before = {"$lt": to_str(cutoff)}
        answered = {
            "status": v.RESPONDED,
            "responded_at": before,
            "created_at": before,
            "$or": [{"referral.decided_at": None}, {"referral.decided_at": before}],
        }
        ended = {"status": {"$in": list(v.ENDED_STATUSES)}, "ended_at": before}
        docs = self.collection.find(
            {"personal_erased_at": None, "$or": [ended, answered]},
            sort=[("received_at", 1)],
            limit=limit,
        )
        return [contact_from_doc(doc) for doc in docs]

    def left_behind(self, centre_id: str, area: str, limit: int = 200) -> list[Contact]:
        """The centre's unanswered contacts still in another area than `area`, oldest first."""
        filter = {
            "centre_id": centre_id,
            "status": {"$in": list(v.UNANSWERED_STATUSES)},
            "area": {"$ne": area},
        }
        docs = self.collection.find(filter, sort=[("received_at", 1)], limit=limit)
        return [contact_from_doc(doc) for doc in docs]

    def holding(self, alternatives: Sequence[Sequence[str]], limit: int) -> list[Contact]:
        """Contacts whose blind index holds every digest of at least one alternative, oldest first."""
        filter = {"$or": [{"blind_index": {"$all": list(digests)}} for digests in alternatives]}
        docs = self.collection.find(filter, sort=[("received_at", 1)], limit=limit)
        return [contact_from_doc(doc) for doc in docs]

    def with_personal_data(self, after_id: str, limit: int, *, unindexed_only: bool) -> list[Contact]:
        """Contacts still holding personal data, by id after after_id (for indexing them)."""
        filter: Filter = {"_id": {"$gt": after_id}, "personal": {"$ne": None}}
        if unindexed_only:
            filter["blind_index"] = None
        docs = self.collection.find(filter, sort=[("_id", 1)], limit=limit)
        return [contact_from_doc(doc) for doc in docs]


_DECIDED = [c.REFERRAL_STATUS_ACCEPTED, c.REFERRAL_STATUS_DECLINED]


def referral_status_filter(status: str) -> Filter:
    """Contact.referral_status as a filter on stored fields, so existing documents match too.

    A decision wins; else a withdrawn contact is withdrawn; else an answered one
    (responded or closed) is responded; else the referral's own new or opened.
    """
    if status in _DECIDED:
        return {"referral.status": status}
    if status == c.REFERRAL_STATUS_WITHDRAWN:
        return {"referral.status": {"$nin": _DECIDED}, "status": v.WITHDRAWN}
    if status == c.REFERRAL_STATUS_RESPONDED:
        return {"referral.status": {"$nin": _DECIDED}, "status": {"$in": [v.RESPONDED, v.CLOSED]}}
    return {"referral.status": status, "status": {"$in": list(v.UNANSWERED_STATUSES)}}


class CentreRepository:
    """The contacts service's own read model of the directory's centres."""

    def __init__(self, store: Store):
        self.collection = store.collection(CENTRES)
        self.collection.ensure_index(["status"])

    def get(self, centre_id: str) -> Centre | None:
        doc = self.collection.get(centre_id)
        return centre_of(doc["_id"], doc) if doc else None

    def put(self, centre: Centre) -> None:
        self.collection.upsert(state_doc(centre, ()) | {"services": list(centre.services)})

    def all(self) -> list[Centre]:
        return [centre_of(doc["_id"], doc) for doc in self.collection.find({}, sort=[("name", 1)])]


class DueDateRepository:
    """The SLA monitor's due date of each referral, one document per contact id, kept apart from
    the contact (no version conflict with staff's steps). `seen` orders the events applied."""

    def __init__(self, store: Store):
        self.collection = store.collection(DUE_DATES)

    def put(self, contact_id: str, due_at: datetime, seen: str) -> bool:
        """Hold `due_at` unless a date from an event as new as `seen`, or newer, is held; True if held."""
        held = {"due_at": to_str(due_at), "seen": seen}
        try:
            self.collection.insert({"_id": contact_id, **held})
            return True
        except DuplicateKey:
            return self.collection.update({"_id": contact_id, "seen": {"$lt": seen}}, held) > 0

    def of(self, contact_ids: Sequence[str]) -> dict[str, datetime]:
        """The due dates held for these contacts (those not heard of yet are left out)."""
        if not contact_ids:
            return {}
        found = self.collection.find({"_id": {"$in": list(contact_ids)}})
        return {doc["_id"]: from_str(doc["due_at"]) for doc in found}


def centre_of(centre_id: str, doc: Mapping[str, Any]) -> Centre:
    """The centre its stored document, or a directory centre event's data, describes (the same fields)."""
    values = state_values(Centre, doc, ())
    return Centre(**values | {"id": centre_id, "services": tuple(values["services"] or ())})


class AgencyRepository:
    """Agencies' API keys (one document a key) and profiles (one document an agency, by its id)."""

    def __init__(self, store: Store):
        self.collection = store.collection(AGENCIES)
        self.collection.ensure_index(["key_hash"], unique=True)
        self.profiles = store.collection(AGENCY_PROFILES)

    def profile(self, agency_id: str) -> dict | None:
        return self.profiles.get(agency_id)

    def profile_named(self, name: str) -> dict | None:
        """The agency of this name, however it is capitalised."""
        return next(
            (doc for doc in self.profiles.find({}) if doc["name"].casefold() == name.casefold()), None
        )

    def save_profile(self, agency_id: str, name: str, at: datetime, **changes: Any) -> None:
        """Make the agency's profile, or apply changes to it (a value of None clears a field).

        Each change is a compare-and-set on `_version`, retried: the webhook delivery
        loop writes the same document (its failing mark, with an event in the outbox),
        and neither writer may undo the other's change.
        """
        fields = {"name": name, "updated_at": to_str(at)} | changes
        for _ in range(SAVE_ATTEMPTS):
            current = self.profiles.get(agency_id)
            if current is None:
                doc = {"_id": agency_id, "created_at": to_str(at), "notify_email": None, VERSION: 1}
                try:
                    self.profiles.insert(doc | fields)
                    return
                except DuplicateKey:
                    continue
            version = current.get(VERSION)
            if self.profiles.update(
                {"_id": agency_id, VERSION: version}, fields | {VERSION: (version or 0) + 1}
            ):
                return
        raise VersionConflict(agency_id, -1)

    def add(self, agency: dict) -> None:
        self.collection.insert(agency)

    def by_key_hash(self, key_hash: str) -> dict | None:
        docs = self.collection.find({"key_hash": key_hash}, limit=1)
        return docs[0] if docs else None

    def all(self) -> list[dict]:
        return self.collection.find({}, sort=[("created_at", 1)])

    def revoke(self, agency_key_id: str, at: datetime) -> bool:
        return bool(
            self.collection.update({"_id": agency_key_id, "revoked_at": None}, {"revoked_at": to_str(at)})
        )

    def get(self, agency_key_id: str) -> dict | None:
        return self.collection.get(agency_key_id)


class AuditLog:
    """Who read or erased whose personal data, and when. Append-only."""

    def __init__(self, store: Store):
        self.collection: Collection = store.collection(AUDIT)
        self.collection.ensure_index(["contact_id", "at"])

    def record(
        self,
        entry_id: str,
        who: str,
        action: str,
        contact_id: str | None,
        at: datetime,
        details: dict[str, Any] | None = None,
    ) -> None:
        """One entry; details hold ids, codes and counts only, never personal data."""
        entry = {"_id": entry_id, "who": who, "action": action, "contact_id": contact_id, "at": to_str(at)}
        self.collection.insert(entry | ({"details": details} if details else {}))

    def for_contact(self, contact_id: str) -> list[dict[str, Any]]:
        return self.collection.find({"contact_id": contact_id}, sort=[("at", 1)])


class IdempotencyRecords:
    """Who made which contact under which Idempotency-Key: ids, status, a keyed fingerprint."""

    def __init__(self, store: Store):
        self.collection = store.collection(IDEMPOTENCY)
        self.collection.ensure_index(["created_at"])
        self.collection.ensure_index(["contact_id"])

    def get(self, record_id: str) -> dict | None:
        return self.collection.get(record_id)

    def add(self, record: dict) -> None:
        """Insert a record; DuplicateKey if its (caller, key) is taken."""
        self.collection.insert(record)

    def delete_stale(self, record_id: str, cutoff: datetime) -> int:
        """Delete this record if it has expired, or is of the old kind (a stored response)."""
        stale = [{"created_at": {"$lt": to_str(cutoff)}}, {"contact_id": {"$exists": False}}]
        return self.collection.delete({"_id": record_id, "$or": stale})

    def delete_older(self, cutoff: datetime) -> int:
        return self.collection.delete({"created_at": {"$lt": to_str(cutoff)}})

    def delete_for_contact(self, contact_id: str) -> int:
        return self.collection.delete({"contact_id": contact_id})
