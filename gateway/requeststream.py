"""A request stream read as it arrives: JSON values back to back, as Go's json.Decoder reads them.

One task reads the ASGI body (and, after it, the disconnect); the call pulls messages as it
sends them, so a slow backend slows the reading and a bidi stream over HTTP is interactive.
"""

from __future__ import annotations

import asyncio
import codecs
import json
import re
import zlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
from google.protobuf.message import Message

from gateway.asgi import Receive, Scope, header, too_large
from gateway.errors import GatewayError, bad_request
from gateway.limits import check_depth, too_deep

_SPACE = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()
_CHUNK = 64 * 1024
# How close to the end of what has come a JSON error may be and still mean "more is coming".
_TAIL = 6
_END = object()


def split_values(buffer: str, final: bool) -> tuple[list[Any], str]:
    """Return the complete JSON values at the start of `buffer` and what is left of it.

    Not final, a value that may go on in the next chunk (a number or literal at the very end,
    an unterminated string, an object cut short) waits; final, it is a 400.
    """
    values: list[Any] = []
    position = 0
    while True:
        position = _SPACE.match(buffer, position).end()  # type: ignore[union-attr]
        if position == len(buffer):
            return values, ""
        try:
            value, end = _DECODER.raw_decode(buffer, position)
        except RecursionError:
            raise too_deep() from None
        except json.JSONDecodeError as error:
            incomplete = error.pos >= len(buffer) - _TAIL or error.msg.startswith("Unterminated")
            if final or not incomplete:
                why = f"the request stream is not JSON values: {error}"
                raise bad_request("", why, "INVALID_JSON") from None
            return values, buffer[position:]
        if end == len(buffer) and not final and not isinstance(value, dict | list | str):
            return values, buffer[position:]  # `12` may be the start of `123`
        values.append(value)
        position = end


class RequestStream:
    """The body of a streaming request, pumped into a queue; its messages, built one by one."""

    def __init__(self, scope: Scope, receive: Receive, limit: int) -> None:
        self.receive, self.limit = receive, limit
        encoding = (header(scope, b"content-encoding") or b"identity").strip().lower()
        if encoding not in (b"identity", b"gzip"):
            raise GatewayError(
                grpc.StatusCode.INVALID_ARGUMENT, "unsupported content encoding; use gzip", http=415
            )
        self.gunzip = zlib.decompressobj(16 + zlib.MAX_WBITS) if encoding == b"gzip" else None
        self.text = codecs.getincrementaldecoder("utf-8")()
        self.chunks: asyncio.Queue[bytes | object] = asyncio.Queue(maxsize=2)
        self.gone = asyncio.Event()
        self.cut = False
        self.error: GatewayError | None = None
        self.pump = asyncio.ensure_future(self._pump())

    async def _pump(self) -> None:
        """Queue body chunks, then wait for the disconnect."""
        ended = False
        while True:
            message = await self.receive()
            if message["type"] == "http.disconnect":
                self.gone.set()
                if not ended:  # cut short: what is queued no longer matters
                    self.cut = True
                    while not self.chunks.empty():
                        self.chunks.get_nowait()
                    self.chunks.put_nowait(_END)
                return
            if ended:
                continue
            await self.chunks.put(message.get("body", b""))
            if not message.get("more_body", False):
                ended = True
                await self.chunks.put(_END)

    def close(self) -> None:
        """Stop reading the body."""
        self.pump.cancel()

    def _plain(self, chunk: bytes) -> list[bytes]:
        if self.gunzip is None:
            return [chunk]
        pieces, pending = [], chunk
        try:
            while pending:  # bounded steps: a small bomb never expands whole in memory
                pieces.append(self.gunzip.decompress(pending, _CHUNK))
                pending = self.gunzip.unconsumed_tail
        except zlib.error:
            raise GatewayError(
                grpc.StatusCode.INVALID_ARGUMENT, "the gzip body is corrupt"
            ) from None
        return pieces

    async def values(self) -> AsyncIterator[Any]:
        """Yield each JSON value of the body as soon as it is complete."""
        buffer = ""
        while True:
            chunk = await self.chunks.get()
            final = chunk is _END
            if final and self.cut:
                raise GatewayError(grpc.StatusCode.CANCELLED, "the client went away")
            pieces = [b""] if final else self._plain(chunk)  # type: ignore[arg-type]
            for piece in pieces:
                try:
                    buffer += self.text.decode(piece, final=final)
                except UnicodeDecodeError as error:
                    raise bad_request(
                        "", f"the body is not UTF-8: {error}", "INVALID_JSON"
                    ) from None
                if len(buffer) > self.limit:
                    raise too_large(self.limit)
                check_depth(buffer.encode())
                found, buffer = split_values(buffer, final)
                for value in found:
                    yield value
            if final:
                return

    async def messages(self, build: Callable[[Any], Message]) -> AsyncIterator[Message]:
        """Yield the request messages; a bad one is kept in `error` and raised."""
        try:
            async for value in self.values():
                yield build(value)
        except GatewayError as error:
            self.error = error
            raise
