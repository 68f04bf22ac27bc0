"""Behaviour grpc-gateway v2 has and the gateway matches, on both upstream clients.

Templates (a verb with colons after a variable, repeated path variables) and client streaming
over REST, each against a gateway whose calls go over h2c and one whose calls go over grpcio.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.support.gateway_harness import gateway_test_config, running_gateway


@pytest.fixture(scope="module", params=["h2c", "grpcio"])
async def client(request, live) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on a gateway in front of the package's backend, per upstream client."""
    config = gateway_test_config(live.backend.address, upstream_client=request.param)
    async with (
        running_gateway(config) as server,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}", timeout=10) as http,
    ):
        yield http


async def test_the_verb_after_a_variable_starts_at_its_first_colon(client) -> None:
    response = await client.get("/v1/bind/0b1d:custom:custom")
    assert response.status_code == 200, response.text
    assert response.json() == {"uuid": "0b1d", "ids": [], "genres": []}
    # A colon inside the value stays in the value; only the verb's suffix is cut.
    response = await client.get("/v1/bind/a:b:custom:custom")
    assert response.json()["uuid"] == "a:b"
    assert (await client.get("/v1/bind/0b1d:custom")).status_code == 404


async def test_a_repeated_path_variable_binds_comma_separated(client) -> None:
    response = await client.get("/v1/bind/ids/a,b%2Cc,d/genres/GENRE_POETRY,1")
    assert response.status_code == 200, response.text
    # The value is split after percent-decoding, as grpc-gateway's runtime.StringSlice does.
    assert response.json() == {
        "uuid": "",
        "ids": ["a", "b", "c", "d"],
        "genres": ["GENRE_POETRY", "GENRE_FICTION"],
    }
    bad = await client.get("/v1/bind/ids/a/genres/GENRE_NONE")
    assert bad.status_code == 400


async def test_client_streaming_over_rest_sends_every_message(client) -> None:
    body = b'{"number": 1, "label": "a"}\n{"number": "41"}\n\n{"number": 100, "label": "c"}\n'
    response = await client.post(
        "/v1/collect", content=body, headers={"content-type": "application/x-ndjson"}
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"total": "142", "count": 3, "labels": ["a", "c"]}


async def test_client_streaming_with_no_message_calls_with_an_empty_stream(client) -> None:
    response = await client.post("/v1/collect", content=b"")
    assert response.status_code == 200, response.text
    assert response.json() == {"total": "0", "count": 0, "labels": []}
