"""One clock per contact: the pure state machine behind the SLA events.

    awaiting_receipt --receive--> open --> at_risk --> breached
    open | at_risk --pause--> paused --resume--> open | at_risk
    open | at_risk | paused | breached --response--> met | responded_late
    any unanswered state --withdrawal--> withdrawn

Decisions the rules leave open, made here once:

- Event time decides, until a breach is raised. A response stamped before the
  breach instant is met however late its event arrives, as long as no breach
  was emitted. Once one was, the contact stays breached whatever date is
  entered later (a letter "posted yesterday" recorded after the breach): the
  outcome is responded_late, so a backdated answer cannot turn a breach into
  compliance. The contact's history keeps both the date entered and when it
  was recorded.
- A response event that arrives before its receipt is held on a placeholder
  clock (state awaiting_receipt) and applied when the receipt arrives; then the
  outcome is emitted straight away with no at-risk or breach event.
- The earliest response wins; a later or repeated one changes nothing.
- A partner referral's acceptance or decline is its response.
- Closing a contact without a response stops the clock at the closing time,
  judged like a response: closing is the deliberate end of the case.
- A withdrawn contact stops without an outcome and is left out of compliance
  figures, unless its breach was raised first: it stays withdrawn with
  `breach_emitted` kept, and the figures count it as breached (reports.py), so a
  breach cannot be made to disappear by withdrawing the contact after it. A
  withdrawal after a response changes nothing.
- A catch-up (now already past the due instant when first checked) emits the
  breach alone, without a stale at-risk event before it.
- A new calendar, area closure or target moves open and at-risk clocks only; a breached or
  answered clock keeps the result it had. An at-risk event is never repeated.
- A breach still unanswered is raised again as a reminder (`sla.still_breached.v1`)
  on the escalation ladder's schedule (escalation.py decides when); each
  reminder step once per contact, like the breach.
- A partner referral's clock announces its start (`sla.started.v1`, with the
  due date, urgency and services) so the centre and the referrer hear of it
  at once; letters, calls and e-mails need no such notice. A referral already
  answered or withdrawn when its receipt arrives has nothing to announce.
- A pause (waiting on the family or a partner) stands the clock still: no
  at-risk or breach while paused. On resume the due date moves on by the
  working time paused in whole working days (`WorkingCalendar.paused_working_days`:
  the part of each working day inside the pause, added up and rounded down; each
  pause on its own, so two half days in two pauses move nothing). A pause that
  ends after the due instant without a whole working day in it does not save the
  contact: on resume it breaches at once. A pause begun after the breach
  instant cannot hide it: the breach is raised then, and a breached clock
  stays breached, its due date unmoved; its paused days are still counted in
  `paused_working_days` (all paused time, for reports). A response or
  withdrawal while paused ends the pause at its own time (at the pause's start
  if dated before it). Each pause is known by when it began, so a repeated,
  early or late pause or resume event is applied once, in its place.

- A started referral whose due date moves while its clock runs (a pause ends, a new
  calendar, closure or target, a move into another area) announces the new date
  (`sla.due_moved.v1`: ids, channel, area and due_at), so its agency is shown the date
  the centre now aims to respond by; each move once (`due_moves` counts them).

- A contact that followed its centre into another area (contact.area_moved.v1, sent only
  while it is unanswered) moves its clock there: breaches and reminders go to the new
  area, and a clock still running on time (or paused) takes the new area's closure days,
  like a new calendar. A move dated at or after the clock's response or withdrawal
  changes nothing (the contact keeps the area it was handled in); moves apply in the
  order they happened (the contact's count of them, `move`; by their time for those
  made before contacts counted them, which came before any counted), so a repeated or
  older one changes nothing, and one that arrives before the receipt is kept over the
  receipt's area.

A clock is an aggregate (ccshared.aggregate): each method changes it in place and
records the events it raises, in the order raised; the service layer collects them
after each change and the repository claims and stages them (repository.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from ccshared import contracts
from ccshared.aggregate import Aggregate
from ccshared.calendar import Deadline, WorkingCalendar

# A clock's states (shared contracts: the front end shows them).
AWAITING_RECEIPT = contracts.CLOCK_AWAITING_RECEIPT
OPEN = contracts.CLOCK_OPEN
AT_RISK = contracts.CLOCK_AT_RISK
BREACHED = contracts.CLOCK_BREACHED
MET = contracts.CLOCK_MET
RESPONDED_LATE = contracts.CLOCK_RESPONDED_LATE
WITHDRAWN = contracts.CLOCK_WITHDRAWN
PAUSED = contracts.CLOCK_PAUSED
STATES = contracts.CLOCK_STATES
RUNNING = contracts.CLOCK_RUNNING
MOVABLE = (OPEN, AT_RISK)
# Clocks whose deadline a new calendar or target moves: those not breached or answered.
ADJUSTABLE = tuple(state for state in RUNNING if state != BREACHED)
OUTCOMES = (MET, RESPONDED_LATE)

# What sla.due_moved carries: ids, channel, area and the new due date, and `move`, which of the
# clock's moves it is (1, 2...): replicas' clocks differ, the count does not. Nothing else.
DUE_MOVED_FIELDS = ("contact_id", "reference", "channel", "centre_id", "area", "due_at")

BY_RESPONSE = "response"
BY_REFERRAL_DECISION = "referral_decision"
BY_CLOSURE = "closure"


@dataclass(frozen=True)
class SlaEvent:
    """An event an aggregate raises: its type, its data, and what makes it unique.

    Each (subject, type, once_per) is emitted at most once: the claim on it is
    the insert of a document with that id.
    """

    type: str
    data: dict[str, Any]
    once_per: str = ""


@dataclass(frozen=True)
class Receipt:
    contact_id: str
    reference: str
    channel: str
    centre_id: str
    area: str
    received_at: datetime
    urgency: str | None = None
    support_needed: list[str] | None = None


@dataclass(frozen=True)
class Pause:
    """A time the contact waited on someone else, known by when it began."""

    paused_at: datetime
    reason_code: str | None = None
    resumed_at: datetime | None = None


@dataclass
class ContactClock(Aggregate[SlaEvent]):
    contact_id: str
    state: str = AWAITING_RECEIPT
    reference: str | None = None
    channel: str | None = None
    centre_id: str | None = None
    area: str | None = None
    received_at: datetime | None = None
    urgency: str | None = None
    support_needed: list[str] | None = None
    target_working_days: int | None = None
    at_risk_at: datetime | None = None
    due_at: datetime | None = None
    calendar_fingerprint: str | None = None
    assignee: str | None = None
    assigned_at: datetime | None = None
    responded_at: datetime | None = None
    stopped_by: str | None = None
    withdrawn_at: datetime | None = None
    at_risk_emitted: bool = False
    breach_emitted: bool = False
    not_before: datetime | None = None
    pauses: list[Pause] = field(default_factory=list)
    # Whole working days of every ended pause (those that moved the due date, and any after a breach).
    paused_working_days: int = 0
    area_moved_at: datetime | None = None  # when it last followed its centre into another area
    area_move: int = 0  # which of the contact's moves that was (0: one made before contacts counted them)

    due_moves: int = 0  # how many moves of a started referral's due date were announced

    reminders_sent: int = 0
    next_reminder_at: datetime | None = None
    ladder_fingerprint: str | None = None

    @property
    def pause_now(self) -> Pause | None:
        """The pause not yet ended, if any."""
        return next((pause for pause in self.pauses if pause.resumed_at is None), None)

    @property
    def breach_at(self) -> datetime | None:
        return self._deadline().breach_at if self.due_at else None

    @property
    def next_check_at(self) -> datetime | None:
        """When the scanner must look at this clock next; None when nothing can fall due."""
        if self.state == OPEN:
            target = self.at_risk_at
        elif self.state == AT_RISK:
            target = self.breach_at
        elif self.state == BREACHED:
            return self.next_reminder_at
        else:
            return None
        if self.not_before is not None and target is not None and target < self.not_before:
            return self.not_before
        return target

    def receive(
        self,
        receipt: Receipt,
        deadline: Deadline,
        fingerprint: str,
        now: datetime,
        grace: timedelta,
        calendar: WorkingCalendar,
    ) -> None:
        """Start the clock; apply anything held while the receipt was awaited (pauses too)."""
        if self.state != AWAITING_RECEIPT:
            return
        self.reference = receipt.reference
        self.channel = receipt.channel
        self.centre_id = receipt.centre_id
        self.area = self.area_on_receipt(receipt)
        self.received_at = receipt.received_at
        self.urgency = receipt.urgency
        self.support_needed = receipt.support_needed
        self._set_deadline(self._with_pauses(deadline, calendar), fingerprint)
        if self.withdrawn_at is not None and (
            self.responded_at is None or self.withdrawn_at < self.responded_at
        ):
            self._enter(WITHDRAWN)
            return
        if self.responded_at is not None:
            self._decide(self.responded_at)
            return
        if now >= deadline.at_risk_at:
            self.not_before = now + grace
        announce = contracts.SLA_STARTED if self.channel == contracts.REFERRAL else None
        pause = self.pause_now
        if pause is not None and pause.paused_at < self.breach_at:
            self._enter(PAUSED, announce)
            return
        self._enter(OPEN, announce)
        self.advance(now)

    def area_on_receipt(self, receipt: Receipt) -> str:
        """The area the clock runs in from `receipt`: a move held before it stands over its area."""
        return receipt.area if self.area_moved_at is None else self.area

    def advance(self, now: datetime) -> None:
        """Move an unanswered clock on to at risk or breached as time passes."""
        if self.state not in MOVABLE:
            return
        if self.not_before is not None and now < self.not_before:
            return
        if now >= self.breach_at:
            self._breach(now)
        elif now >= self.at_risk_at:
            self._enter(AT_RISK, None if self.at_risk_emitted else contracts.SLA_AT_RISK)
            self.at_risk_emitted = True
        else:
            self._enter(OPEN)

    def respond(self, at: datetime, calendar: WorkingCalendar, by: str = BY_RESPONSE) -> None:
        """Stop the clock at `at` (the response's own time); the earliest response wins."""
        if self.state == WITHDRAWN:
            return
        if self.responded_at is not None and self.responded_at <= at:
            return
        self._end_pause(at, calendar)
        self.responded_at = at
        self.stopped_by = by
        if self.state != AWAITING_RECEIPT:
            self._decide(at)

    def withdraw(self, at: datetime, calendar: WorkingCalendar) -> None:
        if self.state == AWAITING_RECEIPT:
            self.withdrawn_at = self.withdrawn_at or at
            return
        if self.state not in RUNNING:
            return
        self._end_pause(at, calendar)
        self.withdrawn_at = at
        self._enter(WITHDRAWN)

    def assign(self, assignee: str | None, at: datetime) -> None:
        if self.assigned_at is not None and at < self.assigned_at:
            return
        self.assignee = assignee
        self.assigned_at = at

    def move_area(self, area: str, at: datetime, number: int | None = None) -> bool:
        """Follow the contact into `area` (its centre moved) at `at`, its `number`th move; True
        when its deadline is to be derived again for the new area (a clock still running on
        time, or paused). The newest move is known by the contact's count, not by `at`: two
        replicas of contacts may stamp moves with clocks that differ."""
        ended = self.responded_at or self.withdrawn_at
        if (ended is not None and at >= ended) or (
            self.area_moved_at is not None and (number or 0, at) <= (self.area_move, self.area_moved_at)
        ):
            return False
        self.area_moved_at, self.area_move = at, number or 0
        moved, self.area = area != self.area, area
        return moved and self.state in ADJUSTABLE

    def remind(
        self, step: int, next_at: datetime | None, fingerprint: str, now: datetime, once_per: str
    ) -> None:
        """Raise reminder `step` of a breach still unanswered, once; plan the next for `next_at`."""
        if self.state != BREACHED:
            return
        self.next_reminder_at = next_at
        self.ladder_fingerprint = fingerprint
        if step <= self.reminders_sent:
            return
        self.reminders_sent = step
        late = int((now - self.due_at).total_seconds())
        data = {**self._event_data(late), "reminder": step}
        self.record(SlaEvent(contracts.SLA_STILL_BREACHED, data, once_per=once_per))

    def restart_reminders(self, through_step: int) -> None:
        """Count the reminders already due as sent: a new plan of the ladder starts from now."""
        self.reminders_sent = through_step

    def recompute(
        self, deadline: Deadline, fingerprint: str, now: datetime, calendar: WorkingCalendar
    ) -> None:
        """Apply a changed calendar or target to a clock still running on time (or paused)."""
        before = self.due_at
        self._recompute(deadline, fingerprint, now, calendar)
        self._announce_due_moved(before)

    def _recompute(
        self, deadline: Deadline, fingerprint: str, now: datetime, calendar: WorkingCalendar
    ) -> None:
        if self.state not in ADJUSTABLE:
            self.calendar_fingerprint = fingerprint
            return
        self._set_deadline(self._with_pauses(deadline, calendar), fingerprint)
        if self.state == PAUSED:
            return
        self.state = OPEN
        self.advance(now)

    def pause(self, at: datetime, reason_code: str | None, now: datetime) -> None:
        """Stand the clock still from `at`; a pause begun after the breach instant raises the breach."""
        if self.state in (*OUTCOMES, WITHDRAWN) or self._known(at) or self.pause_now is not None:
            return
        if self._paused_during(at):
            return  # a stale pause event, from inside a pause already ended
        if self.state in MOVABLE and at >= self.breach_at:
            self._breach(now)
        self._add_pause(Pause(at, reason_code))
        if self.state in MOVABLE:
            self.state = PAUSED

    def resume(self, paused_at: datetime, at: datetime, now: datetime, calendar: WorkingCalendar) -> None:
        """End the pause begun at `paused_at`; a paused clock runs on with its due date moved."""
        before = self.due_at
        self._resume(paused_at, at, now, calendar)
        self._announce_due_moved(before)

    def _resume(self, paused_at: datetime, at: datetime, now: datetime, calendar: WorkingCalendar) -> None:
        if at < paused_at or self.state in (*OUTCOMES, WITHDRAWN):
            return
        pause = next((pause for pause in self.pauses if pause.paused_at == paused_at), None)
        if pause is not None and pause.resumed_at is not None:
            return
        if pause is None:  # the resume came before its pause: the pause is over already
            self._add_pause(Pause(paused_at, None, at))
            self._count_pause(self.pauses[self._index(paused_at)], calendar)
            return
        self._close(pause, at, calendar)
        if self.state != PAUSED or self.pause_now is not None:
            return
        self.state = OPEN
        self.advance(now)

    def _announce_due_moved(self, before: datetime | None) -> None:
        """A running referral's clock announced its start: a move of its due date is announced too."""
        if self.channel != contracts.REFERRAL or self.state not in RUNNING or self.due_at == before:
            return
        self.due_moves += 1
        data = {name: getattr(self, name) for name in DUE_MOVED_FIELDS} | {"move": self.due_moves}
        self.record(SlaEvent(contracts.SLA_DUE_MOVED, data, once_per=str(self.due_moves)))

    def _breach(self, now: datetime) -> None:
        self.breach_emitted = True
        late = int((now - self.due_at).total_seconds())
        self._enter(BREACHED, contracts.SLA_BREACHED, late_seconds=late)

    def _known(self, paused_at: datetime) -> bool:
        return any(pause.paused_at == paused_at for pause in self.pauses)

    def _index(self, paused_at: datetime) -> int:
        return next(n for n, pause in enumerate(self.pauses) if pause.paused_at == paused_at)

    def _paused_during(self, at: datetime) -> bool:
        return any(
            pause.resumed_at is not None and pause.paused_at <= at <= pause.resumed_at
            for pause in self.pauses
        )

    def _add_pause(self, pause: Pause) -> None:
        self.pauses = sorted([*self.pauses, pause], key=lambda p: p.paused_at)

    def _end_pause(self, at: datetime, calendar: WorkingCalendar) -> None:
        """A response or withdrawal ends a pause at its own time (not before the pause began)."""
        pause = self.pause_now
        if pause is not None:
            self._close(pause, max(at, pause.paused_at), calendar)
            if self.state == PAUSED:
                self.state = OPEN

    def _close(self, pause: Pause, at: datetime, calendar: WorkingCalendar) -> None:
        self.pauses[self._index(pause.paused_at)] = replace(pause, resumed_at=at)
        self._count_pause(self.pauses[self._index(pause.paused_at)], calendar)

    def _count_pause(self, pause: Pause, calendar: WorkingCalendar) -> None:
        """Count an ended pause; it moves the due date if it began before the clock breached."""
        days = calendar.paused_working_days(pause.paused_at, pause.resumed_at, self.area)
        self.paused_working_days += days
        if self.due_at is not None and not self.breach_emitted and pause.paused_at < self.breach_at:
            self._move_deadline(calendar.extended(self._deadline(), days, self.area))

    def _with_pauses(self, deadline: Deadline, calendar: WorkingCalendar) -> Deadline:
        """The deadline moved on by each ended pause begun before it fell due; recounts the days."""
        self.paused_working_days = 0
        for pause in self.pauses:
            if pause.resumed_at is None:
                continue
            days = calendar.paused_working_days(pause.paused_at, pause.resumed_at, self.area)
            self.paused_working_days += days
            if pause.paused_at < deadline.breach_at:
                deadline = calendar.extended(deadline, days, self.area)
        return deadline

    def _decide(self, at: datetime) -> None:
        on_time = at < self.breach_at and not self.breach_emitted
        outcome = MET if on_time else RESPONDED_LATE
        if outcome == self.state:
            return
        if outcome == MET:
            self._enter(MET, contracts.SLA_MET)
        else:
            late = max(0, int((at - self.due_at).total_seconds()))
            self._enter(RESPONDED_LATE, contracts.SLA_RESPONDED_LATE, late_seconds=late)

    def _set_deadline(self, deadline: Deadline, fingerprint: str) -> None:
        self._move_deadline(deadline)
        self.calendar_fingerprint = fingerprint

    def _move_deadline(self, deadline: Deadline) -> None:
        self.target_working_days = deadline.target_working_days
        self.at_risk_at = deadline.at_risk_at
        self.due_at = deadline.due_at

    def _deadline(self) -> Deadline:
        return Deadline(self.target_working_days or 0, self.at_risk_at, self.due_at)

    def _enter(self, state: str, event_type: str | None = None, late_seconds: int | None = None) -> None:
        """Move to `state`, recording an event of `event_type` if given."""
        self.state = state
        if event_type is not None:
            self.record(SlaEvent(event_type, self._event_data(late_seconds)))

    def _event_data(self, late_seconds: int | None) -> dict[str, Any]:
        return {
            "contact_id": self.contact_id,
            "reference": self.reference,
            "channel": self.channel,
            "centre_id": self.centre_id,
            "area": self.area,
            "assignee": self.assignee,
            "received_at": self.received_at,
            "due_at": self.due_at,
            "target_working_days": self.target_working_days,
            "responded_at": self.responded_at,
            "late_seconds": late_seconds,
            "urgency": self.urgency,
            "support_needed": self.support_needed,
        }
