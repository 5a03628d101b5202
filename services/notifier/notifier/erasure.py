"""Erasing what the notifier kept of a contact whose personal data contacts erased.

The delivery log itself holds ids, times, statuses and what the mail server
answered, which may repeat the recipient's address; what came from contacts'
personal data (the referrer's work address, a decline's reason) is in the
copies the transport keeps of the messages sent (the file transport's .eml
files). On contact.personal_erased, each notice that told a partner about the
contact has its kept copy erased and says when (`erased_at`), and its server's
texts lose their addresses (Notification.erased); its status and times stay for
the delivery log and the SLA evidence.

Idempotent: a notice already erased keeps its first `erased_at`, and a copy
already erased is not written again, so a redelivered event does nothing more.
A notice not yet sent asks contacts for its facts at send time and so goes
without what was erased (delivery.py also drops them itself).

When all of the contact was erased, its area moves (repository.AreaMoveLog) go too: they
hold ids and areas only, but nothing else would ever drop them, and by then they serve no
one. A move readdresses only the SLA events the monitor raised before it heard of it, in
flight for moments; retention erases a contact a year after its end, and a subject's
request on a contact still open would have to come in those moments to send one of them
to the old area.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ccshared import contracts as c
from ccshared import events
from ccshared.timeutil import Clock

from .domain import Notification, told_what_was_erased
from .mail import Transport
from .repository import AreaMoveLog, NotificationRepository
from .unsent import ATTEMPTS, StillMoving

log = logging.getLogger(__name__)


@dataclass(eq=False)
class Erasures:
    notifications: NotificationRepository
    moves: AreaMoveLog
    transport: Transport
    clock: Clock

    def contact_erased(self, event: events.Event) -> None:
        contact_id, parts = event.data["contact_id"], event.data["parts"]
        erased = 0
        for notice in self.notifications.about(contact_id):
            if told_what_was_erased(notice, parts):
                erased += self._erase(notice)
        moves = self.moves.forget(contact_id) if c.ERASED_ALL in parts else 0
        log.info(
            "copies erased with the contact's personal data",
            extra={"event_id": event.id, "erased": erased, "moves_forgotten": moves},
        )

    def _erase(self, notice: Notification) -> int:
        """The record first, then its kept copy (erasing one already erased changes nothing):
        a copy a send writes after this read is erased by the delivery, which sees the record."""
        now = self.clock.now()
        for _ in range(ATTEMPTS):
            if notice.erased_at is not None:
                self.transport.erase(notice.message_key, notice.erased_at)
                return 0
            if self.notifications.transition(notice, lambda kept: kept.erased(now)):
                self.transport.erase(notice.message_key, now)
                return 1
            notice = self.notifications.get(notice.id) or notice
        raise StillMoving(f"notification {notice.id} kept changing; its erasure is tried again")
