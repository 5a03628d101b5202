"""The consumer side: events in, notification records out (fast and idempotent).

Handlers only write records; nothing is sent here, so a slow or failing mail
server never holds up the event stream. A redelivered event finds its records
already written (their ids are "event_id:recipient") and adds nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ccshared import contracts as c
from ccshared import events, referrals
from ccshared.consumer import Rejected
from ccshared.hints import Hints
from ccshared.timeutil import Clock

from .area_moves import AreaMoves
from .domain import (
    AGENCY,
    AREA_ADDRESSED,
    EVENT,
    MOOT_ONCE_STOPPED,
    NOTIFYING_EVENTS,
    PARTNER_CHANGES,
    Addressing,
    Routing,
    UnknownArea,
    digest_readers,
    new_notifications,
    partner_recipients,
)
from .erasure import Erasures
from .repository import AreaMoveLog, CentreDirectory, NotificationRepository
from .unsent import Unsent

log = logging.getLogger(__name__)


def envelope_of(event: events.Event, data: dict[str, Any]) -> dict[str, Any]:
    """The event as it came (JSON form), kept for the dead-letter topic."""
    return {
        "id": event.id,
        "source": event.source,
        "type": event.type,
        "time": event.time.isoformat(),
        "subject": event.subject,
        "specversion": events.SPEC_VERSION,
        "datacontenttype": events.CONTENT_TYPE,
        "data": data,
    }


@dataclass(eq=False)
class Intake:
    notifications: NotificationRepository
    centres: CentreDirectory
    routing: Routing
    digest_recipients: frozenset[str]
    clock: Clock
    erasures: Erasures
    area_moves: AreaMoves
    moves: AreaMoveLog  # an SLA event raised before the monitor heard of a move names the old area
    recorded: Hints | None = None

    def handlers(self) -> dict[str, Callable[[events.Event], None]]:
        handlers: dict[str, Callable[[events.Event], None]] = dict.fromkeys(NOTIFYING_EVENTS, self.notify)
        handlers.update(dict.fromkeys(c.CENTRE_EVENTS, self.centre_changed))
        handlers[c.SLA_STARTED] = self.referral_received
        handlers.update(dict.fromkeys(c.CONTACT_EVENTS, self.referral_changed))
        handlers[c.AGENCY_WEBHOOK_FAILING] = self.webhook_failing
        handlers.update(dict.fromkeys((c.SLA_MET, c.SLA_RESPONDED_LATE), self.clock_stopped))
        handlers[c.CONTACT_WITHDRAWN] = self.withdrawn
        handlers[c.CONTACT_RESUMED] = self.resumed
        handlers[c.CONTACT_PERSONAL_ERASED] = self.erasures.contact_erased
        handlers[c.CONTACT_AREA_MOVED] = self.area_moves.contact_moved
        return handlers

    def withdrawn(self, event: events.Event) -> None:
        self.referral_changed(event)
        self.clock_stopped(event)

    def resumed(self, event: events.Event) -> None:
        """The centre stopped waiting: a "waiting on you" e-mail not gone yet is no longer so."""
        self._drop_queued(event.data["contact_id"], (c.CONTACT_PAUSED,), "the centre stopped waiting")

    def clock_stopped(self, event: events.Event) -> None:
        """Answered or withdrawn: its reminders (due today, still overdue) not gone yet, queued or in
        a digest or group mail not claimed yet, are no longer needed (one that went stays)."""
        why = "withdrawn" if event.type == c.CONTACT_WITHDRAWN else "answered"
        self._drop_queued(event.data["contact_id"], MOOT_ONCE_STOPPED, f"the contact was {why}")

    def _drop_queued(self, contact_id: str, event_types: tuple[str, ...], why: str) -> None:
        now = self.clock.now()
        unsent = Unsent(self.notifications)
        for notice in self.notifications.queued_about(contact_id, event_types):
            unsent.change(notice, lambda queued: queued.skipped(now, f"no longer needed: {why}"))

    def webhook_failing(self, event: events.Event) -> None:
        """An agency's webhook receiver keeps failing: its notification address is told, once."""
        data = events.REGISTRY[event.type]().dump(event.data)
        addressing = Addressing(to=(f"{AGENCY}:{data['agency_id']}",))
        self._record(event, data | {"area": None}, addressing, digest_recipients=frozenset())

    def referral_received(self, event: events.Event) -> None:
        """A new referral: the centre hears at once (never held for a digest), the referrer gets a receipt."""
        data = events.REGISTRY[event.type]().dump(event.data)
        if data["channel"] != c.REFERRAL:
            return
        data["area"] = self.moves.current_area(data["contact_id"], data["area"])
        data["centre_email"] = self.centres.email_of(data["centre_id"])
        try:
            staff = self.routing.addressing(event.type, data)
        except UnknownArea as exc:
            raise Rejected(str(exc)) from exc
        self._record(event, data, staff, digest_readers(event.type, self.digest_recipients))
        self._record(event, data, partner_recipients(data["contact_id"]), digest_recipients=frozenset())

    def referral_changed(self, event: events.Event) -> None:
        """Opened, accepted, declined or answered: one e-mail to each of the referral's referrers."""
        if referrals.change_of(event.type, event.data) not in PARTNER_CHANGES:
            return
        data = events.REGISTRY[event.type]().dump(event.data)
        self._record(event, data, partner_recipients(data["contact_id"]), digest_recipients=frozenset())

    def notify(self, event: events.Event) -> None:
        data = events.REGISTRY[event.type]().dump(event.data)
        if event.type in AREA_ADDRESSED:
            data["area"] = self.moves.current_area(data["contact_id"], data["area"])
        if event.type == c.CENTRE_STALE:
            self.centres.record(data["centre_id"], data["name"], data["area"])
        try:
            addressing = self.routing.addressing(event.type, data)
        except UnknownArea as exc:
            raise Rejected(str(exc)) from exc
        assignee = data.get("assignee")
        if event.type == c.SLA_AT_RISK and assignee and self.routing.staff_address(assignee) is None:
            log.warning("assignee has no usable address; told the coordinator", extra={"event_id": event.id})
        self._record(event, data, addressing, self.digest_recipients)

    def _record(
        self,
        event: events.Event,
        data: dict[str, Any],
        addressing: Addressing,
        digest_recipients: frozenset[str],
    ) -> None:
        records = new_notifications(
            kind=EVENT,
            event_id=event.id,
            event_type=event.type,
            addressing=addressing,
            area=data["area"],
            data=data,
            envelope=envelope_of(event, data),
            digest_recipients=digest_recipients,
            now=self.clock.now(),
        )
        added = 0
        for record in records:
            if self.notifications.add(record):
                added += 1
                if self.recorded is not None:
                    self.recorded.add(record.id)
        log.info(
            "notifications recorded",
            extra={"event_id": event.id, "type": event.type, "added": added, "recipients": len(records)},
        )

    def centre_changed(self, event: events.Event) -> None:
        data = event.data
        self.centres.record(data["centre_id"], data["name"], data["area"], data["version"], data.get("email"))
