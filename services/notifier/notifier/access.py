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
    """Principal Officer and admins: all; coordinators: their area's; everyone: their own."""
    if user.sees_all_areas:
        return True
    if user.role == ROLE_COORDINATOR and user.area and message.area == user.area:
        return True
    own = {routing.staff_address(user.username)}
    if user.role == ROLE_COORDINATOR and user.area:
        own.add(routing.coordinators.get(user.area))
    return message.delivered_to is not None and message.delivered_to.lower() in {a.lower() for a in own if a}
