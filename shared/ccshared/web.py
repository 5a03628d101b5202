"""What every service's Flask app has: the error envelope, JSON-only bodies,
security headers, request logs, /healthz, /readyz and Prometheus /metrics."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import sys
import time
from collections.abc import Callable, Mapping
from http import HTTPStatus
from operator import attrgetter
from typing import Any, TypeVar

import flask_smorest
from flask import Flask, Response, current_app, g, jsonify, request
from marshmallow import INCLUDE, Schema, ValidationError, fields
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from werkzeug.exceptions import BadRequest, HTTPException, RequestEntityTooLarge
from werkzeug.middleware.proxy_fix import ProxyFix

from . import apidoc, logs, tracing
from .bus import BusUnavailable
from .errors import ApiError, envelope
from .outbox import VersionConflict
from .store import BadFilter, StoreUnavailable

log = logging.getLogger("http")

MAX_BODY_BYTES = 256 * 1024
REQUESTS = Counter("cc_http_requests_total", "HTTP requests", ["service", "method", "status"])
LATENCY = Histogram("cc_http_request_seconds", "HTTP request latency", ["service"])
# A label takes the methods HTTP defines; any other a client invents counts as "other", so no
# caller can add series to the metrics at will.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"})
OPS_PATHS = ("/healthz", "/readyz", "/metrics")  # probes and scrapes: neither logged nor traced
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Resource-Policy": "same-site",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Cache-Control": "no-store",
}


def _code(status: int) -> str:
    try:
        return HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")
    except ValueError:
        return "error"


def _flatten(messages: Any) -> dict:
    """Smorest/webargs give {location: {field: [msg]}}; callers care about the field."""
    if not isinstance(messages, dict):
        return {"_": messages}
    fields: dict[str, Any] = {}
    for location, errors in messages.items():
        if isinstance(errors, dict):
            fields.update(errors)
        else:
            fields[location] = errors
    return fields


def field_paths(fields: Mapping[str, Any], within: str = "") -> list[str]:
    """Each field a 422's `fields` names, as a dotted path to it: `fields` nests as the body does
    ({"family": {"phone": [...]}} is family.phone; a list's items by index, children.0.age_years)."""
    paths: list[str] = []
    for name, value in fields.items():
        path = f"{within}.{name}" if within else str(name)
        paths += field_paths(value, path) if isinstance(value, Mapping) and value else [path]
    return sorted(paths)


def error_response(
    status: int, code: str, message: str, fields: dict | None = None, **extra: Any
) -> Response:
    response = jsonify(envelope(status, code, message, fields, **extra))
    response.status_code = status
    return response


def _http_exception(error: HTTPException) -> Response:
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    messages = data.get("messages")
    fields = _flatten(messages) if messages else None
    message = data.get("message") or error.description or HTTPStatus(status).phrase
    if fields:
        message = f"invalid input: {', '.join(field_paths(fields))}"
        return error_response(422 if status in (400, 422) else status, "invalid_input", message, fields)
    response = error_response(status, _code(status), str(message))
    if status == 405 and hasattr(error, "valid_methods") and error.valid_methods:
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response


class ErrorBodySchema(Schema):
    class Meta:
        unknown = INCLUDE

    status = fields.Integer(required=True)
    code = fields.String(required=True)
    message = fields.String(required=True)
    fields_ = fields.Dict(
        data_key="fields",
        metadata={
            "description": "on a 422, the messages by field, nested as the body is "
            '(`{"family": {"phone": ["..."]}}`, a list\'s items by index: `{"children": {"0": '
            '{"age_years": ["..."]}}}`), whichever rule found the fault (a rule across fields too: '
            '`{"consent": {"recorded_at": ["..."]}}`). `message` names every one as a dotted path '
            "(`invalid input: children.0.age_years, family.phone`)"
        },
    )


class ErrorEnvelopeSchema(Schema):
    """What every error answer looks like (ccshared.errors.envelope), as OpenAPI documents it."""

    error = fields.Nested(ErrorBodySchema, required=True)


class Api(flask_smorest.Api):
    """flask-smorest, answering errors in the project's one envelope."""

    ERROR_SCHEMA = ErrorEnvelopeSchema

    def handle_http_exception(self, error: HTTPException) -> Response:
        return _http_exception(error)


def register_errors(app: Flask) -> None:
    app.register_error_handler(HTTPException, _http_exception)

    @app.errorhandler(ApiError)
    def _api_error(error: ApiError) -> Response:
        response = error_response(error.status, error.code, error.message, error.fields, **error.extra)
        if "retry_after" in error.extra:
            response.headers["Retry-After"] = str(error.extra["retry_after"])
        return response

    @app.errorhandler(ValidationError)
    def _validation(error: ValidationError) -> Response:
        fields = error.messages if isinstance(error.messages, dict) else {"_": error.messages}
        return error_response(
            422, "invalid_input", f"invalid input: {', '.join(field_paths(fields))}", fields
        )

    @app.errorhandler(VersionConflict)
    def _conflict(error: VersionConflict) -> Response:
        return error_response(409, "conflict", "changed by someone else since you read it; reload and retry")

    @app.errorhandler(StoreUnavailable)
    def _store_down(error: StoreUnavailable) -> Response:
        log.warning("database unavailable", extra={"error": str(error)})
        response = error_response(
            503, "database_unavailable", "the database is unavailable; nothing was saved, retry shortly"
        )
        response.headers["Retry-After"] = "5"
        return response

    @app.errorhandler(BusUnavailable)
    def _bus_down(error: BusUnavailable) -> Response:
        response = error_response(503, "event_bus_unavailable", "the event bus is unavailable; retry shortly")
        response.headers["Retry-After"] = "5"
        return response

    @app.errorhandler(BadFilter)
    def _bad_filter(error: BadFilter) -> Response:
        return error_response(400, "bad_request", str(error))

    @app.errorhandler(RecursionError)
    def _too_deep(error: RecursionError) -> Response:
        return error_response(400, "bad_request", "JSON body is nested too deeply")


_SURROGATE_HINT = re.compile(rb"\\u[dD][89a-fA-F]|\xed[\xa0-\xbf]")
_MAX_DIGITS = sys.get_int_max_str_digits()  # 0: no limit


def _lone_surrogate(value: str) -> bool:
    """Whether the text holds a lone surrogate (an escape such as \\ud800), which UTF-8 cannot."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


class _Repeated:
    """Where a key was given twice in one object: the value stands for both, found by its path."""


def _marking_repeats(repeats: list[str]) -> Callable[[list[tuple[str, Any]]], dict[str, Any]]:
    """A JSON object hook that puts a `_Repeated` where a key comes twice, and notes the key."""

    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for key, value in pairs:
            if key in found:
                repeats.append(key)
                value = _Repeated()
            found[key] = value
        return found

    return hook


def _first_path(data: Any, fault: Callable[[Any], bool]) -> str | None:
    """The dotted path of the first value (a key counts as its object's) at fault, if any."""
    pending: list[tuple[Any, str]] = [(data, "")]
    while pending:
        value, path = pending.pop()
        if fault(value):
            return path or "_"
        if isinstance(value, dict):
            for key, item in value.items():
                pending.append((key, path or "_"))
                pending.append((item, f"{path}.{key}" if path else str(key)))
        elif isinstance(value, list):
            pending.extend(
                (item, f"{path}.{index}" if path else str(index)) for index, item in enumerate(value)
            )
    return None


def _refuse_unreadable_json() -> Response | None:
    """Refuse here, in the envelope, JSON that parses into what nothing downstream can use:

    - an integer longer than Python reads (sys.get_int_max_str_digits, 4,300 digits):
      json.loads raises a plain ValueError, which webargs does not catch (a 500);
    - escapes such as \\ud800 that decode to text no database or page can hold;
    - bytes that are not UTF-8 (JSON's only encoding between systems, RFC 8259), such as a
      compressed body sent without its Content-Encoding: a 400 that says so;
    - a key given twice in one object (`"urgency": "soon", "urgency": "urgent"`), which JSON
      parsers read differently (Python keeps the last): a 422 naming it, as a repeated query
      parameter is. So every JSON body is parsed here once too.
    """
    if request.method not in ("POST", "PUT", "PATCH") or not request.is_json:
        return None
    body = request.get_data(cache=True)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return error_response(400, "bad_request", "the JSON body is not UTF-8 text: send it as UTF-8")
    try:
        repeats: list[str] = []
        data = json.loads(text, object_pairs_hook=_marking_repeats(repeats))
    except (json.JSONDecodeError, RecursionError):
        return None  # malformed or too deep: answered where the body is read
    except ValueError:  # text already: no other ValueError than the integer's
        message = f"the JSON body holds an integer of more than {_MAX_DIGITS} digits"
        return error_response(400, "bad_request", message)
    where, problem = None, "given more than once in one object of the body: give it once"
    if repeats:
        where = _first_path(data, lambda value: isinstance(value, _Repeated))
    elif _SURROGATE_HINT.search(body):
        where = _first_path(data, lambda value: isinstance(value, str) and _lone_surrogate(value))
        problem = "Not valid Unicode text (a lone surrogate)."
    if where is None:
        return None
    return error_response(422, "invalid_input", f"invalid input: {where}", {where: [problem]})


def _read_streamed_body() -> None:
    """Read a body sent without a Content-Length (chunked) to its very end, before anything
    uses it: over MAX_CONTENT_LENGTH is 413, one cut short (the client or the proxy went away
    before its last chunk) is 400, and what is left is the request's whole body.

    Werkzeug stops reading such a body at MAX_CONTENT_LENGTH and takes what it has read for
    the whole of it, so the first 256 KiB of a longer body, or of one Caddy gave up on at
    that size, would be acted on (a JSON body padded with spaces still parses)."""
    limit = request.max_content_length
    environ = request.environ
    if limit is None or request.content_length is not None or not environ.get("wsgi.input_terminated"):
        return  # a Content-Length bounds the body; without either, werkzeug reads none of it
    body, read = bytearray(), environ["wsgi.input"].read
    try:
        while len(body) <= limit and (piece := read(min(64 * 1024, limit + 1 - len(body)))):
            body += piece
    except Exception as error:  # noqa: BLE001 - gunicorn's reader raises parse errors, not only OSError
        raise BadRequest("the request body ended before its last chunk") from error
    if len(body) > limit:
        raise RequestEntityTooLarge()
    environ["wsgi.input"] = io.BytesIO(bytes(body))


def _refuse_encoded_bodies() -> Response | None:
    """415 for a body sent with a Content-Encoding (gzip, deflate, br...): werkzeug hands the
    bytes on as they came, so a compressed body would be read as a body that is not text."""
    if request.method not in ("POST", "PUT", "PATCH"):
        return None
    codings = [part.strip().lower() for part in request.headers.get("Content-Encoding", "").split(",")]
    if all(coding in ("", "identity") for coding in codings):
        return None
    sent = request.content_length if request.content_length is not None else request.get_data(cache=True)
    if not sent:
        return None
    message = "the Content-Encoding header is not accepted: send the JSON body uncompressed"
    response = error_response(415, "unsupported_media_type", message)
    response.headers["Accept-Encoding"] = "identity"  # RFC 7694: what is accepted instead
    return response


def _require_json_bodies() -> Response | None:
    """415 for a POST, PUT or PATCH body that is not JSON, sent with a Content-Length or
    chunked: a chunked body has none, but _read_streamed_body has read it whole by now."""
    if request.method not in ("POST", "PUT", "PATCH") or request.is_json:
        return None
    sent = request.content_length if request.content_length is not None else request.get_data(cache=True)
    if sent:
        return error_response(415, "unsupported_media_type", "send the body as application/json")
    return None


def add_ops_endpoints(app: Flask, service: str, ready_checks: Mapping[str, Callable[[], None]]) -> None:
    @app.get("/healthz")
    def healthz() -> Response:
        return jsonify({"status": "ok", "service": service})

    @app.get("/readyz")
    def readyz() -> tuple[Response, int]:
        problems = {}
        for name, check in ready_checks.items():
            try:
                check()
            except Exception as exc:  # noqa: BLE001 - report, don't crash the probe
                problems[name] = str(exc)[:300]
        if problems:
            return jsonify({"status": "unavailable", "service": service, "problems": problems}), 503
        return jsonify({"status": "ready", "service": service}), 200

    @app.get("/metrics")
    def metrics() -> Response:
        registry = REGISTRY
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
        return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


def trust_proxies(app: Flask, hops: int) -> None:
    """Take the client's address and scheme from the last `hops` proxies' X-Forwarded-For
    and X-Forwarded-Proto, so rate limits count per client (not per proxy) and the
    front end knows a request came over HTTPS. What a client wrote into those headers
    itself sits further left in the list and is ignored."""
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]


def trace_requests(app: Flask, service: str) -> None:
    """A server span per request (child of the caller's traceparent header), when this process's
    tracing is on: the process's entry turned it on (`app_from_env`, which gunicorn calls in each
    worker after the fork). The span is named by the route's rule, never the path (it holds ids).
    """
    if not tracing.enabled():
        return

    @app.before_request
    def _start_span() -> None:
        if request.path in OPS_PATHS:
            return
        rule = request.url_rule.rule if request.url_rule is not None else None
        g.trace_span = tracing.start_server_span(
            f"{request.method} {rule}" if rule else request.method,
            request.headers,
            {"http.request.method": request.method, "http.route": rule or "", "cc.service": service},
        )

    @app.after_request
    def _note_status(response: Response) -> Response:
        g.trace_status = response.status_code
        return response

    @app.teardown_request
    def _end_span(error: BaseException | None) -> None:
        tracing.end_server_span(g.pop("trace_span", None), g.pop("trace_status", None), error)


C = TypeVar("C")
S = TypeVar("S")
_CONTEXTS = "ccshared.contexts"


def app_from_env(
    service: str,
    load: Callable[[], S],
    create_app: Callable[[S], Flask],
    log_level: Callable[[S], str] = attrgetter("log_level"),
) -> Flask:
    """The app as gunicorn runs it: the settings loaded from the environment, the logs
    configured at their level, tracing turned on if OTEL_EXPORTER_OTLP_ENDPOINT says so, then
    `create_app(settings)`, which reads no environment of its own."""
    settings = load()
    logs.configure(service, log_level(settings))
    tracing.configure(service)
    return create_app(settings)


def provide(app: Flask, context: object) -> None:
    """Give the app's routes what they work with: one typed object, found by its class."""
    app.extensions.setdefault(_CONTEXTS, {})[type(context)] = context


def provided(app: Flask, kind: type[C]) -> C:
    """The object of this class the app was given with `provide`."""
    return app.extensions[_CONTEXTS][kind]


def context(kind: type[C]) -> C:
    """In a request: what the app was given of this class. Routes are module-level blueprints;
    this is how they reach the service layer, typed."""
    return provided(current_app, kind)


def _add_security_headers(response: Response) -> None:
    """Each of SECURITY_HEADERS the view did not set itself. One pass over the headers set:
    werkzeug's `setdefault` looks each name up by raising and catching a KeyError, six
    exceptions a response."""
    present = {name.lower() for name in response.headers.keys()}
    for name, value in SECURITY_HEADERS.items():
        if name.lower() not in present:
            response.headers.add(name, value)


def create_app_base(
    service: str,
    *,
    ready_checks: Mapping[str, Callable[[], None]],
    title: str,
    json_only: bool = True,
    trusted_proxy_hops: int,
) -> tuple[Flask, Api]:
    """A Flask app with the shared behaviour; the caller registers its blueprints on the Api.

    trusted_proxy_hops: the service's TRUSTED_PROXY_HOPS setting (it reads no environment).
    The app is named after this module, not the service: the services' APIs serve no
    templates or files, so Flask need not find their packages (the front end, which
    does, sets its root itself).
    """
    app = Flask(__name__)
    trust_proxies(app, trusted_proxy_hops)
    app.config.update(
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
        API_TITLE=title,
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        JSON_SORT_KEYS=False,
    )
    register_errors(app)
    api = Api(app, spec_kwargs={"marshmallow_plugin": apidoc.Plugin()})
    add_ops_endpoints(app, service, ready_checks)

    trace_requests(app, service)
    app.before_request(_read_streamed_body)
    app.before_request(_refuse_encoded_bodies)
    if json_only:
        app.before_request(_require_json_bodies)
    app.before_request(_refuse_unreadable_json)

    @app.before_request
    def _start_timer() -> None:
        g.started = time.perf_counter()

    @app.after_request
    def _finish(response: Response) -> Response:
        _add_security_headers(response)
        elapsed = time.perf_counter() - g.get("started", time.perf_counter())
        method = request.method if request.method in METHODS else "other"
        REQUESTS.labels(service, method, str(response.status_code)).inc()
        LATENCY.labels(service).observe(elapsed)
        if request.path not in OPS_PATHS:
            log.info(
                "request",
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "ms": round(elapsed * 1000, 1),
                },
            )
        return response

    return app, api
