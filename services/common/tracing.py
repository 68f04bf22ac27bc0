"""OpenTelemetry traces: the process's tracer when OTEL_EXPORTER_OTLP_ENDPOINT is set, else none.

With no endpoint nothing is set up and `tracer()` is None: callers test that once and skip
every span, context extraction and injection (the interceptor is a hot path). With one, spans
go in batches to the collector over OTLP/HTTP (protobuf). The context travels as W3C
`traceparent`/`tracestate`: in gRPC metadata, and in a queued job's entry (services/ai_job).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

    from services.common.config import Settings

log = logging.getLogger(__name__)

TRACE_KEYS = ("traceparent", "tracestate")
_PROPAGATOR = TraceContextTextMapPropagator()
_tracer: trace.Tracer | None = None
_provider: TracerProvider | None = None


def traces_url(endpoint: str) -> str:
    """Return the OTLP/HTTP traces URL of a collector's base endpoint (as the spec builds it)."""
    return endpoint.rstrip("/") + "/v1/traces"


def configure(settings: Settings, service: str) -> trace.Tracer | None:
    """Start exporting this process's spans when an endpoint is set; return its tracer.

    Called once per process (again it keeps the first). OTEL_SERVICE_NAME, when set, names the
    process instead of `service`.
    """
    global _tracer, _provider
    endpoint = settings.otel_exporter_otlp_endpoint
    if _tracer is not None or not endpoint:
        return _tracer
    # Imported only when tracing is on: the SDK and exporter cost start-up time otherwise.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    name = settings.otel_service_name or service
    provider = TracerProvider(resource=Resource.create({"service.name": name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(traces_url(endpoint))))
    trace.set_tracer_provider(provider)
    _provider = provider
    _tracer = provider.get_tracer("filmstudio")
    log.info("exporting traces", extra={"endpoint": endpoint, "service": name})
    return _tracer


def tracer() -> trace.Tracer | None:
    """Return the process's tracer, or None when traces are off."""
    return _tracer


def flush(timeout_ms: int = 5000) -> None:
    """Send the spans still batched (a process about to exit without atexit, e.g. a work horse)."""
    if _provider is not None:
        _provider.force_flush(timeout_ms)


def extract(carrier: Mapping[str, str]) -> otel_context.Context:
    """Return the context a `traceparent` in `carrier` names (an empty one without)."""
    return _PROPAGATOR.extract(carrier)


def carrier() -> dict[str, str]:
    """Return the current span's context as W3C headers (empty with no span or traces off)."""
    found: dict[str, str] = {}
    if _tracer is not None:
        _PROPAGATOR.inject(found)
    return found


def metadata() -> tuple[tuple[str, str], ...]:
    """Return the current trace context as gRPC metadata pairs (none when traces are off)."""
    return tuple(carrier().items()) if _tracer is not None else ()


@contextmanager
def span(
    name: str,
    parent: otel_context.Context | None = None,
    kind: trace.SpanKind = trace.SpanKind.INTERNAL,
    attributes: Mapping[str, Any] | None = None,
) -> Iterator[trace.Span | None]:
    """Run a block as the current span (a child of `parent` or the current one); no-op when off."""
    if _tracer is None:
        yield None
        return
    with _tracer.start_as_current_span(
        name, context=parent, kind=kind, attributes=dict(attributes or {})
    ) as current:
        yield current


def current() -> otel_context.Context:
    """Return the current context, to continue it in another thread."""
    return otel_context.get_current()
