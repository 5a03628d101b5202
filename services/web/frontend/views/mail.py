"""Sent e-mails: the notifier's delivery log and, in the embedded run, the messages."""

from __future__ import annotations

from typing import Any

from ccshared import contracts as c
from flask import Blueprint, Response, flash, redirect, render_template, request, url_for

from ..clients import ServiceError
from . import backends
from .auth import signed_in

bp = Blueprint("mail", __name__, url_prefix="/staff/mail")
STATUSES = c.NOTIFICATION_STATUSES


@bp.get("/")
@signed_in()
def log() -> Any:
    status = request.args.get("status", "")
    log_error = None
    notifications: list[dict] = []
    try:
        notifications = backends().notifier.notifications(status=status or None).get("items", [])
    except ServiceError as error:
        if error.status != 403:
            raise
        log_error = error.message
    messages = backends().notifier.messages().get("items", [])
    return render_template(
        "staff/mail.html",
        notifications=notifications,
        messages=messages,
        status=status,
        statuses=STATUSES,
        log_error=log_error,
        event_types=c.SLA_EVENTS,
    )


@bp.post("/notifications/<notification_id>/resend")
@signed_in(*c.OVERSIGHT_ROLES)  # who reads the delivery log (the notifier judges each e-mail)
def resend(notification_id: str) -> Any:
    """Send a failed e-mail again, once its address or the mail relay is fixed."""
    try:
        backends().notifier.resend(notification_id)
    except ServiceError as error:
        if error.status != 409:
            raise
        # A second click, or a colleague was first: nothing to do but say where it stands.
        flash(f"Nothing was changed: {error.message}.")
        return redirect(url_for("mail.log"))
    flash("The e-mail will be sent again in a moment.")
    return redirect(url_for("mail.log"))


@bp.get("/messages/<message_id>")
@signed_in()
def message(message_id: str) -> Any:
    found = backends().notifier.message(message_id)
    return render_template("staff/message.html", message=found)


@bp.get("/messages/<message_id>/html")
@signed_in()
def message_html(message_id: str) -> Response:
    """The HTML part on its own, sandboxed: no scripts, no forms, nothing fetched."""
    found = backends().notifier.message(message_id)
    response = Response(found.get("html") or "", mimetype="text/html")
    response.headers["Content-Security-Policy"] = (
        "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:"
    )
    return response
