"""Unary gRPC calls over a small pool of lean HTTP/2 connections, with grpcio's error type."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import logging
import zlib
from collections import deque
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from urllib.parse import unquote

import grpc

from gateway.errors import status_code
from gateway.h2c import frames as f
from gateway.h2c.connection import Connection
from gateway.h2c.grpcwire import (
    MetadataPairs,
    grpc_timeout,
    keepalive,
    parse_target,
    response_metadata,
)
from gateway.h2c.streams import CONNECTION_LOST, Headers, Stream, StreamReset, rpc_error

log = logging.getLogger(__name__)

Metadata = Sequence[tuple[str, str | bytes]]

# Fields sent afresh on every call, never remembered: the token is a secret, the id is unique.
# Their names are encoded once.
_FRESH = {
    "authorization": f.literal_name(b"authorization", sensitive=True),
    "x-request-id": f.literal_name(b"x-request-id"),
}
_REMEMBERED_FIELDS = 256

# grpc's own mapping of HTTP statuses without a grpc-status (doc/http-grpc-status-mapping.md).
_HTTP_TO_GRPC = {
    400: grpc.StatusCode.INTERNAL,
    401: grpc.StatusCode.UNAUTHENTICATED,
    403: grpc.StatusCode.PERMISSION_DENIED,
    404: grpc.StatusCode.UNIMPLEMENTED,
    429: grpc.StatusCode.UNAVAILABLE,
    502: grpc.StatusCode.UNAVAILABLE,
    503: grpc.StatusCode.UNAVAILABLE,
    504: grpc.StatusCode.UNAVAILABLE,
}
# ...and of HTTP/2 reset codes (doc/PROTOCOL-HTTP2.md, "Errors").
_RESET_TO_GRPC = {
    CONNECTION_LOST: grpc.StatusCode.UNAVAILABLE,
    f.REFUSED_STREAM: grpc.StatusCode.UNAVAILABLE,
    f.CANCEL: grpc.StatusCode.CANCELLED,
    f.ENHANCE_YOUR_CALM: grpc.StatusCode.RESOURCE_EXHAUSTED,
    f.INADEQUATE_SECURITY: grpc.StatusCode.PERMISSION_DENIED,
}


@dataclass(slots=True)
class Started:
    """A unary call sent without waiting (see `H2cChannel.start`): its stream and deadline."""

    connection: Connection
    stream: Stream
    done: asyncio.Future[None]
    timer: asyncio.TimerHandle | None


class H2cChannel:
    """Unary calls to one insecure target over `size` HTTP/2 connections, round-robin."""

    def __init__(
        self, target: str, size: int, max_message_bytes: int, user_agent: str = "filmstudio"
    ) -> None:
        self.max_message_bytes = max_message_bytes
        self._address = parse_target(target)
        self._slots: list[Connection | None] = [None] * max(1, size)
        self._opening: list[asyncio.Future[Connection] | None] = [None] * len(self._slots)
        self._turn = itertools.cycle(range(len(self._slots)))
        authority = target.removeprefix("dns:///").encode() if self._address[0] else b"localhost"
        self._common = (
            f.literal(f.STATIC_AUTHORITY, authority)
            + f.literal(f.STATIC_CONTENT_TYPE, b"application/grpc")
            + f.literal(b"te", b"trailers")
            + f.literal(f.STATIC_USER_AGENT, user_agent.encode())
            + f.literal(b"grpc-accept-encoding", b"identity,deflate,gzip")
        )
        self._prefixes: dict[str, bytes] = {}
        # The encoded metadata fields that recur (a client's address and agent), and timeouts.
        self._fields: dict[tuple[str, str | bytes], bytes] = {}
        self._timeouts: dict[float, bytes] = {}
        # Calls that found every connection at the server's stream limit, oldest first.
        self._waiting: deque[asyncio.Future[None]] = deque()
        self._generation = 0  # close() moves it on: a connect begun before belongs to no one

    @staticmethod
    def supports(target: str) -> bool:
        """Whether the target is one this channel can reach (host:port or unix:)."""
        try:
            parse_target(target)
        except ValueError:
            return False
        return True

    async def unary(
        self,
        path: str,
        request: bytes,
        metadata: Metadata,
        timeout_s: float | None,
    ) -> tuple[bytes, MetadataPairs, MetadataPairs]:
        """Make one unary call; return the response bytes and both metadata, or raise."""
        block = self._block(path, metadata, timeout_s)
        message = _frame(request)
        loop = asyncio.get_running_loop()
        deadline = None if timeout_s is None else loop.time() + timeout_s
        for attempt in (1, 2):
            connection = await self._connection(deadline)
            stream = connection.start(block, message)
            assert stream.done is not None
            timer = None
            if deadline is not None:
                timer = loop.call_at(deadline, _expire, connection, stream)
            try:
                await stream.done
            except StreamReset as reset:
                # A call the server never saw is sent once more, as grpc's transparent retry does.
                if reset.unprocessed and attempt == 1:
                    # The server must get the time that is left, not the whole timeout again.
                    remaining = None if deadline is None else max(deadline - loop.time(), 0)
                    block = self._block(path, metadata, remaining)
                    continue
                raise _reset_error(reset) from None
            except asyncio.CancelledError:
                connection.cancel(stream)
                raise
            finally:
                if timer is not None:
                    timer.cancel()
                if self._waiting:
                    self._wake_one()
            return self._outcome(stream.headers or [], stream.trailers, stream.data)
        raise AssertionError("unreachable")

    def start(
        self, path: str, request: bytes, metadata: Metadata, timeout_s: float | None
    ) -> Started | None:
        """Send a unary call now if an open connection has a free stream; else None.

        For a caller that cannot wait (the HTTP/1 protocol answering a GET itself): `unary`
        opens connections and queues for streams. `finish` reads the answer once `done` is.
        """
        if self._waiting:
            return None  # calls queued for a stream go first
        connection = None
        for _ in range(len(self._slots)):
            candidate = self._slots[next(self._turn)]
            if candidate is not None and candidate.usable and not candidate.full:
                connection = candidate
                break
        if connection is None:
            return None
        stream = connection.start(self._block(path, metadata, timeout_s), _frame(request))
        assert stream.done is not None
        timer = None
        if timeout_s is not None:
            assert connection.loop is not None
            timer = connection.loop.call_later(timeout_s, _expire, connection, stream)
        return Started(connection, stream, stream.done, timer)

    def finish(self, started: Started) -> tuple[bytes, MetadataPairs, MetadataPairs]:
        """Return a started call's answer, as `unary` does; raise its error, or StreamReset.

        A StreamReset that is `unprocessed` never reached the server: the caller may send the
        call again (`unary` does so itself).
        """
        if started.timer is not None:
            started.timer.cancel()
        if self._waiting:
            self._wake_one()
        try:
            started.done.result()
        except StreamReset as reset:
            if reset.unprocessed:
                raise
            raise _reset_error(reset) from None
        stream = started.stream
        return self._outcome(stream.headers or [], stream.trailers, stream.data)

    async def stream_unary(
        self,
        path: str,
        requests: AsyncIterator[bytes],
        metadata: Metadata,
        timeout_s: float | None,
    ) -> tuple[bytes, MetadataPairs, MetadataPairs]:
        """Make a client-streaming call, sending each message as `requests` yields it."""
        block = self._block(path, metadata, timeout_s)
        loop = asyncio.get_running_loop()
        deadline = None if timeout_s is None else loop.time() + timeout_s
        connection = await self._connection(deadline)
        stream = connection.start(block, b"", end=False)
        done = stream.done
        assert done is not None
        timer = None if deadline is None else loop.call_at(deadline, _expire, connection, stream)
        try:
            try:
                async for message in requests:
                    if done.done():
                        break  # answered (or failed) before the client finished sending
                    connection.send(stream, _frame(message), end=False)
                    if stream.unsent is not None:  # the server's window is full: wait for it
                        stream.drained = loop.create_future()
                        await asyncio.wait(
                            {stream.drained, done}, return_when=asyncio.FIRST_COMPLETED
                        )
                else:
                    connection.send(stream, b"", end=True)
            except BaseException:
                connection.cancel(stream)  # a bad request message, or the caller gave up
                raise
            await done
        except StreamReset as reset:
            # Never sent again: the request stream has been read and cannot be replayed.
            raise _reset_error(reset) from None
        finally:
            if timer is not None:
                timer.cancel()
            if self._waiting:
                self._wake_one()
        return self._outcome(stream.headers or [], stream.trailers, stream.data)

    async def close(self) -> None:
        """Close every connection; calls still open fail as UNAVAILABLE."""
        self._generation += 1
        for index, connection in enumerate(self._slots):
            self._slots[index] = None
            if connection is not None and connection.transport is not None:
                connection.transport.close()

    # --- requests and answers -----------------------------------------------------------------

    def _block(self, path: str, metadata: Metadata, timeout: float | None) -> bytes:
        prefix = self._prefixes.get(path)
        if prefix is None:
            prefix = (
                f.indexed(f.STATIC_METHOD_POST)
                + f.indexed(f.STATIC_SCHEME_HTTP)
                + f.literal(f.STATIC_PATH, path.encode())
                + self._common
            )
            self._prefixes[path] = prefix
        parts = [prefix]
        fields = self._fields
        for key, value in metadata:
            fresh = _FRESH.get(key)
            if fresh is not None and isinstance(value, str):
                parts.append(fresh + f.literal_value(value.encode("latin-1")))
                continue
            field = fields.get((key, value))
            if field is None:
                field = _field(key, value)
                if fresh is None:
                    if len(fields) >= _REMEMBERED_FIELDS:
                        fields.clear()
                    fields[key, value] = field
            parts.append(field)
        if timeout is not None:
            # Most calls carry the configured default: encoded once.
            field = self._timeouts.get(timeout)
            if field is None:
                if len(self._timeouts) >= _REMEMBERED_FIELDS:
                    self._timeouts.clear()
                field = self._timeouts[timeout] = f.literal(b"grpc-timeout", grpc_timeout(timeout))
            parts.append(field)
        return b"".join(parts)

    def _outcome(
        self, headers: Headers, trailers: Headers | None, data: bytearray
    ) -> tuple[bytes, MetadataPairs, MetadataPairs]:
        fields = dict(headers)
        initial = response_metadata(headers)
        if trailers is None:  # trailers-only: the status rides in the headers
            trailers, initial = headers, []
        trailing = response_metadata(trailers)
        status = fields.get(b":status", b"")
        if status != b"200":
            http = int(status) if status.isdigit() else 0
            code = _HTTP_TO_GRPC.get(http, grpc.StatusCode.UNKNOWN)
            raise rpc_error(code, f"HTTP status {http} from the backend", initial, trailing)
        ends = dict(trailers)
        raw_code = ends.get(b"grpc-status")
        if raw_code is None or not raw_code.isdigit():
            raise rpc_error(grpc.StatusCode.UNKNOWN, "no grpc-status", initial, trailing)
        code = status_code(int(raw_code))
        if code is not grpc.StatusCode.OK:
            details = unquote(ends.get(b"grpc-message", b"").decode("latin-1"))
            raise rpc_error(code, details, initial, trailing)
        payload = self._message(data, fields.get(b"grpc-encoding", b"identity"))
        return payload, initial, trailing

    def _message(self, data: bytearray, encoding: bytes) -> bytes:
        if len(data) < 5 or int.from_bytes(data[1:5], "big") != len(data) - 5:
            raise _internal("the backend's answer is not exactly one gRPC message")
        body = bytes(data[5:])
        if not data[0]:
            return body
        wbits = {b"gzip": 16 + zlib.MAX_WBITS, b"deflate": zlib.MAX_WBITS}.get(encoding)
        if wbits is None:
            raise _internal(f"the backend compressed with {encoding!r}, which was not offered")
        decoder = zlib.decompressobj(wbits)
        try:
            plain = decoder.decompress(body, self.max_message_bytes + 1)
        except zlib.error:
            raise _internal("the backend's compressed answer is corrupt") from None
        if len(plain) > self.max_message_bytes or decoder.unconsumed_tail:
            raise rpc_error(
                grpc.StatusCode.RESOURCE_EXHAUSTED, "the response exceeds the message size limit"
            )
        if not decoder.eof:
            raise _internal("the backend's compressed answer is cut short")
        return plain

    # --- connections --------------------------------------------------------------------------

    async def _connection(self, deadline: float | None) -> Connection:
        while True:
            for _ in range(len(self._slots)):
                index = next(self._turn)
                connection = self._slots[index]
                if connection is None or not connection.usable:
                    return await self._open(index, deadline)
                if not connection.full:
                    return connection
            # Every connection is at the server's limit: wait, as grpcio does, for a call to end.
            await self._wait_for_a_stream(deadline)

    async def _wait_for_a_stream(self, deadline: float | None) -> None:
        """Wait, within the deadline, until a call ends and this one's turn comes."""
        loop = asyncio.get_running_loop()
        turn = loop.create_future()
        self._waiting.append(turn)
        try:
            wait = None if deadline is None else max(deadline - loop.time(), 0)
            await asyncio.wait_for(turn, wait)  # cancels `turn` on timeout or cancellation
        except TimeoutError:
            raise _deadline_exceeded() from None
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self._wake_one()  # woken, then cancelled: the free stream goes to the next
            raise
        finally:
            with contextlib.suppress(ValueError):
                self._waiting.remove(turn)

    def _wake_one(self) -> None:
        """Let the oldest waiting call look for a free stream again."""
        while self._waiting:
            turn = self._waiting.popleft()
            if not turn.done():
                turn.set_result(None)
                return

    async def _open(self, index: int, deadline: float | None) -> Connection:
        """Connect slot `index` once, however many calls wait for it."""
        opening = self._opening[index]
        if opening is None:
            opening = asyncio.ensure_future(self._connect())
            self._opening[index] = opening
            generation = self._generation
            opening.add_done_callback(lambda _: self._opened(index, opening, generation))
        loop = asyncio.get_running_loop()
        wait = None if deadline is None else max(deadline - loop.time(), 0)
        try:
            return await asyncio.wait_for(asyncio.shield(opening), wait)
        except TimeoutError:
            raise _deadline_exceeded() from None
        except OSError as error:
            raise rpc_error(
                grpc.StatusCode.UNAVAILABLE, f"failed to connect to the backend: {error}"
            ) from None

    def _opened(self, index: int, opening: asyncio.Future[Connection], generation: int) -> None:
        self._opening[index] = None
        if opening.cancelled() or opening.exception() is not None:
            return
        connection = opening.result()
        if generation != self._generation and connection.transport is not None:
            connection.transport.close()  # the channel closed while it connected
            return
        self._slots[index] = connection

    async def _connect(self) -> Connection:
        loop = asyncio.get_running_loop()
        host, port, path = self._address
        if path is not None or host is None or port is None:
            _, connection = await loop.create_unix_connection(
                lambda: Connection(self.max_message_bytes), str(path)
            )
        else:
            _, connection = await loop.create_connection(
                lambda: Connection(self.max_message_bytes), host, port
            )
            assert connection.transport is not None
            keepalive(connection.transport.get_extra_info("socket"))
        return connection


def _frame(message: bytes) -> bytes:
    """Return one gRPC length-prefixed message, uncompressed."""
    return b"\x00" + len(message).to_bytes(4, "big") + message


def _expire(connection: Connection, stream: Stream) -> None:
    connection.cancel(stream)
    if stream.done is not None and not stream.done.done():
        stream.done.set_exception(_deadline_exceeded())


def _field(key: str, value: str | bytes) -> bytes:
    """Return one metadata field as a literal (never indexed when it is the token)."""
    raw = base64.b64encode(value) if isinstance(value, bytes) else value.encode("latin-1")
    return f.literal(key.encode(), raw, sensitive=key == "authorization")


def _reset_error(reset: StreamReset) -> grpc.aio.AioRpcError:
    return rpc_error(_RESET_TO_GRPC.get(reset.code, grpc.StatusCode.INTERNAL), str(reset))


def _deadline_exceeded() -> grpc.aio.AioRpcError:
    # grpcio's own wording, so logs and clients read the same whichever client ran.
    return rpc_error(grpc.StatusCode.DEADLINE_EXCEEDED, "Deadline Exceeded")


def _internal(message: str) -> grpc.aio.AioRpcError:
    return rpc_error(grpc.StatusCode.INTERNAL, message)
