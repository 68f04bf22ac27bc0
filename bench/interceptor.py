"""What counting and rate limiting an RPC cost the server interceptor, per call.

The studio's CallInterceptor wraps a no-op unary handler, which is then called directly (no
network, no serialisation) with a minimal servicer context, so that the interceptor's own work
is all that is timed: the request id, the caller context, the trailers, the log check and,
with metrics, `grpc_server_handled_total` and `grpc_server_handling_seconds`. Rounds alternate
the interceptors and each difference is taken within its round (the machine is shared).
Also timed: MethodMetrics.done alone, the metrics' whole per-call work.

The rate limit (services/common/rate_limits.py) is timed on top of metrics: an in-process token
bucket (the read class, and every class without REDIS_URL), and the Redis bucket (one EVALSHA
per call, on BENCH_REDIS_URL, default redis://127.0.0.1:6379/0, skipped if it does not answer).
The buckets never run dry (a huge rate), so every call takes the allowed path.

Traces (services/common/tracing.py) are timed on top of metrics too: off, as without
OTEL_EXPORTER_OTLP_ENDPOINT, the "metrics" column itself; on, a server span per call continuing
the caller's `traceparent`, handed to a batch processor whose exporter drops it.

    .venv/bin/python bench/interceptor.py [--calls 100000] [--rounds 5] [--redis-calls 5000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "gen")]

import grpc  # noqa: E402

from services.common import rpc_metrics as metrics  # noqa: E402
from services.common.interceptors import CallInterceptor  # noqa: E402
from services.common.rate_buckets import LocalBuckets, Policy  # noqa: E402
from services.common.rate_limits import RateLimiter  # noqa: E402

METHOD = "/bench.v1.BenchService/Call"  # outside filmstudio.*: no token to check
TRACEPARENT = ("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")


class Context:
    """The little of grpc.aio.ServicerContext the interceptor uses on a successful call."""

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return (("user-agent", "bench"), ("x-request-id", "bench-request"), TRACEPARENT)

    def peer(self) -> str:
        return "ipv4:127.0.0.1:50000"

    def set_trailing_metadata(self, metadata: Any) -> None:
        pass


class Details:
    method = METHOD


async def _handler(interceptor: CallInterceptor) -> Any:
    async def behaviour(request: Any, context: Any) -> Any:
        return request

    async def continuation(details: Any) -> Any:
        return grpc.unary_unary_rpc_method_handler(behaviour)

    wrapped = await interceptor.intercept_service(continuation, Details())
    return wrapped.unary_unary


async def _time(run: Any, calls: int) -> float:
    context = Context()
    started = time.perf_counter()
    for _ in range(calls):
        await run(b"", context)
    return (time.perf_counter() - started) / calls * 1e6


def _done_cost(calls: int) -> float:
    counters = metrics.RpcMetrics().method("/bench.v1.BenchService/Done", "unary_unary")
    code = grpc.StatusCode.OK
    started = time.perf_counter()
    for _ in range(calls):
        counters.done(code, 0.0012)
    return (time.perf_counter() - started) / calls * 1e6


def _limiter(shared: Any = None) -> RateLimiter:
    """Return a limiter whose bucket for the bench method never runs dry."""
    never_dry = {"write": Policy(rate=1e9, burst=1e9)}
    return RateLimiter({METHOD: "write"}, never_dry, local=LocalBuckets(), shared=shared)


def _tracer() -> Any:
    """Return a tracer whose spans are batched as with an OTLP exporter, then dropped."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        SpanExporter,
        SpanExportResult,
    )

    class Drop(SpanExporter):
        def export(self, spans: Any) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(Drop()))
    return provider.get_tracer("bench")


async def _redis_buckets() -> Any:
    """Return Redis buckets under a throwaway prefix, or None if Redis does not answer."""
    import os
    import uuid

    from services.common.redis_buckets import RedisBuckets

    url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
    buckets = RedisBuckets(url, f"bench-{uuid.uuid4().hex[:8]}:ratelimit", LocalBuckets())
    try:
        await buckets._redis.ping()
    except Exception:
        await buckets.close()
        return None
    return buckets


async def _rounds(variants: dict[str, Any], calls: int, rounds: int) -> list[dict[str, float]]:
    for run in variants.values():
        await _time(run, max(calls // 10, 1))  # warm up
    rows = []
    for index in range(rounds):
        order = list(variants.items())
        times = {}
        for name, run in order if index % 2 == 0 else reversed(order):
            times[name] = await _time(run, calls)
        rows.append(times)
    return rows


def _table(rows: list[dict[str, float]], base: str) -> None:
    names = list(rows[0])
    print(f"{'round':>5} " + " ".join(f"{name + ' us':>16}" for name in names))
    for index, row in enumerate(rows, 1):
        print(f"{index:>5} " + " ".join(f"{row[name]:>16.2f}" for name in names))
    for name in names:
        if name != base:
            added = statistics.median(row[name] - row[base] for row in rows)
            ratio = statistics.median(row[name] / row[base] for row in rows)
            print(f"median added by {name!r} over {base!r}: {added:.2f} us (ratio {ratio:.3f})")


async def main(calls: int, rounds: int, redis_calls: int) -> None:
    """Print microseconds per call for each interceptor, and what each adds."""
    authenticator: Any = None  # never asked: the method is not one of the studio's
    plain = await _handler(CallInterceptor({}, authenticator, metrics=metrics.NoRpcMetrics()))
    counted = await _handler(CallInterceptor({}, authenticator))
    limited = await _handler(CallInterceptor({}, authenticator, limiter=_limiter()))
    traced = await _handler(CallInterceptor({}, authenticator, tracer=_tracer()))
    variants = {"no metrics": plain, "metrics": counted, "+local limit": limited, "+traces": traced}
    _table(await _rounds(variants, calls, rounds), "metrics")
    print(
        f"MethodMetrics.done alone: {statistics.median(_done_cost(calls) for _ in range(3)):.2f} us"
    )
    shared = await _redis_buckets()
    if shared is None:
        print("Redis does not answer: no Redis bucket timing")
        return
    try:
        redis_limited = await _handler(CallInterceptor({}, authenticator, limiter=_limiter(shared)))
        print(f"\nRedis bucket, {redis_calls} calls a round, one EVALSHA each:")
        _table(
            await _rounds({"metrics": counted, "+redis limit": redis_limited}, redis_calls, rounds),
            "metrics",
        )
    finally:
        await shared._redis.delete(
            *[k async for k in shared._redis.scan_iter(f"{shared.prefix}:*")] or ["-"]
        )
        await shared.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--redis-calls", type=int, default=5_000)
    arguments = parser.parse_args()
    from services.common.loop import run_on_uvloop

    run_on_uvloop(main(arguments.calls, arguments.rounds, arguments.redis_calls))
