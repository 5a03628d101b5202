"""Administration: staff and partner users' accounts, and who is signed in. Admins only."""

from __future__ import annotations

from typing import Any

from ccshared import contracts as c
from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from ..accounts import ROLE_LABELS, AccountError, unknown_agency
from ..clients import ServiceError, ServiceUnavailable
from . import backends, context
from .auth import signed_in

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _page(
    errors: dict[str, str] | None = None,
    values: dict | None = None,
    new_password: str | None = None,
    status: int = 200,
) -> Any:
    desk = context().desk
    return (
        render_template(
            "admin/users.html",
            accounts=desk.accounts.all(),
            signed_in=desk.signed_in_now(),
            roles=ROLE_LABELS,
            areas=c.AREAS,
            errors=errors or {},
            values=values or {},
            new_password=new_password,
        ),
        status,
    )


@bp.get("/")
@signed_in(c.ROLE_ADMIN)
def users() -> Any:
    return _page()


@bp.post("/users")
@signed_in(c.ROLE_ADMIN)
def create_user() -> Any:
    values = {name: request.form.get(name, "").strip() for name in ("username", "role", "area", "agency")}
    try:
        account, password = context().desk.create_account(
            values["username"],
            values["role"],
            values["area"] or None,
            None,
            by=g.user.username,
            agency=values["agency"] or None,
            check_agency=_registered,
        )
    except AccountError as error:
        return _page({error.field: error.message}, values, status=422)
    return _page(new_password=f"{account.username}: {password}")


def _registered(agency: str) -> None:
    try:
        known = backends().referrals.agency_registered(agency)
    except (ServiceUnavailable, ServiceError) as error:  # down, or a refusal other than "no such agency"
        message = f"the agency could not be checked with contacts ({error}); try again"
        raise AccountError("agency", message) from error
    if not known:
        raise unknown_agency(agency)


@bp.post("/users/<username>/reset")
@signed_in(c.ROLE_ADMIN)
def reset(username: str) -> Any:
    try:
        password = context().desk.reset_password(username)
    except AccountError as error:
        return _page({error.field: error.message}, status=404)
    return _page(new_password=f"{username}: {password}")


@bp.post("/users/<username>/disable")
@signed_in(c.ROLE_ADMIN)
def disable(username: str) -> Any:
    if username == g.user.username:
        return _page({"_": "You cannot disable your own account."}, status=422)
    disabled = request.form.get("disabled") == "true"
    try:
        context().desk.set_disabled(username, disabled)
    except AccountError as error:
        return _page({error.field: error.message}, status=404)
    flash(f"{username} {'disabled' if disabled else 'enabled'}.")
    return redirect(url_for("admin.users"))
