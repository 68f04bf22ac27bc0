"""`python -m gateway --backend` serves a foreign backend from its server reflection alone."""

from __future__ import annotations

import asyncio
import os
import sys

import httpx
import pytest

from gateway.reflection import ReflectionError, reflect
from tests.support.gateway_backend import PROBE_SERVICE, SHELF_SERVICE, running_backend
from tests.support.studio import free_port


async def test_reflection_gives_the_services_files_with_every_import() -> None:
    async with running_backend(reflection=True) as backend:
        files = await reflect(backend.address, timeout_s=5)
    names = [file.name for file in files.file]
    assert "gatewaytest/v1/gatewaytest.proto" in names
    # Imports come before the files that import them, so a pool can add them in order.
    for index, file in enumerate(files.file):
        assert set(file.dependency) <= set(names[:index])
    services = {f"{f.package}.{s.name}" for f in files.file for s in f.service}
    assert {SHELF_SERVICE, PROBE_SERVICE} <= services
    assert not any(name.startswith("grpc.reflection.") for name in services)


async def test_a_backend_without_reflection_is_a_clear_error() -> None:
    async with running_backend() as backend:
        with pytest.raises(ReflectionError, match="UNIMPLEMENTED"):
            await reflect(backend.address, timeout_s=5)


async def _wait_ready(base: str, process: asyncio.subprocess.Process) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=2) as client:
        for _ in range(200):
            if process.returncode is not None:
                output = await process.stdout.read() if process.stdout else b""
                raise AssertionError(f"the gateway exited:\n{output.decode()}")
            try:
                if (await client.get("/readyz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError("the gateway did not become ready")


async def test_the_gateway_command_serves_a_foreign_backend_by_reflection(tmp_path) -> None:
    async with running_backend(reflection=True) as backend:
        port = free_port()
        env = {**os.environ, "FILMSTUDIO_ENV": "test", "FILMSTUDIO_VAR_DIR": str(tmp_path)}
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "gateway",
            "--backend",
            backend.address,
            "--port",
            str(port),
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            await _wait_ready(base, process)
            async with httpx.AsyncClient(base_url=base, timeout=5) as client:
                shelf = await client.get("/v1/shelves/s1")
                assert shelf.status_code == 200, shelf.text
                assert shelf.json()["bookCount"] == "1099511627776"
                bound = await client.get("/v1/bind/x:custom:custom")
                assert bound.json()["uuid"] == "x"
                spec = (await client.get("/openapi.json")).json()
            assert {tag["name"] for tag in spec["tags"]} == {"ShelfService", "ProbeService"}
        finally:
            process.terminate()
            await asyncio.wait_for(process.wait(), timeout=20)
