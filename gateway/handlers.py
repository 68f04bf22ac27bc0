"""Transcoded HTTP calls: route, build the request, call the backend, answer JSON or an error."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import grpc
from google.protobuf import message as protobuf

from gateway import metrics, streaming, tracing
from gateway.asgi import (
    Message,
    Receive,
    Scope,
    Send,
    header,
    read_body,
    request_id,
    send_error,
)
from gateway.asgi import check_json_content_type as check_content_type
from gateway.core import Core, Prepared, prepare, send_rpc_error, unavailable_while_draining
from gateway.errors import GatewayError
from gateway.requeststream import RequestStream
from gateway.routing import Binding
from gateway.transcode import message_from_value
from gateway.unary import send_unary

log = logging.getLogger(__name__)

INTERNAL_MESSAGE = "internal gateway error; the request id identifies it in the gateway logs"


def _request_stream(
    core: Core,
    binding: Binding,
    scope: Scope,
    receive: Receive,
    variables: dict[str, str],
    query: Any,
) -> tuple[RequestStream, AsyncIterator[protobuf.Message]]:
    """Start reading a streamed body; return it and its messages, built as they complete."""
    check_content_type(scope, streaming=True)
    stream = RequestStream(scope, receive, core.body_limits.of(binding))
    strict = core.config.strict_input

    def build(value: Any) -> protobuf.Message:
        message = core.new_request(binding)
        return message_from_value(binding, message, value, variables, query, strict)

    return stream, stream.messages(build)


def challenge(scope: Scope) -> tuple[bytes, bytes]:
    """Return the RFC 6750 WWW-Authenticate of a 401: invalid_token when a token was sent."""
    sent = header(scope, b"authorization") is not None or b"access_token=" in scope.get(
        "query_string", b""
    )
    return (b"www-authenticate", b'Bearer error="invalid_token"' if sent else b"Bearer")


def raw_path(scope: Scope) -> str:
    """Return the still percent-encoded path, so an encoded '/' stays inside its segment."""
    raw = scope.get("raw_path")
    return raw.decode("latin-1") if raw else quote(scope["path"])


async def handle_http(core: Core, scope: Scope, receive: Receive, send: Send) -> None:
    """Serve one transcoded HTTP request; a bug answers a JSON INTERNAL, not a bare 500."""
    if tracing.enabled():
        await tracing.traced(scope, send, lambda traced: _handle_http(core, scope, receive, traced))
    else:
        await _handle_http(core, scope, receive, send)


async def _handle_http(core: Core, scope: Scope, receive: Receive, send: Send) -> None:
    started = False

    async def tracking_send(message: Message) -> None:
        nonlocal started
        if message["type"] == "http.response.start":
            started = True
            add_challenge(scope, message)
        await send(message)

    try:
        await _handle(core, scope, receive, tracking_send)
    except Exception:
        log_failure(scope)
        if started:
            raise
        await send_error(send, internal_error())


def add_challenge(scope: Scope, start: Message) -> None:
    """Add the WWW-Authenticate challenge to a 401's response start."""
    if start["status"] == 401:
        start["headers"] = [*start.get("headers", ()), challenge(scope)]


def log_failure(scope: Scope) -> None:
    """Log the exception being handled as a gateway failure on this request."""
    # The answer asks the user to quote the request id: the log line must carry it.
    rid = request_id(scope)
    log.exception(
        "gateway failure on %s %s (request id %s)",
        scope.get("method"),
        scope.get("path"),
        rid,
        extra={"request_id": rid},
    )


def internal_error() -> GatewayError:
    """Return the INTERNAL answered for a gateway bug (the request id identifies it)."""
    return GatewayError(grpc.StatusCode.INTERNAL, INTERNAL_MESSAGE)


async def _handle(core: Core, scope: Scope, receive: Receive, send: Send) -> None:
    stream: RequestStream | None = None
    try:
        unavailable_while_draining(core)
        binding, variables = core.router.match(scope["method"], raw_path(scope))
        metrics.set_route(scope, binding.template.text)
        prepared = prepare(core, scope, streaming=binding.server_streaming)
        request: Any
        if binding.client_streaming:
            stream, request = _request_stream(
                core, binding, scope, receive, variables, prepared.query
            )
        else:
            body = b""
            if binding.body:
                body = await read_body(scope, receive, core.body_limits.of(binding))
                if body:
                    check_content_type(scope)
            request = core.build_request(binding, variables, prepared.query, body)
    except GatewayError as error:
        await send_error(send, error)
        return
    try:
        if binding.server_streaming:
            await streaming.respond(core, binding, request, prepared, scope, receive, send, stream)
        else:
            await _unary(core, binding, request, prepared, scope, send, stream)
    finally:
        if stream is not None:
            stream.close()


async def _unary(
    core: Core,
    binding: Binding,
    request: Any,
    prepared: Prepared,
    scope: Scope,
    send: Send,
    stream: RequestStream | None,
) -> None:
    upstream = core.upstream_or_fail()
    try:
        response, initial, trailing, wire = await upstream.unary(
            binding.method, request, prepared.metadata, prepared.timeout
        )
    except GatewayError as error:  # a bad message of the request stream (h2c)
        await send_error(send, error)
        return
    except grpc.aio.AioRpcError as error:
        if stream is not None and stream.error is not None:
            await send_error(send, stream.error)  # grpcio cancelled the call for it
        else:
            await send_rpc_error(core, send, error, scope)
        return
    except asyncio.CancelledError:
        # grpcio cancels a call whose request iterator raised: answer that error instead.
        task = asyncio.current_task()
        if stream is None or stream.error is None or (task is not None and task.cancelling()):
            raise
        await send_error(send, stream.error)
        return
    await send_unary(scope, send, binding, core.bodies, response, initial, trailing, wire)
