"""Readdressing what has not gone when an open contact follows its centre into another area.

contact.area_moved.v1 (ids and areas only) comes when staff move a centre and the
contact is still open. Later SLA events name the new area; the notices already
recorded for the old one (due today, overdue, still overdue, a new referral's
notice) are readdressed while they have not gone: each to its counterpart for
the new area, as a fresh notice there would be addressed (the new area's
coordinator for the old one's, the Principal Officer and an assignee as they
were), due at once or held for its new recipient's digest. One carried by a
digest or group mail not claimed yet leaves it first (unsent.py). What went, or
is going, stays as it went; partners' notices are not addressed by area.

Moves are followed in the order they happened (the event's `move`, the contact's
count of them), not the order they arrive: a move from A to B that comes after the
one from B to C takes A's notices to C, where the contact is, and one undone by a
later move back to its old area takes nothing anywhere.

The event sends nothing itself: it changes notices that were to go anyway.
Idempotent: only notices still in the old area move, so a redelivered event,
or one about a contact with nothing queued, changes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ccshared import events
from ccshared.consumer import Rejected
from ccshared.mailboxes import mailbox
from ccshared.timeutil import Clock

from .domain import (
    AREA_ADDRESSED,
    CARRIED_STATUSES,
    QUEUED_STATUSES,
    Addressing,
    Notification,
    Routing,
    UnknownArea,
    digest_readers,
    partner_role,
    readdressing,
)
from .repository import AreaMoveLog, NotificationRepository
from .unsent import Unsent

log = logging.getLogger(__name__)


@dataclass(eq=False)
class AreaMoves:
    notifications: NotificationRepository
    moves: AreaMoveLog
    routing: Routing
    digest_recipients: frozenset[str]
    clock: Clock

    def contact_moved(self, event: events.Event) -> None:
        data = event.data
        from_area, contact_id = data["from_area"], data["contact_id"]
        self.moves.record(event.id, contact_id, from_area, data["to_area"], data["moved_at"], data["move"])
        to_area = self.moves.current_area(contact_id, from_area)
        # A later move took it back: its notices are where it is.
        notices = [] if to_area == from_area else self.notifications.about(contact_id)
        moved = sum(self._move(notice, to_area) for notice in notices if self._movable(notice, from_area))
        log.info(
            "notices readdressed to the contact's new area", extra={"event_id": event.id, "moved": moved}
        )

    @staticmethod
    def _movable(notice: Notification, from_area: str) -> bool:
        return (
            notice.area == from_area
            and notice.event_type in AREA_ADDRESSED
            and notice.status in (*QUEUED_STATUSES, *CARRIED_STATUSES)
            and partner_role(notice.recipient) is None
        )

    def _move(self, notice: Notification, to_area: str) -> bool:
        """Readdress one notice; True if it changed (False: it went, or goes to its reader anyway)."""
        try:
            addressing = self.routing.addressing(notice.event_type, {**notice.data, "area": to_area})
        except UnknownArea as exc:
            raise Rejected(str(exc)) from exc
        now = self.clock.now()
        recipient = readdressing(Addressing(notice.to, notice.cc), addressing)[notice.recipient]
        if recipient is not None and mailbox(recipient) == mailbox(notice.recipient):
            if notice.status not in QUEUED_STATUSES:
                return False  # carried to this reader already, by a mail of its own
            return self.notifications.transition(notice, lambda kept: kept.moved_to(addressing, to_area))

        def readdressed(old: Notification) -> None:
            if recipient is None:
                old.skipped(now, f"readdressed: the contact moved to {to_area}, whose recipients have it")
                return
            held = mailbox(recipient) in digest_readers(notice.event_type, self.digest_recipients)
            old.readdressed(recipient, addressing, to_area, held, now)

        return Unsent(self.notifications).change(notice, readdressed)
