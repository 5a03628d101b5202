"""A stand-in for the four services' HTTP APIs, for the front end's page tests.

It answers at the transport port (no sockets), records every call with the
staff identity its token carried, and keeps just enough state for a page to
render. The browser tests run the real services instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ccshared.auth import StaffUser, TokenVerifier
from frontend.clients import Reply, TransportFailed

from tests.infra import tokens

# A Wednesday in March 2026 (London = UTC).
NOW = datetime(2026, 3, 18, 10, 30, tzinfo=UTC)
DIRECTORY = "http://directory.test"
CONTACTS = "http://contacts.test"
SLA = "http://sla.test"
NOTIFIER = "http://notifier.test"
# Each stand-in checks tokens as its service does: addressed to it, signed by the front end.
AUDIENCES = {DIRECTORY: "directory", CONTACTS: "contacts", SLA: "sla-monitor", NOTIFIER: "notifier"}

Handler = Callable[["Call"], tuple[int, Any] | tuple[int, Any, dict]]


@dataclass
class Call:
    method: str
    url: str
    path: str
    params: dict[str, Any]
    json: Any
    headers: dict[str, str]
    user: StaffUser | None
    match: re.Match | None = None


def centre(centre_id: str, name: str, area: str, **extra: Any) -> dict:
    return {
        "id": centre_id,
        "name": name,
        "area": area,
        "ward": extra.pop("ward", "Everton"),
        "postcode": extra.pop("postcode", "L5 0AA"),
        "address": {"line1": "1 Test Street", "line2": None, "town": "Liverpool"},
        "status": "open",
        "services": [{"id": "stay-and-play", "label": "Stay and play", "description": "Play sessions."}],
        "opening_times": {"monday": [{"opens": "09:00", "closes": "17:00"}], "tuesday": []},
        "exceptions": [],
        "today": {"date": "2026-03-18", "sessions": [{"opens": "09:00", "closes": "17:00"}], "closed": False},
        "last_verified_at": "2026-03-01T09:00:00.000000Z",
        "distance_km": None,
        "version": 3,
        "min_age": 0,
        "max_age": 5,
        "accessibility": "Step-free entrance.",
        "phone": "0151 496 0000",
        "email": "centre@example.org",
        "website": None,
        "description": "",
        "stale": False,
        **extra,
    }


@dataclass
class FakeServices:
    """Routes (method, base URL, path pattern) to handlers; unknown routes are 404."""

    down: set[str] = field(default_factory=set)
    calls: list[Call] = field(default_factory=list)
    routes: list[tuple[str, str, re.Pattern, Handler]] = field(default_factory=list)

    def on(self, method: str, base: str, pattern: str, handler: Handler | tuple) -> None:
        """Answer method base+pattern with handler(call), or a fixed (status, body[, headers])."""
        answer = handler if callable(handler) else (lambda call, fixed=handler: fixed)
        self.routes.insert(0, (method, base, re.compile(f"^{pattern}$"), answer))

    def request(self, method, url, *, params, json, headers, timeout) -> Reply:  # noqa: ANN001 - Transport
        base = next((b for b in (DIRECTORY, CONTACTS, SLA, NOTIFIER) if url.startswith(b)), "")
        if base in self.down:
            raise TransportFailed(f"connection refused: {base}")
        path = url[len(base) :]
        call = Call(method, url, path, dict(params or {}), json, dict(headers), self._user(base, headers))
        self.calls.append(call)
        for route_method, route_base, pattern, handler in self.routes:
            match = pattern.match(path)
            if route_method == method and route_base == base and match:
                call.match = match
                answer = handler(call)
                status, body = answer[0], answer[1]
                content = body if isinstance(body, bytes) else b""
                return Reply(status, answer[2] if len(answer) > 2 else {}, body, content)
        return Reply(404, {}, {"error": {"status": 404, "code": "not_found", "message": f"no route {path}"}})

    def _user(self, base: str, headers: Mapping[str, str]) -> StaffUser | None:
        scheme, _, token = headers.get("Authorization", "").partition(" ")
        if scheme != "Bearer":
            return None
        return TokenVerifier(AUDIENCES[base], tokens.STAFF_PUBLIC).verify(token)

    def last(self, method: str, path_prefix: str) -> Call:
        return next(c for c in reversed(self.calls) if c.method == method and c.path.startswith(path_prefix))


# What contacts answers for a "nearest suitable" check, and a referral it sent there.
NEAREST = {
    "centre_id": "c-south",
    "centre_name": "Garston Test Centre",
    "area": "south",
    "offers_all": True,
    "routing": {
        "chosen": "nearest",
        "reason": "Garston Test Centre: offers every service asked for; nearest such centre, "
        "in the postcode district L8.",
        "services_missing": [],
        "distance_km": None,
    },
}


def referral(referral_id: str, reference: str, status: str = "new", **extra: Any) -> dict:
    return {
        "id": referral_id,
        "reference": reference,
        "centre_id": "c-south",
        "received_at": "2026-03-17T09:00:00.000000Z",
        "status": status,
        "referral_status": status,
        "waiting_on_partner_since": None,
        "outcome": None,
        "decline_reason_code": None,
        "decline_reason": None,
        "decided_at": None,
        "withdraw_reason_code": None,
        "urgency": "soon",
        "respond_by": None,
        "support_needed": ["stay-and-play"],
        "routing": NEAREST["routing"],
        "history": [{"at": "2026-03-17T09:00:00.000000Z", "from": None, "to": "new"}],
        "personal_erased_at": None,
        **extra,
    }


def error(status: int, message: str, fields: dict | None = None) -> tuple[int, dict]:
    body: dict[str, Any] = {"status": status, "code": "error", "message": message}
    if fields:
        body["fields"] = fields
    return status, {"error": body}


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    """The CSRF token a page's form carries."""
    found = CSRF.search(html)
    assert found, "the page has no CSRF token"
    return found.group(1)
