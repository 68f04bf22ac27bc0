"""A call's stream as the connection sees it, and the error of a stream that did not end."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field

import grpc

from gateway.h2c import frames as f

Headers = list[tuple[bytes, bytes]]


# Not an HTTP/2 error code: the connection itself ended with the stream still open.
CONNECTION_LOST = -1


class StreamReset(Exception):
    """The peer reset the stream, or the connection went away before it ended."""

    def __init__(self, code: int, message: str, *, unprocessed: bool = False) -> None:
        super().__init__(message)
        self.code = code
        # The server never saw the call (GOAWAY above it, REFUSED_STREAM): safe to send again.
        self.unprocessed = unprocessed


@dataclass(slots=True)
class Stream:
    """One call's stream: what came back, and what of its request still waits for window."""

    id: int
    done: asyncio.Future[None] | None  # None: a stream already reset, read only to stay in step
    limit: int
    headers: Headers | None = None
    trailers: Headers | None = None
    data: bytearray = field(default_factory=bytearray)
    window: int = f.DEFAULT_WINDOW
    unsent: memoryview | None = None
    # False while a request stream may still add messages: its last DATA has no END_STREAM.
    closing: bool = True
    drained: asyncio.Future[None] | None = None  # set once `unsent` has all gone out
    block: bytearray | None = None  # a header block still waiting for CONTINUATION
    block_ends_stream: bool = False


def rpc_error(
    code: grpc.StatusCode,
    details: str,
    initial: Iterable[tuple[str, str | bytes]] | None = None,
    trailing: Iterable[tuple[str, str | bytes]] | None = None,
) -> grpc.aio.AioRpcError:
    """Return the error grpcio would raise, so callers handle one type whichever client ran."""
    return grpc.aio.AioRpcError(code, _metadata(initial), _metadata(trailing), details, None)


def _metadata(pairs: Iterable[tuple[str, str | bytes]] | None) -> grpc.aio.Metadata:
    """Return metadata pairs as grpcio's Metadata, which its errors carry."""
    if isinstance(pairs, grpc.aio.Metadata):
        return pairs
    return grpc.aio.Metadata(*(pairs or ()))
