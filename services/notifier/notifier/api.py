"""HTTP API: the delivery log (and sending a failed e-mail again), and the messages the file transport wrote."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ccshared import apidoc
from ccshared.apidoc import Blueprint
from ccshared.auth import TokenVerifier, current_staff
from ccshared.errors import Conflict, NotFound
from ccshared.timeutil import Clock
from ccshared.web import context

from . import schemas
from .access import log_area, may_read, may_resend
from .domain import NotFailed, Notification, Routing
from .file_transport import Mailbox
from .repository import NotificationRepository

log = logging.getLogger(__name__)
notifications = Blueprint(
    "notifications", __name__, url_prefix="/api/v1/notifications", description="The delivery log"
)
messages = Blueprint(
    "messages", __name__, url_prefix="/api/v1/messages", description="E-mails written by the file transport"
)


@dataclass(frozen=True)
class AppContext:
    notifications: NotificationRepository
    mailbox: Mailbox
    routing: Routing
    tokens: TokenVerifier
    clock: Clock


def _ctx() -> AppContext:
    return context(AppContext)


@notifications.route("")
@notifications.doc(**apidoc.STAFF_ONLY)
@notifications.arguments(schemas.NotificationQuery, location="query")
@notifications.response(200, schemas.NotificationList)
def list_notifications(query: dict):
    """Notifications, newest first: pending, sending, retrying, sent, failed, held or digested."""
    ctx = _ctx()
    area = log_area(current_staff(ctx.tokens))
    found = ctx.notifications.search(
        status=query.get("status"),
        event_type=query.get("event_type"),
        since=query.get("since"),
        area=area,
        limit=query["limit"],
    )
    return {"items": found}


@notifications.route("/<string:notification_id>/resend", methods=["POST"])
@notifications.doc(**apidoc.STAFF_ONLY)
@notifications.response(200, schemas.NotificationSchema)
def resend(notification_id: str) -> Notification:
    """Send a failed notification again: pending at once, its attempts afresh; 409 unless failed."""
    ctx = _ctx()
    user = current_staff(ctx.tokens)
    found = ctx.notifications.get(notification_id)
    if not may_resend(user, found, ctx.routing):
        raise NotFound(f"no notification {notification_id} for you")
    try:
        stored = ctx.notifications.transition(found, lambda n: n.resend(user.username, ctx.clock.now()))
        if not stored:  # a second click, or the delivery loop, changed it first
            raise NotFailed(notification_id, ctx.notifications.get(notification_id).status)
    except NotFailed as exc:
        raise Conflict(str(exc), current_status=exc.status) from exc
    log.info("failed notification sent again", extra={"notification": notification_id, "by": user.username})
    return found


@messages.route("")
@messages.doc(**apidoc.STAFF_ONLY)
@messages.response(200, schemas.MessageList)
def list_messages():
    """Messages the signed-in user may read, newest first (id, to, subject, date)."""
    ctx = _ctx()
    user = current_staff(ctx.tokens)
    return {"items": [m for m in ctx.mailbox.list() if may_read(user, m, ctx.routing)]}


@messages.route("/<string:message_id>")
@messages.doc(**apidoc.STAFF_ONLY)
@messages.response(200, schemas.MessageDetail)
def show_message(message_id: str):
    """One message with its plain-text and HTML parts."""
    ctx = _ctx()
    user = current_staff(ctx.tokens)
    message = ctx.mailbox.get(message_id)
    if message is None or not may_read(user, message, ctx.routing):
        raise NotFound(f"no message {message_id} for you")
    return message
