"""Storm grouping: many notices for one recipient close together go out as one e-mail per window.

As Alertmanager's group_wait and group_interval: a recipient with no notice in
the last `interval` gets the next one at once, and opens a window. What follows
for that recipient waits, and goes as one group e-mail `wait` after that first
one (30 s by default), then at most one group e-mail every `interval` (5 min)
while notices keep coming. After a quiet `interval`, the next notice goes at
once again. A group e-mail lists each contact's reference, centre and due date.

Grouped: staff notices about a contact's clock (domain.GROUPED_TYPES) to an
address. Partners' notices, new referrals and centre notices go alone, and a
digest reader's notices are held for the digest already.

Nothing is dropped but reminders no longer needed: a notice waits (status
waiting) until a group mail lists it (status grouped, `digest_id` = the group's
notification id), and the group mail is a notification like any other, with
retries and dead letters. The delivery log keeps each notice with the
Message-ID that carried it. A reminder whose contact is answered or withdrawn
before its group mail goes is skipped (intake.clock_stopped) and left out of it
(domain.still_carried); a group mail left with none is skipped, not sent.

One window document per recipient (`group_windows`) says when the recipient
was last mailed and when the next group mail is due. A group mail's id is its
recipient, its window's due instant and a part number, so two instances
flushing one window make one mail (an insert claim), and a crash between
making the group and marking its items is repaired by the next flush, as the
digest does. A notice found waiting with no group mail due (two instances
crossed) gets one on the next housekeeping pass.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Never

from ccshared.aggregate import Aggregate
from ccshared.timeutil import Clock

from .domain import GROUP, GROUP_TYPE, Notification, carrier, notification_id

if TYPE_CHECKING:
    from .repository import GroupWindows, NotificationRepository

log = logging.getLogger(__name__)

# Notices listed in one group mail at most; more in one window go as further parts.
MAX_GROUP_ITEMS = 2000
_ATTEMPTS = 5


@dataclass
class Window(Aggregate[Never]):
    """One recipient's grouping window: when it was last mailed and when its next group mail is due.

    Its methods change it in place and it raises no events. Its repository writes a change
    as a compare-and-set on the `version` it had before (GroupWindows.transition), so of two
    instances changing one window, one wins and the other reads it again.
    """

    recipient: str
    last_mail_at: datetime
    last_was_group: bool = False
    flush_at: datetime | None = None
    version: int = 0

    def is_open(self, now: datetime, interval: timedelta) -> bool:
        return self.flush_at is not None or now < self.last_mail_at + interval

    @property
    def group_due(self) -> bool:
        return self.flush_at is not None

    def reopened(self, now: datetime) -> None:
        """A lone notice went `now` after a quiet interval: the window starts again from it."""
        self.last_mail_at = now
        self.last_was_group = False
        self.flush_at = None

    def scheduled(self, now: datetime, wait: timedelta, interval: timedelta) -> None:
        """A group mail due `wait` after a lone first notice, `interval` after a group mail."""
        if self.flush_at is not None:
            return
        gap = interval if self.last_was_group else wait
        self.flush_at = max(now, self.last_mail_at + gap)

    def stranded(self, now: datetime) -> None:
        """Notices wait with no group mail due (two instances crossed): one is due `now`."""
        self.flush_at = now

    def flushed(self) -> None:
        """The group mail due went: the next waits `interval` from it."""
        assert self.flush_at is not None
        self.last_mail_at = self.flush_at
        self.last_was_group = True
        self.flush_at = None

    def emptied(self) -> None:
        """The group mail came due with nothing waiting: none went."""
        self.flush_at = None

    @property
    def stamp(self) -> str:
        assert self.flush_at is not None
        return self.flush_at.strftime("%Y%m%dT%H%M%S%fZ")


@dataclass(eq=False)
class Grouper:
    notifications: NotificationRepository
    windows: GroupWindows
    clock: Clock
    wait: timedelta
    interval: timedelta

    def route(self, due: Sequence[Notification]) -> list[Notification]:
        """The notices to send now; the others of a recipient in a window wait for its group mail."""
        now = self.clock.now()
        alone: list[Notification] = []
        by_recipient: dict[str, list[Notification]] = {}
        for notice in due:
            if notice.groupable:
                by_recipient.setdefault(notice.recipient, []).append(notice)
            else:
                alone.append(notice)
        for recipient, notices in by_recipient.items():
            notices.sort(key=lambda n: n.created_at)
            alone.extend(self._route(recipient, notices, now))
        return alone

    def _route(self, recipient: str, notices: list[Notification], now: datetime) -> list[Notification]:
        for _ in range(_ATTEMPTS):
            window = self.windows.get(recipient)
            if window is None or not window.is_open(now, self.interval):
                if window is None:
                    window = Window(recipient, now)
                    opened = self.windows.add(window)
                else:
                    opened = self.windows.transition(window, lambda quiet: quiet.reopened(now))
                if not opened:
                    continue  # another instance opened it first: these wait in its window
                if len(notices) > 1 and not self._hold(window, notices[1:], now):
                    return list(notices)
                return notices[:1]
            if self._hold(window, notices, now):
                return []
        log.warning("grouping window contended; sending alone", extra={"recipient_notices": len(notices)})
        return list(notices)

    def _hold(self, window: Window, notices: Sequence[Notification], now: datetime) -> bool:
        """Make sure a group mail is due, then let the notices wait for it."""
        if not window.group_due and not self.windows.transition(
            window, lambda current: current.scheduled(now, self.wait, self.interval)
        ):
            return False
        for notice in notices:
            self.notifications.transition(notice, lambda due: due.waiting(now))
        return True

    def flush(self) -> list[Notification]:
        """Make the group mails that are due; return the new ones (to send at once)."""
        now = self.clock.now()
        made: list[Notification] = []
        for window in self.windows.due(now):
            made.extend(self._flush(window, now))
        return made

    def _flush(self, window: Window, now: datetime) -> list[Notification]:
        made: list[Notification] = []
        part = 1
        while True:
            group_id = notification_id(f"group-{window.stamp}-{part}", window.recipient)
            group = self.notifications.get(group_id)
            if group is None:
                items = self.notifications.waiting_for(window.recipient, limit=MAX_GROUP_ITEMS)
                if not items:
                    break
                group = _group(window, part, items, now)
                if self.notifications.add(group):
                    made.append(group)
                    log.info("group mail made", extra={"notification": group.id, "items": len(items)})
                group = self.notifications.get(group_id) or group
            self._settle(group, now)
            part += 1
        self.windows.transition(window, Window.flushed if part > 1 else Window.emptied)
        return made

    def _settle(self, group: Notification, now: datetime) -> None:
        self.notifications.settle_items(group, now)

    def rescue(self, limit: int = 100) -> int:
        """Give a group mail to notices left waiting with none due; return how many windows were fixed."""
        now = self.clock.now()
        fixed = 0
        stranded = self.notifications.waiting_since(now - self.interval - self.wait, limit)
        for recipient in {notice.recipient for notice in stranded}:
            window = self.windows.get(recipient)
            if window is None:
                fixed += self.windows.add(Window(recipient, now, flush_at=now))
            elif not window.group_due:
                fixed += self.windows.transition(window, lambda idle: idle.stranded(now))
        if fixed:
            log.warning("waiting notices had no group mail due; scheduled one", extra={"windows": fixed})
        return fixed


def _group(window: Window, part: int, items: Sequence[Notification], now: datetime) -> Notification:
    data = {"window": window.flush_at.isoformat() if window.flush_at else None, "part": part}
    return carrier(GROUP, GROUP_TYPE, f"group-{window.stamp}-{part}", window.recipient, items, data, now)
