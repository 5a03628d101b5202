"""The contact and referral model: statuses, the transitions between them, and
the events each transition raises. Pure Python: no web, database or broker.

Personal data is opaque here: the service layer hands the model encrypted
tokens, so nothing in this module can leak a name into a log or an event.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from ccshared import contracts as c
from ccshared.aggregate import Aggregate
from ccshared.referrals import DECISION_METHOD

from . import vocabulary as v

# How far ahead of our clock a client's received_at may be before it counts as
# "in the future": clocks on staff PCs drift.
CLOCK_SKEW = timedelta(minutes=2)
REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U
REFERENCE_RANDOM_CHARS = 5


class DomainError(Exception):
    pass


class InvalidTransition(DomainError):
    """The action is not allowed from the current status."""

    def __init__(self, action: str, current_status: str):
        self.action = action
        self.current_status = current_status
        super().__init__(f"cannot {action} when the status is {current_status}")


class RuleBroken(DomainError):
    """A value breaks a business rule; names the field at fault."""

    def __init__(self, field_name: str, message: str):
        self.field = field_name
        self.message = message
        super().__init__(f"{field_name}: {message}")


@dataclass(frozen=True)
class Transition:
    """One step of a status history: who moved it, when, from what to what (and, assigning, to whom)."""

    by: str
    at: datetime  # when it was recorded
    from_status: str | None
    to_status: str
    action: str
    dated: datetime | None = None  # the date entered for it, when earlier than recorded (a response)
    assigned_to: str | None = None  # the assignee an assignment gave it (steps stored before: None)
    from_area: str | None = None  # an area move's areas (other steps: None)
    to_area: str | None = None


@dataclass(frozen=True)
class Raised:
    """An event the model raised; the service layer turns it into an envelope."""

    type: str
    reason_code: str | None = None
    paused_at: datetime | None = None  # a pause's start, on its paused and resumed events
    parts: tuple[str, ...] = ()  # what an erasure cleared (contracts.ERASED_PARTS), on personal_erased
    from_area: str | None = None  # the area an area move took it from, on area_moved
    move: int | None = None  # which of its area moves, counted from 1, on area_moved


@dataclass
class Pause:
    """A time the contact waited on the family or a partner: its SLA clock stands still.

    Stamped with the time it was recorded, never a date entered: a pause cannot be
    backdated to hide a breach.
    """

    paused_at: datetime
    paused_by: str
    reason_code: str
    note: str | None = None  # encrypted token: staff may name the family in it
    resumed_at: datetime | None = None
    resumed_by: str | None = None
    # The note was written for the referral's agency to read (a pause waiting on the partner, since
    # the staff form says so); notes written before then, or waiting on the family, stay staff's.
    note_for_partner: bool = False


@dataclass
class Referral:
    agency_id: str
    agency_name: str
    urgency: str
    support_needed: list[str]
    consent_recorded_at: datetime
    status: str = c.REFERRAL_STATUS_NEW
    decline_reason_code: str | None = None
    decline_reason: str | None = None  # encrypted token
    decided_at: datetime | None = None
    # How the centre was chosen (named by the referrer, or the nearest suitable, and why).
    routing: dict | None = None
    history: list[Transition] = field(default_factory=list)

    def move(self, to_status: str, by: str, at: datetime, action: str) -> None:
        self.history.append(Transition(by, at, self.status, to_status, action))
        self.status = to_status


@dataclass
class Contact(Aggregate[Raised]):
    id: str
    reference: str
    channel: str
    centre_id: str
    area: str
    received_at: datetime
    created_at: datetime
    created_by: str
    personal: str | None  # encrypted token of the personal fields
    # Keyed digests of the identifiers in `personal`, for subject access searches (blind_index.py).
    blind_index: list[str] = field(default_factory=list)
    status: str = v.RECEIVED
    assignee: str | None = None
    responded_at: datetime | None = None
    response_method: str | None = None
    ended_at: datetime | None = None
    # Why it was withdrawn (contracts.WITHDRAW_REASONS, a code: never words), for its referrer
    # too; None if not withdrawn, withdrawn without one, or withdrawn before it was kept.
    withdraw_reason_code: str | None = None
    personal_erased_at: datetime | None = None
    # How soon it needs an answer (contracts.URGENCIES); picks the SLA target.
    # Staff may set one on any contact; a referral always has its referrer's.
    urgency: str | None = None
    referral: Referral | None = None
    pauses: list[Pause] = field(default_factory=list)
    history: list[Transition] = field(default_factory=list)
    version: int = 0

    @property
    def pause_now(self) -> Pause | None:
        """The pause the contact is in, if it is waiting on someone."""
        return self.pauses[-1] if self.pauses and self.pauses[-1].resumed_at is None else None

    @property
    def referral_status(self) -> str | None:
        """The status its referrer follows: the referral's decision, else how the contact ended."""
        if self.referral is None:
            return None
        if self.referral.status in (c.REFERRAL_STATUS_ACCEPTED, c.REFERRAL_STATUS_DECLINED):
            return self.referral.status
        if self.status == v.WITHDRAWN:
            return c.REFERRAL_STATUS_WITHDRAWN
        if self.responded_at is not None:
            return c.REFERRAL_STATUS_RESPONDED
        return self.referral.status

    @property
    def referral_history(self) -> list[Transition]:
        """The steps its referrer follows, as `referral_status` names them: the referral's own, and
        the contact's answer and withdrawal (but an answer that is a decision's, which the decision
        step already says), each from the status before it."""
        if self.referral is None:
            return []
        ended = {"respond": c.REFERRAL_STATUS_RESPONDED, "withdraw": c.REFERRAL_STATUS_WITHDRAWN}
        answers = [
            replace(step, to_status=ended[step.action])
            for step in self.history
            if step.action in ended and not (step.action == "respond" and step.at == self.referral.decided_at)
        ]
        steps = sorted([*self.referral.history, *answers], key=lambda step: step.at)
        before = [None, *(step.to_status for step in steps)]
        return [replace(step, from_status=was) for step, was in zip(steps, before, strict=False)]

    def _move(
        self,
        to_status: str,
        by: str,
        at: datetime,
        action: str,
        dated: datetime | None = None,
        assigned_to: str | None = None,
    ) -> None:
        self.history.append(Transition(by, at, self.status, to_status, action, dated, assigned_to))
        self.status = to_status

    def _require(self, action: str, allowed: tuple[str, ...]) -> None:
        if self.status not in allowed:
            raise InvalidTransition(action, self.status)

    def assign(self, assignee: str, by: str, now: datetime) -> None:
        """Assign or reassign; a contact already answered keeps its responded status."""
        self._require("assign", v.OPEN_STATUSES)
        to_status = v.ASSIGNED if self.status in (v.RECEIVED, v.ASSIGNED) else self.status
        self.assignee = assignee
        self._move(to_status, by, now, "assign", assigned_to=assignee)
        self.record(Raised(c.CONTACT_ASSIGNED))

    def pause(self, by: str, now: datetime, reason_code: str, note: str | None = None) -> None:
        """Wait on the family or a partner (note: an encrypted token); the clock stops now."""
        self._require("pause", v.UNANSWERED_STATUSES)
        if self.pause_now is not None:
            raise InvalidTransition("pause", f"{self.status}, paused already")
        if reason_code not in c.PAUSE_REASONS:
            raise RuleBroken("reason_code", f"must be one of {', '.join(c.PAUSE_REASONS)}")
        for_partner = self.referral is not None and reason_code == c.WAITING_ON_PARTNER
        self.pauses.append(Pause(now, by, reason_code, note, note_for_partner=for_partner))
        self._move(self.status, by, now, "pause")
        self.record(Raised(c.CONTACT_PAUSED, reason_code, now))

    def resume(self, by: str, now: datetime) -> None:
        """Stop waiting; the SLA monitor moves the due date on by the whole working days paused."""
        self._require("resume", v.UNANSWERED_STATUSES)
        if self.pause_now is None:
            raise InvalidTransition("resume", f"{self.status}, not paused")
        self._end_pause(by, now)

    def _end_pause(self, by: str, now: datetime) -> None:
        pause = self.pause_now
        if pause is None:
            return
        pause.resumed_at = now
        pause.resumed_by = by
        self._move(self.status, by, now, "resume")
        self.record(Raised(c.CONTACT_RESUMED, pause.reason_code, pause.paused_at))

    def respond(self, by: str, now: datetime, method: str, responded_at: datetime | None = None) -> None:
        self._require("respond", v.UNANSWERED_STATUSES)
        when = responded_at or now
        if when < self.received_at:
            raise RuleBroken("responded_at", "must not be before the contact was received")
        if when > now + CLOCK_SKEW:
            raise RuleBroken("responded_at", "must not be in the future")
        self._end_pause(by, now)
        self.responded_at = when
        self.response_method = method
        self._move(v.RESPONDED, by, now, "respond", when if when < now else None)
        self.record(Raised(c.CONTACT_RESPONDED))

    def close(self, by: str, now: datetime, reason_code: str | None = None) -> None:
        """Close an answered contact; its personal data's retention period starts now."""
        self._require("close", (v.RESPONDED,))
        self.ended_at = now
        self._move(v.CLOSED, by, now, "close")
        self.record(Raised(c.CONTACT_CLOSED, reason_code))

    def withdraw(self, by: str, now: datetime, reason_code: str | None = None) -> None:
        """The member of the public (or agency) withdrew before being answered."""
        self._require("withdraw", v.UNANSWERED_STATUSES)
        self._end_pause(by, now)
        self.ended_at = now
        self.withdraw_reason_code = reason_code
        self._move(v.WITHDRAWN, by, now, "withdraw")
        self.record(Raised(c.CONTACT_WITHDRAWN, reason_code))

    def move_area(self, area: str, by: str, now: datetime) -> None:
        """Follow its centre into another area, while still unanswered: the new area's staff
        answer it and its clock's breaches go to them. An answered or ended contact keeps the
        area it was handled in, so past figures stand; moving to the area it is in changes nothing."""
        if area == self.area:
            return
        self._require("move area", v.UNANSWERED_STATUSES)
        was, self.area = self.area, area
        self.history.append(
            Transition(by, now, self.status, self.status, "area_moved", from_area=was, to_area=area)
        )
        moves = sum(step.action == "area_moved" for step in self.history)
        self.record(Raised(c.CONTACT_AREA_MOVED, from_area=was, move=moves))

    def open_referral(self, by: str, now: datetime) -> None:
        """Tell the referrer it is being read; once the family is answered that is old news, so refused."""
        referral = self._referral("open")
        if referral.status != c.REFERRAL_STATUS_NEW:
            raise InvalidTransition("open", referral.status)
        self._require("open", v.UNANSWERED_STATUSES)
        referral.move(c.REFERRAL_STATUS_OPENED, by, now, "open")
        self.record(Raised(c.REFERRAL_OPENED))

    def accept_referral(self, by: str, now: datetime) -> None:
        referral = self._decidable("accept", now)
        referral.move(c.REFERRAL_STATUS_ACCEPTED, by, now, "accept")
        self._answer_with_outcome(by, now)
        self.record(Raised(c.REFERRAL_ACCEPTED))

    def decline_referral(self, by: str, now: datetime, reason_code: str, reason: str) -> None:
        """Decline with a reason code and an (encrypted) reason the agency will read."""
        if not reason:
            raise RuleBroken("reason", "a declined referral needs a reason")
        referral = self._decidable("decline", now)
        referral.decline_reason_code = reason_code
        referral.decline_reason = reason
        referral.move(c.REFERRAL_STATUS_DECLINED, by, now, "decline")
        self._answer_with_outcome(by, now)
        self.record(Raised(c.REFERRAL_DECLINED, reason_code))

    def erase_personal_data(self, now: datetime) -> None:
        self.personal = None
        self.blind_index = []
        if self.referral is not None:
            self.referral.decline_reason = None
        for pause in self.pauses:
            pause.note = None
        self.personal_erased_at = now
        self.record(Raised(c.CONTACT_PERSONAL_ERASED, parts=(c.ERASED_ALL,)))

    def erase_people(self, roles: list[str], kept: str, blind_index: list[str]) -> None:
        """Clear one person's part of a referral (its referrer's, its consent recorder's):
        `kept` is the rest of the personal data (encrypted), `blind_index` its digests."""
        self.personal = kept
        self.blind_index = blind_index
        self.record(Raised(c.CONTACT_PERSONAL_ERASED, parts=tuple(roles)))

    def _referral(self, action: str) -> Referral:
        if self.referral is None:
            raise InvalidTransition(f"{action} a referral", f"{self.channel} contact")
        return self.referral

    def _decidable(self, action: str, now: datetime) -> Referral:
        referral = self._referral(action)
        if referral.status not in (c.REFERRAL_STATUS_NEW, c.REFERRAL_STATUS_OPENED):
            raise InvalidTransition(action, referral.status)
        self._require(action, v.OPEN_STATUSES)
        referral.decided_at = now
        return referral

    def _answer_with_outcome(self, by: str, now: datetime) -> None:
        """Telling the agency the outcome is the response that stops the SLA clock."""
        if self.status in v.UNANSWERED_STATUSES:
            self.respond(by, now, DECISION_METHOD)


def receive(
    *,
    contact_id: str,
    reference: str,
    channel: str,
    centre: Centre,
    received_at: datetime,
    now: datetime,
    by: str,
    personal: str,
    referral: Referral | None = None,
    urgency: str | None = None,
    blind_index: Sequence[str] = (),
    response_method: str | None = None,
    responded_at: datetime | None = None,
) -> Contact:
    """A new contact, checked against the rules that need the clock and the centre.

    With a `response_method` it was answered before it was logged (last week's letter,
    answered on Tuesday): it is received, then responded, as `Contact.respond` records it.
    """
    if received_at > now + CLOCK_SKEW:
        raise RuleBroken("received_at", "must not be in the future")
    centre.check_accepts_contacts()
    contact = Contact(
        id=contact_id,
        reference=reference,
        channel=channel,
        centre_id=centre.id,
        area=centre.area,
        received_at=received_at,
        created_at=now,
        created_by=by,
        personal=personal,
        urgency=referral.urgency if referral is not None else urgency,
        blind_index=list(blind_index),
        referral=referral,
    )
    contact.history.append(Transition(by, now, None, v.RECEIVED, "receive"))
    if referral is not None:
        referral.history.append(Transition(by, now, None, c.REFERRAL_STATUS_NEW, "refer"))
    contact.record(Raised(c.CONTACT_RECEIVED))
    if response_method is not None:
        try:
            # No time given: now, or its receipt if that is a moment ahead (within the clock skew).
            contact.respond(by, now, response_method, responded_at or max(now, received_at))
        except RuleBroken as exc:
            raise RuleBroken(f"response.{exc.field}", exc.message) from exc
    return contact


# A referral may be agreed in pregnancy (a midwife's), so consent may come before the birth.
PREGNANCY_MONTHS = 10


def earliest_consent(children: Sequence[dict], now: datetime) -> datetime:
    """The earliest a family's consent can have been recorded: a pregnancy before the earliest
    the oldest child can have been born, from the ages given (a child of 2 years was born less
    than 3 years ago; of 7 months, less than 8 months ago). Consent recorded before it is not
    this family's."""
    months = PREGNANCY_MONTHS + max(
        (child["age_years"] + 1) * 12 if "age_years" in child else child["age_months"] + 1
        for child in children
    )
    year, month = divmod(now.year * 12 + now.month - 1 - months, 12)
    month += 1
    day = min(now.day, calendar.monthrange(year, month)[1])
    return now.replace(year=year, month=month, day=day)


def new_reference(channel: str, received_at: datetime, choose: Callable[[str], str]) -> str:
    """A human-friendly reference such as L-2611-7KQ4M (channel, yymm, random)."""
    random_part = "".join(choose(REFERENCE_ALPHABET) for _ in range(REFERENCE_RANDOM_CHARS))
    return f"{v.REFERENCE_LETTERS[channel]}-{received_at:%y%m}-{random_part}"


@dataclass
class Centre:
    """This service's read model of a directory centre."""

    id: str
    name: str
    area: str
    postcode: str
    status: str
    version: int
    latitude: float | None = None
    longitude: float | None = None
    services: tuple[str, ...] = ()

    @property
    def is_closed(self) -> bool:
        return self.status == c.CENTRE_CLOSED_STATUS

    def check_accepts_contacts(self) -> None:
        if self.is_closed:
            raise RuleBroken("centre_id", f"centre {self.id} is closed")
