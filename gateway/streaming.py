"""Server streaming over HTTP: a JSON object a line by default, Server-Sent Events on request."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import grpc
from google.protobuf.message import Message
from grpc.aio import EOF  # type: ignore[attr-defined]

from gateway.asgi import Receive, Scope, Send, header, send_error
from gateway.config import ResumeRule
from gateway.core import Core, Prepared, send_rpc_error
from gateway.errors import make_status, status_from_rpc_error, status_json
from gateway.metadata import response_headers
from gateway.requeststream import RequestStream
from gateway.routing import Binding
from gateway.transcode import dumps, render
from gateway.unary import OCTET_STREAM, is_http_body, raw_body

log = logging.getLogger(__name__)

# grpc-gateway's stream content type: its JSON marshaler's, whatever the delimiter.
STREAM_JSON = b"application/json"
EVENT_STREAM = b"text/event-stream"
SSE_RETRY_MS = 2000


def wants_sse(scope: Scope) -> bool:
    """Tell whether the client asked for Server-Sent Events."""
    accept = header(scope, b"accept") or b""
    return EVENT_STREAM in accept.lower()


def event_id_of(message: Message, rule: ResumeRule | None) -> str | None:
    """Return the resumable event id carried by a response message, if the rule names one."""
    if rule is None:
        return None
    value: Any = message
    for name in rule.event_id_field.split("."):
        value = getattr(value, name)
    return str(value) or None


def apply_resume(core: Core, binding: Binding, request: Message, scope: Scope) -> None:
    """Copy Last-Event-ID into the request field that resumes the stream."""
    rule = core.config.resume.get(binding.method.full_name)
    last = header(scope, b"last-event-id")
    if rule is None or not last:
        return
    target: Any = request
    names = rule.request_field.split(".")
    for name in names[:-1]:
        target = getattr(target, name)
    setattr(target, names[-1], last.decode("utf-8", "replace"))


class Frames:
    """How messages, errors and the end are written in one streaming format."""

    def __init__(self, sse: bool, rule: ResumeRule | None, core: Core, binding: Binding) -> None:
        self.sse, self.rule, self.core, self.binding = sse, rule, core, binding
        # google.api.HttpBody messages go out raw, undelimited, as grpc-gateway sends them.
        self.raw = is_http_body(binding)
        self.stream: RequestStream | None = None
        self.count = 0
        # The read in flight, so whoever stops the stream can cancel it.
        self.reading: asyncio.Future[Any] | None = None
        self.content_type = EVENT_STREAM if sse else OCTET_STREAM if self.raw else STREAM_JSON

    def opening(self) -> bytes:
        """Return what starts the stream (the SSE reconnect delay)."""
        return f"retry: {SSE_RETRY_MS}\n\n".encode() if self.sse else b""

    def message(self, message: Message) -> bytes:
        """Return one result."""
        self.count += 1
        if self.raw:
            return raw_body(message)[0]
        result = render(self.binding, message, self.core.renderer)
        if not self.sse:
            return dumps({"result": result}) + b"\n"
        event_id = event_id_of(message, self.rule) or str(self.count)
        return b"id: " + event_id.encode() + b"\ndata: " + dumps(result) + b"\n\n"

    def error(self, status: Any) -> bytes:
        """Return a failure of the stream."""
        body = dumps(status_json(status, self.core.pool))
        if not self.sse:
            return dumps({"error": status_json(status, self.core.pool)}) + b"\n"
        return b"event: error\ndata: " + body + b"\n\n"

    def end(self) -> bytes:
        """Return the end of a stream that finished normally."""
        # EventSource reconnects on every close; `end` tells a browser to stop instead.
        return b"event: end\ndata: {}\n\n" if self.sse else b""

    @staticmethod
    def keepalive() -> bytes:
        """Return an SSE comment that keeps proxies from closing an idle stream."""
        return b": keep-alive\n\n"


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def respond(
    core: Core,
    binding: Binding,
    request: Any,
    prepared: Prepared,
    scope: Scope,
    receive: Receive,
    send: Send,
    stream: RequestStream | None = None,
) -> None:
    """Forward a server stream until it ends, fails, the client leaves or the gateway drains.

    With a request `stream` (bidi), its reader owns `receive` and tells when the client left.
    """
    raw = is_http_body(binding)
    sse = wants_sse(scope) and not raw
    if isinstance(request, Message) and sse:
        apply_resume(core, binding, request, scope)
    frames = Frames(sse, core.config.resume.get(binding.method.full_name), core, binding)
    call = core.upstream_or_fail().callable_for(binding.method)(
        request, metadata=prepared.metadata, timeout=prepared.timeout
    )
    reading: asyncio.Future[Any] = asyncio.ensure_future(call.read())
    gone = asyncio.ensure_future(_disconnected(receive) if stream is None else stream.gone.wait())
    draining = asyncio.ensure_future(core.draining.wait())
    try:
        # Raw bodies take their content type from the first message: wait for it.
        done, _ = await asyncio.wait(
            {reading, gone},
            timeout=None if raw else core.config.first_message_wait_seconds,
            return_when=asyncio.FIRST_COMPLETED,
        )
        if gone in done:
            return
        if reading in done and stream is not None and stream.error is not None:
            await send_error(send, stream.error)  # a bad request message: grpcio cancelled
            return
        if reading in done and reading.exception() is not None:
            error = reading.exception()
            if isinstance(error, grpc.aio.AioRpcError):
                await send_rpc_error(core, send, error)
                return
            raise error  # type: ignore[misc]
        initial = await call.initial_metadata() if reading in done else None
        if raw and reading.result() is not EOF:
            frames.content_type = raw_body(reading.result())[1]
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", frames.content_type),
                    (b"cache-control", b"no-cache"),
                    # Proxies such as nginx would otherwise buffer the stream.
                    (b"x-accel-buffering", b"no"),
                    *response_headers(initial, None),
                ],
            }
        )
        frames.stream = stream
        await _forward(core, call, frames, reading, gone, draining, send)
    finally:
        for task in (reading, gone, draining):
            task.cancel()
        if not call.done():
            call.cancel()


async def _forward(
    core: Core,
    call: Any,
    frames: Frames,
    reading: asyncio.Future[Any],
    gone: asyncio.Future[Any],
    draining: asyncio.Future[Any],
    send: Send,
) -> None:
    async def chunk(data: bytes, more: bool = True) -> None:
        await send({"type": "http.response.body", "body": data, "more_body": more})

    await chunk(frames.opening())
    keepalive = core.config.sse_keepalive_seconds if frames.sse else None
    try:
        await _pump(core, call, frames, reading, gone, draining, chunk, keepalive)
    finally:
        if frames.reading is not None:
            frames.reading.cancel()


async def _pump(
    core: Core,
    call: Any,
    frames: Frames,
    reading: asyncio.Future[Any],
    gone: asyncio.Future[Any],
    draining: asyncio.Future[Any],
    chunk: Any,
    keepalive: float | None,
) -> None:
    frames.reading = reading
    while True:
        done, _ = await asyncio.wait(
            {reading, gone, draining}, timeout=keepalive, return_when=asyncio.FIRST_COMPLETED
        )
        if gone in done:
            log.info("client left a stream; cancelling %s", frames.binding.rpc_path)
            return
        if not done:
            await chunk(frames.keepalive())
            continue
        if reading not in done:  # draining: let clients reconnect to another instance
            status = make_status(grpc.StatusCode.UNAVAILABLE, "the gateway is shutting down")
            await chunk(frames.error(status), more=False)
            return
        failed = frames.stream.error if frames.stream is not None else None
        if failed is not None:  # a bad request message ended the call
            await chunk(frames.error(failed.status), more=False)
            return
        try:
            message = reading.result()
        except grpc.aio.AioRpcError as error:
            await chunk(frames.error(status_from_rpc_error(error)), more=False)
            return
        if message is EOF:
            trailing = await call.trailing_metadata()
            if trailing:
                log.debug("stream trailers dropped after the body: %s", list(trailing))
            await chunk(frames.end(), more=False)
            return
        await chunk(frames.message(message))
        reading = frames.reading = asyncio.ensure_future(call.read())
