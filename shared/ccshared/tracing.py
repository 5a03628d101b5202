"""Tracing: one trace follows a contact across processes (OpenTelemetry, W3C traceparent).

Off unless OTEL_EXPORTER_OTLP_ENDPOINT is set: then nothing here makes a span
or writes a traceparent, and every call costs a flag check. When it is set,
`configure` (once per process, after any fork: the app factory in each gunicorn
worker, the runner in the worker process) installs an SDK tracer provider that
batches spans to the OTLP/HTTP (protobuf) endpoint.

The context travels as a W3C `traceparent`: in HTTP headers between services,
and in the event envelope's `traceparent` field through the outbox, the bus and
the documents that wait for a timer (an SLA clock, a queued e-mail). Span
attributes name services, routes, event types, topics and statuses only, never
anything a member of the public wrote.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from . import config

log = logging.getLogger(__name__)

OTEL_EXPORTER_OTLP_ENDPOINT = config.OTEL_EXPORTER_OTLP_ENDPOINT
TRACEPARENT = "traceparent"
TRACEPARENT_PATTERN = r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$"
SERVER, CLIENT, PRODUCER, CONSUMER, INTERNAL = (
    SpanKind.SERVER,
    SpanKind.CLIENT,
    SpanKind.PRODUCER,
    SpanKind.CONSUMER,
    SpanKind.INTERNAL,
)

_propagator = TraceContextTextMapPropagator()
_state: dict[str, Any] = {"pid": None, "enabled": False, "provider": None}


def configure(service: str, environ: Mapping[str, str] | None = None) -> bool:
    """Start exporting this process's spans if OTEL_EXPORTER_OTLP_ENDPOINT is set; True if on.

    Once per process: a second call (another app made in the same process) keeps
    the first provider. A forked child calls it again and gets its own, since the
    batch processor's export thread does not survive a fork.
    """
    if _state["pid"] == os.getpid():
        return _state["enabled"]
    endpoint = config.load([OTEL_EXPORTER_OTLP_ENDPOINT], environ)[OTEL_EXPORTER_OTLP_ENDPOINT.name]
    _state.update(pid=os.getpid(), enabled=False, provider=None)
    if not endpoint:
        return False
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(
        BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{endpoint.rstrip('/')}/v1/traces"))
    )
    _state.update(enabled=True, provider=provider)
    log.info("tracing on", extra={"service": service, "otlp_host": urlsplit(endpoint).hostname})
    return True


def enabled() -> bool:
    return _state["enabled"] and _state["pid"] == os.getpid()


def flush(timeout_ms: int = 5000) -> None:
    """Export the spans still batched (before a process ends on its own terms)."""
    if enabled():
        _state["provider"].force_flush(timeout_ms)


def traceparent() -> str | None:
    """The current span's context as a W3C traceparent, or None (tracing off, or no span)."""
    if not enabled():
        return None
    carrier: dict[str, str] = {}
    _propagator.inject(carrier)
    return carrier.get(TRACEPARENT)


def inject(headers: MutableMapping[str, str]) -> MutableMapping[str, str]:
    """Add the current traceparent to outgoing HTTP headers (when tracing is on)."""
    current = traceparent()
    if current:
        headers[TRACEPARENT] = current
    return headers


@contextmanager
def span(
    name: str,
    *,
    parent: str | None = None,
    kind: SpanKind = INTERNAL,
    attributes: Mapping[str, Any] | None = None,
    resume: bool = False,
) -> Iterator[Span | None]:
    """A span, current while the block runs; None and no cost when tracing is off.

    `parent` (a traceparent) makes it a child of a span in another process or in a
    stored document; without one, or if it does not parse, it is a child of the
    current span, or a root. `resume=True` uses `parent` only when no span is current:
    a timer resumes a stored trace, but within a consumer's span that span is the parent.
    """
    if not enabled():
        yield None
        return
    context = None
    if parent and not (resume and trace.get_current_span().get_span_context().is_valid):
        extracted = _propagator.extract({TRACEPARENT: parent})
        if trace.get_current_span(extracted).get_span_context().is_valid:
            context = extracted
    tracer = trace.get_tracer("ccshared", tracer_provider=_state["provider"])
    with tracer.start_as_current_span(
        name,
        context=context,
        kind=kind,
        attributes=dict(attributes or {}),
        record_exception=False,
        set_status_on_exception=False,
    ) as current:
        try:
            yield current
        except BaseException as exc:
            failed(current, exc)
            raise


def start_child(
    name: str, parent: str | None, *, kind: SpanKind = INTERNAL, attributes: Mapping[str, Any] | None = None
) -> tuple[Span, str] | None:
    """A span that is not made current (many at once, as a relay's batch), with its traceparent.

    None when tracing is off or `parent` is not a traceparent: nothing to follow.
    """
    if not enabled() or not parent:
        return None
    context = _propagator.extract({TRACEPARENT: parent})
    if not trace.get_current_span(context).get_span_context().is_valid:
        return None
    tracer = trace.get_tracer("ccshared", tracer_provider=_state["provider"])
    child = tracer.start_span(name, context=context, kind=kind, attributes=dict(attributes or {}))
    carrier: dict[str, str] = {}
    _propagator.inject(carrier, context=trace.set_span_in_context(child))
    return child, carrier[TRACEPARENT]


def failed(span: Span | None, error: BaseException) -> None:
    """Mark a span failed, naming the error's type only (its message may quote input)."""
    if span is not None:
        span.set_status(Status(StatusCode.ERROR))
        span.set_attribute("error.type", type(error).__name__)


def end(spans: Iterable[Span], error: BaseException | None = None) -> None:
    for each in spans:
        if error is not None:
            failed(each, error)
        each.end()


def start_server_span(name: str, headers: Mapping[str, str], attributes: Mapping[str, Any]) -> object | None:
    """Begin an HTTP server span, a child of the caller's traceparent header if it sent one.

    Returns a token for `end_server_span` (None when tracing is off). For a
    framework's before/after hooks, which cannot wrap the request in a `with`.
    """
    if not enabled():
        return None
    incoming = headers.get(TRACEPARENT)
    parent = _propagator.extract({TRACEPARENT: incoming}) if incoming else None
    tracer = trace.get_tracer("ccshared", tracer_provider=_state["provider"])
    current = tracer.start_span(name, context=parent, kind=SERVER, attributes=dict(attributes))
    token = otel_context.attach(trace.set_span_in_context(current))
    return (current, token)


def end_server_span(started: object | None, status: int | None, error: BaseException | None = None) -> None:
    if started is None:
        return
    current, token = started  # type: ignore[misc]
    if status is not None:
        current.set_attribute("http.response.status_code", status)
    if error is not None:
        failed(current, error)
    elif status is not None and status >= 500:
        current.set_status(Status(StatusCode.ERROR))
    current.end()
    otel_context.detach(token)
