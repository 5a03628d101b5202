"""Who may read which part of the delivery log and the mailbox, and send a failed e-mail again."""

from __future__ import annotations

from ccshared import contracts as c
from ccshared.auth import StaffUser
from ccshared.errors import Forbidden
from ccshared.mailboxes import same_address

from .domain import DIGEST_TYPE, GROUP_TYPE, Notification, Routing
from .file_transport import StoredMessage

# A group mail or a daily digest carries notices, of one area or (area None) of several:
# a user who moved area is still sent notices of contacts assigned to them before.
CARRIERS = frozenset({GROUP_TYPE, DIGEST_TYPE})
# What the notifier sends a staff member by name: an at-risk notice for a contact
# assigned to them, or a carrier of such notices. Everything else goes to a role
# mailbox, a centre's inbox or a partner, never to a username.
PERSONAL_TYPES = frozenset({c.SLA_AT_RISK, *CARRIERS})


def log_area(user: StaffUser) -> str | None:
    """The area a user's view of the delivery log is limited to; None for all areas."""
    if user.sees_all_areas:
        return None
    if user.role == c.ROLE_COORDINATOR and user.area:
        return user.area
    raise Forbidden("the delivery log is for the Principal Officer, admins and area coordinators")


def may_read(user: StaffUser, message: StoredMessage, routing: Routing) -> bool:
    """Principal Officer and admins: all; coordinators: their area's and their mailbox's;
    everyone: the notices sent to them by name, in their own area.

    Access goes by role and area. The address a username spells grants nothing of
    itself: a user named like a role mailbox, a centre's inbox or an agency's
    notification address reads none of its mail, and a notice to the user's own
    address is theirs only in their own area.
    """
    if user.sees_all_areas:
        return True
    delivered = (message.delivered_to or "").lower()
    if user.role == c.ROLE_COORDINATOR and user.area:
        if message.area == user.area or delivered == routing.coordinators.get(user.area, "").lower():
            return True
    if not delivered or message.event_type not in PERSONAL_TYPES:
        return False
    if not user.may_see_area(message.area) and not (message.area is None and message.event_type in CARRIERS):
        return False
    own = routing.staff_address(user.username)
    return own is not None and delivered == own.lower() and not routing.mailboxes.is_role_address(delivered)


def may_resend(user: StaffUser, notification: Notification | None, routing: Routing) -> bool:
    """Who sees a notification in the delivery log may send it again: the Principal Officer
    and admins any; a coordinator their area's and their mailbox's (as `may_read`).

    Staff read no delivery log: Forbidden (`log_area`) whether the notification exists or not.
    """
    area = log_area(user)
    if notification is None:
        return False
    if area is None or notification.area == area:
        return True
    return same_address(notification.recipient, routing.coordinators.get(area))
