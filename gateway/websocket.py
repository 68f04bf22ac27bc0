"""Streaming RPCs over WebSocket: one JSON text frame per message, both ways.

The URL is the binding's path (GET). Path and query parameters fill the request; for a
client-streaming RPC each text frame from the client is one request message (path and query
applied to each) and an empty frame half-closes. Each response is sent as `{"result": ...}`;
a failure as `{"error": <google.rpc.Status>}`; then the server closes with 1000 (1001 when the
gateway shuts down). A client that closes cancels the call.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import grpc
from google.protobuf.message import Message
from starlette.websockets import WebSocket, WebSocketDisconnect

from gateway.asgi import Receive, Scope, Send
from gateway.core import Core, prepare
from gateway.errors import GatewayError, make_status, status_from_rpc_error, status_json
from gateway.handlers import raw_path
from gateway.routing import Binding
from gateway.transcode import build_request, dumps, parse_stream_message, render

log = logging.getLogger(__name__)

NORMAL, GOING_AWAY, POLICY = 1000, 1001, 1008


class _ClientStream:
    """The client's frames as request messages; remembers why it stopped early."""

    def __init__(
        self, core: Core, socket: WebSocket, binding: Binding, variables: dict[str, str], query: Any
    ) -> None:
        self.core, self.socket, self.binding = core, socket, binding
        self.variables, self.query = variables, query
        self.error: GatewayError | None = None
        self.gone = asyncio.Event()
        self.call: Any = None

    async def messages(self) -> AsyncIterator[Message]:
        """Yield one request per text frame until an empty frame, a bad frame or a close."""
        while True:
            event = await self.socket.receive()
            if event["type"] == "websocket.disconnect":
                self.gone.set()
                self.call.cancel()
                return
            text = event.get("text")
            if text is None:
                text = (event.get("bytes") or b"").decode("utf-8", "replace")
            if not text.strip():
                return  # half-close: the client has sent everything
            try:
                strict = self.core.config.strict_input
                message = parse_stream_message(
                    self.core.new_request(self.binding), text, strict=strict
                )
                yield build_request(
                    self.binding, message, self.variables, self.query, b"", strict=strict
                )
            except GatewayError as error:
                self.error = error
                self.call.cancel()
                return


async def handle_websocket(core: Core, scope: Scope, receive: Receive, send: Send) -> None:
    """Serve one WebSocket connection bound to a streaming RPC."""
    socket = WebSocket(scope, receive, send)
    try:
        binding, variables = core.router.match("GET", raw_path(scope))
        if not (binding.server_streaming or binding.client_streaming):
            raise GatewayError(grpc.StatusCode.UNIMPLEMENTED, "WebSocket is for streaming RPCs")
        prepared = prepare(core, scope, streaming=True)
        request: Any = None
        if not binding.client_streaming:
            request = core.build_request(binding, variables, prepared.query)
    except GatewayError as error:
        # Refusing before accept makes the server answer the upgrade with 403.
        log.info("WebSocket refused: %s", error)
        await socket.close(code=POLICY)
        return
    await socket.accept()
    client = None
    if binding.client_streaming:
        client = _ClientStream(core, socket, binding, variables, prepared.query)
        request = client.messages()
    call = core.upstream_or_fail().callable_for(binding.method)(
        request, metadata=prepared.metadata, timeout=prepared.timeout
    )
    if client is not None:
        client.call = call
    relay = _relay(core, binding, call, socket, client)
    tasks: list[asyncio.Future[Any]] = [asyncio.ensure_future(relay)]
    if not binding.client_streaming:
        tasks.append(asyncio.ensure_future(_until_closed(socket)))
    tasks.append(asyncio.ensure_future(core.draining.wait()))
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        if tasks[-1] in done:
            status = make_status(grpc.StatusCode.UNAVAILABLE, "the gateway is shutting down")
            await _finish(socket, {"error": status_json(status)}, GOING_AWAY)
    finally:
        for task in tasks:
            task.cancel()
        if not call.done():
            call.cancel()


async def _until_closed(socket: WebSocket) -> None:
    while (await socket.receive())["type"] != "websocket.disconnect":
        pass


async def _finish(socket: WebSocket, payload: Any | None, code: int) -> None:
    try:
        if payload is not None:
            await socket.send_text(dumps(payload).decode())
        await socket.close(code=code)
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass  # the client is already gone


async def _relay(
    core: Core, binding: Binding, call: Any, socket: WebSocket, client: _ClientStream | None
) -> None:
    try:
        if binding.server_streaming:
            async for message in call:
                await socket.send_text(
                    dumps({"result": render(binding, message, core.renderer)}).decode()
                )
        else:
            message = await call
            await socket.send_text(
                dumps({"result": render(binding, message, core.renderer)}).decode()
            )
    except grpc.aio.AioRpcError as error:
        if client is not None and client.gone.is_set():
            return
        if client is not None and client.error is not None:
            await _finish(socket, {"error": status_json(client.error.status)}, NORMAL)
            return
        await _finish(
            socket, {"error": status_json(status_from_rpc_error(error), core.pool)}, NORMAL
        )
        return
    except asyncio.CancelledError:
        # A call we cancelled because of a bad client frame ends as a cancellation here.
        if client is None or client.error is None:
            raise
        await _finish(socket, {"error": status_json(client.error.status)}, NORMAL)
        return
    except (WebSocketDisconnect, OSError):
        return
    await _finish(socket, None, NORMAL)
