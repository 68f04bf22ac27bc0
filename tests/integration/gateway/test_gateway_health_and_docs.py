"""/healthz and /readyz follow the backend's health service; /openapi.json and /docs serve."""

from __future__ import annotations

import httpx
from grpc_health.v1 import health_pb2

from tests.support.gateway_backend import SHELF_SERVICE, running_backend
from tests.support.gateway_harness import gateway_test_config, running_gateway

NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
SERVING = health_pb2.HealthCheckResponse.SERVING


async def test_health_and_readiness_follow_the_backend(live) -> None:
    healthz = await live.client.get("/healthz")
    assert (healthz.status_code, healthz.json()) == (200, {"status": "SERVING"})
    readyz = await live.client.get("/readyz")
    assert readyz.status_code == 200
    assert readyz.json()["services"][SHELF_SERVICE] == "SERVING"
    await live.backend.health.set(SHELF_SERVICE, NOT_SERVING)
    try:
        not_ready = await live.client.get("/readyz")
        assert not_ready.status_code == 503
        assert not_ready.json()["services"][SHELF_SERVICE] == "NOT_SERVING"
        assert (await live.client.get("/healthz")).status_code == 200
    finally:
        await live.backend.health.set(SHELF_SERVICE, SERVING)


async def test_an_unreachable_backend_is_unhealthy_and_calls_are_503() -> None:
    async with running_backend() as backend:
        address = backend.address
    async with (
        running_gateway(gateway_test_config(address)) as server,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as client,
    ):
        healthz = await client.get("/healthz")
        assert healthz.status_code == 503
        assert healthz.json()["status"].startswith("UNREACHABLE")
        call = await client.get("/v1/shelves/s1")
        assert (call.status_code, call.json()["code"]) == (503, 14)


async def test_openapi_document_is_served_as_json(live) -> None:
    response = await live.client.get("/openapi.json")
    assert response.headers["content-type"] == "application/json"
    spec = response.json()
    assert spec["openapi"] == "3.1.0"
    assert "/v1/shelves/{shelvesId}/books/{booksId}" in spec["paths"]


async def test_docs_page_renders_operations_and_schemas(live) -> None:
    response = await live.client.get("/docs")
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert "/v1/shelves/{shelvesId}:watch" in page
    assert "Stream the events of a shelf" in page
    assert 'id="gatewaytest.v1.Book"' in page
    assert "<script" not in page
