"""Schemathesis fuzzes /openapi.json of a live gateway: no 5xx, every response matches.

The fuzzer runs as its CLI (`st`), against a gateway and a gRPC backend started in this test's
event loop. The backend is the gatewaytest.v1 services in fuzzing mode: nothing a generated
request asks for makes the backend itself fail with a 5xx or sleep (POST /v1/fail exists to
return errors and is left out). Bounded by examples per operation and a fixed seed.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from tests.support.gateway_backend import running_backend
from tests.support.gateway_harness import gateway_test_config, running_gateway

ST = str(Path(sys.executable).parent / "st")
# Streams answer application/json as grpc-gateway does, one JSON object a line: not one JSON
# document, so only their status codes and the absence of 5xx are checked.
STREAMS = r":watch$|^/v1/chat$|^/v1/shout$|:stream$"
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
    ]
)


async def _schemathesis(
    base_url: str, workdir: Path, *extra: str, checks: str = CHECKS
) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        ST,
        "run",
        f"{base_url}/openapi.json",
        "--checks",
        checks,
        "--phases",
        "examples,fuzzing",
        "--mode",
        "all",
        "--max-examples",
        "20",
        "--seed",
        "20261125",
        "--workers",
        "1",
        "--request-timeout",
        "10",
        "--generation-database",
        "none",
        "--no-color",
        *extra,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=workdir,  # its caches and reports stay out of the repository
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=120)
    return process.returncode or 0, output.decode()


async def test_fuzzing_the_openapi_document_finds_no_server_error_or_schema_mismatch(
    tmp_path,
) -> None:
    async with (
        running_backend(fuzzing=True) as backend,
        running_gateway(gateway_test_config(backend.address)) as server,
    ):
        base = f"http://127.0.0.1:{server.port}"
        code, output = await _schemathesis(
            base,
            tmp_path,
            "--exclude-path",
            "/v1/fail",
            "--exclude-path-regex",
            STREAMS,
            "--report-dir",
            str(tmp_path),
        )
        streams_code, streams_output = await _schemathesis(
            base,
            tmp_path,
            "--include-path-regex",
            STREAMS,
            checks="not_a_server_error,status_code_conformance",
        )
    assert code == 0, output
    assert "generated" in output
    assert " passed" in output
    assert streams_code == 0, streams_output
