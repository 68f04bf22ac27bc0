"""A gateway in front of two backends: each service's calls, streams and health go to its own."""

from __future__ import annotations

import httpx
from grpc_health.v1 import health_pb2

from tests.support.gateway_backend import PROBE_SERVICE, SHELF_SERVICE, running_backend
from tests.support.gateway_harness import gateway_test_config, running_gateway

NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


async def test_a_routed_service_is_called_on_its_backend_and_the_rest_on_the_default() -> None:
    async with (
        running_backend() as shelves,
        running_backend() as probes,
        running_gateway(
            gateway_test_config(shelves.address, routes={PROBE_SERVICE: probes.address})
        ) as server,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}", timeout=10) as client,
    ):
        echo = await client.post("/v1/echo", json={"text": "hello"})
        assert echo.status_code == 200, echo.text
        book = await client.get("/v1/shelves/1/books/2")
        assert book.status_code == 200, book.text
        assert "Echo" in probes.calls.requests
        assert "Echo" not in shelves.calls.requests
        assert "GetBook" in shelves.calls.requests
        assert "GetBook" not in probes.calls.requests

        ready = await client.get("/readyz")
        assert ready.status_code == 200, ready.text
        # The routed service's health is asked of its own backend, not the default's.
        await probes.health.set(PROBE_SERVICE, NOT_SERVING)
        not_ready = await client.get("/readyz")
        assert not_ready.status_code == 503
        assert not_ready.json()["services"] == {
            SHELF_SERVICE: "SERVING",
            PROBE_SERVICE: "NOT_SERVING",
        }
        # A whole backend going unhealthy makes the gateway unhealthy, whichever it is.
        await probes.health.set("", NOT_SERVING)
        assert (await client.get("/healthz")).status_code == 503


async def test_streams_follow_their_routes_when_the_default_backend_is_down() -> None:
    async with running_backend() as gone:
        closed = gone.address
    async with (
        running_backend() as shelves,
        running_backend() as probes,
        running_gateway(
            gateway_test_config(
                closed, routes={SHELF_SERVICE: shelves.address, PROBE_SERVICE: probes.address}
            )
        ) as server,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}", timeout=10) as client,
    ):
        stream = await client.get("/v1/download/reel:stream", params={"parts": 2})
        assert stream.status_code == 200, stream.text
        assert stream.text == "reel part 0\nreel part 1\n"
        collect = await client.post("/v1/collect", content=b'{"number": 2} {"number": 3}')
        assert collect.status_code == 200, collect.text
        book = await client.get("/v1/shelves/1/books/2")
        assert book.status_code == 200, book.text
        assert (await client.get("/healthz")).status_code == 503
