"""What the web routes share: their gRPC channel, request checks, JSON and error answers."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import grpc

from gateway.asgi import Scope, Send, header, request_id, send_bytes, send_status
from gateway.core import retry_after
from gateway.errors import GatewayError, http_status, status_from_rpc_error
from gateway.routes import RoutedChannel

MAX_BODY_BYTES = 16 * 1024
# Sent on every answer of the page and its routes: no framing, no sniffing, no referrer.
SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cache-control", b"no-store"),
)


class Backend:
    """One lazily opened channel to the gRPC backend (per service's backend with routes)."""

    def __init__(self, target: str, routes: Mapping[str, str] | None = None) -> None:
        self.target = target
        self.routes = dict(routes or {})
        self._channel: grpc.aio.Channel | RoutedChannel | None = None

    @property
    def channel(self) -> Any:
        """Return the channel, opening it on first use (inside the server's event loop)."""
        if self._channel is None:
            self._channel = (
                RoutedChannel(self.target, self.routes)
                if self.routes
                else grpc.aio.insecure_channel(self.target)
            )
        return self._channel

    async def close(self) -> None:
        """Close the channel."""
        if self._channel is not None:
            await self._channel.close(None)
            self._channel = None


def require_json(scope: Scope) -> None:
    """Refuse anything but a JSON POST: a cross-site form cannot send one without CORS."""
    media = (header(scope, b"content-type") or b"").split(b";", 1)[0].strip().lower()
    if media != b"application/json":
        raise GatewayError(grpc.StatusCode.INVALID_ARGUMENT, "send application/json", http=415)


def parse(body: bytes) -> dict[str, Any]:
    """Return a JSON object body, or raise a 400."""
    try:
        document = json.loads(body or b"{}")
    except ValueError:
        document = None
    if not isinstance(document, dict):
        raise GatewayError(grpc.StatusCode.INVALID_ARGUMENT, "the body must be a JSON object")
    return document


def call_metadata(scope: Scope, authorization: str | None = None) -> list[tuple[str, str]]:
    """Return the metadata the backend expects from the gateway: request id, client, agent."""
    metadata = [("x-request-id", request_id(scope))]
    client = scope.get("client")
    if client:
        metadata.append(("x-forwarded-for", str(client[0])))
    agent = header(scope, b"user-agent")
    if agent and agent.isascii():
        metadata.append(("grpcgateway-user-agent", agent.decode("ascii")))
    if authorization:
        metadata.append(("authorization", authorization))
    return metadata


async def send_json(
    send: Send, document: dict[str, Any], headers: tuple[tuple[bytes, bytes], ...] = ()
) -> None:
    """Send a 200 JSON answer."""
    body = json.dumps(document, separators=(",", ":")).encode()
    await send_bytes(send, 200, body, headers=(*SECURITY_HEADERS, *headers))


async def send_rpc_error(send: Send, error: grpc.aio.AioRpcError) -> None:
    """Send a backend error as the gateway sends it (google.rpc.Status, grpc-gateway status).

    A rate-limited sign-in is a 429 with Retry-After here too, like the REST API's.
    """
    status = status_from_rpc_error(error)
    await send_status(send, status, http_status(error.code()), retry_after(status))
