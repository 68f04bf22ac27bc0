"""The gateway serves any service from a descriptor set file, with no generated code."""

from __future__ import annotations

from pathlib import Path

import httpx
from grpc_tools import protoc

from gateway.config import GatewayConfig
from tests.support.gateway_backend import ROOT, TEST_PROTOS
from tests.support.gateway_harness import running_gateway


def _descriptor_set(tmp_path: Path) -> Path:
    out = tmp_path / "gatewaytest.binpb"
    args = [
        "protoc",
        f"-I{TEST_PROTOS}",
        f"-I{ROOT / 'protos'}",
        f"-I{Path(protoc.__file__).parent / '_proto'}",
        "--include_imports",
        "--include_source_info",
        f"--descriptor_set_out={out}",
        "gatewaytest/v1/gatewaytest.proto",
    ]
    assert protoc.main(args) == 0
    return out


async def test_a_descriptor_set_alone_is_enough_to_serve_and_document(live, tmp_path) -> None:
    config = GatewayConfig(backend=live.backend.address, descriptor_set=_descriptor_set(tmp_path))
    async with (
        running_gateway(config) as server,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as client,
    ):
        shelf = await client.get("/v1/shelves/s1")
        assert shelf.json()["bookCount"] == "1099511627776"
        echo = await client.post("/v1/echo", json={"when": "2024-01-01T00:00:00Z", "genre": 2})
        assert echo.json()["request"]["genre"] == "GENRE_NONFICTION"
        failed = await client.post("/v1/fail", json={"code": 5, "message": "x", "field": "f"})
        assert failed.status_code == 404
        assert failed.json()["details"][0]["reason"] == "TEST_FAILURE"
        spec = (await client.get("/openapi.json")).json()
    book = spec["components"]["schemas"]["gatewaytest.v1.Book"]
    assert book["properties"]["title"]["description"] == "The title."
    # Both services of the set have HTTP rules, so both are served.
    assert {tag["name"] for tag in spec["tags"]} == {"ShelfService", "ProbeService"}
