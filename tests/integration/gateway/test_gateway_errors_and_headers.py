"""Errors as google.rpc.Status with grpc-gateway's HTTP codes; headers both ways; deadlines."""

from __future__ import annotations

import base64

import grpc
import pytest

from gateway.errors import HTTP_STATUS
from tests.support.gateway_harness import ORIGIN

ERROR_CODES = [code for code in grpc.StatusCode if code is not grpc.StatusCode.OK]


@pytest.mark.parametrize("code", ERROR_CODES, ids=lambda code: code.name)
async def test_each_grpc_code_gets_its_http_status_and_a_status_body(live, code) -> None:
    number = code.value[0]
    response = await live.client.post(
        "/v1/fail", json={"code": number, "message": f"failed {code.name}", "field": "book.title"}
    )
    assert response.status_code == HTTP_STATUS[code]
    body = response.json()
    assert (body["code"], body["message"]) == (number, f"failed {code.name}")
    types = [detail["@type"] for detail in body["details"]]
    assert types[:2] == [
        "type.googleapis.com/google.rpc.ErrorInfo",
        "type.googleapis.com/google.rpc.BadRequest",
    ]
    assert body["details"][0]["reason"] == "TEST_FAILURE"
    assert body["details"][1]["fieldViolations"] == [
        {"field": "book.title", "description": "is wrong"}
    ]


async def test_retry_info_becomes_retry_after(live) -> None:
    response = await live.client.post("/v1/fail", json={"code": 8, "message": "slow down"})
    assert response.status_code == 429
    assert response.headers["retry-after"] == "3"


async def test_unknown_routes_are_404_and_wrong_methods_501_as_status_json(live) -> None:
    missing = await live.client.get("/v1/nowhere")
    assert (missing.status_code, missing.json()["code"]) == (404, 5)
    wrong = await live.client.delete("/v1/shelves/s1")
    # grpc-gateway answers a known path with another method UNIMPLEMENTED, so 501.
    assert (wrong.status_code, wrong.json()["code"]) == (501, 12)
    assert wrong.headers["allow"] == "GET"
    trailing = await live.client.get("/v1/shelves/s1/")
    assert trailing.status_code == 404


async def test_authorization_and_grpc_metadata_headers_are_forwarded(live) -> None:
    response = await live.client.get(
        "/v1/inspect",
        headers={
            "Authorization": "Bearer abc.def",
            "Grpc-Metadata-Tenant": "acme",
            "Grpc-Metadata-Trace-Bin": base64.b64encode(b"\x00\x01").decode(),
            "X-Forwarded-For": "203.0.113.9",
            "Cookie": "session=not-forwarded",
        },
    )
    seen = response.json()["metadata"]
    assert seen["authorization"] == "Bearer abc.def"
    assert seen["tenant"] == "acme"
    assert seen["trace-bin"] == "0001"
    assert seen["x-forwarded-for"] == "203.0.113.9, 127.0.0.1"
    assert "cookie" not in seen


async def test_access_token_query_parameter_is_refused_where_headers_can_be_sent(live) -> None:
    # Only EventSource and WebSocket cannot send headers; a unary route must not take a token
    # in its URL, where logs and history keep it.
    response = await live.client.get("/v1/inspect", params={"access_token": "tok"})
    assert response.status_code == 401
    assert "Authorization: Bearer" in response.json()["message"]


async def test_reserved_or_malformed_metadata_headers_are_400(strict) -> None:
    # Strict input; by default a reserved key is skipped (test_gateway_lenient_input.py).
    live = strict
    reserved = await live.client.get("/v1/inspect", headers={"Grpc-Metadata-Grpc-Timeout": "1S"})
    assert reserved.status_code == 400
    bad_bin = await live.client.get("/v1/inspect", headers={"Grpc-Metadata-X-Bin": "%%%"})
    assert bad_bin.status_code == 400
    bad_auth = await live.client.get("/v1/inspect", headers={"Authorization": "Bearer \x01"})
    assert bad_auth.status_code == 400


async def test_response_metadata_comes_back_as_headers(live) -> None:
    response = await live.client.get(
        "/v1/inspect", params={"replyHeaders[x-cache]": "hit", "replyTrailers[x-cost]": "3"}
    )
    assert response.headers["grpc-metadata-x-cache"] == "hit"
    assert response.headers["grpc-trailer-x-cost"] == "3"


async def test_every_response_has_a_request_id_and_the_clients_is_kept(live) -> None:
    mine = await live.client.get("/v1/inspect", headers={"X-Request-Id": "req-123"})
    assert mine.headers["x-request-id"] == "req-123"
    assert mine.json()["metadata"]["x-request-id"] == "req-123"
    for path in ("/v1/inspect", "/v1/nowhere", "/healthz", "/openapi.json"):
        generated = await live.client.get(path)
        assert len(generated.headers["x-request-id"]) == 32
    hostile = await live.client.get("/v1/inspect", headers={"X-Request-Id": "a" * 500})
    assert len(hostile.headers["x-request-id"]) == 32


async def test_grpc_timeout_sets_the_deadline_and_expiry_is_504(live) -> None:
    short = await live.client.post(
        "/v1/sleep", json={"duration": "1s"}, headers={"Grpc-Timeout": "100m"}
    )
    assert (short.status_code, short.json()["code"]) == (504, 4)
    remaining = await live.client.get("/v1/inspect", headers={"Grpc-Timeout": "2S"})
    assert 1.0 < float(remaining.json()["timeRemaining"].rstrip("s")) <= 2.1


async def test_unary_calls_get_the_default_deadline(live) -> None:
    response = await live.client.get("/v1/inspect")
    assert 4.0 < float(response.json()["timeRemaining"].rstrip("s")) <= 5.1


async def test_a_malformed_grpc_timeout_is_400(live) -> None:
    response = await live.client.get("/v1/inspect", headers={"Grpc-Timeout": "soon"})
    assert response.status_code == 400
    assert response.json()["details"][0]["fieldViolations"][0]["field"] == "Grpc-Timeout"


async def test_cors_preflight_and_simple_requests_for_allowed_origins_only(live) -> None:
    preflight = await live.client.options(
        "/v1/shelves/s1/books",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type, grpc-timeout",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == ORIGIN
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
    simple = await live.client.get("/v1/shelves/s1", headers={"Origin": ORIGIN})
    assert simple.headers["access-control-allow-origin"] == ORIGIN
    assert "x-request-id" in simple.headers["access-control-expose-headers"]
    other = await live.client.get("/v1/shelves/s1", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers
