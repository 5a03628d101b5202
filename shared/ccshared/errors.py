"""One error envelope for every HTTP error, built from an exception hierarchy.

{"error": {"status": 422, "code": "invalid_input",
           "message": "...", "fields": {"postcode": ["Not a valid UK postcode."]}}}

`fields` always nests as the body does, whoever found the fault: {"family": {"phone": [...]}},
a list's items by index ({"children": {"0": {"age_years": [...]}}}). A rule that names a field by
its dotted path (consent.recorded_at) is nested the same way, so a client reads one shape.
"""

from __future__ import annotations

from collections.abc import Mapping
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
        body["fields"] = nested(fields)
    body.update(extra)
    return {"error": body}


def nested(fields: Mapping[Any, Any]) -> dict:
    """`fields` with every dotted key ("consent.recorded_at") nested as the body is, every key a
    string (a list's index too, as JSON writes it), so a dotted rule and a schema's message for
    one item meet."""
    out: dict = {}
    for key, value in fields.items():
        *parents, last = str(key).split(".")
        place = out
        for part in parents:
            _merge(place, part, {})  # an object there, keeping any message for it whole
            place = place[part]
        _merge(place, last, nested(value) if isinstance(value, Mapping) else value)
    return out


def _merge(place: dict, key: str, value: Any) -> None:
    here = place.get(key)
    if isinstance(here, dict) and isinstance(value, dict):
        for inner, item in value.items():
            _merge(here, inner, item)
    elif isinstance(here, dict):  # a message for the whole object, beside its fields' own
        _merge(here, "_schema", value)
    elif isinstance(value, dict) and here is not None:  # under marshmallow's name for the whole
        place[key] = {"_schema": here}
        _merge(place, key, value)
    elif isinstance(here, list) and isinstance(value, list):
        place[key] = here + value
    else:
        place[key] = value
