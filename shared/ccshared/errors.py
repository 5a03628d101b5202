"""One error envelope for every HTTP error, built from an exception hierarchy.

{"error": {"status": 422, "code": "invalid_input",
           "message": "...", "fields": {"postcode": ["Not a valid UK postcode."]}}}
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An HTTP error: its status and code are named where each kind is declared, below."""

    status = 400
    code = "bad_request"

    def __init_subclass__(cls, *, status: int, code: str, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.status = status
        cls.code = code

    def __init__(self, message: str, fields: dict[str, Any] | None = None, **extra: Any):
        super().__init__(message)
        self.message = message
        self.fields = fields
        self.extra = extra


class InvalidInput(ApiError, status=422, code="invalid_input"):
    """The request's content breaks a rule; `fields` names what and why."""


class Unauthorized(ApiError, status=401, code="unauthorized"):
    """No credentials, or ones that do not check out."""


class Forbidden(ApiError, status=403, code="forbidden"):
    """The caller is known but may not do this."""


class NotFound(ApiError, status=404, code="not_found"):
    """Nothing of that kind with that id, or none the caller may see."""


class Conflict(ApiError, status=409, code="conflict"):
    """The request does not fit the thing's present state."""


class PreconditionRequired(ApiError, status=428, code="precondition_required"):
    """A change that must say which version it changes (If-Match) did not."""


class TooManyRequests(ApiError, status=429, code="too_many_requests"):
    """Over a rate limit."""


class Unavailable(ApiError, status=503, code="unavailable"):
    """Not now: something the request needs is away or busy; try again later."""


def envelope(status: int, code: str, message: str, fields: dict | None = None, **extra: Any) -> dict:
    body: dict[str, Any] = {"status": status, "code": code, "message": message}
    if fields:
        body["fields"] = fields
    body.update(extra)
    return {"error": body}
