"""A unary call's answer: JSON or a raw google.api.HttpBody, its trailers as the client accepts."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from google.protobuf.message import Message

from gateway.asgi import JSON, Headers, Scope, Send, send_bytes
from gateway.bodies import JsonBodies
from gateway.metadata import response_headers
from gateway.routing import Binding
from gateway.trailers import EXTENSION, asks_for_trailers

HTTP_BODY = "google.api.HttpBody"
OCTET_STREAM = b"application/octet-stream"
_TCHARS = r"[A-Za-z0-9!#$%&'*+.^_`|~-]+"
_MEDIA_TYPE = re.compile(rf"{_TCHARS}/{_TCHARS}(?:\s*;[\x20-\x7e]*)?")


def is_http_body(binding: Binding) -> bool:
    """Tell whether the RPC answers a google.api.HttpBody sent as raw bytes (grpc-gateway)."""
    return not binding.response_body and binding.method.output_type.full_name == HTTP_BODY


def raw_body(message: Any) -> tuple[bytes, bytes]:
    """Return an HttpBody's bytes and content type (octet-stream unless it is a media type)."""
    content_type = message.content_type
    # A backend's value becomes a header: one that is not a media type must not get through.
    sane = _MEDIA_TYPE.fullmatch(content_type) is not None
    return bytes(message.data), content_type.encode() if sane else OCTET_STREAM


def answer_body(
    binding: Binding, bodies: JsonBodies, response: Message, wire: bytes | None
) -> tuple[bytes, bytes]:
    """Return a unary answer's body and content type: JSON, or a google.api.HttpBody's own."""
    if is_http_body(binding):
        return raw_body(response)
    return bodies.body(binding, response, wire), JSON


def wants_trailers(scope: Scope) -> bool:
    """Tell whether trailers can go out as HTTP trailers: asked for, and the server can."""
    return EXTENSION in scope.get("extensions", {}) and asks_for_trailers(scope)


async def send_unary(
    scope: Scope,
    send: Send,
    binding: Binding,
    bodies: JsonBodies,
    response: Message,
    initial: Iterable[tuple[str, str | bytes]] | None,
    trailing: Iterable[tuple[str, str | bytes]] | None,
    wire: bytes | None = None,
) -> None:
    """Answer 200 with the response; trailers go as HTTP trailers when the client sent TE.

    `wire` is the response as it came (when the client kept it): its JSON is looked up by it.
    """
    body, content_type = answer_body(binding, bodies, response, wire)
    if not wants_trailers(scope):
        # grpc-gateway sends no trailers then; Grpc-Trailer-* headers keep them visible.
        await send_bytes(send, 200, body, content_type, response_headers(initial, trailing))
        return
    await send_with_trailers(
        send, 200, body, content_type, response_headers(initial, None), trailing
    )


async def send_with_trailers(
    send: Send,
    status: int,
    body: bytes,
    content_type: bytes,
    headers: Headers,
    trailing: Iterable[tuple[str, str | bytes]] | None,
) -> None:
    """Send a whole answer whose trailer metadata follows the body as Grpc-Trailer-* trailers."""
    fields = response_headers(None, trailing)
    declared = [(b"trailer", name) for name, _ in fields]
    start = [(b"content-type", content_type), *headers, *declared]
    await send(
        {"type": "http.response.start", "status": status, "headers": start, "trailers": True}
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})
    await send({"type": "http.response.trailers", "headers": fields, "more_trailers": False})
