"""What counting an RPC costs the server interceptor: one call's scope with and without metrics.

The studio's CallInterceptor wraps a no-op unary handler, which is then called directly (no
network, no serialisation) with a minimal servicer context, so that the interceptor's own work
is all that is timed: the request id, the caller context, the trailers, the log check and,
with metrics, `grpc_server_handled_total` and `grpc_server_handling_seconds`. Rounds alternate
the two interceptors and the ratio is taken within each round (the machine is shared).
Also timed: MethodMetrics.done alone, the metrics' whole per-call work.

    .venv/bin/python bench/interceptor.py [--calls 100000] [--rounds 5]
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

METHOD = "/bench.v1.BenchService/Call"  # outside filmstudio.*: no token to check


class Context:
    """The little of grpc.aio.ServicerContext the interceptor uses on a successful call."""

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return (("user-agent", "bench"), ("x-request-id", "bench-request"))

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


async def main(calls: int, rounds: int) -> None:
    """Print microseconds per call with and without metrics, and their difference."""
    authenticator: Any = None  # never asked: the method is not one of the studio's
    plain = await _handler(CallInterceptor({}, authenticator, metrics=metrics.NoRpcMetrics()))
    counted = await _handler(CallInterceptor({}, authenticator))
    await _time(plain, calls // 10)  # warm up both
    await _time(counted, calls // 10)
    rows = []
    for index in range(rounds):
        order = [(False, plain), (True, counted)]
        times = {}
        for with_metrics, run in order if index % 2 == 0 else reversed(order):
            times[with_metrics] = await _time(run, calls)
        rows.append((times[False], times[True]))
    print(f"{'round':>5} {'no metrics us':>14} {'metrics us':>11} {'added us':>9} {'ratio':>6}")
    for index, (without, with_) in enumerate(rows, 1):
        print(
            f"{index:>5} {without:>14.2f} {with_:>11.2f} {with_ - without:>9.2f} "
            f"{with_ / without:>6.3f}"
        )
    added = statistics.median(with_ - without for without, with_ in rows)
    ratio = statistics.median(with_ / without for without, with_ in rows)
    print(f"median added per call: {added:.2f} us (ratio {ratio:.3f})")
    print(
        f"MethodMetrics.done alone: {statistics.median(_done_cost(calls) for _ in range(3)):.2f} us"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    arguments = parser.parse_args()
    from services.common.loop import run_on_uvloop

    run_on_uvloop(main(arguments.calls, arguments.rounds))
