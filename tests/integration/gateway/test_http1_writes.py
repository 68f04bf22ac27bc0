"""The gateway's HTTP/1.1 server writes a sized response in one write and a stream at once.

A real uvicorn server on a real socket, driven by a raw HTTP/1.1 client. The server's transport
is wrapped only to count the writes that reach the socket: that count is what is tested.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
import uvicorn
from uvicorn.protocols.http import httptools_impl

from gateway.http1 import _BAD_NAME_BYTES, _BAD_VALUE_BYTES, Http1Protocol, _clean, whole_answer

BODY = b'{"name":"projects/1"}'


class _CountingTransport:
    """A transport that counts its writes and passes everything on."""

    def __init__(self, transport: Any, writes: list[bytes]) -> None:
        self._transport, self.writes = transport, writes

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))
        self._transport.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class _Server:
    """An ASGI app on uvicorn with the gateway's protocol; the writes of each connection."""

    def __init__(self) -> None:
        self.writes: list[list[bytes]] = []
        self.release = asyncio.Event()
        server = self

        class Counting(Http1Protocol):
            def connection_made(self, transport: Any) -> None:  # type: ignore[override]
                server.writes.append([])
                super().connection_made(_CountingTransport(transport, server.writes[-1]))

        self.protocol = Counting

    async def app(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        path = scope["path"]
        if path == "/stream":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await self.release.wait()  # the head must already be with the client
            await send({"type": "http.response.body", "body": b"late", "more_body": False})
            return
        length = [(b"content-length", str(len(BODY)).encode())]
        if path == "/trailers":
            start = {"type": "http.response.start", "status": 200, "headers": length}
            await send({**start, "trailers": True})
            await send({"type": "http.response.body", "body": BODY})
            await send({"type": "http.response.trailers", "headers": [(b"grpc-status", b"0")]})
            return
        if path == "/injected":  # a value that would end the head and start another header
            length.append((b"x-note", b"fine\r\nset-cookie: session=stolen"))
        if path == "/short":
            length = [(b"content-length", str(len(BODY) + 1).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": length})
        if path == "/broken":
            raise RuntimeError("the app failed after starting its answer")
        await send(
            {"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else BODY}
        )


@pytest.fixture
async def served() -> AsyncIterator[tuple[_Server, int]]:
    server = _Server()
    config = uvicorn.Config(
        server.app,
        http=server.protocol,
        interface="asgi3",
        lifespan="off",
        log_config=None,
        access_log=False,
        proxy_headers=False,
    )
    uv = uvicorn.Server(config)
    listener = socket.create_server(("127.0.0.1", 0))
    task = asyncio.create_task(uv.serve(sockets=[listener]))
    while not uv.started:  # noqa: ASYNC110 -- uvicorn offers a flag, not an event
        await asyncio.sleep(0.01)
    try:
        yield server, listener.getsockname()[1]
    finally:
        uv.should_exit = True
        server.release.set()
        await task


async def _ask(port: int, request: bytes) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    return reader, writer


async def test_a_sized_answer_is_one_write_of_head_and_body(served) -> None:
    server, port = served
    reader, writer = await _ask(port, b"GET /sized HTTP/1.1\r\nHost: t\r\n\r\n")
    head = await reader.readuntil(b"\r\n\r\n")
    body = await reader.readexactly(len(BODY))
    writer.close()
    assert head.startswith(b"HTTP/1.1 200")
    assert body == BODY
    assert server.writes[0] == [head + body]


async def test_every_answer_on_a_kept_alive_connection_is_one_write(served) -> None:
    server, port = served
    request = b"GET /sized HTTP/1.1\r\nHost: t\r\n\r\n"
    reader, writer = await _ask(port, request * 3)
    for _ in range(3):
        await reader.readuntil(b"\r\n\r\n")
        assert await reader.readexactly(len(BODY)) == BODY
    writer.close()
    assert len(server.writes[0]) == 3


async def test_a_stream_s_head_is_not_held_for_its_body(served) -> None:
    server, port = served
    reader, writer = await _ask(port, b"GET /stream HTTP/1.1\r\nHost: t\r\n\r\n")
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    assert b"transfer-encoding: chunked" in head
    server.release.set()
    assert await reader.readuntil(b"0\r\n\r\n") == b"4\r\nlate\r\n0\r\n\r\n"
    writer.close()


async def test_head_answers_its_headers_only(served) -> None:
    _, port = served
    reader, writer = await _ask(port, b"HEAD /sized HTTP/1.1\r\nHost: t\r\n\r\n")
    head = await reader.readuntil(b"\r\n\r\n")
    assert f"content-length: {len(BODY)}".encode() in head
    writer.write(b"GET /sized HTTP/1.1\r\nHost: t\r\n\r\n")  # nothing else came before this
    assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 200")
    assert await reader.readexactly(len(BODY)) == BODY
    writer.close()


async def test_an_app_failing_after_its_head_closes_the_connection(served) -> None:
    _, port = served
    reader, writer = await _ask(port, b"GET /broken HTTP/1.1\r\nHost: t\r\n\r\n")
    with contextlib.suppress(ConnectionError):
        received = await asyncio.wait_for(reader.read(), 5)  # to the end: the server closed
        assert not received or received.startswith(b"HTTP/1.1 200")
    writer.close()


async def test_asking_for_trailers_gets_them_after_a_chunked_body(served) -> None:
    _, port = served
    request = b"GET /trailers HTTP/1.1\r\nHost: t\r\nTE: trailers\r\n\r\n"
    reader, writer = await _ask(port, request)
    head = await reader.readuntil(b"\r\n\r\n")
    assert b"transfer-encoding: chunked" in head
    assert b"content-length" not in head
    chunk = b"%x\r\n" % len(BODY) + BODY + b"\r\n"
    assert (
        await reader.readuntil(b"grpc-status: 0\r\n\r\n") == chunk + b"0\r\ngrpc-status: 0\r\n\r\n"
    )
    writer.close()


async def test_a_header_value_with_a_line_break_is_never_written(served) -> None:
    server, port = served
    reader, writer = await _ask(port, b"GET /injected HTTP/1.1\r\nHost: t\r\n\r\n")
    with contextlib.suppress(ConnectionError):
        received = await asyncio.wait_for(reader.read(), 5)  # to the end: the server closed
        assert b"set-cookie" not in received
    writer.close()
    assert not any(b"set-cookie" in write for write in server.writes[0])


async def test_a_body_shorter_than_its_length_is_refused_as_uvicorn_does(served) -> None:
    server, port = served
    reader, writer = await _ask(port, b"GET /short HTTP/1.1\r\nHost: t\r\n\r\n")
    with contextlib.suppress(ConnectionError):
        received = await asyncio.wait_for(reader.read(), 5)  # the server closed the connection
        # uvicorn's own path: the head went out, then the body, then the close for the lie.
        assert received.startswith(b"HTTP/1.1 200")
        assert received.endswith(BODY)
    writer.close()
    assert len(server.writes[0]) == 2


@pytest.mark.parametrize("name", [b"x-ok", b"x bad", b"x:bad", b"x\x7fbad", b""])
@pytest.mark.parametrize("value", [b"fine", b"tab\tfine", b"line\nbreak", b"nul\x00", b"del\x7f"])
def test_one_write_refuses_what_uvicorn_refuses(name: bytes, value: bytes) -> None:
    # The byte sets stand for uvicorn's header regexes: every header they pass, uvicorn's
    # checks pass, and every one they refuse is left to uvicorn (which refuses it).
    refused = bool(
        httptools_impl.HEADER_RE.search(name) or httptools_impl.HEADER_VALUE_RE.search(value)
    )
    whole = whole_answer([], 200, [(b"content-length", b"2"), (name, value)], b"{}", True)
    assert (whole is None) == refused
    for byte in range(256):
        one = bytes([byte])
        assert _clean(one, _BAD_NAME_BYTES) == (httptools_impl.HEADER_RE.search(one) is None)
        assert _clean(one, _BAD_VALUE_BYTES) == (httptools_impl.HEADER_VALUE_RE.search(one) is None)
