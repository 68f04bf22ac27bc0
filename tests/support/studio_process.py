"""`filmstudio run` as a user starts it: a child process on embedded defaults and free ports."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import grpc
import httpx
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.support.studio import free_port

FILMSTUDIO = str(Path(sys.executable).parent / "filmstudio")


@dataclass
class StudioProcess:
    """A running `filmstudio run`: where its gRPC server and gateway listen, and its log."""

    process: subprocess.Popen[bytes]
    grpc_target: str
    gateway_url: str
    log: Path
    env: dict[str, str]

    def output(self) -> str:
        """Return what the studio has logged so far."""
        return self.log.read_text(errors="replace")


def _wait_ready(studio: StudioProcess, within: float) -> None:
    deadline = time.monotonic() + within
    with grpc.insecure_channel(studio.grpc_target) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            if studio.process.poll() is not None:
                raise AssertionError(f"the studio exited early:\n{studio.output()[-4000:]}")
            try:
                answer = health.Check(health_pb2.HealthCheckRequest(), timeout=2)
                if answer.status == health_pb2.HealthCheckResponse.SERVING:
                    break
            except grpc.RpcError:
                pass
            time.sleep(0.2)
        else:
            raise AssertionError(f"the studio did not serve within {within} s")
    while time.monotonic() < deadline:  # the gateway starts just after the gRPC server
        try:
            if httpx.get(f"{studio.gateway_url}/healthz", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"the gateway did not answer within {within} s")


@contextmanager
def studio_process(
    tmp_path: Path, gateway_port: int | None = None, **env: str
) -> Iterator[StudioProcess]:
    """Start `filmstudio run` under `tmp_path` (SQLite, local artifacts, in-process workers)."""
    grpc_port = free_port()
    while gateway_port is None or gateway_port == grpc_port:  # two probes can find one port
        gateway_port = free_port()
    environment = {
        **os.environ,
        "FILMSTUDIO_VAR_DIR": str(tmp_path / "var"),
        "GRPC_PORT": str(grpc_port),
        "GATEWAY_PORT": str(gateway_port),
        # The cheapest bcrypt cost keeps sign-ups fast; the real default is tested elsewhere.
        "BCRYPT_ROUNDS": "4",
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        **env,
    }
    for name in ("DATABASE_URL", "REDIS_URL", "S3_BUCKET_NAME", "S3_ENDPOINT_URL"):
        environment.pop(name, None)  # `run` on embedded defaults, whatever the shell has
    log = tmp_path / "studio.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [FILMSTUDIO, "run"], env=environment, stdout=sink, stderr=subprocess.STDOUT
        )
    studio = StudioProcess(
        process, f"127.0.0.1:{grpc_port}", f"http://127.0.0.1:{gateway_port}", log, environment
    )
    try:
        _wait_ready(studio, within=60)
        yield studio
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
