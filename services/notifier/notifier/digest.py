"""The daily digest: notifications held for readers who want one e-mail a day.

At the configured local time on each working day, every digest reader's
notifications held before that time become one digest notification (id "digest-YYYY-MM-DD:address"),
which the delivery loop then sends like any other. Working days are the shared
calendar's (ccshared.calendar, the SLA monitor's too): no digest on a bank
holiday or a closure day of every area, and a notice about an area closed that
day waits for the area's next working day. Creating the digest and
marking its items digested are two writes; the digest lists its items, so a
crash between them is repaired on the next run instead of repeating items. The
delivery, once it has claimed the digest, makes the second write itself if it
has not been made: a notice skipped between the two is then either digested
and carried, or skipped and left out, as its compare-and-set or the skip's won.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import date, datetime, time

from ccshared.calendar import WorkingCalendar
from ccshared.mailboxes import mailbox
from ccshared.retrying import every
from ccshared.timeutil import LONDON, Clock

from .domain import DIGEST, DIGEST_TYPE, Notification, carrier, notification_id
from .repository import NotificationRepository

log = logging.getLogger(__name__)


def digest_day_due(now: datetime, at: time, calendar: WorkingCalendar) -> date | None:
    """The local date whose digest is due at `now`, or None on a non-working day or before `at`."""
    local = now.astimezone(LONDON)
    if not calendar.is_working_day(local.date()) or local.time() < at:
        return None
    return local.date()


def digest_cutoff(day: date, at: time) -> datetime:
    """A day's digest covers what was held before its local digest time; later items wait a day."""
    return datetime.combine(day, at, tzinfo=LONDON)


@dataclass(eq=False)
class DigestScheduler:
    notifications: NotificationRepository
    recipients: frozenset[str]  # mailboxes: ccshared.mailboxes.mailbox(address)
    at: time
    clock: Clock
    calendar: WorkingCalendar | None = None  # None: England's bank holidays alone

    def __post_init__(self) -> None:
        self.calendar = self.calendar or WorkingCalendar()

    def run_once(self) -> int:
        """Release held items of former digest readers; create today's digests once due."""
        now = self.clock.now()
        self._release_former_readers(now)
        day = digest_day_due(now, self.at, self.calendar)
        if day is None:
            return 0
        readers = {held for held in self.notifications.held_recipients() if mailbox(held) in self.recipients}
        return sum(self._digest_for(recipient, day, now) for recipient in sorted(readers))

    def run(self, stop: threading.Event, every_seconds: float = 30.0) -> None:
        every(stop, every_seconds, self.run_once, "digest scheduler waiting for the store")

    def _digest_for(self, recipient: str, day: date, now: datetime) -> bool:
        event_id = f"digest-{day.isoformat()}"
        existing = self.notifications.get(notification_id(event_id, recipient))
        if existing is not None:
            self._settle_items(existing, now)
            return False
        cutoff = digest_cutoff(day, self.at)
        items = [
            item
            for item in self.notifications.held_for(recipient)
            if item.created_at <= cutoff and self.calendar.is_working_day(day, item.area)
        ]
        if not items:
            return False
        digest = carrier(DIGEST, DIGEST_TYPE, event_id, recipient, items, {"day": day.isoformat()}, now)
        created = self.notifications.add(digest)
        self._settle_items(self.notifications.get(digest.id) or digest, now)
        if created:
            log.info("digest created", extra={"notification": digest.id, "items": len(items)})
        return created

    def _settle_items(self, digest: Notification, now: datetime) -> None:
        self.notifications.settle_items(digest, now)

    def _release_former_readers(self, now: datetime) -> None:
        for recipient in self.notifications.held_recipients():
            if mailbox(recipient) in self.recipients:
                continue
            for item in self.notifications.held_for(recipient):
                self.notifications.transition(item, lambda held: held.released(now))
