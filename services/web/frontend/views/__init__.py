"""The pages, one blueprint per part of the site."""

from __future__ import annotations

from dataclasses import dataclass

from ccshared import tables
from ccshared.ratelimit import RateLimiter
from ccshared.timeutil import Clock
from ccshared.web import context as provided_context
from flask import Response, abort, request

from ..backends import Backends
from ..clients import Reply
from ..service import StaffDesk


@dataclass(frozen=True)
class Context:
    """What the pages work with; the app is given one (`ccshared.web.provide`) by bootstrap."""

    desk: StaffDesk
    backends: Backends
    clock: Clock
    sign_in_limiter: RateLimiter | None = None


def context() -> Context:
    return provided_context(Context)


def backends() -> Backends:
    return context().backends


def passed_on(reply: Reply) -> Response:
    """A file a service made (a CSV or XLSX download), handed to the browser as it is."""
    headers = {"Content-Disposition": reply.headers.get("Content-Disposition", "attachment")}
    return Response(reply.content, content_type=reply.headers.get("Content-Type"), headers=headers)


def file_format(chosen: str | None) -> str:
    if chosen not in tables.FORMATS:
        abort(404)
    return chosen


def one_value(name: str, default: str = "") -> str:
    """The address's one value of `name`; given twice, a 400 saying so, not its first value read."""
    values = request.args.getlist(name)
    if len(values) > 1:
        abort(400, description=f"The address gives {name} {len(values)} times: give it once.")
    return values[0] if values else default
