"""The pages, one blueprint per part of the site."""

from __future__ import annotations

from flask import Response, abort, current_app

from ..backends import Backends
from ..clients import Reply

FILE_FORMATS = ("csv", "xlsx")


def backends() -> Backends:
    return current_app.extensions["frontend"].backends


def context():  # noqa: ANN201 - frontend.app.Context (import cycle)
    return current_app.extensions["frontend"]


def passed_on(reply: Reply) -> Response:
    """A file a service made (a CSV or XLSX download), handed to the browser as it is."""
    headers = {"Content-Disposition": reply.headers.get("Content-Disposition", "attachment")}
    return Response(reply.content, mimetype=reply.headers.get("Content-Type"), headers=headers)


def file_format(chosen: str | None) -> str:
    if chosen not in FILE_FORMATS:
        abort(404)
    return chosen
