"""A small pool of gRPC channels to the backend and the callables for each bound RPC."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterable
from typing import Any

import grpc
from google.protobuf import message_factory
from google.protobuf.descriptor import MethodDescriptor

log = logging.getLogger(__name__)


class Upstream:
    """Round-robin over `size` channels, each on its own HTTP/2 connection."""

    def __init__(
        self, target: str, methods: Iterable[MethodDescriptor], size: int, max_bytes: int
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
        for method in {m.full_name: m for m in methods}.values():
            self._callables[method.full_name] = [self._make(c, method) for c in self.channels]

    @staticmethod
    def _make(channel: grpc.aio.Channel, method: MethodDescriptor) -> Any:
        request_class = message_factory.GetMessageClass(method.input_type)
        response_class = message_factory.GetMessageClass(method.output_type)
        path = f"/{method.containing_service.full_name}/{method.name}"
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

    def callable_for(self, method: MethodDescriptor) -> Any:
        """Return the RPC's multi-callable on the next channel of the pool."""
        return self._callables[method.full_name][next(self._turn)]

    def channel(self) -> grpc.aio.Channel:
        """Return the next channel, for calls the bindings do not cover (health)."""
        return self.channels[next(self._turn)]

    async def close(self) -> None:
        """Close every channel, cancelling calls still running."""
        for channel in self.channels:
            await channel.close(None)
