"""uvicorn's httptools server, adapted: one write per whole response, and HTTP/1.1 trailers.

uvicorn writes a response's status line and headers, then its body, as two writes: two
syscalls, and two wake-ups of the client, for every answer of known length. Here the head
waits for the first body message and both go out together. uvicorn also lacks the ASGI
`http.response.trailers` extension: requests that send TE: trailers get it, so every other
request keeps uvicorn's own framing.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

from uvicorn.protocols.http import httptools_impl

from gateway.trailers import EXTENSION, asks_for_trailers


class _Held:
    """A transport that keeps what is written until released, then writes it at once."""

    __slots__ = ("parts", "transport")

    def __init__(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        self.parts: list[bytes] = []

    def write(self, data: bytes) -> None:
        """Keep the bytes for the one write to come."""
        self.parts.append(data)

    def release(self) -> None:
        """Write everything kept, as one write."""
        if self.parts:
            data = b"".join(self.parts)
            self.parts = []
            self.transport.write(data)

    def close(self) -> None:
        """Write what is kept, then close."""
        self.release()
        self.transport.close()

    def is_closing(self) -> bool:
        """Tell whether the real transport is closing."""
        return self.transport.is_closing()


class OneWriteCycle(httptools_impl.RequestResponseCycle):
    """A response whose head goes out with its first body bytes, in one write."""

    held: _Held | None = None

    async def send(self, message: Any) -> None:
        """Send as uvicorn does; hold a sized response's head until its body comes."""
        held = self.held
        if held is not None:
            try:
                await super().send(message)
            finally:
                self._let_go(held)
            return
        if (
            message["type"] != "http.response.start"
            or self.response_started
            or self.scope["method"] == "HEAD"
        ):
            await super().send(message)
            return
        held = self.held = _Held(self.transport)
        self.transport = cast(asyncio.Transport, held)
        try:
            await super().send(message)
        except BaseException:
            self._let_go(held)
            raise
        # Only a response of known, non-zero length has a body message coming at once:
        # a chunked one (a stream) may wait long for its first chunk.
        if self.chunked_encoding is not False or self.expected_content_length <= 0:
            self._let_go(held)

    def _let_go(self, held: _Held) -> None:
        """Restore the real transport and write what was held (unless the client is gone)."""
        self.transport, self.held = held.transport, None
        if not self.disconnected:
            held.release()


class TrailerCycle(OneWriteCycle):
    """A response that may end with trailers: chunked, its last chunk carrying the fields."""

    trailers_due = False
    trailer_fields: list[tuple[bytes, bytes]]

    async def send(self, message: Any) -> None:
        """Send as uvicorn does, except that a response started with trailers ends with them."""
        kind = message["type"]
        if kind == "http.response.start" and message.get("trailers"):
            self.trailers_due, self.trailer_fields = True, []
            headers = [
                (k, v) for k, v in message.get("headers", ()) if k.lower() != b"content-length"
            ]
            message = {**message, "headers": [*headers, (b"transfer-encoding", b"chunked")]}
        elif kind == "http.response.body" and self.trailers_due:
            if message.get("body"):  # the end waits for the trailers
                await super().send({"type": kind, "body": message["body"], "more_body": True})
            return
        elif kind == "http.response.trailers" and self.trailers_due:
            self.trailer_fields.extend(message.get("headers", ()))
            if message.get("more_trailers"):
                return
            self.trailers_due = False
            fields = b"".join(name + b": " + value + b"\r\n" for name, value in self.trailer_fields)
            if not self.disconnected:
                self.transport.write(b"0\r\n" + fields + b"\r\n")
            # The last chunk is written: let uvicorn finish the response without writing more.
            self.chunked_encoding, self.expected_content_length = False, 0
            message = {"type": "http.response.body", "body": b"", "more_body": False}
        await super().send(message)


class Http1Protocol(httptools_impl.HttpToolsProtocol):
    """uvicorn's httptools protocol with one-write responses and, where asked for, trailers."""

    def on_headers_complete(self) -> None:
        """Create the cycle as uvicorn does, then give it our class before it runs."""
        super().on_headers_complete()
        cycle = self.cycle
        # An upgrade (WebSocket) creates no cycle: the one there belongs to an earlier request.
        if type(cycle) is not httptools_impl.RequestResponseCycle or cycle.scope is not self.scope:
            return
        # It has not run yet: its task starts on the next tick.
        if self.scope["method"] != "HEAD" and asks_for_trailers(self.scope):
            cycle.__class__ = TrailerCycle
            self.scope.setdefault("extensions", {})[EXTENSION] = {}
        else:
            cycle.__class__ = OneWriteCycle
