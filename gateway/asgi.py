"""Small ASGI helpers: read a bounded (maybe gzipped) body, send JSON, add the request id."""

from __future__ import annotations

import zlib
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from time import perf_counter
from typing import Any

import grpc
from google.protobuf import descriptor_pool
from google.rpc import status_pb2

from gateway.errors import GatewayError, status_body
from gateway.metadata import REQUEST_ID, request_id_from

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Headers = Sequence[tuple[bytes, bytes]]

JSON = b"application/json"
_REQUEST_ID = REQUEST_ID.encode()
_STARTS = frozenset({"http.response.start", "websocket.accept"})
_JSON_TYPES = (b"application/json", b"text/json")


def header(scope: Scope, name: bytes) -> bytes | None:
    """Return the first value of a request header (name in lower case)."""
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value)
    return None


def request_id(scope: Scope) -> str:
    """Return the request id the middleware gave this request."""
    return str(scope.get("state", {}).get("request_id", ""))


def new_request_id(scope: Scope) -> str:
    """Return the request's id: the client's X-Request-Id when sane, else a new one."""
    incoming = header(scope, _REQUEST_ID)
    return request_id_from(incoming.decode("latin-1") if incoming else None)


def add_request_id(start: Message, id_header: tuple[bytes, bytes]) -> None:
    """Add the X-Request-Id header to a response start, unless the answer names its own."""
    headers = list(start.get("headers", ()))
    if not any(key.lower() == _REQUEST_ID for key, _ in headers):
        headers.append(id_header)
    start["headers"] = headers


def too_large(limit: int) -> GatewayError:
    """Return the 413 for a body over the limit."""
    return GatewayError(
        grpc.StatusCode.RESOURCE_EXHAUSTED, f"the body exceeds {limit} bytes", http=413
    )


def check_json_content_type(scope: Scope, *, streaming: bool = False) -> None:
    """Refuse bodies that do not declare JSON (or NDJSON for streamed requests)."""
    value = header(scope, b"content-type")
    if value is None:
        return
    media = value.split(b";", 1)[0].strip().lower()
    if media in _JSON_TYPES or (media.startswith(b"application/") and media.endswith(b"+json")):
        return
    if streaming and media == b"application/x-ndjson":
        return
    raise GatewayError(
        grpc.StatusCode.INVALID_ARGUMENT,
        f"unsupported content type {media.decode('latin-1')!r}; send application/json",
        http=415,
    )


async def read_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    """Read the whole request body, at most `limit` bytes after gzip decoding."""
    length = header(scope, b"content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        raise too_large(limit)
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise GatewayError(grpc.StatusCode.CANCELLED, "the client went away")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    encoding = (header(scope, b"content-encoding") or b"identity").strip().lower()
    if encoding == b"gzip" and body:
        return _gunzip(body, limit)
    if encoding not in (b"identity", b"gzip"):
        raise GatewayError(
            grpc.StatusCode.INVALID_ARGUMENT, "unsupported content encoding; use gzip", http=415
        )
    return body


def _gunzip(body: bytes, limit: int) -> bytes:
    decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        # Bounded output: a small bomb must not expand past the limit in memory.
        plain = decoder.decompress(body, limit + 1)
    except zlib.error:
        raise GatewayError(grpc.StatusCode.INVALID_ARGUMENT, "the gzip body is corrupt") from None
    if len(plain) > limit or decoder.unconsumed_tail:
        raise too_large(limit)
    return plain


async def send_bytes(
    send: Send, status: int, body: bytes, content_type: bytes = JSON, headers: Headers = ()
) -> None:
    """Send a complete response."""
    start, whole = whole_response(status, body, content_type, headers)
    await send(start)
    await send(whole)


def whole_response(
    status: int, body: bytes, content_type: bytes = JSON, headers: Headers = ()
) -> tuple[Message, Message]:
    """Return the two messages of a complete response: its start and its whole body."""
    length = str(len(body)).encode()
    fields = [(b"content-type", content_type), (b"content-length", length), *headers]
    start = {"type": "http.response.start", "status": status, "headers": fields}
    return start, {"type": "http.response.body", "body": body}


async def send_status(
    send: Send,
    status: status_pb2.Status,
    http: int,
    headers: Headers = (),
    pool: descriptor_pool.DescriptorPool | None = None,
) -> None:
    """Send a google.rpc.Status as the JSON error body."""
    await send_bytes(send, http, status_body(status, pool), JSON, headers)


async def send_error(send: Send, error: GatewayError) -> None:
    """Send a GatewayError."""
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in error.headers]
    await send_status(send, error.status, error.http, headers)


class StatusRecorder:
    """An ASGI send that passes messages on and remembers the response's status (0: none yet)."""

    __slots__ = ("send", "status")

    def __init__(self, send: Send) -> None:
        self.send = send
        self.status = 0

    async def __call__(self, message: Message) -> None:
        """Note the status of a response start, then send the message."""
        if message["type"] == "http.response.start":
            self.status = int(message["status"])
        await self.send(message)


Finished = Callable[[Scope, int, float], None]


class RequestIdMiddleware:
    """Give every request an id (the client's X-Request-Id when sane) and echo it back.

    `finished`, if given, hears how each HTTP request ended: its status (0: none was sent) and
    its duration. One layer does both: the outermost wrapper of every send is the hot path.
    """

    def __init__(self, app: ASGIApp, finished: Finished | None = None) -> None:
        self.app, self.finished = app, finished

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Set scope["state"]["request_id"] and add the header to the response."""
        kind = scope["type"]
        if kind != "http" and kind != "websocket":
            await self.app(scope, receive, send)
            return
        rid = new_request_id(scope)
        scope.setdefault("state", {})["request_id"] = rid
        id_header = (_REQUEST_ID, rid.encode())
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] in _STARTS:
                status = message.get("status", 0)
                add_request_id(message, id_header)
            await send(message)

        finished = self.finished if kind == "http" else None
        if finished is None:
            await self.app(scope, receive, send_with_id)
            return
        started = perf_counter()
        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            status = status or 500  # the server answers 500 for what escaped
            raise
        finally:
            finished(scope, int(status), perf_counter() - started)
