"""The backend, as the gateway calls it: lean HTTP/2 for unary calls, grpcio for the rest."""

from __future__ import annotations

import itertools
import logging
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any, Literal, cast

import grpc
from google.protobuf import message_factory
from google.protobuf.descriptor import MethodDescriptor
from google.protobuf.message import DecodeError, Message

from gateway.h2c.channel import H2cChannel, Started
from gateway.h2c.streams import rpc_error
from gateway.routes import distinct_targets, target_for

log = logging.getLogger(__name__)


# The response, both metadata, and the response's wire bytes where the client had them (h2c).
Reply = tuple[
    Message, Iterable[tuple[str, str | bytes]], Iterable[tuple[str, str | bytes]], bytes | None
]


class Sent:
    """A unary call on its way (see `Upstream.start`): `done` completes when it has ended."""

    __slots__ = ("channel", "done", "method", "started")

    def __init__(self, channel: H2cChannel, method: MethodDescriptor, started: Started) -> None:
        self.channel, self.method, self.started = channel, method, started
        self.done = started.done


class Upstream:
    """Round-robin over `size` connections of each client, each on its own HTTP/2 connection.

    `routes` sends a service's calls to a backend of its own (service name -> target); every
    other service is at `target`.
    """

    def __init__(
        self,
        target: str,
        methods: Iterable[MethodDescriptor],
        size: int,
        max_bytes: int,
        *,
        client: Literal["h2c", "grpcio"] = "h2c",
        routes: Mapping[str, str] | None = None,
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
        self.routes = dict(routes or {})
        self.pools = {
            one: [grpc.aio.insecure_channel(one, options=options) for _ in range(max(1, size))]
            for one in distinct_targets(target, self.routes)
        }
        self.channels = self.pools[target]
        self._turn = itertools.cycle(range(len(self.channels)))
        self._callables: dict[str, list[Any]] = {}
        self._unary: dict[str, tuple[str, Any]] = {}
        for method in {m.full_name: m for m in methods}.values():
            pool = self.pools[self._target_of(method.containing_service.full_name)]
            self._callables[method.full_name] = [self._make(c, method) for c in pool]
            if not method.server_streaming:
                response_class = message_factory.GetMessageClass(method.output_type)
                self._unary[method.full_name] = (_path(method), response_class.FromString)
        # Unary calls, the bulk of REST traffic, skip grpcio's per-call thread hand-offs.
        self.leans = {
            one: H2cChannel(one, size, max_bytes, "filmstudio-gateway")
            for one in self.pools
            if client == "h2c" and H2cChannel.supports(one)
        }
        for one in self.pools:
            log.info(
                "upstream %s: unary calls over %s", one, "h2c" if one in self.leans else "grpcio"
            )

    def _target_of(self, service: str) -> str:
        return target_for(service, self.target, self.routes)

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
        """Make a unary call; return the reply (see `Reply`), or raise AioRpcError.

        A client-streaming call takes an async iterator of requests instead of one request.
        """
        lean = self.leans.get(self._target_of(method.containing_service.full_name))
        if lean is None:
            call = self.callable_for(method)(request, metadata=metadata, timeout=timeout_s)
            response = await call
            return response, await call.initial_metadata(), await call.trailing_metadata(), None
        path = self._unary[method.full_name][0]
        if method.client_streaming:
            # Each message goes out as the client's body delivers it.
            stream = cast(AsyncIterator[Message], request)
            payloads = (one.SerializeToString() async for one in stream)
            payload, initial, trailing = await lean.stream_unary(
                path, payloads, metadata, timeout_s
            )
        else:
            payload, initial, trailing = await lean.unary(
                path, cast(Message, request).SerializeToString(), metadata, timeout_s
            )
        return self._parsed(method, payload, initial, trailing)

    def start(
        self,
        method: MethodDescriptor,
        request: bytes,
        metadata: list[tuple[str, str | bytes]],
        timeout_s: float | None,
    ) -> Sent | None:
        """Send a unary call's encoded request now, if the lean client can without waiting.

        None where it cannot. `finish` reads its reply once `done` is done. Only unary calls
        over h2c go this way.
        """
        lean = self.leans.get(self._target_of(method.containing_service.full_name))
        if lean is None or method.client_streaming:
            return None
        path = self._unary[method.full_name][0]
        started = lean.start(path, request, metadata, timeout_s)
        return None if started is None else Sent(lean, method, started)

    def finish(self, sent: Sent) -> Reply:
        """Return a sent call's reply, or raise as `unary` does (StreamReset: never served)."""
        payload, initial, trailing = sent.channel.finish(sent.started)
        return self._parsed(sent.method, payload, initial, trailing)

    def _parsed(
        self,
        method: MethodDescriptor,
        payload: bytes,
        initial: Iterable[tuple[str, str | bytes]],
        trailing: Iterable[tuple[str, str | bytes]],
    ) -> Reply:
        try:
            return self._unary[method.full_name][1](payload), initial, trailing, payload
        except DecodeError:
            details = f"the backend's {method.output_type.full_name} does not parse"
            raise rpc_error(grpc.StatusCode.INTERNAL, details, initial, trailing) from None

    def callable_for(self, method: MethodDescriptor) -> Any:
        """Return the RPC's multi-callable on the next channel of the pool."""
        return self._callables[method.full_name][next(self._turn)]

    def channel(self, service: str = "") -> grpc.aio.Channel:
        """Return the next channel to a service's backend, for calls the bindings do not cover.

        The empty name (health of the server as a whole) is the default backend.
        """
        return self.pools[self._target_of(service)][next(self._turn)]

    async def close(self) -> None:
        """Close every channel, cancelling calls still running."""
        for lean in self.leans.values():
            await lean.close()
        for pool in self.pools.values():
            for channel in pool:
                await channel.close(None)


def _path(method: MethodDescriptor) -> str:
    """Return the method's HTTP/2 path, `/package.Service/Method`."""
    return f"/{method.containing_service.full_name}/{method.name}"
