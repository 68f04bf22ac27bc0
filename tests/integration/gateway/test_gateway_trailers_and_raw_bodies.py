"""HTTP trailers on TE: trailers and raw google.api.HttpBody answers, on both upstream clients."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit


async def _exchange(base_url: str, request: bytes) -> bytes:
    """Send one raw HTTP/1.1 request (Connection: close) and return the whole answer."""
    address = urlsplit(base_url)
    reader, writer = await asyncio.open_connection(address.hostname, address.port)
    writer.write(request)
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    return answer


def _parse_chunked(answer: bytes) -> tuple[bytes, dict[bytes, bytes], bytes, dict[bytes, bytes]]:
    """Return the status line, headers, chunked body and trailers of a raw answer."""
    head, rest = answer.split(b"\r\n\r\n", 1)
    status, *lines = head.split(b"\r\n")
    headers: dict[bytes, bytes] = {}
    for line in lines:
        name, value = line.split(b":", 1)
        headers.setdefault(name.strip().lower(), value.strip())
    assert headers[b"transfer-encoding"] == b"chunked"
    body = b""
    while True:
        size_line, rest = rest.split(b"\r\n", 1)
        size = int(size_line, 16)
        if size == 0:
            break
        body, rest = body + rest[:size], rest[size + 2 :]
    trailers = {}
    for line in rest.split(b"\r\n"):
        if line:
            name, value = line.split(b":", 1)
            trailers[name.strip().lower()] = value.strip()
    return status, headers, body, trailers


async def test_te_trailers_gets_trailer_metadata_as_http_trailers(both) -> None:
    request = (
        b"GET /v1/inspect?replyHeaders[x-cache]=hit&replyTrailers[x-cost]=3 HTTP/1.1\r\n"
        b"Host: test\r\nTE: trailers\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n"
    )
    status, headers, body, trailers = _parse_chunked(
        await _exchange(str(both.client.base_url), request)
    )
    assert status.startswith(b"HTTP/1.1 200")
    assert headers[b"grpc-metadata-x-cache"] == b"hit"
    assert headers[b"trailer"] == b"grpc-trailer-x-cost"
    assert b"grpc-trailer-x-cost" not in headers
    assert trailers == {b"grpc-trailer-x-cost": b"3"}
    assert b'"metadata"' in body


async def test_without_te_trailers_come_as_headers(both) -> None:
    response = await both.client.get("/v1/inspect", params={"replyTrailers[x-cost]": "3"})
    assert response.headers["grpc-trailer-x-cost"] == "3"
    assert "trailer" not in response.headers


async def test_an_http_body_answer_is_raw_with_its_content_type(both) -> None:
    response = await both.client.get("/v1/download/report", params={"contentType": "text/csv"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv"
    assert response.content == b"raw report\n"
    untyped = await both.client.get("/v1/download/blob")
    assert untyped.headers["content-type"] == "application/octet-stream"


async def test_an_http_body_answer_with_te_trailers(both) -> None:
    request = (
        b"GET /v1/download/report?contentType=text/plain HTTP/1.1\r\n"
        b"Host: test\r\nTE: trailers\r\nConnection: close\r\n\r\n"
    )
    _, headers, body, trailers = _parse_chunked(await _exchange(str(both.client.base_url), request))
    assert headers[b"content-type"] == b"text/plain"
    assert body == b"raw report\n"
    assert trailers == {b"grpc-trailer-x-served": b"report"}


async def test_an_http_body_stream_is_raw_chunks_with_the_first_content_type(both) -> None:
    response = await both.client.get(
        "/v1/download/r:stream", params={"parts": 3, "contentType": "text/plain"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain"
    assert response.content == b"r part 0\nr part 1\nr part 2\n"


async def test_an_error_with_te_trailers_ends_chunked_with_its_status_body(both) -> None:
    payload = b'{"code": 5, "message": "gone"}'
    request = (
        b"POST /v1/fail HTTP/1.1\r\nHost: test\r\nTE: trailers\r\nConnection: close\r\n"
        b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(payload), payload)
    )
    status, headers, body, trailers = _parse_chunked(
        await _exchange(str(both.client.base_url), request)
    )
    assert status.startswith(b"HTTP/1.1 404")
    assert headers[b"content-type"] == b"application/json"
    assert b'"message":"gone"' in body
    assert trailers == {}  # grpc-status-details-bin is gRPC's own: never forwarded
