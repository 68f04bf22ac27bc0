"""Prometheus metrics of the gateway: requests by route, verb and status, and GET /metrics.

The route label is the matched binding's template ("/v1/{name=projects/*}"), or the fixed path
of a built-in, page or raw route; anything unmatched is "unmatched", so that clients probing
random paths cannot grow the label set. /metrics renders the process's whole registry: beside
the gRPC server (`filmstudio run`) it shows the RPCs too.
"""

from __future__ import annotations

import asyncio
from bisect import bisect_left
from collections.abc import Iterator
from itertools import accumulate

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from gateway.asgi import Scope, Send, send_bytes

UNMATCHED = "unmatched"
_LABELS = ("route", "method", "status")
_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120)
_BOUNDS = (*(floatToGoString(b) for b in _BUCKETS), "+Inf")  # type: ignore[no-untyped-call]

# Every request adds to these plain numbers, made metric families only when scraped: a
# bisect and two adds, where prometheus_client's Counter and Histogram take a lock per add and
# scan the buckets in Python. No lock: requests are counted on the event loop's thread, and the
# scrape thread only reads (it may see a request's count without its duration, never a torn
# number). Per (route, method, status): the count per bucket, the last past every bound.
_counts: dict[tuple[str, str, int], list[int]] = {}
_sums: dict[tuple[str, str, int], float] = {}


def set_route(scope: Scope, route: str) -> None:
    """Name the route that serves a request, for its metrics."""
    state = scope.get("state")
    if state is not None:
        state["route"] = route


def record(route: str, method: str, status: int, seconds: float) -> None:
    """Count one answered request and its duration."""
    key = (route, method, status)
    counts = _counts.get(key)
    if counts is None:
        _sums[key] = 0.0
        counts = _counts[key] = [0] * (len(_BUCKETS) + 1)
    counts[bisect_left(_BUCKETS, seconds)] += 1  # le: the first bound >= seconds
    _sums[key] += seconds


def finished(scope: Scope, status: int, seconds: float) -> None:
    """Record an HTTP request as it ends: 0 is no answer at all."""
    route = scope.get("state", {}).get("route", UNMATCHED)
    # 499 as nginx logs it: the client went away before any answer started.
    record(route, scope["method"], status or 499, seconds)


class _Requests(Collector):
    """The request counter and latency histogram, as the numbers stand at the scrape."""

    def collect(self) -> Iterator[Metric]:
        """Yield both families, one series per (route, method, status)."""
        requests = CounterMetricFamily(
            "gateway_http_requests", "HTTP requests answered by the gateway", labels=_LABELS
        )
        seconds = HistogramMetricFamily(
            "gateway_http_request_duration_seconds",
            "Time from a request's arrival to the end of its answer (a stream's whole life)",
            labels=_LABELS,
        )
        for (route, method, status), counts in list(_counts.items()):
            labels, cumulative = (route, method, str(status)), list(accumulate(counts))
            requests.add_metric(labels, cumulative[-1])
            total = _sums[(route, method, status)]
            seconds.add_metric(labels, list(zip(_BOUNDS, cumulative, strict=True)), total)
        yield requests
        yield seconds


REGISTRY.register(_Requests())


async def send_metrics(send: Send) -> None:
    """Answer GET /metrics with the process's registry in the Prometheus text format."""
    # Off the event loop: a scrape runs every collector, and one may ask Redis.
    body = await asyncio.to_thread(generate_latest, REGISTRY)
    await send_bytes(send, 200, body, CONTENT_TYPE_LATEST.encode())
