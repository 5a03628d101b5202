"""Calling the services' HTTP APIs: one small client per service over a transport port.

A service that is down or slow raises `ServiceUnavailable` (the page says so
instead of failing); an error answer raises `ServiceError` carrying the
project's error envelope, so a form can show each field's message beside it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import KW_ONLY, dataclass, field
from typing import Any, Protocol

import requests
from ccshared import tracing
from ccshared.auth import StaffUser, TokenIssuer


@dataclass(frozen=True)
class Reply:
    status: int
    headers: Mapping[str, str]
    body: Any
    content: bytes = b""  # the raw body, for a file to pass on (a CSV or XLSX download)


class Transport(Protocol):
    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None,
        json: Any,
        headers: Mapping[str, str],
        timeout: float,
    ) -> Reply: ...


class TransportFailed(Exception):
    """The service could not be reached or did not answer in time."""


class RequestsTransport:
    def __init__(self) -> None:
        self.session = requests.Session()

    def request(self, method, url, *, params, json, headers, timeout) -> Reply:  # noqa: ANN001 - Transport
        try:
            response = self.session.request(
                method, url, params=params, json=json, headers=tracing.inject(dict(headers)), timeout=timeout
            )
        except requests.RequestException as exc:
            raise TransportFailed(str(exc)) from exc
        try:
            body = response.json() if response.content else None
        except ValueError:
            body = response.text
        return Reply(response.status_code, response.headers, body, response.content)


class ServiceUnavailable(Exception):
    def __init__(self, service: str, detail: str = ""):
        self.service = service
        self.detail = detail
        super().__init__(f"{service} is unavailable: {detail}")


@dataclass
class ServiceError(Exception):
    service: str
    status: int
    code: str
    message: str
    fields: dict[str, list[str] | Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.service} answered {self.status} {self.code}: {self.message}"

    def field_messages(self) -> dict[str, str]:
        """{dotted field: message} from a (possibly nested) marshmallow error dict."""
        return dict(_flatten(self.fields or {}))


def _flatten(messages: Any, prefix: str = "") -> list[tuple[str, str]]:
    if isinstance(messages, dict):
        pairs = []
        for key, value in messages.items():
            pairs.extend(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return pairs
    if isinstance(messages, list) and messages and all(isinstance(m, str) for m in messages):
        return [(prefix, " ".join(messages))]
    if isinstance(messages, list):
        return [pair for item in messages for pair in _flatten(item, prefix)]
    return [(prefix, str(messages))]


Identity = Callable[[], StaffUser | None]


@dataclass(eq=False)
class ServiceClient:
    name: str
    base_url: str
    transport: Transport
    _: KW_ONLY
    tokens: TokenIssuer
    audience: str
    identity: Identity
    timeout: float = 5.0

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")

    def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        as_staff: bool = True,
        as_user: StaffUser | None = None,
    ) -> Reply:
        """`as_user`: the call is made as this user rather than the one signed in."""
        sent = {"Accept": "application/json", **(headers or {})}
        user = as_user or (self.identity() if as_staff else None)
        if user is not None:
            # A fresh token per call, for this service only: it outlives the session by seconds at most.
            sent["Authorization"] = f"Bearer {self.tokens.issue(user, self.audience)}"
        clean = {k: v for k, v in (params or {}).items() if v not in (None, "")}
        try:
            reply = self.transport.request(
                method, self.base_url + path, params=clean, json=json, headers=sent, timeout=self.timeout
            )
        except TransportFailed as exc:
            raise ServiceUnavailable(self.name, str(exc)) from exc
        if reply.status >= 500:
            raise ServiceUnavailable(self.name, f"answered {reply.status}")
        if reply.status >= 400:
            raise _error(self.name, reply)
        return reply

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.call("GET", path, **kwargs).body

    def post(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        return self.call("POST", path, json=json if json is not None else {}, **kwargs).body


def _error(service: str, reply: Reply) -> ServiceError:
    error = reply.body.get("error") if isinstance(reply.body, dict) else None
    if not isinstance(error, dict):
        return ServiceError(service, reply.status, "error", f"{service} answered {reply.status}")
    return ServiceError(
        service,
        reply.status,
        str(error.get("code", "error")),
        str(error.get("message", "")),
        error.get("fields") or {},
    )
