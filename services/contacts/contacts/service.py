"""The service layer: staff and partner-agency commands in, contacts out.

The only place personal data is encrypted or decrypted, and every decryption
for a reader is written to the audit log first.
"""

from __future__ import annotations

import functools
import secrets
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar, cast

from ccshared import contracts as c
from ccshared.auth import StaffUser
from ccshared.errors import Conflict, Forbidden, InvalidInput, NotFound, Unavailable
from ccshared.geo import outward_code
from ccshared.outbox import VersionConflict
from ccshared.store import Filter
from ccshared.timeutil import Clock, to_str

from . import vocabulary as v
from .blind_index import BlindIndex
from .crypto import PersonalDataCipher
from .domain import (
    Centre,
    Contact,
    InvalidTransition,
    Raised,
    Referral,
    RuleBroken,
    earliest_consent,
    new_reference,
    receive,
)
from .idempotency import IdempotentRequests, Request
from .nearest import Choice, Place, farthest_from_every_centre, nearest_suitable
from .repository import (
    AgencyRepository,
    AuditLog,
    CentreRepository,
    ContactRepository,
    DuplicateContact,
    ReferenceTaken,
    referral_status_filter,
)

REFERENCE_ATTEMPTS = 8
MOVE_ATTEMPTS = 5
NAMED = "named"
NEAREST = "nearest"


def routing(chosen: str, reason: str, missing: list[str] | tuple[str, ...], distance: float | None) -> dict:
    """How a referral's centre was chosen, kept with it and shown to referrer and staff."""
    return {"chosen": chosen, "reason": reason, "services_missing": list(missing), "distance_km": distance}


@dataclass(frozen=True)
class Agency:
    """A partner agency, as identified by one of its API keys, or by one of its users'
    tokens on the partner pages (`user`: that user's username)."""

    id: str
    name: str
    user: str | None = None

    @property
    def actor(self) -> str:
        """Who the audit trail and histories name: the agency's software (`agency:<id>`), or
        the partner user at that agency (`partner:<username>@<id>`)."""
        if self.user:
            return f"{c.PARTNER_ACTOR}:{self.user}@{self.id}"
        return f"{c.AGENCY_ACTOR}:{self.id}"


@dataclass(frozen=True)
class Reading:
    """A contact with its personal fields decrypted for an authorised reader."""

    contact: Contact
    personal: dict[str, Any] | None
    decline_reason: str | None
    pause_notes: tuple[str | None, ...] = ()  # each pause's note, in the order of contact.pauses


@contextmanager
def business_rules() -> Iterator[None]:
    """Turn the model's verdicts into the API's errors."""
    try:
        yield
    except InvalidTransition as exc:
        raise Conflict(str(exc), current_status=exc.current_status) from exc
    except RuleBroken as exc:
        raise InvalidInput(str(exc), fields={exc.field: [exc.message]}) from exc  # str names the field


Intake = TypeVar("Intake", bound=Callable[..., tuple[Contact, bool]])


def _replayable(receive: Intake) -> Intake:
    """An intake command that a replayed request answers before checking anything, with
    (the contact an earlier request with its Idempotency-Key made, False).

    IdempotencyMismatch if that request had another body. Received as new if there was
    none, or if it claimed a contact id but failed before making the contact (which this
    request then makes, with that id: `_create`)."""

    @functools.wraps(receive)
    def replay_or_receive(
        service: ContactService, caller: Any, form: dict, request: Request | None = None
    ) -> tuple[Contact, bool]:
        contact_id = service.requests.earlier(request)
        earlier = service.contacts.get(contact_id) if contact_id else None
        if earlier is not None:
            return earlier, False
        return receive(service, caller, form, request)

    return cast(Intake, replay_or_receive)


@dataclass(eq=False, kw_only=True)
class ContactRecords:
    """What the contact service and subject access both work with: the same stores and keys."""

    contacts: ContactRepository
    centres: CentreRepository
    audit: AuditLog
    cipher: PersonalDataCipher
    index: BlindIndex
    clock: Clock
    requests: IdempotentRequests


@dataclass(eq=False, kw_only=True)
class ContactService(ContactRecords):
    choose: Callable[[str], str] = secrets.choice  # draws a reference's letters

    # Intake -----------------------------------------------------------------

    @_replayable
    def receive_contact(
        self, user: StaffUser, form: dict, request: Request | None = None
    ) -> tuple[Contact, bool]:
        """Log a letter, telephone message or e-mail, and the answer if already given (written
        with it, its events received then responded); (contact, False) when replayed."""
        centre = self._open_centre(form["centre_id"])
        if not user.may_see_area(centre.area):
            raise Forbidden(
                f"centre {centre.id} is outside your area", fields={"centre_id": ["outside your area"]}
            )
        now = self.clock.now()
        details = {
            "subject": form["subject"],
            "summary": form.get("summary", ""),
            "requester": form["requester"],
        }
        personal = self.cipher.encrypt(details)
        blind_index = self.index.of_personal(details)
        response = form.get("response") or {}

        def build(contact_id: str, reference: str) -> Contact:
            return receive(
                contact_id=contact_id,
                reference=reference,
                channel=form["channel"],
                centre=centre,
                received_at=form.get("received_at") or now,
                now=now,
                by=user.username,
                personal=personal,
                urgency=form.get("urgency"),
                blind_index=blind_index,
                response_method=response.get("method"),
                responded_at=response.get("responded_at"),
            )

        return self._create(build, form["channel"], form.get("received_at") or now, request)

    @_replayable
    def receive_referral(
        self, agency: Agency, form: dict, request: Request | None = None
    ) -> tuple[Contact, bool]:
        """Take a partner agency's referral; it becomes a contact on the referral channel."""
        centre, how = self._referral_centre(form)
        now = self.clock.now()
        consent = form["consent"]
        with business_rules():
            if consent["recorded_at"] > now:
                raise RuleBroken("consent.recorded_at", "must not be in the future")
            earliest = earliest_consent(form["children"], now)
            if consent["recorded_at"] < earliest:
                raise RuleBroken(
                    "consent.recorded_at",
                    "must not be before the pregnancy with the oldest child (after "
                    f"{earliest.date().isoformat()}, from the ages given): give the date this family's "
                    "consent was recorded",
                )
        details = {
            "referrer": form["referrer"],
            "family": form["family"],
            "children": form["children"],
            "notes": form.get("notes", ""),
            "consent": {
                "given": True,
                "recorded_by": consent["recorded_by"],
                "recorded_at": to_str(consent["recorded_at"]),
            },
        }
        personal = self.cipher.encrypt(details)
        blind_index = self.index.of_personal(details)

        def build(contact_id: str, reference: str) -> Contact:
            referral = Referral(
                agency_id=agency.id,
                agency_name=agency.name,
                urgency=form["urgency"],
                support_needed=list(form["support_needed"]),
                consent_recorded_at=consent["recorded_at"],
                routing=how,
            )
            return receive(
                contact_id=contact_id,
                reference=reference,
                channel=c.REFERRAL,
                centre=centre,
                received_at=now,
                now=now,
                by=agency.actor,
                personal=personal,
                referral=referral,
                blind_index=blind_index,
            )

        return self._create(build, c.REFERRAL, now, request)

    def _create(
        self,
        build: Callable[[str, str], Contact],
        channel: str,
        received_at: datetime,
        request: Request | None,
    ) -> tuple[Contact, bool]:
        contact_id = str(uuid.uuid4())
        if request is not None:
            claimed = self.requests.claim(request, contact_id)
            # A fresh id claimed here names no contact yet; only one claimed by an earlier
            # request with this key may (made, or still to make after a failure).
            made = self.contacts.get(claimed) if claimed != contact_id else None
            if made is not None:
                return made, False
            contact_id = claimed
        for _ in range(REFERENCE_ATTEMPTS):
            with business_rules():
                contact = build(contact_id, new_reference(channel, received_at, self.choose))
            try:
                self.contacts.add(contact, self._envelopes(contact))
            except ReferenceTaken:
                continue
            except DuplicateContact:
                return self._made_by_a_retry(contact_id), False
            return contact, True
        raise Unavailable("could not allocate a unique reference; retry")

    def _made_by_a_retry(self, contact_id: str) -> Contact:
        contact = self.contacts.get(contact_id)
        if contact is None:
            raise Unavailable("a request with this Idempotency-Key is being processed; retry")
        return contact

    def _open_centre(self, centre_id: str) -> Centre:
        """A known centre that is not closed for good: a letter, telephone message or e-mail
        arrives whatever the centre's status, so one temporarily closed is taken too."""
        centre = self.centres.get(centre_id)
        if centre is None:
            raise InvalidInput(f"unknown centre {centre_id}", fields={"centre_id": ["unknown centre"]})
        if centre.is_closed:
            raise InvalidInput(f"centre {centre_id} is closed", fields={"centre_id": ["centre is closed"]})
        return centre

    def _referral_centre(self, form: dict) -> tuple[Centre, dict]:
        """The centre named, or the nearest suitable one, with how it was chosen."""
        if form.get("centre_id"):
            centre = self._open_centre(form["centre_id"])
            if centre.status != c.CENTRE_OPEN:
                message = "temporarily closed; name another centre or ask for the nearest"
                raise InvalidInput(f"centre {centre.id} is {message}", fields={"centre_id": [message]})
            missing = [code for code in form["support_needed"] if code not in centre.services]
            return centre, routing(NAMED, f"{centre.name}: named by the referrer.", missing, None)
        choice = self.nearest_centre(form)
        return choice.centre, routing(NEAREST, choice.reason, choice.missing, choice.distance_km)

    def nearest_centre(self, form: dict) -> Choice:
        """The nearest suitable open centre for a place and the services wanted, or 422 saying why not."""
        place = Place(outward_code(form.get("postcode_district") or ""), form.get("lat"), form.get("lon"))
        if place.district is None and not place.has_coordinates:
            message = "give a postcode district such as L8, or lat and lon"
            raise InvalidInput(message, fields={"postcode_district": [message]})
        centres = self.centres.all()
        if (far := farthest_from_every_centre(centres, place)) is not None:
            message = f"{round(far):,} km from every centre; give a place in the city (are lat and lon the right way round?)"
            raise InvalidInput(message, fields={"lat": [message], "lon": [message]})
        choice = nearest_suitable(centres, place, form["support_needed"])
        if choice is None:
            where = place.district or "the location given"
            message = f"no open centre near {where} to compare with; name a centre_id instead"
            raise InvalidInput(message, fields={"postcode_district": [message]})
        return choice

    # Staff reads ------------------------------------------------------------

    def list_contacts(
        self, user: StaffUser, query: dict, page: int, per_page: int
    ) -> tuple[list[Contact], int]:
        filter: Filter = {
            name: query[name] for name in ("status", "centre_id", "assignee", "channel") if query.get(name)
        }
        if query.get("urgency"):
            # A referral stored before contacts had an urgency of their own keeps it in the referral.
            urgency = query["urgency"]
            filter["$or"] = [{"urgency": urgency}, {"urgency": None, "referral.urgency": urgency}]
        area = query.get("area")
        if not user.sees_all_areas:
            if area and area != user.area:
                raise Forbidden(f"you may see only the {user.area} area's contacts")
            area = user.area or "-"
        if area:
            filter["area"] = area
        received: dict[str, str] = {}
        if query.get("received_from"):
            received["$gte"] = to_str(query["received_from"])
        if query.get("received_to"):
            received["$lte"] = to_str(query["received_to"])
        if received:
            filter["received_at"] = received
        return self.contacts.page(filter, (page - 1) * per_page, per_page)

    def read(self, user: StaffUser, contact_id: str) -> Reading:
        """A contact with its personal data, for a reader allowed to see it (audited)."""
        contact = self._visible(user, contact_id)
        self._audit(user.username, v.AUDIT_READ, contact)
        notes = tuple(self._decrypt(pause.note) for pause in contact.pauses)
        return Reading(contact, self._decrypt(contact.personal), self._decline_reason(contact), notes)

    def audit_trail(self, user: StaffUser, contact_id: str) -> list[dict]:
        self._visible(user, contact_id)
        return self.audit.for_contact(contact_id)

    def _visible(self, user: StaffUser, contact_id: str) -> Contact:
        contact = self.contacts.get(contact_id)
        if contact is None or not user.may_see_area(contact.area):
            raise NotFound(f"no contact {contact_id}")
        return contact

    def _audit(self, who: str, action: str, contact: Contact, details: dict | None = None) -> None:
        self.audit.record(str(uuid.uuid4()), who, action, contact.id, self.clock.now(), details)

    def _decrypt(self, token: str | None) -> Any:
        return self.cipher.decrypt(token) if token else None

    def _decline_reason(self, contact: Contact) -> str | None:
        return self._decrypt(contact.referral.decline_reason) if contact.referral else None

    # Staff actions ----------------------------------------------------------

    def _change(
        self, user: StaffUser, contact_id: str, action: Callable[[Contact, datetime], None]
    ) -> Contact:
        contact = self._visible(user, contact_id)
        with business_rules():
            action(contact, self.clock.now())
        self.contacts.save(contact, self._envelopes(contact))
        return contact

    def assign(self, user: StaffUser, contact_id: str, assignee: str) -> Contact:
        return self._change(
            user, contact_id, lambda contact, now: contact.assign(assignee, user.username, now)
        )

    def respond(
        self, user: StaffUser, contact_id: str, method: str, responded_at: datetime | None
    ) -> Contact:
        return self._change(
            user, contact_id, lambda contact, now: contact.respond(user.username, now, method, responded_at)
        )

    def pause(self, user: StaffUser, contact_id: str, reason_code: str, note: str | None) -> Contact:
        """Wait on the family or a partner from now (never an earlier date); audited."""
        token = self.cipher.encrypt(note) if note else None
        contact = self._change(
            user, contact_id, lambda contact, now: contact.pause(user.username, now, reason_code, token)
        )
        self._audit(user.username, v.AUDIT_PAUSE, contact, {"reason_code": reason_code})
        return contact

    def resume(self, user: StaffUser, contact_id: str) -> Contact:
        contact = self._change(user, contact_id, lambda contact, now: contact.resume(user.username, now))
        self._audit(user.username, v.AUDIT_RESUME, contact)
        return contact

    def close(self, user: StaffUser, contact_id: str, reason_code: str | None = None) -> Contact:
        return self._change(
            user, contact_id, lambda contact, now: contact.close(user.username, now, reason_code)
        )

    def withdraw(self, user: StaffUser, contact_id: str, reason_code: str | None = None) -> Contact:
        return self._change(
            user, contact_id, lambda contact, now: contact.withdraw(user.username, now, reason_code)
        )

    def open_referral(self, user: StaffUser, contact_id: str) -> Contact:
        return self._change(user, contact_id, lambda contact, now: contact.open_referral(user.username, now))

    def accept_referral(self, user: StaffUser, contact_id: str) -> Contact:
        return self._change(
            user, contact_id, lambda contact, now: contact.accept_referral(user.username, now)
        )

    def decline_referral(self, user: StaffUser, contact_id: str, reason_code: str, reason: str) -> Contact:
        """Decline with words for the agency (encrypted: they may name the family); audited
        with the reason code only."""
        token = self.cipher.encrypt(reason)
        contact = self._change(
            user,
            contact_id,
            lambda contact, now: contact.decline_referral(user.username, now, reason_code, token),
        )
        self._audit(user.username, v.AUDIT_DECLINE, contact, {"reason_code": reason_code})
        return contact

    # Partner agency reads ---------------------------------------------------

    def agency_referrals(
        self, agency: Agency, page: int, per_page: int, status: str | None = None
    ) -> tuple[list[Contact], int]:
        """The agency's own referrals, newest first, optionally in one referral status."""
        filter: Filter = {"agency_id": agency.id, "channel": c.REFERRAL}
        if status:
            filter = {"$and": [filter, referral_status_filter(status)]}
        return self.contacts.page(filter, (page - 1) * per_page, per_page, newest_first=True)

    def agency_referral(self, agency: Agency, contact_id: str) -> Reading:
        """The agency's own referral, or 404 for anyone else's: existence is not disclosed.

        The agency reads back what it sent, the decline reason written for it and what staff
        noted they wait on it for (audited); once retention has erased them, none is there to read.
        """
        contact = self.contacts.get(contact_id)
        if contact is None or contact.referral is None or contact.referral.agency_id != agency.id:
            raise NotFound(f"no referral {contact_id}")
        if contact.personal is None and contact.referral.decline_reason is None:
            return Reading(contact, None, None)
        self._audit(agency.actor, v.AUDIT_AGENCY_READ, contact)
        notes = tuple(self._decrypt(pause.note) for pause in contact.pauses)
        return Reading(contact, self._decrypt(contact.personal), self._decline_reason(contact), notes)

    # Internal reads ---------------------------------------------------------

    def referral_notice(self, caller: StaffUser, contact_id: str, agencies: AgencyRepository) -> dict:
        """What the notifier needs to tell a referral's referrer, read at send time (audited).

        The addresses and the decline reason's words never travel in events: the
        notifier asks for them here just before it sends, so an erased referral
        has nothing left to tell.
        """
        contact = self.contacts.get(contact_id)
        if contact is None or contact.referral is None:
            raise NotFound(f"no referral {contact_id}")
        profile = agencies.profile(contact.referral.agency_id) or {}
        personal = self._decrypt(contact.personal) or {}
        self._audit(caller.username, v.AUDIT_SERVICE_READ, contact)
        return {
            "id": contact.id,
            "reference": contact.reference,
            "centre_id": contact.centre_id,
            "agency_id": contact.referral.agency_id,
            "agency_name": contact.referral.agency_name,
            "agency_email": profile.get("notify_email"),
            "referrer_email": (personal.get("referrer") or {}).get("email"),
            "referral_status": contact.referral_status,
            "decline_reason_code": contact.referral.decline_reason_code,
            "decline_reason": self._decline_reason(contact),
            "personal_erased": contact.personal_erased_at is not None,
        }

    # Events -----------------------------------------------------------------

    def _envelopes(self, contact: Contact) -> list[dict]:
        return envelopes(self.contacts, contact, self.clock.now())


@dataclass(eq=False)
class AreaMoves:
    """Moves a centre's unanswered contacts into the area the centre is in now.

    Staff move a centre to another area in the directory; its open cases go with it, so the
    new area's staff see them and their breaches are routed there. Answered and ended
    contacts keep the area they were handled in: past figures do not change. Following the
    centre as it now stands makes a redelivered or repeated centre event move nothing twice.
    """

    contacts: ContactRepository
    clock: Clock

    def follow(self, centre: Centre) -> int:
        """Move the contacts left behind in another area; return how many moved."""
        moved = 0
        while batch := self.contacts.left_behind(centre.id, centre.area):
            moved += sum(self._move(contact, centre.area) for contact in batch)
        return moved

    def _move(self, contact: Contact | None, area: str) -> bool:
        """Move one contact, reading it again if staff changed it meanwhile."""
        for _ in range(MOVE_ATTEMPTS):
            if contact is None or contact.area == area or contact.status not in v.UNANSWERED_STATUSES:
                return False
            now = self.clock.now()
            contact.move_area(area, c.SYSTEM_ACTOR, now)
            try:
                self.contacts.save(contact, envelopes(self.contacts, contact, now))
                return True
            except VersionConflict:
                contact = self.contacts.get(contact.id)
        raise VersionConflict(contact.id, contact.version)


def envelopes(contacts: ContactRepository, contact: Contact, now: datetime) -> list[dict]:
    """The events the contact raised since it was read, as envelopes for its outbox."""
    return [
        contacts.aggregates.event(event.type, contact.id, _data(contact, event, now))
        for event in contact.collect_events()
    ]


def _data(contact: Contact, event: Raised, now: datetime) -> dict:
    if event.type == c.CONTACT_PERSONAL_ERASED:
        return {"contact_id": contact.id, "erased_at": now, "parts": list(event.parts)}
    if event.type == c.CONTACT_AREA_MOVED:
        return {
            "contact_id": contact.id,
            "centre_id": contact.centre_id,
            "from_area": event.from_area,
            "to_area": contact.area,
            "moved_at": now,
            "move": event.move,
        }
    return event_data(contact, event.reason_code, now, event.paused_at)


def event_data(
    contact: Contact, reason_code: str | None, occurred_at: datetime, paused_at: datetime | None = None
) -> dict:
    """ContactData: ids, channel, centre, area and times; never personal data (a pause's note
    stays here: its events carry the reason code and when the pause began)."""
    return {
        "contact_id": contact.id,
        "reference": contact.reference,
        "channel": contact.channel,
        "centre_id": contact.centre_id,
        "area": contact.area,
        "received_at": contact.received_at,
        "status": contact.status,
        "assignee": contact.assignee,
        "responded_at": contact.responded_at,
        "response_method": contact.response_method,
        "occurred_at": occurred_at,
        "reason_code": reason_code,
        "urgency": contact.urgency,
        "paused_at": paused_at,
        **_referral_data(contact.referral, contact.referral_status),
    }


def _referral_data(referral: Referral | None, status: str | None) -> dict:
    """A referral's codes only: its urgency and services, and where its referrer stands."""
    if referral is None:
        return {}
    return {
        "urgency": referral.urgency,
        "support_needed": list(referral.support_needed),
        "referral_status": status,
        "agency_id": referral.agency_id,
    }
