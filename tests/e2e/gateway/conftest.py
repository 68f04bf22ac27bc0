"""Processes for the gateway's end-to-end tests: `filmstudio run` and `python -m gateway`."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support.studio import TEST_JWT_SECRET, free_port

BIN = Path(sys.executable).parent


@dataclass
class Processes:
    """The studio and gateway processes and where the gateway listens."""

    studio: subprocess.Popen[str]
    gateway: subprocess.Popen[str]
    base_url: str


def _wait_ready(base_url: str, processes: list[subprocess.Popen[str]]) -> None:
    deadline = time.monotonic() + 45
    while time.monotonic() < deadline:
        for process in processes:
            if process.poll() is not None:
                output = process.stdout.read() if process.stdout else ""
                raise AssertionError(f"{process.args} exited early:\n{output}")
        try:
            if httpx.get(f"{base_url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("the gateway did not become ready within 45 s")


def _stop(process: subprocess.Popen[str]) -> str:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.stdout.read() if process.stdout and not process.stdout.closed else ""


@pytest.fixture(scope="module")
def processes(tmp_path_factory) -> Iterator[Processes]:
    """Run the whole studio on embedded defaults and a standalone gateway in front of it."""
    grpc_port, gateway_port = free_port(), free_port()
    env = {
        **os.environ,
        "FILMSTUDIO_VAR_DIR": str(tmp_path_factory.mktemp("var")),
        "JWT_SECRET": TEST_JWT_SECRET,
        "GRPC_PORT": str(grpc_port),
        # `filmstudio run` may host a gateway of its own: keep it off the standalone one's port.
        "GATEWAY_PORT": str(free_port()),
        "BCRYPT_ROUNDS": "4",
        # New users get the month's allowance from the background work within a second.
        "CREDITS_AUTO_MONTHLY": "true",
        "CREDITS_EXPIRY_INTERVAL": "0.5",
        "LOG_FORMAT": "json",
    }
    env.pop("DATABASE_URL", None)
    studio = subprocess.Popen(
        [str(BIN / "filmstudio"), "run"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    gateway = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gateway",
            "--backend",
            f"127.0.0.1:{grpc_port}",
            "--port",
            str(gateway_port),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base_url = f"http://127.0.0.1:{gateway_port}"
    try:
        _wait_ready(base_url, [studio, gateway])
        yield Processes(studio, gateway, base_url)
    finally:
        _stop(gateway)
        _stop(studio)
