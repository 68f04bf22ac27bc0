"""The RPC series: Prometheus bucket semantics (le) and one series per label set per process."""

from __future__ import annotations

import uuid

import grpc
from prometheus_client import REGISTRY

from services.common.rpc_metrics import RpcMetrics


def _labels(method: str, code: str = "OK") -> dict[str, str]:
    return {
        "grpc_type": "server_stream",
        "grpc_service": "test.v1.Things",
        "grpc_method": method,
        "grpc_code": code,
    }


def _sample(name: str, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(name, labels)


def test_a_duration_on_a_bound_falls_in_that_bucket_and_a_long_one_only_in_inf() -> None:
    method = f"Watch{uuid.uuid4().hex[:8]}"
    series = RpcMetrics().method(f"/test.v1.Things/{method}", "unary_stream")
    series.done(grpc.StatusCode.OK, 0.001)
    series.done(grpc.StatusCode.OK, 100.0)
    series.done(grpc.StatusCode.NOT_FOUND, 0.0001)
    ok, missing = _labels(method), _labels(method, "NOT_FOUND")
    bucket = "grpc_server_handling_seconds_bucket"
    assert _sample(bucket, **ok, le="0.0005") == 0
    assert _sample(bucket, **ok, le="0.001") == 1
    assert _sample(bucket, **ok, le="30.0") == 1
    assert _sample(bucket, **ok, le="+Inf") == 2
    assert _sample("grpc_server_handling_seconds_count", **ok) == 2
    assert _sample("grpc_server_handling_seconds_sum", **ok) == 100.001
    assert _sample("grpc_server_handled_total", **ok) == 2
    assert _sample("grpc_server_handled_total", **missing) == 1
    assert _sample(bucket, **missing, le="0.0005") == 1


def test_two_servers_in_one_process_add_to_one_series() -> None:
    method = f"Get{uuid.uuid4().hex[:8]}"
    for _ in range(2):  # as two interceptors of two servers would
        RpcMetrics().method(f"/test.v1.Things/{method}", "unary_stream").done(
            grpc.StatusCode.OK, 0.01
        )
    assert _sample("grpc_server_handled_total", **_labels(method)) == 2
