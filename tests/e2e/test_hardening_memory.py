"""Hostile request sizes against real processes: memory stays bounded and callers get a clear code.

An attacker without an account sends a hundred huge logins at once, over gRPC to `filmstudio
serve` and over REST to `filmstudio gateway`; the processes' resident memory is sampled from
/proc while the calls run and after they end.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import grpc
import httpx
import pytest
from filmstudio.v1 import user_pb2

from tests.support.studio import TEST_JWT_SECRET, free_port

BIN = Path(sys.executable).parent
FILMSTUDIO = str(BIN / "filmstudio")
CALLS = 100
RSS_LIMIT_MB = 300
REFUSED = {grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.INVALID_ARGUMENT}


def rss_mb(pid: int) -> float:
    """Return a process's resident set size in MiB, from /proc/PID/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for {pid}")


class RssSampler:
    """Sample a process's RSS every 20 ms on a thread, keeping the peak."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.start = self.peak = rss_mb(pid)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, rss_mb(self.pid))

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        time.sleep(1.0)  # memory must also stay down once the burst is over
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_mb(self.pid))


def _start(command: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        command,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _stop(process: subprocess.Popen[str]) -> str:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.stdout.read() if process.stdout else ""


def _wait(ready: object, processes: list[subprocess.Popen[str]]) -> None:
    deadline = time.monotonic() + 45
    while time.monotonic() < deadline:
        for process in processes:
            if process.poll() is not None:
                raise AssertionError(f"{process.args} exited early:\n{_stop(process)}")
        with contextlib.suppress(Exception):  # not listening yet
            if callable(ready) and ready():
                return
        time.sleep(0.2)
    raise AssertionError("processes did not become ready within 45 s")


def _grpc_serving(port: int) -> bool:
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        answer = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(), timeout=2
        )
    return bool(answer.status == health_pb2.HealthCheckResponse.SERVING)


@pytest.fixture(scope="module")
def stack(
    tmp_path_factory,
) -> Iterator[tuple[subprocess.Popen[str], subprocess.Popen[str], int, str]]:
    """`filmstudio serve --services user` on embedded SQLite, a `filmstudio gateway` before it."""
    var = tmp_path_factory.mktemp("var")
    grpc_port, gateway_port = free_port(), free_port()
    env = {
        "FILMSTUDIO_ENV": "test",
        "FILMSTUDIO_VAR_DIR": str(var),
        "JWT_SECRET": TEST_JWT_SECRET,
        "GRPC_PORT": str(grpc_port),
        "GATEWAY_PORT": str(gateway_port),
        "BCRYPT_ROUNDS": "4",
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "WARNING",
        "DATABASE_URL": "",
    }
    server = _start([FILMSTUDIO, "serve", "--services", "user", "--migrate"], env)
    gateway = _start(
        [FILMSTUDIO, "gateway", "--backend", f"127.0.0.1:{grpc_port}", "--port", str(gateway_port)],
        env,
    )
    base_url = f"http://127.0.0.1:{gateway_port}"
    try:
        _wait(lambda: _grpc_serving(grpc_port), [server, gateway])
        _wait(lambda: httpx.get(f"{base_url}/readyz", timeout=2).status_code == 200, [gateway])
        yield server, gateway, grpc_port, base_url
    finally:
        _stop(gateway)
        _stop(server)


async def _huge_grpc_logins(port: int, password_bytes: int) -> list[grpc.StatusCode]:
    # 8 MB, under the old 8 MiB limit of every RPC; one serialized request shared by every
    # call, so the test process stays small.
    payload = user_pb2.LoginRequest(
        email="victim@example.com", password="x" * password_bytes
    ).SerializeToString()
    channels = [grpc.aio.insecure_channel(f"127.0.0.1:{port}") for _ in range(10)]

    async def one(channel: grpc.aio.Channel) -> grpc.StatusCode:
        login = channel.unary_unary(
            "/filmstudio.v1.UserService/Login",
            request_serializer=lambda _: payload,
            response_deserializer=user_pb2.LoginResponse.FromString,
        )
        try:
            await login(None, timeout=30)
        except grpc.aio.AioRpcError as error:
            return error.code()
        return grpc.StatusCode.OK

    try:
        return await asyncio.gather(*(one(channels[i % len(channels)]) for i in range(CALLS)))
    finally:
        for channel in channels:
            await channel.close()


def test_a_hundred_8mb_grpc_logins_are_refused_with_bounded_memory(stack) -> None:
    server, _, port, _ = stack
    with RssSampler(server.pid) as rss:
        codes = asyncio.run(_huge_grpc_logins(port, 8_000_000))
    assert set(codes) <= REFUSED, codes
    assert rss.peak < RSS_LIMIT_MB, f"server RSS {rss.start:.0f} -> peak {rss.peak:.0f} MiB"


async def _huge_rest_logins(base_url: str) -> list[int]:
    # 4 MB, under the old 4 MiB limit of every route. Half declare their length (refused
    # before reading), half stream chunks without one (refused once past the limit).
    body = b'{"email": "victim@example.com", "password": "' + b"x" * 4_000_000 + b'"}'

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 256 * 1024):
            yield body[start : start + 256 * 1024]

    limits = httpx.Limits(max_connections=CALLS)
    async with httpx.AsyncClient(base_url=base_url, timeout=30, limits=limits) as client:

        async def one(i: int) -> int:
            content = body if i % 2 else chunks()
            try:
                answer = await client.post(
                    "/v1/auth:login", content=content, headers={"content-type": "application/json"}
                )
            except httpx.HTTPError:  # a refused upload may reset before its answer
                return -1
            assert answer.json()["code"] in (3, 8)
            return answer.status_code

        return await asyncio.gather(*(one(i) for i in range(CALLS)))


def test_a_hundred_4mb_rest_logins_are_refused_with_bounded_memory(stack) -> None:
    _, gateway, _, base_url = stack
    with RssSampler(gateway.pid) as rss:
        statuses = asyncio.run(_huge_rest_logins(base_url))
    answered = [status for status in statuses if status > 0]
    assert set(answered) <= {413, 400}, statuses
    assert len(answered) >= CALLS * 0.9, statuses
    assert rss.peak < RSS_LIMIT_MB, f"gateway RSS {rss.start:.0f} -> peak {rss.peak:.0f} MiB"
