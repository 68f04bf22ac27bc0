"""A live test backend and gateway shared by the gateway's integration tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from gateway.server import GatewayServer
from tests.support.gateway_backend import Backend, running_backend
from tests.support.gateway_harness import gateway_test_config, running_gateway


@dataclass
class Live:
    """The backend, the gateway and an HTTP client pointed at it."""

    backend: Backend
    server: GatewayServer
    client: httpx.AsyncClient

    @property
    def base_url(self) -> str:
        """Return http://127.0.0.1:PORT."""
        return f"http://127.0.0.1:{self.server.port}"


@pytest.fixture(scope="package")
async def live() -> AsyncIterator[Live]:
    """One backend and gateway for the package (they are stateless between tests)."""
    async with (
        running_backend() as backend,
        running_gateway(gateway_test_config(backend.address)) as server,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}", timeout=10) as client,
    ):
        yield Live(backend, server, client)


@pytest.fixture(scope="package")
async def strict(live: Live) -> AsyncIterator[Live]:
    """A second gateway on the same backend with strict_input (GATEWAY_STRICT_INPUT) on."""
    config = gateway_test_config(live.backend.address, strict_input=True)
    async with (
        running_gateway(config) as server,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}", timeout=10) as client,
    ):
        yield Live(live.backend, server, client)


@pytest.fixture(scope="module", params=["h2c", "grpcio"])
async def both(request: pytest.FixtureRequest, live: Live) -> AsyncIterator[Live]:
    """A gateway on the package's backend per upstream client (h2c, then grpcio)."""
    config = gateway_test_config(live.backend.address, upstream_client=request.param)
    async with (
        running_gateway(config) as server,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}", timeout=10) as client,
    ):
        yield Live(live.backend, server, client)
