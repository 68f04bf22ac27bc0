"""GetProject over REST (through the gateway) against direct gRPC, measured in one run.

Three processes: a gRPC backend hosting tests/support/faulty.py's FaultyProjects, the gateway
(`python -m gateway` on uvicorn + httptools + uvloop), and this load generator. Both paths are
driven at the same concurrency for the same time; the table reports the throughput ratio
(goal >= 0.8) and the p50 latency the gateway adds at low load (goal < 1 ms). Load comes from
h2load (Debian nghttp2-client) when it is installed, since a C client leaves the servers as the
bottleneck; otherwise from lean Python clients (raw HTTP/1.1 keep-alive, grpc.aio).

    .venv/bin/python bench/gateway.py [--concurrency 32] [--seconds 4]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "gen")]

import grpc  # noqa: E402
import uvloop  # noqa: E402
from filmstudio.v1 import project_pb2, project_pb2_grpc  # noqa: E402

NAME = "projects/bench"
RPC = "/filmstudio.v1.ProjectService/GetProject"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def serve_backend(port: int) -> None:
    """Host FaultyProjects on a plain grpc.aio server until killed."""
    from tests.support.faulty import FaultyProjects

    server = grpc.aio.server()
    project_pb2_grpc.add_ProjectServiceServicer_to_server(FaultyProjects(), server)
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    await server.wait_for_termination()


def wait_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise SystemExit(f"nothing listens on {port}")


async def http_worker(port: int, stop_at: float, latencies: list[float]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    request = f"GET /v1/{NAME} HTTP/1.1\r\nHost: bench\r\n\r\n".encode()
    loop = asyncio.get_running_loop()
    while loop.time() < stop_at:
        started = time.perf_counter()
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))  # type: ignore[union-attr]
        await reader.readexactly(length)
        if not head.startswith(b"HTTP/1.1 200"):
            raise SystemExit(f"REST call failed: {head[:80]!r}")
        latencies.append(time.perf_counter() - started)
    writer.close()


async def grpc_worker(stub: object, stop_at: float, latencies: list[float]) -> None:
    request = project_pb2.GetProjectRequest(name=NAME)
    loop = asyncio.get_running_loop()
    while loop.time() < stop_at:
        started = time.perf_counter()
        await stub.GetProject(request)  # type: ignore[attr-defined]
        latencies.append(time.perf_counter() - started)


async def python_load(kind: str, port: int, concurrency: int, seconds: float) -> list[float]:
    """Run `concurrency` closed-loop clients for `seconds` (after a warm-up); return latencies."""
    channels = []
    stubs = []
    if kind == "grpc":
        options = [("grpc.use_local_subchannel_pool", 1)]
        channels = [
            grpc.aio.insecure_channel(f"127.0.0.1:{port}", options=options) for _ in range(2)
        ]
        stubs = [project_pb2_grpc.ProjectServiceStub(c) for c in channels]
    loop = asyncio.get_running_loop()
    results: list[float] = []
    for phase_seconds, keep in ((min(1.0, seconds / 2), False), (seconds, True)):
        latencies: list[float] = []
        stop_at = loop.time() + phase_seconds
        if kind == "grpc":
            workers = [grpc_worker(stubs[i % 2], stop_at, latencies) for i in range(concurrency)]
        else:
            workers = [http_worker(port, stop_at, latencies) for _ in range(concurrency)]
        await asyncio.gather(*workers)
        if keep:
            results = latencies
    for channel in channels:
        await channel.close()
    return results


def h2load(kind: str, port: int, concurrency: int, seconds: float) -> float | None:
    """Return requests per second from h2load, or None when it is not installed."""
    binary = shutil.which("h2load")
    if binary is None:
        return None
    duration = str(max(1, round(seconds)))
    common = ["-D", duration, "--warm-up-time", "1"]
    if kind == "rest":
        url = f"http://127.0.0.1:{port}/v1/{NAME}"
        command = [binary, "--h1", "-c", str(concurrency), *common, url]
    else:
        body = project_pb2.GetProjectRequest(name=NAME).SerializeToString()
        frame = Path(tempfile.mkdtemp(), "frame")
        frame.write_bytes(b"\x00" + len(body).to_bytes(4, "big") + body)
        grpc_headers = ["-H", "content-type: application/grpc", "-H", "te: trailers"]
        streams = str(max(1, concurrency // 4))  # 4 connections x streams = the same concurrency
        command = [binary, "-c", "4", "-m", streams, *common, "-d", str(frame), *grpc_headers]
        command.append(f"http://127.0.0.1:{port}{RPC}")
    output = subprocess.run(command, capture_output=True, text=True, check=False).stdout
    found = re.search(r"([\d.]+) req/s", output)
    codes = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", output)
    if found is None or codes is None or sum(int(n) for n in codes.groups()[1:]):
        print(f"h2load {kind} run failed or saw non-2xx answers:\n{output[-600:]}")
        return None
    return float(found.group(1))


def summary(latencies: list[float], seconds: float) -> tuple[float, float, float]:
    ordered = sorted(latencies)
    p99 = ordered[int(len(ordered) * 0.99) - 1]
    return len(latencies) / seconds, statistics.median(ordered) * 1000, p99 * 1000


async def measure(args: argparse.Namespace, grpc_port: int, http_port: int) -> None:
    rows = []
    rates = {}
    for kind, port in (("grpc", grpc_port), ("rest", http_port)):
        latencies = await python_load(kind, port, args.concurrency, args.seconds)
        rate, p50, p99 = summary(latencies, args.seconds)
        rates[kind] = rate
        rows.append((f"{kind} c={args.concurrency} (python client)", rate, p50, p99))
    low = {}
    for kind, port in (("grpc", grpc_port), ("rest", http_port)):
        latencies = await python_load(kind, port, 1, args.seconds / 2)
        rate, p50, p99 = summary(latencies, args.seconds / 2)
        low[kind] = p50
        rows.append((f"{kind} c=1 (python client)", rate, p50, p99))
    print(f"{'run':38} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}")
    for name, rate, p50, p99 in rows:
        print(f"{name:38} {rate:9.0f} {p50:8.3f} {p99:8.3f}")
    c_rates = {
        k: h2load(k, p, args.concurrency, args.seconds)
        for k, p in (("grpc", grpc_port), ("rest", http_port))
    }
    if all(c_rates.values()):
        for kind, rate in c_rates.items():
            print(f"{kind + ' c=' + str(args.concurrency) + ' (h2load)':38} {rate:9.0f}")
    print()
    ratio = rates["rest"] / rates["grpc"]
    print(
        f"throughput ratio REST/gRPC, python clients, c={args.concurrency}: {ratio:.2f}"
        f"  (goal >= 0.80)"
    )
    if all(c_rates.values()):
        c_ratio = c_rates["rest"] / c_rates["grpc"]  # type: ignore[operator]
        print(
            f"throughput ratio REST/gRPC, h2load, c={args.concurrency}: {c_ratio:.2f}"
            f"  (goal >= 0.80)"
        )
    print(f"added p50 latency at c=1: {low['rest'] - low['grpc']:.3f} ms  (goal < 1 ms)")
    print(f"cores: {os.cpu_count()} (backend, gateway and load generator share them)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--backend-port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.backend_port:
        asyncio.run(serve_backend(args.backend_port))
        return
    grpc_port, http_port = free_port(), free_port()
    path = os.pathsep.join(
        filter(None, [str(ROOT), str(ROOT / "gen"), os.environ.get("PYTHONPATH")])
    )
    env = {**os.environ, "PYTHONPATH": path, "LOG_LEVEL": "WARNING"}
    backend = subprocess.Popen(
        [sys.executable, __file__, "--backend-port", str(grpc_port)], env=env
    )
    gateway = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gateway",
            "--backend",
            f"127.0.0.1:{grpc_port}",
            "--port",
            str(http_port),
        ],
        env=env,
        cwd=ROOT,
    )
    try:
        wait_port(grpc_port)
        wait_port(http_port)
        uvloop.run(measure(args, grpc_port, http_port))
    finally:
        for process in (gateway, backend):
            process.terminate()
            process.wait(timeout=20)


if __name__ == "__main__":
    main()
