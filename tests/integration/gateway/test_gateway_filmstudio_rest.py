"""FilmStudio's own services over REST, through the real interceptors (faulty servicers)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import httpx
import pytest

from gateway.filmstudio import filmstudio_config, serve_gateway
from gateway.server import GatewayServer
from tests.support.faulty import SECRET_DETAIL, faulty_specs
from tests.support.studio import free_port, running_studio, signed_in, studio_settings


@pytest.fixture(scope="module")
async def studio(tmp_path_factory) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str]]]:
    settings = studio_settings(tmp_path_factory.mktemp("var"))
    async with running_studio(settings, faulty_specs()) as (server, _):
        token = await signed_in(server, "rest@example.com")
        config = filmstudio_config(settings, f"127.0.0.1:{server.port}")
        gateway = GatewayServer(config, port=0, grace_seconds=1)
        port = await gateway.start()
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
                yield client, {"Authorization": f"Bearer {token}"}
        finally:
            await gateway.stop()


async def test_get_project_over_rest_carries_the_callers_identity_and_request_id(studio) -> None:
    client, auth = studio
    response = await client.get("/v1/projects/p1", headers={**auth, "X-Request-Id": "rest-1"})
    assert response.status_code == 200
    project = response.json()
    assert (project["name"], project["title"]) == ("projects/p1", "rest-1")
    assert project["owner"].startswith("users/")
    assert response.headers["x-request-id"] == "rest-1"
    # The server echoes the id it logged under, as metadata the gateway passes back.
    echoed = {k: v for k, v in response.headers.items() if k.endswith("-x-request-id")}
    assert list(echoed.values()) == ["rest-1"]


async def test_missing_credentials_are_401_with_the_servers_reason(studio) -> None:
    client, _ = studio
    response = await client.get("/v1/projects/p1")
    assert response.status_code == 401
    info = response.json()["details"][0]
    assert info["@type"] == "type.googleapis.com/google.rpc.ErrorInfo"
    assert info["reason"] == "CREDENTIALS_MISSING"


@pytest.mark.parametrize(
    ("name", "status", "code", "detail"),
    [
        ("not-found", 404, 5, "google.rpc.ErrorInfo"),
        ("invalid", 400, 3, "google.rpc.BadRequest"),
        ("broke", 400, 9, "google.rpc.PreconditionFailure"),
        ("stale", 409, 10, "google.rpc.ErrorInfo"),
        ("busy", 429, 8, "google.rpc.QuotaFailure"),
    ],
)
async def test_domain_errors_reach_rest_clients_with_details(studio, name, status, code, detail):
    client, auth = studio
    response = await client.get(f"/v1/projects/{name}", headers=auth)
    assert response.status_code == status
    body = response.json()
    assert body["code"] == code
    assert f"type.googleapis.com/{detail}" in [d["@type"] for d in body["details"]]


async def test_retry_info_and_hidden_internal_errors(studio) -> None:
    client, auth = studio
    busy = await client.get("/v1/projects/busy", headers=auth)
    assert busy.headers["retry-after"] == "2"
    crash = await client.get("/v1/projects/crash", headers=auth)
    assert crash.status_code == 500
    assert SECRET_DETAIL not in crash.text


async def test_watch_job_streams_ndjson_then_the_failure(studio) -> None:
    client, auth = studio
    response = await client.get("/v1/jobs/j1:watch", headers=auth)
    lines = [json.loads(line) for line in response.text.splitlines() if line]
    assert [line["result"]["event"]["id"] for line in lines[:2]] == ["0", "1"]
    assert lines[2]["error"]["code"] == 5


async def test_watch_job_as_sse_uses_event_ids_for_resume(studio) -> None:
    client, auth = studio
    response = await client.get(
        "/v1/jobs/j1:watch", headers={**auth, "Accept": "text/event-stream"}
    )
    assert "id: 0\ndata: " in response.text
    assert "id: 1\ndata: " in response.text
    assert "event: error" in response.text


async def test_serve_gateway_runs_beside_the_grpc_server_until_stopped(tmp_path) -> None:
    settings = studio_settings(tmp_path, GATEWAY_PORT=free_port())
    async with running_studio(settings, faulty_specs()) as (server, _):
        stop = asyncio.Event()
        task = asyncio.create_task(serve_gateway(settings, f"127.0.0.1:{server.port}", stop))
        base = f"http://127.0.0.1:{settings.gateway_port}"
        async with httpx.AsyncClient(base_url=base) as client:
            for _ in range(200):
                try:
                    ready = await client.get("/readyz")
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.05)
            assert ready.status_code == 200
            assert (await client.get("/v1/projects/p1")).status_code == 401
        stop.set()
        await asyncio.wait_for(task, timeout=10)
