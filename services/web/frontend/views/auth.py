"""Signing in and out, and who is signed in on each request."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from ccshared import contracts as c
from ccshared.auth import StaffUser
from ccshared.ratelimit import client_key
from ccshared.timeutil import LONDON
from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

from ..accounts import ROLE_LABELS
from ..clients import ServiceError, ServiceUnavailable
from . import context

bp = Blueprint("auth", __name__)
SESSION_KEY = "sid"
AGENCY_NAME_KEY = "agency_name"
_MAX_TARGET = 2000


def _load_user() -> None:
    account = context().desk.current(session.get(SESSION_KEY))
    g.account = account
    g.user = account.staff_user() if account else None
    if account is None and SESSION_KEY in session:
        session.pop(SESSION_KEY)


def _template_globals() -> dict[str, Any]:
    return {
        "current_user": g.get("user"),
        "role_labels": ROLE_LABELS,
        "home_url": home_url,
        "agency_name": _agency_name,
    }


def _agency_name(user: StaffUser) -> str:
    """A partner user's agency by the name its profile in contacts gives, asked once a session;
    its id while contacts cannot say (asked again on the next page)."""
    known = session.get(AGENCY_NAME_KEY)
    if known and known[0] == user.agency:
        return known[1]
    try:
        name = context().backends.referrals.agency_name()
    except (ServiceError, ServiceUnavailable, KeyError):
        return user.agency or ""
    session[AGENCY_NAME_KEY] = (user.agency, name)
    return name


def home_url(user: StaffUser | None = None) -> str:
    """Where a signed-in user starts: partner users on their agency's referrals, staff on Today."""
    user = user or g.get("user")
    if user is not None and user.role == c.ROLE_PARTNER:
        return url_for("partners.referrals")
    return url_for("contacts.today")


def init_app(app: Flask) -> None:
    app.before_request(_load_user)
    app.context_processor(_template_globals)


def signed_in(*roles: str) -> Callable:
    """The page needs a signed-in user with one of roles; with none given, a staff role.

    Partner users are not staff: they reach only the pages that name their role.
    """
    allowed = roles or c.ROLES

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            user = g.get("user")
            if user is None:
                return redirect(url_for("auth.sign_in", next=request.full_path.rstrip("?")))
            if user.role not in allowed:
                abort(403, description="Your role does not give you access to this page.")
            return view(*args, **kwargs)

        wrapper.signed_in_roles = allowed  # read by _opens_for, before sending anyone to the page
        return wrapper

    return decorate


def _safe_next(target: str | None, user: StaffUser | None = None) -> str:
    """next when it is a page of this front end the user's role may open, else their home."""
    user = user or g.get("user")
    page = local_target(target)
    return page if page and _opens_for(page, user) else home_url(user)


def _opens_for(page: str, user: StaffUser | None) -> bool:
    view = current_app.view_functions.get(_endpoint(urlsplit(page).path) or "")
    roles = getattr(view, "signed_in_roles", None)
    return roles is None or (user is not None and user.role in roles)


def _endpoint(path: str) -> str | None:
    """The endpoint a GET of path reaches (following one trailing-slash redirect), or None."""
    adapter = current_app.url_map.bind("localhost")
    try:
        return adapter.match(unquote(path), method="GET")[0]
    except RequestRedirect as moved:
        return _endpoint(urlsplit(moved.new_url).path) if urlsplit(moved.new_url).path != path else None
    except HTTPException:
        return None


def local_target(target: str | None) -> str | None:
    """target when it is a page of this front end (path and query only), else None.

    A browser drops tabs and line breaks from a Location and reads a backslash as
    a slash, so `/<tab>/evil.example` would leave the site: anything but printable
    text is refused before the path is matched against the app's own routes.
    """
    if not target or len(target) > _MAX_TARGET or not target.isprintable() or "\\" in target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/") or parts.path.startswith("//"):
        return None
    if _endpoint(parts.path) is None:
        return None
    return urlunsplit(("", "", parts.path, parts.query, ""))


@bp.get("/sign-in")
def sign_in() -> Any:
    if g.get("user"):
        return redirect(_safe_next(request.args.get("next")))
    return render_template("sign_in.html", next=request.args.get("next", ""), error=None)


@bp.post("/sign-in")
def sign_in_post() -> Any:
    username = request.form.get("username", "")
    password = request.form.get("password", "")
    target = request.form.get("next", "")
    limiter = context().sign_in_limiter
    client = client_key(request.remote_addr)  # behind TRUSTED_PROXY_HOPS, the real client; IPv6 by /64
    retry_after = limiter.hit(client) if limiter else None
    if retry_after is not None:
        message = f"Too many attempts to sign in from your network. Try again in {retry_after} seconds."
        page, status = _refused(message, username, target, 429)
        return page, status, {"Retry-After": str(retry_after)}
    if not username or not password:
        return _refused("Enter your username and password.", username, target, 422)
    result = context().desk.sign_in(username, password, client)
    if result.ok:
        session.clear()
        session[SESSION_KEY] = result.session_id
        return redirect(_safe_next(target, result.account.staff_user()))
    if result.delay_seconds:
        time.sleep(result.delay_seconds)
    if result.locked_until:
        until = result.locked_until.astimezone(LONDON).strftime("%H:%M")
        message = (
            f"Too many failed attempts to sign in as this user. Try again after {until}, "
            "or ask an administrator to reset your password."
        )
        return _refused(message, username, target, 429)
    return _refused("The username or password is not right. Check them and try again.", username, target, 401)


def _refused(message: str, username: str, target: str, status: int) -> Any:
    return render_template("sign_in.html", error=message, username=username, next=target), status


@bp.post("/sign-out")
def sign_out() -> Any:
    context().desk.sign_out(session.get(SESSION_KEY))
    session.clear()
    flash("You have signed out.")
    return redirect(url_for("public.find"))
