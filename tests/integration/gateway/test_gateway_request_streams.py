"""Request streams read as they arrive, on both upstream clients.

JSON values back to back with or without newlines (Go's json.Decoder), the call started before
the body ends (client streaming on h2c and grpcio), and bidi over HTTP answering each message
before the next is sent.
"""

from __future__ import annotations

import asyncio
import json
from urllib.parse import urlsplit

import pytest


async def test_back_to_back_json_values_need_no_newlines(both) -> None:
    body = b'{"number": 1, "label": "a"}{"number": "2"} \t{"number":3}\n'
    response = await both.client.post(
        "/v1/collect", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"total": "6", "count": 3, "labels": ["a"]}


@pytest.mark.parametrize(
    "body", [b'{"number": 1}{"number": "x"}', b'{"number": 1}{nope', b'{"number": 1}{"num']
)
async def test_a_bad_message_in_the_stream_is_400(both, body) -> None:
    response = await both.client.post("/v1/collect", content=body)
    assert response.status_code == 400, response.text
    assert response.json()["code"] == 3


async def _open(base_url: str, path: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Start a chunked POST whose body the test sends piece by piece."""
    address = urlsplit(base_url)
    reader, writer = await asyncio.open_connection(address.hostname, address.port)
    writer.write(
        f"POST {path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n".encode()
    )
    return reader, writer


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


async def test_client_streaming_calls_before_the_body_ends(both) -> None:
    reader, writer = await _open(str(both.client.base_url), "/v1/collect")
    both.backend.calls.collects.clear()
    writer.write(_chunk(b'{"number": 5, "label": "first"}'))
    await writer.drain()
    # The backend has the first message while the body is still open (within 10 s: a loaded CI
    # machine once took over 2 s; a gateway that held the message would never pass). The call is
    # found by its message: a handler of an earlier test's cancelled call may start after it.
    call = None
    for _ in range(1000):
        call = next((c for c in both.backend.calls.collects if c and c[0].label == "first"), None)
        if call is not None:
            break
        await asyncio.sleep(0.01)
    assert call is not None, [[m.label for m in c] for c in both.backend.calls.collects]
    assert [m.label for m in call] == ["first"]
    writer.write(_chunk(b'{"number": 6}') + b"0\r\n\r\n")
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    assert answer.startswith(b"HTTP/1.1 200")
    assert b'"total":"11"' in answer


async def test_bidi_over_http_answers_each_message_before_the_next(both) -> None:
    reader, writer = await _open(str(both.client.base_url), "/v1/shout")
    head = b""
    for word in (b"hello", b"world"):
        writer.write(_chunk(b'{"text": "%s"}' % word))
        await writer.drain()
        if not head:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            assert head.startswith(b"HTTP/1.1 200")
        size = int(await asyncio.wait_for(reader.readline(), 5), 16)
        line = await reader.readexactly(size + 2)
        assert json.loads(line) == {"result": {"text": word.decode().upper()}}
    writer.write(b"0\r\n\r\n")
    await writer.drain()
    rest = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    assert rest.endswith(b"0\r\n\r\n")
