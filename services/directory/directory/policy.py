"""Who may do what to a centre's entry.

===================  ===========  ===========  =================  =====
action               staff        coordinator  principal_officer  admin
===================  ===========  ===========  =================  =====
read (public API)    anyone, no sign-in needed
read audit trail     own area     own area     all                all
list stale entries   own area     own area     all                all
verify               own area     own area     all                all
update (PATCH)       no           own area     all                all
create               no           no           no                 yes
close permanently    no           no           no                 yes
edit a closed entry  no           no           no                 yes
partner feeds' state yes          yes          yes                yes
hide/show a partner  no           yes          yes                yes
===================  ===========  ===========  =================  =====

"Own area" is the area in the staff token; an update that moves a centre must
keep it inside the editor's area too. Staff at a centre are the people who
notice that its details are still right, so they may verify ("checked, still
correct") but changing details is the coordinators' job. Opening and closing
centres are council decisions, recorded by an admin. Partners' services are
not in any area: every member of staff sees how their feeds are doing, and
those who edit centres decide which partner services the public sees.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from ccshared.contracts import (
    CENTRE_CLOSED_STATUS,
    OVERSIGHT_ROLES,
    ROLE_ADMIN,
    ROLE_COORDINATOR,
    ROLE_PRINCIPAL,
    ROLE_STAFF,
)

READ_AUDIT = "read_audit"
LIST_STALE = "list_stale"
VERIFY = "verify"
UPDATE = "update"
CREATE = "create"
CLOSE = "close"
READ_PARTNER_FEEDS = "read_partner_feeds"
HIDE_PARTNER_SERVICE = "hide_partner_service"

_ALL_AREAS = frozenset({ROLE_PRINCIPAL, ROLE_ADMIN})
_ROLES_FOR = {
    READ_AUDIT: frozenset({ROLE_STAFF, ROLE_COORDINATOR, ROLE_PRINCIPAL, ROLE_ADMIN}),
    LIST_STALE: frozenset({ROLE_STAFF, ROLE_COORDINATOR, ROLE_PRINCIPAL, ROLE_ADMIN}),
    VERIFY: frozenset({ROLE_STAFF, ROLE_COORDINATOR, ROLE_PRINCIPAL, ROLE_ADMIN}),
    UPDATE: frozenset(OVERSIGHT_ROLES),
    CREATE: frozenset({ROLE_ADMIN}),
    CLOSE: frozenset({ROLE_ADMIN}),
    READ_PARTNER_FEEDS: frozenset({ROLE_STAFF, ROLE_COORDINATOR, ROLE_PRINCIPAL, ROLE_ADMIN}),
    HIDE_PARTNER_SERVICE: frozenset(OVERSIGHT_ROLES),
}


class Actor(Protocol):
    username: str
    role: str
    area: str | None


def may(actor: Actor, action: str, area: str | None = None) -> bool:
    """Whether actor may do action to a centre in area (None: not about one centre)."""
    if actor.role not in _ROLES_FOR[action]:
        return False
    if area is None or actor.role in _ALL_AREAS:
        return True
    return actor.area == area


def refusal(actor: Actor, action: str, centre: Mapping[str, Any], new_area: str | None = None) -> str | None:
    """Why actor may not do action to this centre, or None when they may."""
    if not may(actor, action):
        return f"role {actor.role} may not {action} centres"
    for area in {centre["area"], new_area or centre["area"]}:
        if not may(actor, action, area):
            return f"role {actor.role} may {action} centres only in their own area ({actor.area})"
    if (
        centre.get("status") == CENTRE_CLOSED_STATUS
        and action in (UPDATE, VERIFY)
        and actor.role != ROLE_ADMIN
    ):
        return "this centre is closed; only an admin may change it"
    return None


def areas_visible(actor: Actor) -> tuple[str, ...] | None:
    """The areas whose staff-only views actor sees; None means every area."""
    if actor.role in _ALL_AREAS:
        return None
    return (actor.area,) if actor.area else ()
