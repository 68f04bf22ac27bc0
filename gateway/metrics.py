"""Prometheus metrics of the gateway: requests by route, verb and status, and GET /metrics.

The route label is the matched binding's template ("/v1/{name=projects/*}"), or the fixed path
of a built-in, page or raw route; anything unmatched is "unmatched", so that clients probing
random paths cannot grow the label set. /metrics renders the process's whole registry: beside
the gRPC server (`filmstudio run`) it shows the RPCs too.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Histogram, generate_latest

from gateway.asgi import ASGIApp, Receive, Scope, Send, StatusRecorder, send_bytes

UNMATCHED = "unmatched"
_LABELS = ("route", "method", "status")

REQUESTS = Counter("gateway_http_requests_total", "HTTP requests answered by the gateway", _LABELS)
SECONDS = Histogram(
    "gateway_http_request_duration_seconds",
    "Time from a request's arrival to the end of its answer (a stream's whole life)",
    _LABELS,
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120),
)
_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def set_route(scope: Scope, route: str) -> None:
    """Name the route that serves a request, for its metrics."""
    state = scope.get("state")
    if state is not None:
        state["route"] = route


def record(route: str, method: str, status: int, seconds: float) -> None:
    """Count one answered request and its duration."""
    key = (route, method, status)
    children = _children.get(key)
    if children is None:
        labels = (route, method, str(status))
        children = _children[key] = (REQUESTS.labels(*labels), SECONDS.labels(*labels))
    children[0].inc()
    children[1].observe(seconds)


class RequestMetrics:
    """ASGI middleware: count each HTTP request by route, verb and status, with its latency."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the request and record it, whatever way it ends."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        answer = StatusRecorder(send)
        try:
            await self.app(scope, receive, answer)
        except Exception:
            answer.status = answer.status or 500  # the server answers 500 for what escaped
            raise
        finally:
            route = scope.get("state", {}).get("route", UNMATCHED)
            # 499 as nginx logs it: the client went away before any answer started.
            record(route, scope["method"], answer.status or 499, time.perf_counter() - started)


async def send_metrics(send: Send) -> None:
    """Answer GET /metrics with the process's registry in the Prometheus text format."""
    # Off the event loop: a scrape runs every collector, and one may ask Redis.
    body = await asyncio.to_thread(generate_latest, REGISTRY)
    await send_bytes(send, 200, body, CONTENT_TYPE_LATEST.encode())
