"""Partners' services sign-posted in the public search: how their feeds are doing, and hiding one.

The directory imports the feeds, keeps each one's state and decides who may
hide a service (and audits it); this page shows and asks.
"""

from __future__ import annotations

from typing import Any

from ccshared import contracts as c
from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from . import backends
from .auth import signed_in

bp = Blueprint("partner_feeds", __name__, url_prefix="/staff/partner-feeds")


@bp.get("/")
@signed_in()
def index() -> Any:
    body = backends().directory.partner_feeds()
    return render_template(
        "staff/partner_feeds.html",
        feeds=body.get("feeds", []),
        services=body.get("services", []),
        may_hide=g.user.role in c.OVERSIGHT_ROLES,
    )


def _set_hidden(partner_id: str, hidden: bool) -> Any:
    reason = request.form.get("reason", "").strip() or None
    found = backends().directory.set_partner_hidden(partner_id, hidden, reason)
    if hidden:
        flash(f"{found['name']} ({found['label']}) is hidden from the public search.")
    else:
        flash(f"{found['name']} ({found['label']}) shows in the public search again.")
    return redirect(url_for("partner_feeds.index"))


@bp.post("/services/<path:partner_id>/hide")
@signed_in(*c.OVERSIGHT_ROLES)
def hide(partner_id: str) -> Any:
    return _set_hidden(partner_id, True)


@bp.post("/services/<path:partner_id>/show")
@signed_in(*c.OVERSIGHT_ROLES)
def show(partner_id: str) -> Any:
    return _set_hidden(partner_id, False)
