"""The backend, as the gateway calls it: lean HTTP/2 for unary calls, grpcio for the rest."""

from __future__ import annotations

import itertools
import logging
from collections.abc import AsyncIterator, Iterable
from typing import Any, Literal, cast

import grpc
from google.protobuf import message_factory
from google.protobuf.descriptor import MethodDescriptor
from google.protobuf.message import DecodeError, Message

from gateway.h2c.channel import H2cChannel
from gateway.h2c.streams import rpc_error

log = logging.getLogger(__name__)


Reply = tuple[Message, grpc.aio.Metadata, grpc.aio.Metadata]


class Upstream:
    """Round-robin over `size` connections of each client, each on its own HTTP/2 connection."""

    def __init__(
        self,
        target: str,
        methods: Iterable[MethodDescriptor],
        size: int,
        max_bytes: int,
        *,
        client: Literal["h2c", "grpcio"] = "h2c",
    ) -> None:
        options = [
            # Without a local subchannel pool, channels to one target share one connection.
            ("grpc.use_local_subchannel_pool", 1),
            ("grpc.max_receive_message_length", max_bytes),
            ("grpc.max_send_message_length", max_bytes),
            ("grpc.keepalive_time_ms", 30_000),
            ("grpc.enable_retries", 0),
        ]
        self.target = target
        self.channels = [
            grpc.aio.insecure_channel(target, options=options) for _ in range(max(1, size))
        ]
        self._turn = itertools.cycle(range(len(self.channels)))
        self._callables: dict[str, list[Any]] = {}
        self._unary: dict[str, tuple[str, Any]] = {}
        for method in {m.full_name: m for m in methods}.values():
            self._callables[method.full_name] = [self._make(c, method) for c in self.channels]
            if not method.server_streaming:
                response_class = message_factory.GetMessageClass(method.output_type)
                self._unary[method.full_name] = (_path(method), response_class.FromString)
        # Unary calls, the bulk of REST traffic, skip grpcio's per-call thread hand-offs.
        lean = client == "h2c" and H2cChannel.supports(target)
        self.lean = H2cChannel(target, size, max_bytes, "filmstudio-gateway") if lean else None
        log.info("upstream %s: unary calls over %s", target, "h2c" if lean else "grpcio")

    @staticmethod
    def _make(channel: grpc.aio.Channel, method: MethodDescriptor) -> Any:
        request_class = message_factory.GetMessageClass(method.input_type)
        response_class = message_factory.GetMessageClass(method.output_type)
        path = _path(method)
        kind = {
            (False, False): channel.unary_unary,
            (False, True): channel.unary_stream,
            (True, False): channel.stream_unary,
            (True, True): channel.stream_stream,
        }[(bool(method.client_streaming), bool(method.server_streaming))]
        return kind(
            path,
            request_serializer=request_class.SerializeToString,
            response_deserializer=response_class.FromString,
        )

    async def unary(
        self,
        method: MethodDescriptor,
        request: Message | AsyncIterator[Message],
        metadata: list[tuple[str, str | bytes]],
        timeout_s: float | None,
    ) -> Reply:
        """Make a unary call; return the response and both metadata, or raise AioRpcError.

        A client-streaming call takes an async iterator of requests instead of one request.
        """
        if self.lean is None:
            call = self.callable_for(method)(request, metadata=metadata, timeout=timeout_s)
            response = await call
            return response, await call.initial_metadata(), await call.trailing_metadata()
        path, parse = self._unary[method.full_name]
        if method.client_streaming:
            # Each message goes out as the client's body delivers it.
            stream = cast(AsyncIterator[Message], request)
            payloads = (one.SerializeToString() async for one in stream)
            payload, initial, trailing = await self.lean.stream_unary(
                path, payloads, metadata, timeout_s
            )
        else:
            payload, initial, trailing = await self.lean.unary(
                path, cast(Message, request).SerializeToString(), metadata, timeout_s
            )
        try:
            return parse(payload), initial, trailing
        except DecodeError:
            details = f"the backend's {method.output_type.full_name} does not parse"
            raise rpc_error(grpc.StatusCode.INTERNAL, details, initial, trailing) from None

    def callable_for(self, method: MethodDescriptor) -> Any:
        """Return the RPC's multi-callable on the next channel of the pool."""
        return self._callables[method.full_name][next(self._turn)]

    def channel(self) -> grpc.aio.Channel:
        """Return the next channel, for calls the bindings do not cover (health)."""
        return self.channels[next(self._turn)]

    async def close(self) -> None:
        """Close every channel, cancelling calls still running."""
        if self.lean is not None:
            await self.lean.close()
        for channel in self.channels:
            await channel.close(None)


def _path(method: MethodDescriptor) -> str:
    """Return the method's HTTP/2 path, `/package.Service/Method`."""
    return f"/{method.containing_service.full_name}/{method.name}"
