"""The gRPC server's metrics: calls by method and code, and their latency, per process.

    grpc_server_handled_total{grpc_type, grpc_service, grpc_method, grpc_code}
    grpc_server_handling_seconds{...same labels}   (a histogram)

The interceptor records every call, so this is the one hot path of the metrics: a call costs a
dict lookup, a bisect and two adds on plain Python numbers (~0.3 us), where prometheus_client's
Counter and Histogram take a lock per add and scan the buckets (~1.3 us for the pair). The
numbers are turned into metric families only when /metrics is scraped. They are added to
without a lock: a process's gRPC server runs its calls on one event loop thread; the scrape
thread only reads, and may see one call's count without its duration, never a torn number.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator

import grpc
from prometheus_client import REGISTRY
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

# From a cached read (~0.5 ms) to a long stream or upload.
BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
_LABELS = ("grpc_type", "grpc_service", "grpc_method", "grpc_code")
_BOUNDS = (*(floatToGoString(bound) for bound in BUCKETS), "+Inf")  # type: ignore[no-untyped-call]
_KINDS = {
    "unary_unary": "unary",
    "stream_unary": "client_stream",
    "unary_stream": "server_stream",
    "stream_stream": "bidi_stream",
}


class _Series:
    """One label set's counts per bucket (the last one past every bound) and their sum."""

    __slots__ = ("counts", "total")

    def __init__(self) -> None:
        self.counts = [0] * (len(BUCKETS) + 1)
        self.total = 0.0


# Every server in the process shares these, so that two servers (tests start many) add to one
# series rather than expose the same labels twice.
_SERIES: dict[tuple[str, ...], _Series] = {}


class MethodMetrics:
    """The series of one RPC, each code's found on first use and kept."""

    __slots__ = ("_by_code", "_labels")

    def __init__(self, method: str, kind: str) -> None:
        service, _, name = method.lstrip("/").rpartition("/")
        self._labels = (_KINDS.get(kind, kind), service, name)
        self._by_code: dict[grpc.StatusCode, _Series] = {}

    def done(self, code: grpc.StatusCode, seconds: float) -> None:
        """Count one finished call and its duration."""
        series = self._by_code.get(code)
        if series is None:
            labels = (*self._labels, code.name)
            series = self._by_code[code] = _SERIES.setdefault(labels, _Series())
        series.counts[bisect_left(BUCKETS, seconds)] += 1  # le: the first bound >= seconds
        series.total += seconds


class RpcMetrics:
    """Where the server interceptor gets each method's series (once per method)."""

    def method(self, method: str, kind: str) -> MethodMetrics:
        """Return the series of `method`; `kind` is its handler's attribute ("unary_unary")."""
        return MethodMetrics(method, kind)


class NoRpcMetrics(RpcMetrics):
    """Counts nothing: for measuring what counting costs."""

    class _Nothing(MethodMetrics):
        __slots__ = ()

        def done(self, code: grpc.StatusCode, seconds: float) -> None:
            """Count nothing."""

    def method(self, method: str, kind: str) -> MethodMetrics:
        """Return series that count nothing."""
        return self._Nothing(method, kind)


class _Collector(Collector):
    """Turn the series into metric families at scrape time."""

    def collect(self) -> Iterator[Metric]:
        """Yield the call counter and the latency histogram."""
        handled = CounterMetricFamily(
            "grpc_server_handled",
            "RPCs completed by the server, by method and code",
            labels=_LABELS,
        )
        latency = HistogramMetricFamily(
            "grpc_server_handling_seconds",
            "Time from an RPC's start to its end on the server (a stream's whole life)",
            labels=_LABELS,
        )
        for labels, series in list(_SERIES.items()):
            counts, total = list(series.counts), series.total
            cumulative, buckets = 0, []
            for bound, count in zip(_BOUNDS, counts, strict=True):
                cumulative += count
                buckets.append((bound, cumulative))
            handled.add_metric(labels, cumulative)
            latency.add_metric(labels, buckets, total)
        yield handled
        yield latency


REGISTRY.register(_Collector())
