"""The gRPC server's metrics: calls by method and code, and their latency, per process.

    grpc_server_handled_total{grpc_type, grpc_service, grpc_method, grpc_code}
    grpc_server_handling_seconds{...same labels}   (a histogram)

The interceptor records every call, so a call costs a dict lookup, a bisect and two adds on
plain numbers (counted_durations.py), turned into metric families only when scraped.
"""

from __future__ import annotations

import grpc

from services.common.counted_durations import CountedDurations, Series

# From a cached read (~0.5 ms) to a long stream or upload.
BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
_KINDS = {
    "unary_unary": "unary",
    "stream_unary": "client_stream",
    "unary_stream": "server_stream",
    "stream_stream": "bidi_stream",
}
# Every server in the process shares these, so that two servers (tests start many) add to one
# series rather than expose the same labels twice.
_CALLS = CountedDurations(
    ("grpc_server_handled", "RPCs completed by the server, by method and code"),
    (
        "grpc_server_handling_seconds",
        "Time from an RPC's start to its end on the server (a stream's whole life)",
    ),
    ("grpc_type", "grpc_service", "grpc_method", "grpc_code"),
    BUCKETS,
)


class MethodMetrics:
    """The series of one RPC, each code's found on first use and kept."""

    __slots__ = ("_by_code", "_labels")

    def __init__(self, method: str, kind: str) -> None:
        service, _, name = method.lstrip("/").rpartition("/")
        self._labels = (_KINDS.get(kind, kind), service, name)
        self._by_code: dict[grpc.StatusCode, Series] = {}

    def done(self, code: grpc.StatusCode, seconds: float) -> None:
        """Count one finished call and its duration."""
        series = self._by_code.get(code)
        if series is None:
            series = self._by_code[code] = _CALLS.series((*self._labels, code.name))
        series.add(seconds)


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
