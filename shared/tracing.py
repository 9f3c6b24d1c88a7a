"""OpenTelemetry set-up: one tracer provider per process; OTLP export when an endpoint is configured."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

_configured = False


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
