"""Staff casework: today's list, logging a letter or telephone message, and
acting on one contact (assign, respond, close, referral decisions)."""

from __future__ import annotations

import secrets
from typing import Any

from ccshared import contracts as c
from ccshared.timeutil import to_str
from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for

from ..accounts import AccountError
from ..clients import ServiceError, ServiceUnavailable
from ..field_words import labelled
from ..formatting import (
    CHANNEL_LABELS,
    DECLINE_REASON_LABELS,
    PAUSE_REASON_LABELS,
    URGENCY_LABELS,
    WITHDRAW_REASON_LABELS,
)
from ..presenters import BadLocalTime, caseload, contact_page, local_instant, local_now_fields
from . import backends, context, file_format, passed_on
from .auth import signed_in

bp = Blueprint("contacts", __name__, url_prefix="/staff")
LOGGABLE = c.STAFF_CHANNELS
# The casework forms' choices (contracts.REPLY_BY and RESPONSE_METHODS), in words.
REPLY_BY = {"post": "Letter by post", "telephone": "Telephone", "email": "E-mail"}
RESPONSE_METHODS = {
    "letter": "Letter",
    "telephone": "Telephone call",
    "email": "E-mail",
    "in_person": "In person",
}
# The contacts service's names for the contact page's fields (the pause form's and the response's).
ACTION_FIELDS = {
    "pause": {"reason_code": "pause_reason", "note": "pause_note"},
    "respond": {"responded_at": "responded_date"},
    "withdraw": {"reason_code": "withdraw_reason"},
}
# What each action needs chosen, as staff are told when it is not (or the service refuses it).
ACTION_NEEDS = {
    "respond": {"method": "Choose how you responded"},
    "pause": {"pause_reason": "Choose who the contact is waiting on"},
}
# The action forms' fields as a refusal names them (the time responded has words of its own).
ACTION_LABELS = {
    "method": "How you responded",
    "pause_reason": "Who it is waiting on",
    "pause_note": "Note",
    "reason": "Why it was declined",
    "reason_code": "Reason",
    "withdraw_reason": "Why it was withdrawn",
}
ACTIONS = {
    "assign": "assign",
    "respond": "respond",
    "close": "close",
    "withdraw": "withdraw",
    "pause": "pause",
    "resume": "resume",
    "referral-open": "referral/open",
    "referral-accept": "referral/accept",
    "referral-decline": "referral/decline",
}
NOT_DONE = {
    "assign": "assigned",
    "respond": "marked as answered",
    "close": "closed",
    "withdraw": "marked as withdrawn",
    "pause": "paused",
    "resume": "resumed",
    "referral-open": "marked as opened",
    "referral-accept": "accepted",
    "referral-decline": "declined",
}
DONE = {
    "assign": "Contact assigned.",
    "respond": "Response recorded. The clock has stopped.",
    "close": "Contact closed.",
    "withdraw": "Contact marked as withdrawn.",
    "pause": "Contact paused. Its clock stands still until you resume it.",
    "resume": "Contact resumed. The due date moves on by the whole working days it was paused.",
    "referral-open": "Referral opened.",
    "referral-accept": "Referral accepted. The partner agency will see the outcome.",
    "referral-decline": "Referral declined. The partner agency will see the reason.",
}


def area_scope(chosen: str | None = None) -> str | None:
    """Staff and coordinators see their own area; others pick one or see all."""
    user = g.user
    if not user.sees_all_areas:
        return user.area
    return chosen if chosen in c.AREAS else None


def centre_names() -> dict[str, str]:
    try:
        return {centre["id"]: centre["name"] for centre in backends().directory.all_centres()}
    except ServiceUnavailable:
        return {}


@bp.get("/")
@bp.get("/today")
@signed_in()
def today() -> Any:
    area = area_scope(request.args.get("area"))
    open_contacts = [
        contact
        for status in (c.CONTACT_STATUS_RECEIVED, c.CONTACT_STATUS_ASSIGNED)
        for contact in backends().contacts.all_open(status=status, area=area)
    ]
    clocks, sla_down = [], False
    try:
        clocks = backends().sla.clocks(area=area)
    except ServiceUnavailable:
        sla_down = True
    load = caseload(open_contacts, clocks, centre_names(), context().clock.now())
    return render_template("staff/today.html", load=load, area=area, sla_down=sla_down, areas=c.AREAS)


def _list_filters() -> dict[str, str]:
    filters = {name: request.args.get(name, "").strip() for name in ("status", "channel", "assignee", "area")}
    filters["area"] = area_scope(filters["area"]) or ""
    return filters


# The list's filters as its form labels them, for a filter the contacts service cannot use.
FILTER_LABELS = {"status": "Status", "channel": "Type", "assignee": "Assigned to", "area": "Area"}


@bp.get("/contacts.<format>")
@signed_in()
def contacts_file(format: str) -> Any:
    """Every contact the list's filters match, to take away (no personal data)."""
    filters = _list_filters()
    try:
        return passed_on(backends().contacts.list_file(file_format(format), **filters))
    except ServiceError as error:
        if not _refused_filters(error, filters):
            raise
        return redirect(url_for("contacts.list_contacts", **request.args))  # which says what is wrong


def _refused_filters(error: ServiceError, filters: dict[str, str]) -> dict[str, str]:
    """The filters the contacts service refused, each with what staff are told of it."""
    if error.status != 422:
        return {}
    return {
        name: f"{FILTER_LABELS[name]}: “{filters[name]}” is not one the list knows, so this filter is left out."
        for name in error.field_messages()
        if filters.get(name) and name in FILTER_LABELS
    }


@bp.get("/contacts")
@signed_in()
def list_contacts() -> Any:
    filters = _list_filters()
    page_number = max(1, request.args.get("page", 1, type=int) or 1)
    errors: dict[str, str] = {}
    try:
        page = backends().contacts.page(page=page_number, per_page=25, **filters)
    except ServiceError as error:
        errors = _refused_filters(error, filters)
        if not errors:
            raise
        filters = {name: "" if name in errors else value for name, value in filters.items()}
        page = backends().contacts.page(page=page_number, per_page=25, **filters)
    page_html = render_template(
        "staff/contacts.html",
        page=page,
        filters=filters,
        errors=errors,
        statuses=c.CONTACT_STATUSES,
        channels=c.CHANNELS,
        areas=c.AREAS,
        names=centre_names(),
    )
    return page_html, 422 if errors else 200


def _centres_for_user() -> list[dict]:
    area = area_scope()
    centres = backends().directory.all_centres()
    return [centre for centre in centres if area is None or centre["area"] == area]


def _log_form(values: dict[str, str], errors: dict[str, str], status: int = 200) -> Any:
    return (
        render_template(
            "staff/log_contact.html",
            values=values,
            errors=errors,
            centres=_centres_for_user(),
            channels=[(channel, CHANNEL_LABELS[channel]) for channel in LOGGABLE],
            reply_by=REPLY_BY,
            urgencies=[(urgency, URGENCY_LABELS[urgency]) for urgency in c.URGENCIES],
            methods=RESPONSE_METHODS,
        ),
        status,
    )


@bp.get("/contacts/new")
@signed_in()
def new_contact() -> Any:
    received_date, received_time = local_now_fields(context().clock.now())
    values = {
        "channel": request.args.get("channel", c.TELEPHONE),
        "received_date": received_date,
        "received_time": received_time,
        "reply_by": c.TELEPHONE,
        "idempotency_key": secrets.token_urlsafe(16),
    }
    return _log_form(values, {})


LOG_FIELDS = (
    "channel",
    "centre_id",
    "urgency",
    "received_date",
    "received_time",
    "subject",
    "summary",
    "name",
    "reply_by",
    "address",
    "phone",
    "email",
    "response_method",
    "responded_date",
    "responded_time",
    "idempotency_key",
)
# The contacts service's field names, as the form's.
FIELD_FOR = {
    "requester.name": "name",
    "requester.reply_by": "reply_by",
    "requester.address": "address",
    "requester.phone": "phone",
    "requester.email": "email",
    "received_at": "received_date",
    "response.method": "response_method",
    "response.responded_at": "responded_date",
}


def _already_answered(values: dict[str, str]) -> tuple[dict[str, str] | None, dict[str, str]]:
    """The form's "Already answered" part as the contacts service's `response` (None when left
    empty), or its errors: a date without how it was answered, or a date that is not real."""
    if not values["response_method"] and not values["responded_date"]:
        return None, {}
    if not values["response_method"]:
        return None, {"response_method": "Choose how it was answered, or clear the date answered."}
    try:
        responded_at = local_instant(
            values["responded_date"], values["responded_time"], context().clock.now(), "The time answered"
        )
    except BadLocalTime as error:
        return None, {"responded_date": str(error)}
    return {"method": values["response_method"], "responded_at": to_str(responded_at)}, {}


# What staff are told of a field left empty, or of a choice the contacts service refuses
# (its own words name the values it takes, which mean nothing on a form).
LOG_NEEDED = {
    "channel": "Choose what was received",
    "centre_id": "Choose a centre",
    "subject": "Enter what it is about",
    "name": "Enter the caller's name",
    "reply_by": "Choose how they want a reply",
}
LOG_CHOICES = ("channel", "centre_id", "reply_by")
# The log form's fields as a refusal names them.
LOG_LABELS = {
    "channel": "What was received",
    "centre_id": "Centre",
    "urgency": "How urgent it is",
    "received_date": "When it was received",
    "subject": "What it is about",
    "summary": "Details",
    "name": "Their name",
    "reply_by": "How they want a reply",
    "phone": "Telephone number",
    "email": "E-mail address",
    "address": "Postal address",
    "response_method": "How it was answered",
    "responded_date": "When it was answered",
}


def _unfilled(values: dict[str, str], needed: dict[str, str]) -> dict[str, str]:
    return {name: message for name, message in needed.items() if not values.get(name)}


def _refused_fields(
    error: ServiceError, names: dict[str, str], plain: dict[str, str], labels: dict[str, str]
) -> dict[str, str]:
    """The service's messages by the form's field names, in plain words: `plain`'s where it has
    them, else naming the field's label; its summary line only when it named no field (never
    both: the summary would say it twice)."""
    messages = {names.get(name, name): message for name, message in error.field_messages().items()}
    messages = {
        name: plain.get(name) or labelled(labels, name, message) for name, message in messages.items()
    }
    return messages or {"_": error.message}


@bp.post("/contacts/new")
@signed_in()
def log_contact() -> Any:
    values = {name: request.form.get(name, "").strip() for name in LOG_FIELDS}
    values["idempotency_key"] = values["idempotency_key"] or secrets.token_urlsafe(16)
    errors = _unfilled(values, LOG_NEEDED)
    try:
        received_at = local_instant(values["received_date"], values["received_time"], context().clock.now())
    except BadLocalTime as error:
        errors["received_date"] = str(error)
    response, problems = _already_answered(values)
    errors.update(problems)
    if errors:  # every problem at once, and nothing sent
        ordered = [name for name in LOG_FIELDS if name in errors]
        return _log_form(values, {name: errors[name] for name in ordered}, 422)
    requester = {"name": values["name"], "reply_by": values["reply_by"]}
    requester.update({k: values[k] for k in ("address", "phone", "email") if values[k]})
    body = {
        "channel": values["channel"],
        "centre_id": values["centre_id"],
        "received_at": to_str(received_at),
        "subject": values["subject"],
        "requester": requester,
    }
    if values["urgency"]:  # none chosen: the channel's own target
        body["urgency"] = values["urgency"]
    if values["summary"]:
        body["summary"] = values["summary"]
    if response:
        body["response"] = response
    try:
        created = backends().contacts.log(body, values["idempotency_key"])
    except ServiceError as error:
        if error.status != 422 and not error.fields:
            raise
        plain = {name: LOG_NEEDED[name] for name in LOG_CHOICES}
        return _log_form(values, _refused_fields(error, FIELD_FOR, plain, LOG_LABELS), error.status)
    flash(f"Logged as {created.get('reference', 'a new contact')}.")
    return redirect(url_for("contacts.show", contact_id=created["id"]))


def _assignees(area: str | None) -> list[str]:
    return [account.username for account in context().desk.accounts.all() if account.takes_contacts_of(area)]


def _check_assignee(contact_id: str, assignee: str) -> None:
    """The contacts service keeps no list of users: the web, which does, refuses anyone
    the Assign list would not offer."""
    area = backends().contacts.get(contact_id).get("area")
    if assignee not in _assignees(area):
        raise AccountError("assignee", "Choose a member of staff or a coordinator of the contact's area.")


@bp.get("/contacts/<contact_id>")
@signed_in()
def show(contact_id: str) -> Any:
    return _show(contact_id, {}, {})


def _show(contact_id: str, errors: dict[str, str], values: dict[str, str], status: int = 200) -> Any:
    contact = backends().contacts.get(contact_id)
    clock = due = None
    try:
        clock = backends().sla.clock_of(contact)
        if clock is None and (
            contact.get("responded_at") or contact.get("status") not in c.CONTACT_ENDED_STATUSES
        ):
            # Just logged: the monitor has not started its clock yet, but the due date is already
            # known, and with it whether the contact is overdue or was answered late.
            due = backends().sla.due(contact)
    except (ServiceUnavailable, ServiceError):
        pass
    now_date, now_time = local_now_fields(context().clock.now())
    names = centre_names()
    return (
        render_template(
            "staff/contact.html",
            contact=contact,
            clock=clock,
            due=due,
            page=contact_page(contact, clock, context().clock.now(), due),
            centre_name=names.get(contact.get("centre_id"), contact.get("centre_id")),
            assignees=_assignees(contact.get("area")),
            methods=RESPONSE_METHODS,
            decline_reasons=DECLINE_REASON_LABELS,
            withdraw_reasons=WITHDRAW_REASON_LABELS,
            pause_reasons=PAUSE_REASON_LABELS,
            reply_by=REPLY_BY,
            errors=errors,
            values={"responded_date": now_date, "responded_time": now_time, **values},
            offered=f"{now_date} {now_time}",
        ),
        status,
    )


def _action_body(action: str, form: dict[str, str]) -> dict[str, Any]:
    if action == "assign":
        return {"assignee": form.get("assignee") or g.user.username}
    if action == "respond":
        now = context().clock.now()
        responded_at = local_instant(
            form.get("responded_date", ""), form.get("responded_time", ""), now, what="The time you responded"
        )
        body = {"method": form.get("method", "")}
        # The form offers the minute it was shown: left as it is, it means "now", which the
        # contacts service takes when no time is sent (that minute's start may come before a
        # contact received seconds earlier, and the form may be sent minutes later).
        offered = form.get("responded_offered")
        if offered != f"{form.get('responded_date', '')} {form.get('responded_time', '')}":
            body["responded_at"] = to_str(responded_at)
        return body
    if action == "pause":
        body = {"reason_code": form.get("pause_reason", "")}
        return body | ({"note": form["pause_note"]} if form.get("pause_note") else {})
    if action == "withdraw":
        return {"reason_code": form["withdraw_reason"]} if form.get("withdraw_reason") else {}
    if action == "referral-decline":
        return {"reason": form.get("reason", ""), "reason_code": form.get("reason_code") or "other"}
    return {}


@bp.post("/contacts/<contact_id>/<action>")
@signed_in()
def act(contact_id: str, action: str) -> Any:
    if action not in ACTIONS:
        abort(404)
    form = {key: value.strip() for key, value in request.form.items()}
    errors = _unfilled(form, ACTION_NEEDS.get(action, {}))
    try:
        body = _action_body(action, form)
    except BadLocalTime as error:
        errors["responded_date"] = str(error)
    if errors:
        return _show(contact_id, {**errors, "_action": action}, form, 422)
    try:
        if action == "assign":
            _check_assignee(contact_id, body["assignee"])
        backends().contacts.act(contact_id, ACTIONS[action], body)
    except AccountError as error:
        return _show(contact_id, {error.field: error.message, "_action": action}, form, 422)
    except ServiceError as error:
        if error.status == 409:
            return _show(contact_id, {"_": _moved_on(action), "_action": action}, form, 409)
        if error.status != 422:
            raise
        return _show(contact_id, {**_refused_action(action, error), "_action": action}, form, 422)
    flash(DONE[action])
    return redirect(url_for("contacts.show", contact_id=contact_id))


def _moved_on(action: str) -> str:
    """A refused step (the contact is no longer where the page showed it), in staff's words."""
    return (
        f"Nothing was changed: this contact cannot be {NOT_DONE[action]} as it stands now. It may "
        "already have been done, by a second click or by someone else. The page now shows where it stands."
    )


def _refused_action(action: str, error: ServiceError) -> dict[str, str]:
    messages = _refused_fields(
        error, ACTION_FIELDS.get(action, {}), ACTION_NEEDS.get(action, {}), ACTION_LABELS
    )
    if "responded_date" in messages:
        messages["responded_date"] = f"The time you responded {messages['responded_date'].rstrip('.')}."
    return messages
