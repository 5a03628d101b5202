"""Error pages in plain English; a service that is down never turns into a 500."""

from __future__ import annotations

import logging

from flask import Flask, render_template
from werkzeug.exceptions import HTTPException

from ..clients import ServiceError, ServiceUnavailable

log = logging.getLogger(__name__)

TITLES = {
    400: "Something was wrong with that request",
    403: "You do not have permission to see this page",
    404: "Page not found",
    405: "That action is not allowed here",
    409: "Someone else changed this first",
    413: "That was too much to send",
    429: "Too many attempts",
}


def _page(status: int, message: str, title: str | None = None) -> tuple[str, int]:
    title = title or TITLES.get(status, "Sorry, something went wrong")
    return render_template("error.html", status=status, title=title, message=message), status


def _http(error: HTTPException) -> tuple[str, int]:
    status = error.code or 500
    if status == 400 and error.description == "csrf":
        return _page(
            400,
            "This form had expired or was sent from somewhere else. Go back, reload the page and try again.",
            "Your form has expired",
        )
    if status == 404:
        return _page(404, "If you typed the web address, check it is correct.")
    return _page(status, error.description or "")


def _unavailable(error: ServiceUnavailable) -> tuple[str, int]:
    log.warning("service unavailable", extra={"service": error.service, "detail": error.detail[:200]})
    return _page(
        503,
        f"The {error.service} service is not answering at the moment, so this page cannot be shown. "
        "Nothing has been changed. Try again in a minute.",
        "Sorry, this is not working right now",
    )


def _service_error(error: ServiceError) -> tuple[str, int]:
    status = error.status if error.status in (400, 403, 404, 409, 422, 429) else 502
    if status == 404 and error.message:
        return _page(404, f"{_sentence(error.message)} If you followed a link, it may be out of date.")
    return _page(status, error.message or str(error))


def _sentence(text: str) -> str:
    """A service's short message ("no centre with id x") as a sentence: capital and full stop."""
    text = text.strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith((".", "!", "?")) else ".")


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, _http)
    app.register_error_handler(ServiceUnavailable, _unavailable)
    app.register_error_handler(ServiceError, _service_error)
