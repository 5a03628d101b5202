"""Changing a notice that has not gone: a reminder dropped, a notice readdressed.

A notice queued on its own (pending, retrying, waiting, held) is changed by a
compare-and-set on itself, so one the delivery claimed first stays as it went.
A notice carried by a digest or group mail (digested, grouped) goes when its
mail goes, and the mail reads its items only once claimed: so the mail is asked
first to leave the item out (NotificationRepository.leave_out, a compare-and-set
on the mail that fails once it is claimed), and only then is the item changed.
An item whose mail was claimed or sent first (or cut off mid-send before: an
interrupted send may have been accepted) stays as it went, carried, with its
mail's Message-ID: never logged skipped or readdressed though it may have gone.

An item its mail left out is changed even if the mail went since (a crash
between the two writes, repaired when the event comes again).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .domain import CARRIED_STATUSES, QUEUED_STATUSES, Notification
from .repository import NotificationRepository

# Compare-and-set tries per notice: delivery, the digest and grouping move notices too.
ATTEMPTS = 5


class StillMoving(Exception):
    """A notice kept changing under the change: the event is tried again (the consumer retries)."""


@dataclass(eq=False)
class Unsent:
    notifications: NotificationRepository

    def change(self, notice: Notification, change: Callable[[Notification], None]) -> bool:
        """Apply `change` to `notice` if it has not gone nor been claimed; True if stored."""
        for _ in range(ATTEMPTS):
            if notice.status in CARRIED_STATUSES:
                if not self._left_out(notice):
                    return False
            elif notice.status not in QUEUED_STATUSES:
                return False
            if self.notifications.transition(notice, change):
                return True
            fresh = self.notifications.get(notice.id)
            if fresh is None:
                return False
            notice = fresh
        raise StillMoving(f"notification {notice.id} kept changing; the event is tried again")

    def _left_out(self, item: Notification) -> bool:
        """Whether the item's digest or group mail leaves it out: asked to now, if not yet claimed."""
        mail = self.notifications.get(item.digest_id) if item.digest_id else None
        for _ in range(ATTEMPTS):
            if mail is None or item.id not in mail.item_ids or item.id in mail.left_out:
                return True
            if not mail.surely_unsent:
                return False  # claimed, sent, or cut off mid-send before: it may have gone with the item
            if self.notifications.leave_out(mail, item.id):
                return True
            mail = self.notifications.get(mail.id)
        raise StillMoving(f"notification {item.digest_id} kept changing; the event is tried again")
