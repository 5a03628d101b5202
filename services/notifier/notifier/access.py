"""Who may read which part of the delivery log and the mailbox."""

from __future__ import annotations

from ccshared.auth import StaffUser
from ccshared.contracts import ROLE_COORDINATOR
from ccshared.errors import Forbidden

from .domain import Routing
from .file_transport import StoredMessage


def log_area(user: StaffUser) -> str | None:
    """The area a user's view of the delivery log is limited to; None for all areas."""
    if user.sees_all_areas:
        return None
    if user.role == ROLE_COORDINATOR and user.area:
        return user.area
    raise Forbidden("the delivery log is for the Principal Officer, admins and area coordinators")


def may_read(user: StaffUser, message: StoredMessage, routing: Routing) -> bool:
    """Principal Officer and admins: all; coordinators: their area's and their mailbox's;
    everyone: mail to their own address.

    A role mailbox (a coordinator's, the Principal Officer's) is read by role and
    area only: a username that happens to spell its address gives no access.
    """
    if user.sees_all_areas:
        return True
    delivered = (message.delivered_to or "").lower()
    if user.role == ROLE_COORDINATOR and user.area:
        if message.area == user.area or delivered == routing.coordinators.get(user.area, "").lower():
            return True
    if not delivered:
        return False
    if user.username in routing.staff_emails:  # an explicit username -> address
        return delivered == routing.staff_emails[user.username].lower()
    own = routing.staff_address(user.username)
    return own is not None and delivered == own.lower() and not routing.mailboxes.is_role_address(delivered)
