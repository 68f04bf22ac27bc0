"""Traces through the gateway: a server span per transcoded request, its context sent upstream.

Off until `enable(tracer)` hands over a tracer (the binding's command sets up the exporter);
while off a request pays one `is None` test. On, a request continues the client's W3C
`traceparent` header (or starts a trace), and the span's context goes to the backend as
`traceparent`/`tracestate` metadata, so the service's span is its child.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from gateway.asgi import Scope, Send, StatusRecorder

_PROPAGATOR = TraceContextTextMapPropagator()
_tracer: trace.Tracer | None = None


def enable(tracer: trace.Tracer | None) -> None:
    """Trace requests with `tracer` from now on (None: stop)."""
    global _tracer
    _tracer = tracer


def enabled() -> bool:
    """Tell whether requests are traced."""
    return _tracer is not None


def inject(metadata: list[tuple[str, str | bytes]]) -> None:
    """Add the current span's `traceparent` (and `tracestate`) to outgoing call metadata."""
    if _tracer is None:
        return
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    # First, so that a client's own Grpc-Metadata-Traceparent cannot stand in for it.
    metadata[1:1] = carrier.items()


async def traced(scope: Scope, send: Send, serve: Callable[[Send], Awaitable[None]]) -> None:
    """Run `serve` inside a server span for the request (continuing an incoming traceparent)."""
    tracer = _tracer
    if tracer is None:
        await serve(send)
        return
    carrier = {}
    for name, value in scope.get("headers", ()):
        if name in (b"traceparent", b"tracestate"):
            carrier[name.decode("latin-1")] = value.decode("latin-1")
    parent = _PROPAGATOR.extract(carrier) if carrier else None
    method = scope.get("method", "")
    answer = StatusRecorder(send)

    attributes = {"http.request.method": method, "url.path": scope.get("path", "")}
    # Named after the route once it is matched: paths carry ids, routes do not.
    with tracer.start_as_current_span(
        method, context=parent, kind=SpanKind.SERVER, attributes=attributes
    ) as span:
        try:
            await serve(answer)
        finally:
            route = (scope.get("state") or {}).get("route")
            if route:
                span.update_name(f"{method} {route}")
                span.set_attribute("http.route", route)
            if status := answer.status:
                span.set_attribute("http.response.status_code", status)
                if status >= 500:
                    span.set_status(StatusCode.ERROR)
