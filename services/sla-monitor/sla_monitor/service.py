"""The service layer: contact and centre events in, clock transitions out.

Every handler is idempotent on its own (a repeated event leaves the document
as it was and raises nothing); the consumer loop's processed-id check is only
a fast path.

Each change works on one aggregate (a clock, a centre) inside the repository's
read-change-write: the domain records its events, the change collects them
(`collect_events`) and the repository claims them with the state, per aggregate.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

from ccshared import contracts
from ccshared.aggregate import Aggregate
from ccshared.calendar import Deadline
from ccshared.consumer import Rejected
from ccshared.events import Event
from ccshared.timeutil import Clock

from .domain import (
    BREACHED,
    BY_CLOSURE,
    BY_REFERRAL_DECISION,
    BY_RESPONSE,
    ContactClock,
    Receipt,
    SlaEvent,
)
from .escalation import Ladder
from .freshness import CentreRecord
from .policy import Policy
from .repository import CentreRepository, Change, ClockRepository

log = logging.getLogger(__name__)

SCAN_BATCH = 200


@dataclass(eq=False)
class Monitor:
    clocks: ClockRepository
    centres: CentreRepository
    policy: Policy
    clock: Clock
    _: KW_ONLY
    stale_days: int = 90
    late_receipt_grace: timedelta = timedelta(seconds=5)
    ladder: Ladder | None = None  # the reminders of breaches still unanswered; None raises none
    # (its now, whether it took a full batch)
    _last_scan: tuple[datetime, bool] | None = field(default=None, init=False, repr=False)

    def handlers(self) -> dict:
        contact = {
            contracts.CONTACT_RECEIVED: self.on_received,
            contracts.CONTACT_ASSIGNED: self.on_assigned,
            contracts.CONTACT_RESPONDED: self.on_responded,
            contracts.CONTACT_CLOSED: self.on_closed,
            contracts.CONTACT_WITHDRAWN: self.on_withdrawn,
            contracts.CONTACT_PAUSED: self.on_paused,
            contracts.CONTACT_RESUMED: self.on_resumed,
            contracts.REFERRAL_ACCEPTED: self.on_referral_decision,
            contracts.REFERRAL_DECLINED: self.on_referral_decision,
            contracts.CONTACT_AREA_MOVED: self.on_area_moved,
        }
        return {**contact, **{name: self.on_centre for name in contracts.CENTRE_EVENTS}}

    def on_received(self, event: Event) -> None:
        """Start the clock. A contact logged with its answer already given carries its
        `responded_at` here too: held first, it decides the clock on receipt, by the answer's
        own time, whenever its responded event follows."""
        data = event.data
        receipt = Receipt(
            contact_id=data["contact_id"],
            reference=data["reference"],
            channel=data["channel"],
            centre_id=data["centre_id"],
            area=data["area"],
            received_at=data["received_at"],
            urgency=data.get("urgency"),
            support_needed=data.get("support_needed"),
        )
        fingerprint = self.policy.fingerprint
        now = self.clock.now()
        calendar = self.policy.calendar

        def receive(c: ContactClock) -> None:
            deadline = self._receipt_deadline(receipt, c.area_on_receipt(receipt))
            if data.get("responded_at") is not None:
                c.respond(data["responded_at"], calendar, BY_RESPONSE)
            c.receive(receipt, deadline, fingerprint, now, self.late_receipt_grace, calendar)
            c.assign(data.get("assignee"), data["occurred_at"])

        self._contact(data, receive)

    def _receipt_deadline(self, receipt: Receipt, area: str) -> Deadline:
        """The receipt's deadline in `area`, the one its clock runs in (a held move's)."""
        try:
            return self.policy.deadline(receipt.channel, receipt.received_at, receipt.urgency, area)
        except ValueError as exc:  # a received date outside the calendar's range
            raise Rejected(str(exc)) from exc

    def on_assigned(self, event: Event) -> None:
        data = event.data
        self._contact(data, lambda c: c.assign(data.get("assignee"), data["occurred_at"]))

    def on_responded(self, event: Event) -> None:
        data = event.data
        at = data.get("responded_at") or data["occurred_at"]
        self._contact(data, lambda c: c.respond(at, self.policy.calendar, BY_RESPONSE))

    def on_referral_decision(self, event: Event) -> None:
        data = event.data
        self._contact(
            data, lambda c: c.respond(data["occurred_at"], self.policy.calendar, BY_REFERRAL_DECISION)
        )

    def on_closed(self, event: Event) -> None:
        data = event.data
        at = data.get("responded_at") or data["occurred_at"]
        by = BY_RESPONSE if data.get("responded_at") else BY_CLOSURE
        self._contact(data, lambda c: c.respond(at, self.policy.calendar, by))

    def on_withdrawn(self, event: Event) -> None:
        data = event.data
        self._contact(data, lambda c: c.withdraw(data["occurred_at"], self.policy.calendar))

    def on_paused(self, event: Event) -> None:
        """The clock stands still from the pause's own time (the contacts service stamps it)."""
        data = event.data
        at = data.get("paused_at") or data["occurred_at"]
        now = self.clock.now()
        self._contact(data, lambda c: c.pause(at, data.get("reason_code"), now))

    def on_resumed(self, event: Event) -> None:
        data = event.data
        if data.get("paused_at") is None:
            raise Rejected("a resume names the pause it ends in paused_at")
        now = self.clock.now()
        self._contact(
            data, lambda c: c.resume(data["paused_at"], data["occurred_at"], now, self.policy.calendar)
        )

    def on_area_moved(self, event: Event) -> None:
        """The contact followed its centre into another area: its clock, breaches and figures
        go with it; a clock still running on time takes the new area's closure days."""
        data = event.data
        now = self.clock.now()
        calendar = self.policy.calendar

        def move(c: ContactClock) -> None:
            if c.move_area(data["to_area"], data["moved_at"], data["move"]):
                deadline = self.policy.deadline(c.channel, c.received_at, c.urgency, c.area)
                c.recompute(deadline, self.policy.fingerprint, now, calendar)

        self._contact(data, move)

    def _contact(self, data: dict, step: Callable[[ContactClock], object]) -> None:
        contact_id = data["contact_id"]
        change = self._then_escalate(step, self.clock.now())
        raised = self.clocks.change(contact_id, change, make=lambda: ContactClock(contact_id))
        _log_raised(contact_id, raised)

    def _then_escalate(self, step: Callable[[ContactClock], object], now: datetime) -> Change:
        """A change of a clock: `step`, then the escalation ladder; returns the events both recorded."""

        def steps(clock: ContactClock) -> None:
            step(clock)
            self._escalate(clock, now)

        return _collected(steps)

    def on_centre(self, event: Event) -> None:
        data = event.data
        centre_id = data["centre_id"]
        seen_at = event.time if isinstance(event.time, datetime) else self.clock.now()
        self.centres.change(
            centre_id,
            _collected(lambda record: record.apply(data, seen_at, self.stale_days)),
            make=lambda: CentreRecord(centre_id),
        )

    def scan(self, limit: int = SCAN_BATCH) -> int:
        """Move every clock that has fallen due; return how many events were staged."""
        now = self.clock.now()
        staged = 0
        due = self.clocks.falling_due(now, limit)
        self._last_scan = (now, len(due) >= limit)
        for clock in due:
            raised = self.clocks.try_change(
                clock.contact_id, self._then_escalate(lambda c: c.advance(now), now)
            )
            _log_raised(clock.contact_id, raised)
            staged += len(raised)
        return staged

    def seconds_to_next_due(self, longest: float) -> float:
        """How long the scanner may sleep: until the earliest clock falls due, at most `longest`."""
        due = self.clocks.next_due()
        if due is None:
            return longest
        if self._last_scan is not None:
            scanned_at, full = self._last_scan
            if due <= scanned_at:  # the last scan left it: more than a batch, or another instance's
                return 0.0 if full else longest
        return min(longest, max(0.0, (due - self.clock.now()).total_seconds()))

    def recompute(self, limit: int = SCAN_BATCH) -> int:
        """Re-derive the deadlines of running clocks made under another calendar, closure or target."""
        fingerprint = self.policy.fingerprint
        self.clocks.stamp_unmarked(limit)
        changed = 0
        while True:
            batch = self.clocks.made_under_another(fingerprint, limit)
            if not batch:
                return changed
            now = self.clock.now()
            for clock in batch:
                deadline = self.policy.deadline(clock.channel, clock.received_at, clock.urgency, clock.area)
                self.clocks.change(
                    clock.contact_id,
                    self._then_escalate(
                        lambda c, d=deadline, t=now: c.recompute(d, fingerprint, t, self.policy.calendar), now
                    ),
                )
                changed += 1

    def replan_reminders(self, limit: int = SCAN_BATCH) -> int:
        """Re-plan the reminders of breached clocks planned under another calendar or N; return how many."""
        if self.ladder is None:
            return 0
        filter = {"state": BREACHED, "ladder_fingerprint": {"$ne": self.ladder.fingerprint}}
        changed = 0
        while batch := list(self.clocks.find(filter, limit=limit)):
            now = self.clock.now()
            for clock in batch:
                raised = self.clocks.change(
                    clock.contact_id, _collected(lambda c, t=now: self.ladder.replan(c, t))
                )
                _log_raised(clock.contact_id, raised)
                changed += 1
        return changed

    def _escalate(self, clock: ContactClock, now: datetime) -> None:
        if self.ladder is not None:
            self.ladder.escalate(clock, now)

    def check_freshness(self, limit: int = SCAN_BATCH) -> int:
        now = self.clock.now()
        staged = 0
        for record in self.centres.going_stale(now, limit):
            staged += len(self.centres.try_change(record.centre_id, _collected(lambda r: r.check(now))))
        return staged

    def rearm_centres(self, limit: int = SCAN_BATCH) -> None:
        """After a change of SLA_STALE_DAYS, move each centre's next check."""
        filter = {"stale_days": {"$ne": self.stale_days}}
        while batch := list(self.centres.find(filter, limit=limit)):
            for record in batch:
                self.centres.change(record.centre_id, _collected(lambda r: r.rearm(self.stale_days)))


A = TypeVar("A", bound=Aggregate[SlaEvent])


def _collected(step: Callable[[A], object]) -> Callable[[A], list[SlaEvent]]:
    """A change of an aggregate: `step`, then the events it recorded, collected in order."""

    def change(item: A) -> list[SlaEvent]:
        step(item)
        return item.collect_events()

    return change


def _log_raised(contact_id: str, raised: list[SlaEvent]) -> None:
    for event in raised:
        log.info("sla event staged", extra={"contact_id": contact_id, "type": event.type})
