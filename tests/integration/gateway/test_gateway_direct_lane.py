"""The direct lane (gateway/lane.py): unary GETs past the middleware, with the same answers."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import httpx
import pytest

from gateway.app import Gateway
from tests.support.gateway_harness import ORIGIN, running_gateway

REQUEST_ID = "lane-parity-1"
LONG_TEXT = "a title long enough to be worth compressing " * 20

# (path, headers): each answered by the lane and by the full stack alone, then compared.
REQUESTS = [
    ("/v1/shelves/s1", {}),
    ("/v1/shelves/s1", {"accept-encoding": "gzip"}),  # too small to compress
    (f"/v1/echo?text={LONG_TEXT}", {"accept-encoding": "gzip"}),  # compressed
    (f"/v1/echo?text={LONG_TEXT}", {"accept-encoding": "identity"}),
    ("/v1/echo?number=7&numbers=1&numbers=2&genre=GENRE_FICTION", {}),
    ("/v1/shelves/s1", {"origin": ORIGIN}),  # CORS answers an allowed origin
    ("/v1/shelves/s1", {"origin": "https://elsewhere.example"}),
    ("/v1/shelves/missing", {}),  # the backend's NOT_FOUND
    ("/v1/shelves/missing", {"origin": ORIGIN, "accept-encoding": "gzip"}),
    ("/v1/echo?number=seven", {}),  # a 400 the gateway answers before any call
    ("/v1/echo?access_token=abc", {}),  # a 401 (with its challenge) before any call
    ("/v1/nowhere", {}),  # no route: the full stack's 404
    ("/v1/download/report?contentType=text/csv", {}),  # a raw google.api.HttpBody
    ("/v1/download/report:stream?parts=3", {}),  # a stream: the full stack serves it
    ("/healthz", {}),  # the gateway's own path
]


@dataclasses.dataclass
class Pair:
    """Two gateways on one backend: with the lane (the default) and without it."""

    lane: httpx.AsyncClient
    full: httpx.AsyncClient
    cors: bool


@pytest.fixture(scope="module", params=["cors", "no-cors"])
async def pair(request: pytest.FixtureRequest, live) -> AsyncIterator[Pair]:
    """Two gateways on the package's backend, lane on and off; with CORS, then without.

    Without CORS, most answers go out as they are; with it, every one is replayed through
    the middleware (it adds Vary: Origin to each).
    """
    config = live.server.gateway.config
    assert config.direct_lane  # on by default
    if request.param == "no-cors":
        config = dataclasses.replace(config, cors_origins=())
    async with (
        running_gateway(config) as with_lane,
        running_gateway(dataclasses.replace(config, direct_lane=False)) as without,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{with_lane.port}", timeout=10) as lane,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{without.port}", timeout=10) as full,
    ):
        yield Pair(lane, full, bool(config.cors_origins))


def _answer(response: httpx.Response) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """Return what a client sees: status, headers in order (less the date), raw body."""
    headers = [(k.lower(), v) for k, v in response.headers.raw if k.lower() != b"date"]
    return response.status_code, headers, response.content


async def _get(client: httpx.AsyncClient, path: str, headers: dict[str, str]) -> httpx.Response:
    sent = {"accept-encoding": "identity", "x-request-id": REQUEST_ID, **headers}
    request = client.build_request("GET", path, headers=sent)
    response = await client.send(request, stream=True)
    # The bytes as they came: compressed answers stay compressed, to compare byte for byte.
    content = b"".join([chunk async for chunk in response.aiter_raw()])
    await response.aclose()
    return httpx.Response(response.status_code, headers=response.headers.raw, content=content)


@pytest.mark.parametrize(("path", "headers"), REQUESTS, ids=[p[:40] for p, _ in REQUESTS])
async def test_the_lane_answers_exactly_as_the_full_stack(pair, path, headers) -> None:
    lane = await _get(pair.lane, path, headers)
    full = await _get(pair.full, path, headers)
    assert _answer(lane) == _answer(full)
    assert lane.headers["x-request-id"] == REQUEST_ID


async def test_the_answers_cover_what_the_middleware_and_handlers_add(pair) -> None:
    # The parity above means something only if these differ from a plain answer.
    compressed = await _get(pair.lane, f"/v1/echo?text={LONG_TEXT}", {"accept-encoding": "gzip"})
    assert compressed.headers["content-encoding"] == "gzip"
    assert "Accept-Encoding" in compressed.headers["vary"]
    cors = await _get(pair.lane, "/v1/shelves/s1", {"origin": ORIGIN})
    assert cors.headers.get("access-control-allow-origin") == (ORIGIN if pair.cors else None)
    refused = await _get(pair.lane, "/v1/echo?access_token=abc", {})
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"].startswith("Bearer")


async def test_the_lane_takes_unary_gets_and_leaves_the_rest_to_the_full_stack(
    pair, monkeypatch
) -> None:
    entered: list[str] = []
    full_stack = Gateway.__call__

    async def counted(self, scope, receive, send) -> None:  # type: ignore[no-untyped-def]
        entered.append(f"{scope.get('method')} {scope.get('path')}")
        await full_stack(self, scope, receive, send)

    monkeypatch.setattr(Gateway, "__call__", counted)
    for path in ("/v1/shelves/s1", "/v1/shelves/missing", "/v1/echo?number=seven"):
        await _get(pair.lane, path, {"accept-encoding": "gzip", "origin": ORIGIN})
    assert entered == []
    await _get(pair.lane, "/v1/download/report:stream?parts=2", {})
    await _get(pair.lane, "/v1/shelves/s1", {"te": "trailers"})
    await _get(pair.lane, "/healthz", {})
    await pair.lane.post("/v1/shelves/s1/books", json={"title": "Lanes"})
    assert entered == [
        "GET /v1/download/report:stream",
        "GET /v1/shelves/s1",
        "GET /healthz",
        "POST /v1/shelves/s1/books",
    ]


async def test_lane_requests_are_counted_in_the_metrics(pair) -> None:
    def count(text: str) -> float:
        for line in text.splitlines():
            if line.startswith("gateway_http_requests_total{") and all(
                part in line for part in ('route="/v1/{name=shelves/*}"', 'status="404"')
            ):
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    before = count((await pair.lane.get("/metrics")).text)
    await _get(pair.lane, "/v1/shelves/missing", {})
    after = count((await pair.lane.get("/metrics")).text)
    assert after == before + 1


async def test_a_gateway_bug_on_the_lane_is_a_json_internal_with_the_request_id(
    pair, monkeypatch, caplog
) -> None:
    def broken(*args: object) -> bytes:
        raise RuntimeError("a bug while writing JSON")

    monkeypatch.setattr("gateway.bodies.JsonBodies.body", broken)
    lane = await _get(pair.lane, "/v1/shelves/s1", {})
    full = await _get(pair.full, "/v1/shelves/s1", {})
    assert _answer(lane) == _answer(full)
    assert lane.status_code == 500
    assert lane.json()["code"] == 13
    assert f"(request id {REQUEST_ID})" in caplog.text
