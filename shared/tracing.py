"""OpenTelemetry set-up: one tracer provider per process; OTLP export when an endpoint is configured."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

from fastapi.telemetry import TelemetryConfig
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Span, SpanKind, StatusCode

_configured = False
NOT_TRACED = ("/healthz", "/readyz", "/metrics")
"""Paths whose requests start no trace: the probes and the scrapes, a few a second that nobody follows."""
NATIVE_TELEMETRY_OFF: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False, "operation_spans": False}
"""FastAPI's own telemetry, off: the edge (shared.web.Edge) makes the one server span per request, and
FastAPI would add another, with one more for every dependency, the endpoint and the serialisation."""
_tracer = trace.get_tracer("meetmalmo.http")  # a proxy until configure_tracing sets the provider


def configure_tracing(service: str) -> None:
    global _configured
    if _configured:
        return
    provider = TracerProvider(resource=Resource.create({"service.name": f"meetmalmo-{service}"}))
    if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    _configured = True


def inject_trace_headers() -> dict[str, str]:
    """W3C trace context (traceparent, tracestate) of the current span, for a Kafka message."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


def extract_trace_context(headers: Mapping[str, str]) -> Context:
    return propagate.extract(dict(headers))


def current_traceparent() -> str | None:
    """The current span's W3C traceparent, to store beside work that a later job finishes."""
    return inject_trace_headers().get("traceparent")


@contextlib.contextmanager
def continued(traceparent: str | None) -> Iterator[None]:
    """Run the block inside the trace `traceparent` names (stored by `current_traceparent`), so that what a
    later job emits for that work stays in the trace that asked for it; no traceparent: the current one."""
    if not traceparent:
        yield
        return
    token = otel_context.attach(extract_trace_context({"traceparent": traceparent}))
    try:
        yield
    finally:
        otel_context.detach(token)


@dataclass
class RequestSpan:
    """The server span of one request, finished once the app has answered."""

    span: Span

    def end_request(self, method: str, route: str | None, status: int) -> None:
        if route is not None:  # named by its template only once the router has chosen the route
            self.span.update_name(f"{method} {route}")
            self.span.set_attribute("http.route", route)
        self.span.set_attribute("http.status_code", status)
        if status >= 500:
            self.span.set_status(StatusCode.ERROR)


@contextlib.contextmanager
def server_span(scope: MutableMapping[str, Any], headers: Mapping[str, str]) -> Iterator[RequestSpan]:
    """The current span while the request of `scope` runs, the child of the trace its W3C headers (decoded
    `headers`) carry; attributed as OpenTelemetry's ASGI instrumentation did, without the query string (it
    can hold personal data)."""
    server, client = scope.get("server"), scope.get("client")
    host = headers.get("host") or (f"{server[0]}:{server[1]}" if server else "")
    scheme = scope.get("scheme", "http")
    attributes: dict[str, Any] = {
        "http.method": scope["method"],
        "http.scheme": scheme,
        "http.flavor": scope.get("http_version", "1.1"),
        "http.target": scope["path"],
        "http.url": f"{scheme}://{host}{scope.get('root_path', '')}{scope['path']}",
        "http.server_name": host,
    }
    if server:
        attributes["http.host"] = f"{server[0]}:{server[1]}"
    if client:
        attributes["net.peer.ip"], attributes["net.peer.port"] = client[0], client[1]
    if "user-agent" in headers:
        attributes["http.user_agent"] = headers["user-agent"]
    with _tracer.start_as_current_span(
        scope["method"], context=propagate.extract(headers), kind=SpanKind.SERVER, attributes=attributes
    ) as span:
        yield RequestSpan(span)
