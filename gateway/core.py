"""The state a running gateway shares between requests, and the request preparation."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl

import grpc
from google.protobuf import descriptor_pool, message_factory
from google.protobuf.descriptor import ServiceDescriptor
from google.protobuf.message import Message
from google.rpc import error_details_pb2, status_pb2

from gateway import tracing
from gateway.asgi import JSON, Scope, Send, header, request_id, send_status
from gateway.bodies import JsonBodies
from gateway.config import GatewayConfig
from gateway.errors import GatewayError, http_status, status_body, status_from_rpc_error
from gateway.forwarding import TrustedProxies
from gateway.limits import BodyLimits
from gateway.metadata import (
    ACCESS_TOKEN_PARAM,
    Metadata,
    outgoing_metadata,
    parse_timeout,
    response_headers,
)
from gateway.render import Renderer
from gateway.routing import Binding, Router
from gateway.transcode import QueryMemo, build_request
from gateway.unary import send_with_trailers, wants_trailers
from gateway.upstream import Upstream

log = logging.getLogger(__name__)


@dataclass
class Core:
    """Configuration, descriptors, routes and (once started) the upstream channels."""

    config: GatewayConfig
    pool: descriptor_pool.DescriptorPool
    services: list[ServiceDescriptor]
    router: Router
    upstream: Upstream | None = None
    draining: asyncio.Event = field(default_factory=asyncio.Event)
    renderer: Renderer = field(init=False)
    bodies: JsonBodies = field(init=False)
    proxies: TrustedProxies = field(init=False)
    body_limits: BodyLimits = field(init=False)
    queries: QueryMemo = field(init=False)

    def __post_init__(self) -> None:
        self.queries = QueryMemo()
        self.renderer = Renderer(self.pool)
        self.bodies = JsonBodies(self.renderer)
        self.proxies = TrustedProxies(self.config.trusted_proxies)
        self.body_limits = BodyLimits(self.config)

    def upstream_or_fail(self) -> Upstream:
        """Return the upstream, which exists between start-up and shutdown."""
        if self.upstream is None:
            raise RuntimeError("the gateway has not started (no lifespan startup)")
        return self.upstream

    def new_request(self, binding: Binding) -> Message:
        """Return an empty request message of the binding's RPC."""
        return message_factory.GetMessageClass(binding.method.input_type)()

    def build_request(
        self,
        binding: Binding,
        variables: dict[str, str],
        query: list[tuple[str, str]],
        body: bytes = b"",
    ) -> Message:
        """Return the binding's request from path variables, query and body (400s as raised)."""
        request = self.new_request(binding)
        return build_request(
            binding,
            request,
            variables,
            query,
            body,
            strict=self.config.strict_input,
            queries=self.queries,
        )


@dataclass
class Prepared:
    """What every transcoded call needs: query, metadata and deadline."""

    query: list[tuple[str, str]]
    metadata: Metadata
    timeout: float | None


@lru_cache(maxsize=256)
def _parsed_query(raw_query: str) -> tuple[tuple[str, str], ...]:
    """Parse a query string; the same few come again and again (a page size, a filter)."""
    return tuple(parse_qsl(raw_query, keep_blank_values=True))


def prepare(core: Core, scope: Scope, *, streaming: bool) -> Prepared:
    """Parse the query string, build metadata and compute the deadline of a call."""
    raw_query = scope.get("query_string", b"").decode("latin-1")
    query = _parsed_query(raw_query) if raw_query else ()
    token = None
    kept = []
    for key, value in query:
        if key == ACCESS_TOKEN_PARAM:
            token = value
        else:
            kept.append((key, value))
    if token is not None and not streaming:
        # A token in a URL ends up in logs and history; only a browser's EventSource and
        # WebSocket, which cannot send headers, may carry it there.
        raise GatewayError(
            grpc.StatusCode.UNAUTHENTICATED,
            f"the {ACCESS_TOKEN_PARAM} query parameter is accepted only on streaming routes "
            "(EventSource, WebSocket); send the token in an Authorization: Bearer header",
        )
    client = scope.get("client")
    address = client[0] if client else None
    metadata = outgoing_metadata(
        scope.get("headers", ()),
        request_id(scope),
        address,
        token,
        trusted_peer=address is not None and core.proxies.trusts(address),
        strict=core.config.strict_input,
    )
    tracing.inject(metadata)
    raw_timeout = header(scope, b"grpc-timeout")
    timeout: float | None
    if raw_timeout is not None:
        timeout = min(parse_timeout(raw_timeout.decode("latin-1")), core.config.max_timeout_seconds)
    elif streaming:
        # Streams (job progress) may rightly run for long; only the client's header bounds them.
        timeout = None
    else:
        timeout = core.config.default_timeout_seconds
    return Prepared(kept, metadata, timeout)


def unavailable_while_draining(core: Core) -> None:
    """Refuse new calls once shutdown has begun."""
    if core.draining.is_set():
        raise GatewayError(grpc.StatusCode.UNAVAILABLE, "the gateway is shutting down")


def retry_after(status: status_pb2.Status) -> list[tuple[bytes, bytes]]:
    """Return a Retry-After header when the status carries RetryInfo."""
    for detail in status.details:
        if detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            info = error_details_pb2.RetryInfo()
            detail.Unpack(info)
            seconds = info.retry_delay.seconds + (1 if info.retry_delay.nanos else 0)
            return [(b"retry-after", str(max(seconds, 0)).encode())]
    return []


async def send_rpc_error(
    core: Core, send: Send, error: grpc.aio.AioRpcError, scope: Scope | None = None
) -> None:
    """Answer a failed call with its google.rpc.Status and metadata.

    Trailer metadata follows the body as HTTP trailers when the client sent TE: trailers, as
    grpc-gateway's error handler does; else it comes as Grpc-Trailer-* headers.
    """
    status = status_from_rpc_error(error)
    initial: Any = error.initial_metadata()
    trailing: Any = error.trailing_metadata()
    if scope is not None and wants_trailers(scope):
        headers = response_headers(initial, None) + retry_after(status)
        body = status_body(status, core.pool)
        await send_with_trailers(send, http_status(error.code()), body, JSON, headers, trailing)
        return
    headers = response_headers(initial, trailing)
    headers += retry_after(status)
    await send_status(send, status, http_status(error.code()), headers, core.pool)
