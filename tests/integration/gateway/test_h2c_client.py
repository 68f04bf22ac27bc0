"""The gateway's lean HTTP/2 client (gateway/h2c) against real grpc.aio servers and a raw peer."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import socket
import time
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import pytest
import uvloop
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from gateway.h2c import frames as f
from gateway.h2c.channel import H2cChannel
from gateway.h2c.grpcwire import grpc_timeout, parse_target
from tests.support.h2c_peer import PeerConnection, Request, grpc_message, scripted_peer

SERVICE = "test.Echo"
MiB = 1 << 20
MAX_BYTES = 8 * MiB

Handler = Callable[[bytes, grpc.aio.ServicerContext], Awaitable[bytes]]


# --- a real grpc.aio backend ---------------------------------------------------------------


@dataclass
class Backend:
    """What the handlers saw, so tests can check the server's side of each call."""

    metadata: list[tuple[str, str | bytes]] = field(default_factory=list)
    time_remaining: float | None = None
    peers: set[str] = field(default_factory=set)
    started: asyncio.Event = field(default_factory=asyncio.Event)
    cancelled: asyncio.Event = field(default_factory=asyncio.Event)
    finished: asyncio.Event = field(default_factory=asyncio.Event)

    def reset(self) -> None:
        """Forget the previous test's observations."""
        self.metadata.clear()
        self.time_remaining = None
        self.peers.clear()
        self.started.clear()
        self.cancelled.clear()
        self.finished.clear()

    def handlers(self) -> dict[str, Handler]:
        """Return the test service's methods, bytes in and bytes out."""

        async def echo(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
            return request

        async def meta(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
            self.metadata = list(context.invocation_metadata() or ())
            self.time_remaining = context.time_remaining()
            await context.send_initial_metadata((("x-initial", "hello"),))
            context.set_trailing_metadata(
                (("x-trailing", "bye"), ("x-trace-bin", b"\x00\xffbin\x80"))
            )
            return b"meta:" + request

        async def fail(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
            context.set_trailing_metadata((("x-why", "because"),))
            await context.abort(grpc.StatusCode.FAILED_PRECONDITION, request.decode())

        async def rich_fail(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
            detail = any_pb2.Any()
            detail.Pack(error_details_pb2.ErrorInfo(reason="NO_CREDITS", domain="filmstudio"))
            status = status_pb2.Status(
                code=code_pb2.RESOURCE_EXHAUSTED, message="out of credits", details=[detail]
            )
            await context.abort_with_status(rpc_status.to_status(status))

        async def big(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
            return bytes(range(256)) * (int(request) // 256)

        async def size(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
            return str(len(request)).encode() + b":" + request[-16:]

        async def sleep(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
            self.started.set()
            try:
                await asyncio.sleep(float(request))
            except asyncio.CancelledError:
                self.cancelled.set()
                raise
            self.finished.set()
            return b"slept " + request

        async def tagged(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
            self.peers.add(context.peer())
            # Answer out of order, so a mix-up between streams would show.
            await asyncio.sleep((int(request.split(b"-")[1]) % 7) / 1000)
            return b"re:" + request

        return {
            "Echo": echo,
            "Meta": meta,
            "Fail": fail,
            "RichFail": rich_fail,
            "Big": big,
            "Size": size,
            "Sleep": sleep,
            "Tagged": tagged,
        }


@contextlib.asynccontextmanager
async def grpc_backend(
    address: str = "127.0.0.1:0", backend: Backend | None = None, **options: Any
) -> AsyncIterator[tuple[grpc.aio.Server, int, Backend]]:
    """Serve the test service with grpc.aio on `address`; stopped (no grace) on exit."""
    backend = backend or Backend()
    server = grpc.aio.server(**options)
    methods = {
        name: grpc.unary_unary_rpc_method_handler(handler)
        for name, handler in backend.handlers().items()
    }
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, methods),))
    port = server.add_insecure_port(address)
    await server.start()
    try:
        yield server, port, backend
    finally:
        await server.stop(None)


@contextlib.asynccontextmanager
async def h2c(target: str, size: int = 1, max_bytes: int = MAX_BYTES) -> AsyncIterator[H2cChannel]:
    """An H2cChannel, closed on exit."""
    channel = H2cChannel(target, size, max_bytes)
    try:
        yield channel
    finally:
        await channel.close()


@dataclass
class Live:
    """The shared backend and a channel of two connections to it."""

    backend: Backend
    port: int
    channel: H2cChannel

    async def call(
        self,
        method: str,
        request: bytes = b"",
        metadata: list[tuple[str, str | bytes]] | None = None,
        timeout_s: float | None = 2.0,
    ) -> tuple[bytes, grpc.aio.Metadata, grpc.aio.Metadata]:
        """Call a method of the test service."""
        path = f"/{SERVICE}/{method}"
        return await self.channel.unary(path, request, metadata or [], timeout_s)


@pytest.fixture(scope="module")
async def shared() -> AsyncIterator[tuple[Backend, int]]:
    """One grpc.aio backend for the stateless tests of the module."""
    async with grpc_backend() as (_, port, backend):
        yield backend, port


@pytest.fixture
async def live(shared: tuple[Backend, int]) -> AsyncIterator[Live]:
    """A fresh channel (size 2) to the shared backend, whose observations start empty."""
    backend, port = shared
    backend.reset()
    async with h2c(f"127.0.0.1:{port}", size=2) as channel:
        yield Live(backend, port, channel)


async def _error(call: Awaitable[Any]) -> grpc.aio.AioRpcError:
    """Await a call that must fail; return its error."""
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await asyncio.wait_for(call, 5)
    return caught.value


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- calls that succeed --------------------------------------------------------------------


async def test_an_ok_call_returns_the_exact_response_and_both_metadata(live: Live) -> None:
    """The response bytes, initial and trailing metadata are what the server sent."""
    response, initial, trailing = await live.call("Meta", b"\x00payload\xff")
    assert response == b"meta:\x00payload\xff"
    assert list(initial) == [("x-initial", "hello")]
    assert list(trailing) == [("x-trailing", "bye"), ("x-trace-bin", b"\x00\xffbin\x80")]
    assert isinstance(dict(trailing)["x-trace-bin"], bytes)


async def test_request_metadata_reaches_the_server_binary_values_decoded(live: Live) -> None:
    """Text metadata, authorization and a -bin value given as bytes arrive as sent."""
    metadata: list[tuple[str, str | bytes]] = [
        ("authorization", "Bearer token-123"),
        ("x-request-id", "r-7"),
        ("x-blob-bin", b"\x00\x01\xfe\xff="),
    ]
    await live.call("Meta", b"", metadata)
    seen = dict(live.backend.metadata)
    assert seen["authorization"] == "Bearer token-123"
    assert seen["x-request-id"] == "r-7"
    assert seen["x-blob-bin"] == b"\x00\x01\xfe\xff="
    assert seen["user-agent"].startswith("filmstudio")


async def test_the_server_sees_a_deadline_close_to_the_timeout(live: Live) -> None:
    """grpc-timeout carries the caller's timeout: the handler's time_remaining is just below."""
    await live.call("Meta", timeout_s=5.0)
    assert live.backend.time_remaining is not None
    assert 4.5 < live.backend.time_remaining <= 5.0


async def test_a_call_without_timeout_gives_the_server_no_deadline(live: Live) -> None:
    """timeout_s=None sends no grpc-timeout."""
    await live.call("Meta", timeout_s=None)
    assert live.backend.time_remaining is None


async def test_an_empty_request_and_an_empty_response_round_trip(live: Live) -> None:
    """A zero-length message is still one gRPC message."""
    response, _, _ = await live.call("Echo", b"")
    assert response == b""


# --- error statuses ------------------------------------------------------------------------


async def test_an_error_status_keeps_code_details_and_trailing_metadata(live: Live) -> None:
    """context.abort's code, its details and the handler's trailing metadata come back."""
    error = await _error(live.call("Fail", b"not now"))
    assert error.code() is grpc.StatusCode.FAILED_PRECONDITION
    assert error.details() == "not now"
    assert error.trailing_metadata()["x-why"] == "because"


async def test_non_ascii_details_are_percent_decoded(live: Live) -> None:
    """grpc-message is percent-encoded UTF-8 on the wire; the caller gets the text back."""
    details = "é ✓ 100% done, naïve «quotes»"
    error = await _error(live.call("Fail", details.encode()))
    assert error.code() is grpc.StatusCode.FAILED_PRECONDITION
    assert error.details() == details


async def test_abort_with_status_carries_grpc_status_details_bin(live: Live) -> None:
    """The rich status rides in trailing metadata as bytes that parse as google.rpc.Status."""
    error = await _error(live.call("RichFail"))
    assert error.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert error.details() == "out of credits"
    raw = error.trailing_metadata()["grpc-status-details-bin"]
    assert isinstance(raw, bytes)
    status = status_pb2.Status.FromString(raw)
    assert status.code == code_pb2.RESOURCE_EXHAUSTED
    info = error_details_pb2.ErrorInfo()
    assert status.details[0].Unpack(info)
    assert (info.reason, info.domain) == ("NO_CREDITS", "filmstudio")


async def test_an_unknown_method_is_unimplemented(live: Live) -> None:
    """A path the server does not host fails UNIMPLEMENTED."""
    error = await _error(live.channel.unary("/test.Echo/Nope", b"", [], 1.0))
    assert error.code() is grpc.StatusCode.UNIMPLEMENTED
    error = await _error(live.channel.unary("/no.Such/Service", b"", [], 1.0))
    assert error.code() is grpc.StatusCode.UNIMPLEMENTED


# --- flow control and sizes ----------------------------------------------------------------


async def test_a_3_mib_request_is_sent_past_the_initial_windows(live: Live) -> None:
    """The request waits for the server's WINDOW_UPDATEs instead of stalling at 64 KiB."""
    request = bytes(range(256)) * (3 * MiB // 256) + b"0123456789abcdef"
    response, _, _ = await live.call("Size", request)
    assert response == str(len(request)).encode() + b":0123456789abcdef"


async def test_a_6_mib_response_arrives_whole(live: Live) -> None:
    """Our large receive windows let a 6 MiB answer through unharmed."""
    response, _, _ = await live.call("Big", str(6 * MiB).encode())
    assert response == bytes(range(256)) * (6 * MiB // 256)


async def test_a_response_over_the_limit_is_resource_exhausted_and_the_channel_goes_on(
    shared: tuple[Backend, int],
) -> None:
    """An answer over max_message_bytes fails RESOURCE_EXHAUSTED; the next call still works."""
    async with h2c(f"127.0.0.1:{shared[1]}", size=1, max_bytes=MiB) as channel:
        error = await _error(channel.unary(f"/{SERVICE}/Big", str(2 * MiB).encode(), [], 2.0))
        assert error.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
        response, _, _ = await channel.unary(f"/{SERVICE}/Big", str(MiB - 256).encode(), [], 2.0)
        assert len(response) == MiB - 256
        response, _, _ = await channel.unary(f"/{SERVICE}/Echo", b"after", [], 2.0)
        assert response == b"after"


async def test_a_gzip_server_is_decoded(shared: tuple[Backend, int]) -> None:
    """A server compressing its answers (we offer gzip) gives back the plain bytes."""
    async with (
        grpc_backend(compression=grpc.Compression.Gzip) as (_, port, _),
        h2c(f"127.0.0.1:{port}") as channel,
    ):
        response, _, _ = await channel.unary(f"/{SERVICE}/Big", str(MiB).encode(), [], 2.0)
        assert response == bytes(range(256)) * (MiB // 256)
        response, _, _ = await channel.unary(f"/{SERVICE}/Echo", b"small", [], 2.0)
        assert response == b"small"


# --- deadlines and cancellation ------------------------------------------------------------


async def test_a_slow_handler_gives_deadline_exceeded_on_time(live: Live) -> None:
    """The call fails DEADLINE_EXCEEDED close to its timeout; the handler is cancelled."""
    started = time.monotonic()
    error = await _error(live.call("Sleep", b"5", timeout_s=0.3))
    elapsed = time.monotonic() - started
    assert error.code() is grpc.StatusCode.DEADLINE_EXCEEDED
    assert 0.29 <= elapsed < 0.5
    await asyncio.wait_for(live.backend.cancelled.wait(), 1)
    assert not live.backend.finished.is_set()
    response, _, _ = await live.call("Echo", b"still here")
    assert response == b"still here"


async def test_cancelling_the_caller_resets_the_stream(live: Live) -> None:
    """A cancelled task resets its stream: the server's handler is cancelled too."""
    task = asyncio.ensure_future(live.call("Sleep", b"5", timeout_s=None))
    await asyncio.wait_for(live.backend.started.wait(), 1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.wait_for(live.backend.cancelled.wait(), 1)
    assert not live.backend.finished.is_set()
    response, _, _ = await live.call("Echo", b"still here")
    assert response == b"still here"


# --- many calls ----------------------------------------------------------------------------


async def test_300_concurrent_calls_on_two_connections_each_get_their_answer(live: Live) -> None:
    """Streams multiplexed over a pool of two never swap answers."""
    requests = [f"call-{i}-{'x' * (i % 50)}".encode() for i in range(300)]
    answers = await asyncio.gather(*(live.call("Tagged", r) for r in requests))
    assert [a[0] for a in answers] == [b"re:" + r for r in requests]
    assert len(live.backend.peers) == 2


# --- the backend going and coming ----------------------------------------------------------


async def test_a_closed_port_fails_fast_unavailable_then_reconnects() -> None:
    """No server: UNAVAILABLE at once; once one listens on the port, the next call goes through."""
    port = _free_port()
    async with h2c(f"127.0.0.1:{port}") as channel:
        started = time.monotonic()
        error = await _error(channel.unary(f"/{SERVICE}/Echo", b"x", [], 2.0))
        assert error.code() is grpc.StatusCode.UNAVAILABLE
        assert time.monotonic() - started < 0.2
        async with grpc_backend(f"127.0.0.1:{port}"):
            response, _, _ = await channel.unary(f"/{SERVICE}/Echo", b"back", [], 2.0)
            assert response == b"back"


async def test_a_graceful_stop_lets_calls_in_flight_finish_and_a_new_server_takes_over() -> None:
    """stop(grace) completes calls in flight, refuses new ones; a restarted server serves."""
    backend = Backend()
    async with grpc_backend(backend=backend) as (server, port, _):
        channel = H2cChannel(f"127.0.0.1:{port}", 1, MAX_BYTES)
        try:
            in_flight = asyncio.ensure_future(channel.unary(f"/{SERVICE}/Sleep", b"0.2", [], 2.0))
            outlasting = asyncio.ensure_future(channel.unary(f"/{SERVICE}/Sleep", b"5", [], 5.0))
            await asyncio.wait_for(backend.started.wait(), 1)
            await asyncio.sleep(0.02)
            stopping = asyncio.ensure_future(server.stop(0.5))
            await asyncio.sleep(0.05)
            late = await _error(channel.unary(f"/{SERVICE}/Echo", b"late", [], 1.0))
            assert late.code() is grpc.StatusCode.UNAVAILABLE
            response, _, _ = await in_flight
            assert response == b"slept 0.2"
            # Past the grace the server cancels what is left: grpcio's client says UNAVAILABLE.
            cut = await _error(outlasting)
            assert cut.code() is grpc.StatusCode.UNAVAILABLE
            await stopping
            async with grpc_backend(f"127.0.0.1:{port}"):
                response, _, _ = await channel.unary(f"/{SERVICE}/Echo", b"new", [], 2.0)
                assert response == b"new"
        finally:
            await channel.close()


async def test_closing_the_channel_fails_calls_in_flight_unavailable(live: Live) -> None:
    """close() drops the connections; a call still open fails UNAVAILABLE at once."""
    task = asyncio.ensure_future(live.call("Sleep", b"5", timeout_s=None))
    await asyncio.wait_for(live.backend.started.wait(), 1)
    await live.channel.close()
    error = await _error(task)
    assert error.code() is grpc.StatusCode.UNAVAILABLE
    response, _, _ = await live.call("Echo", b"reopened")
    assert response == b"reopened"


async def test_a_connection_opened_across_close_is_not_kept(live: Live) -> None:
    """A connect still under way when close() runs is dropped; its call goes on a fresh one."""
    task = asyncio.ensure_future(live.call("Echo", b"across close"))
    await asyncio.sleep(0)  # the call is now waiting for its connection to open
    (opening,) = [o for o in live.channel._opening if o is not None]
    await live.channel.close()
    response, _, _ = await task
    assert response == b"across close"
    stale = opening.result()
    assert stale.transport is not None
    assert stale.transport.is_closing()
    assert stale not in live.channel._slots
    kept = [c for c in live.channel._slots if c is not None]
    assert kept
    assert all(c.transport is not None and not c.transport.is_closing() for c in kept)


async def test_a_unix_socket_target_works(tmp_path: Path) -> None:
    """unix:path and unix:///abs reach a grpc.aio server bound to a unix socket."""
    path = tmp_path / "h2c.sock"
    async with grpc_backend(f"unix:{path}") as _:
        for target in (f"unix:{path}", f"unix://{path}"):
            async with h2c(target) as channel:
                response, _, trailing = await channel.unary(
                    f"/{SERVICE}/Meta", b"over unix", [], 2.0
                )
                assert response == b"meta:over unix"
                assert dict(trailing)["x-trailing"] == "bye"


# --- a raw HTTP/2 peer, for what grpcio never sends -----------------------------------------

OK_HEAD = [(":status", "200"), ("content-type", "application/grpc")]


async def _one_answer(
    answer: Callable[[PeerConnection, int], Awaitable[None] | None],
    *,
    timeout_s: float | None = 1.0,
    max_bytes: int = MAX_BYTES,
) -> tuple[Any, list[PeerConnection]]:
    """Make one call to a peer that answers with `answer(connection, stream_id)`.

    Return the call's result (or its AioRpcError) and the peer's connections.
    """

    async def script(connection: PeerConnection) -> None:
        await connection.handshake()
        request = await connection.request()
        result = answer(connection, request.stream_id)
        if result is not None:
            await result
        await connection.drain()

    async with scripted_peer(script) as peer, h2c(peer.target, max_bytes=max_bytes) as channel:
        call = channel.unary("/test.Echo/Echo", b"ping", [], timeout_s)
        try:
            result: Any = await asyncio.wait_for(call, 3)
        except grpc.aio.AioRpcError as error:
            result = error
    return result, peer.connections


def _recording(seen: list[Request], calls: int) -> Callable[[PeerConnection], Awaitable[None]]:
    """Return a peer's script that answers `calls` requests with "ok", keeping each in `seen`."""

    async def script(connection: PeerConnection) -> None:
        await connection.handshake()
        for _ in range(calls):
            request = await connection.request()
            seen.append(request)
            connection.answer(request.stream_id, b"ok")
        await connection.drain()

    return script


async def test_the_request_is_a_well_formed_grpc_call() -> None:
    """Pseudo-headers, content-type, te, grpc-timeout and the framed message are on the wire."""
    seen: list[Request] = []
    async with scripted_peer(_recording(seen, 2)) as peer, h2c(peer.target) as channel:
        metadata = [("authorization", "Bearer t"), ("x-bin", b"\x01\x02")]
        await channel.unary("/test.Echo/Echo", b"hello", metadata, 0.5)
        await channel.unary("/test.Echo/Echo", b"again", [], None)
        preface = peer.connections[0].preface
    assert preface == f.PREFACE
    first, second = seen
    assert first.headers[":method"] == "POST"
    assert first.headers[":scheme"] == "http"
    assert first.headers[":path"] == "/test.Echo/Echo"
    assert first.headers[":authority"] == peer.target
    assert first.headers["content-type"] == "application/grpc"
    assert first.headers["te"] == "trailers"
    assert first.headers["grpc-timeout"] == "500000u"
    assert first.headers["authorization"] == "Bearer t"
    assert first.never_indexed == {"authorization"}
    assert first.headers["x-bin"] == "AQI="
    assert first.message == b"hello"
    assert (first.stream_id, second.stream_id) == (1, 3)
    assert "grpc-timeout" not in second.headers
    assert second.message == b"again"


async def test_recurring_metadata_is_sent_as_given_and_no_token_is_kept() -> None:
    """Fields the channel re-uses (address, agent) go out right each call; tokens never stay."""
    seen: list[Request] = []
    sent = [
        [("authorization", f"Bearer {token}"), ("x-request-id", rid), ("x-forwarded-for", ip)]
        for token, rid, ip in [
            ("first", "r1", "192.0.2.1"),
            ("second", "r2", "192.0.2.1"),
            ("first", "r3", "192.0.2.9"),
            ("third", "r4", "192.0.2.1"),
        ]
    ]
    async with scripted_peer(_recording(seen, len(sent))) as peer, h2c(peer.target) as channel:
        for metadata in sent:
            await channel.unary("/test.Echo/Echo", b"", list(metadata), None)
        kept = {key for key, _ in channel._fields}
    assert [[(k, r.headers[k]) for k, _ in metadata] for r in seen] == sent
    assert all(r.never_indexed == {"authorization"} for r in seen)
    assert kept == {"x-forwarded-for"}  # neither a token nor a request id


async def test_a_trailers_only_answer_carries_the_status() -> None:
    """One HEADERS with END_STREAM: its grpc-status and metadata are the trailers."""

    def answer(connection: PeerConnection, stream: int) -> None:
        head = [*OK_HEAD, ("grpc-status", "5"), ("grpc-message", "no%20such"), ("x-a", "1")]
        connection.send(connection.headers(stream, head, f.END_STREAM))

    error, _ = await _one_answer(answer)
    assert isinstance(error, grpc.aio.AioRpcError)
    assert error.code() is grpc.StatusCode.NOT_FOUND
    assert error.details() == "no such"
    assert list(error.initial_metadata()) == []
    assert error.trailing_metadata()["x-a"] == "1"


async def test_header_blocks_split_over_continuation_frames_are_joined() -> None:
    """HEADERS without END_HEADERS, then CONTINUATIONs: both blocks decode whole."""
    long_value = "v" * 40_000

    def answer(connection: PeerConnection, stream: int) -> None:
        head = connection.block([*OK_HEAD, ("x-long", long_value)])
        tail = connection.block([("grpc-status", "0"), ("x-end", "yes")])
        third = len(head) // 3
        connection.send(
            f.frame(f.HEADERS, 0, stream, head[:third]),
            f.frame(f.CONTINUATION, 0, stream, head[third : 2 * third]),
            f.frame(f.CONTINUATION, f.END_HEADERS, stream, head[2 * third :]),
            f.frame(f.DATA, 0, stream, grpc_message(b"joined")),
            f.frame(f.HEADERS, f.END_STREAM, stream, tail[:2]),
            f.frame(f.CONTINUATION, f.END_HEADERS, stream, tail[2:]),
        )

    (response, initial, trailing), _ = await _one_answer(answer)
    assert response == b"joined"
    assert dict(initial)["x-long"] == long_value
    assert dict(trailing)["x-end"] == "yes"


async def test_headers_past_hpacks_default_64_kib_limit_are_accepted() -> None:
    """A 100 KB trailer (say, big error details) is read, not a reason to drop the connection."""
    huge = "d" * 100_000

    def answer(connection: PeerConnection, stream: int) -> None:
        head = connection.block(OK_HEAD)
        tail = connection.block([("grpc-status", "0"), ("x-huge", huge)])
        connection.send(
            f.frame(f.HEADERS, f.END_HEADERS, stream, head),
            f.frame(f.DATA, 0, stream, grpc_message(b"big trailer")),
            *f.split_headers(stream, tail, f.END_STREAM, f.DEFAULT_MAX_FRAME),
        )

    # The peer's pure-Python HPACK encoder is slow on 100 KB: a generous deadline.
    (response, _, trailing), _ = await _one_answer(answer, timeout_s=15)
    assert response == b"big trailer"
    assert dict(trailing)["x-huge"] == huge


async def test_padded_data_and_headers_are_unpadded() -> None:
    """PADDED (and PRIORITY) flags are stripped before the payload is used."""

    def answer(connection: PeerConnection, stream: int) -> None:
        head = connection.block([*OK_HEAD, ("x-p", "padded")])
        priority = b"\x00\x00\x00\x00\x10"
        message = grpc_message(b"padded body")
        tail = connection.block([("grpc-status", "0")])
        connection.send(
            f.frame(
                f.HEADERS,
                f.END_HEADERS | f.PADDED | f.PRIORITY_FLAG,
                stream,
                b"\x07" + priority + head + b"\x00" * 7,
            ),
            f.frame(f.DATA, f.PADDED, stream, b"\x05" + message[:4] + b"\xee" * 5),
            f.frame(f.DATA, f.PADDED, stream, b"\x00" + message[4:]),
            f.frame(
                f.HEADERS,
                f.END_HEADERS | f.END_STREAM | f.PADDED,
                stream,
                b"\x03" + tail + b"\x00" * 3,
            ),
        )

    (response, initial, _), _ = await _one_answer(answer)
    assert response == b"padded body"
    assert dict(initial)["x-p"] == "padded"


async def test_a_server_ping_is_acknowledged_with_its_payload() -> None:
    """PING gets PING ACK with the same 8 bytes; the call goes on."""
    acks = []

    async def answer(connection: PeerConnection, stream: int) -> None:
        connection.send(f.frame(f.PING, 0, 0, b"\x01pingme\xff"))
        acks.append(await connection.read_until(f.PING, f.ACK))
        connection.answer(stream, b"pong")

    (response, _, _), _ = await _one_answer(answer)
    assert response == b"pong"
    assert acks == [(f.PING, f.ACK, 0, b"\x01pingme\xff")]


async def test_refused_stream_is_retried_once_transparently() -> None:
    """RST_STREAM REFUSED_STREAM: the call is sent again and the second answer comes back."""
    seen = []

    async def script(connection: PeerConnection) -> None:
        await connection.handshake()
        first = await connection.request()
        seen.append(first)
        await asyncio.sleep(0.1)  # time passes before the refusal: the retry has less left
        connection.send(f.rst_stream(first.stream_id, f.REFUSED_STREAM))
        second = await connection.request()
        seen.append(second)
        connection.answer(second.stream_id, b"second time")
        await connection.drain()

    async with scripted_peer(script) as peer, h2c(peer.target) as channel:
        response, _, _ = await channel.unary("/test.Echo/Echo", b"again", [], 1.0)
    assert response == b"second time"
    assert [r.message for r in seen] == [b"again", b"again"]
    assert seen[1].stream_id > seen[0].stream_id
    first, second = (int(r.headers["grpc-timeout"].rstrip("u")) for r in seen)
    assert first > 990_000
    assert second <= first - 90_000


async def test_calls_past_the_servers_stream_limit_wait_for_a_free_stream() -> None:
    """MAX_CONCURRENT_STREAMS 1: three calls at once go one after another, none refused."""
    open_at_once: list[int] = []

    async def script(connection: PeerConnection) -> None:
        await connection.handshake({f.MAX_CONCURRENT_STREAMS: 1})
        for _ in range(4):
            request = await connection.request()
            await asyncio.sleep(0.05)  # anything else the client sent meanwhile is in the buffer
            open_at_once.append(len(connection.reader._buffer))  # type: ignore[attr-defined]
            connection.answer(request.stream_id, b"re: " + request.message)
        await connection.drain()

    async with scripted_peer(script) as peer, h2c(peer.target) as channel:
        # The first call brings the server's SETTINGS (until then no limit is known).
        await channel.unary("/test.Echo/Echo", b"first", [], 2.0)
        calls = [channel.unary("/test.Echo/Echo", f"{n}".encode(), [], 2.0) for n in range(3)]
        answers = await asyncio.wait_for(asyncio.gather(*calls), 5)
        requests = [frame for frame in peer.connections[0].received if frame[0] == f.HEADERS]
    assert [answer[0] for answer in answers] == [b"re: 0", b"re: 1", b"re: 2"]
    assert [frame[2] for frame in requests] == [1, 3, 5, 7]
    assert open_at_once == [0, 0, 0, 0]  # no stream was opened before the one before ended
    assert len(peer.connections) == 1


async def test_a_call_waiting_for_a_stream_keeps_its_deadline() -> None:
    """The only stream is held: the waiting call fails DEADLINE_EXCEEDED, never sent."""
    held = asyncio.Event()

    async def script(connection: PeerConnection) -> None:
        await connection.handshake({f.MAX_CONCURRENT_STREAMS: 1})
        request = await connection.request()
        await held.wait()
        connection.answer(request.stream_id, b"late")
        await connection.drain()

    async with scripted_peer(script) as peer, h2c(peer.target) as channel:
        first = asyncio.ensure_future(channel.unary("/test.Echo/Echo", b"hold", [], 3.0))
        await asyncio.sleep(0.05)
        started = time.monotonic()
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await channel.unary("/test.Echo/Echo", b"waits", [], 0.2)
        waited = time.monotonic() - started
        held.set()
        assert (await first)[0] == b"late"
        requests = [frame for frame in peer.connections[0].received if frame[0] == f.HEADERS]
    assert caught.value.code() is grpc.StatusCode.DEADLINE_EXCEEDED
    assert 0.15 < waited < 1.0
    assert len(requests) == 1


async def test_refused_stream_twice_is_unavailable() -> None:
    """Only one transparent retry: a second REFUSED_STREAM fails the call UNAVAILABLE."""
    seen = []

    async def script(connection: PeerConnection) -> None:
        await connection.handshake()
        while True:
            request = await connection.request()
            seen.append(request)
            connection.send(f.rst_stream(request.stream_id, f.REFUSED_STREAM))

    async with scripted_peer(script) as peer, h2c(peer.target) as channel:
        error = await _error(channel.unary("/test.Echo/Echo", b"x", [], 1.0))
    assert error.code() is grpc.StatusCode.UNAVAILABLE
    assert len(seen) == 2


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (f.CANCEL, grpc.StatusCode.CANCELLED),
        (f.ENHANCE_YOUR_CALM, grpc.StatusCode.RESOURCE_EXHAUSTED),
        (f.PROTOCOL_ERROR, grpc.StatusCode.INTERNAL),
    ],
)
async def test_other_stream_resets_map_to_grpc_codes(code: int, expected: grpc.StatusCode) -> None:
    """RST_STREAM codes map as grpc's HTTP/2 error table says, and are not retried."""

    def answer(connection: PeerConnection, stream: int) -> None:
        connection.send(f.rst_stream(stream, code))

    error, connections = await _one_answer(answer)
    assert isinstance(error, grpc.aio.AioRpcError)
    assert error.code() is expected
    assert len(connections) == 1


async def test_goaway_below_the_stream_retries_on_a_new_connection() -> None:
    """GOAWAY with a last stream id under ours: the call went unseen; a new connection gets it."""
    hung_up = asyncio.Event()

    async def script(connection: PeerConnection) -> None:
        await connection.handshake()
        request = await connection.request()
        if connection.index == 0:
            connection.send(f.frame(f.GOAWAY, 0, 0, (0).to_bytes(4, "big") + bytes(4)))
            await connection.drain()
            hung_up.set()
        else:
            connection.answer(request.stream_id, b"from connection 1")
            await connection.drain()

    async with scripted_peer(script) as peer, h2c(peer.target) as channel:
        response, _, _ = await channel.unary("/test.Echo/Echo", b"x", [], 1.0)
        assert response == b"from connection 1"
        assert len(peer.connections) == 2
        # The first connection is closed by us once nothing is left on it.
        await asyncio.wait_for(hung_up.wait(), 1)


async def test_goaway_above_the_stream_lets_it_finish_and_new_calls_go_elsewhere() -> None:
    """A stream the GOAWAY covers completes; the next call opens another connection."""

    async def script(connection: PeerConnection) -> None:
        await connection.handshake()
        request = await connection.request()
        if connection.index == 0:
            last = request.stream_id.to_bytes(4, "big")
            connection.send(f.frame(f.GOAWAY, 0, 0, last + bytes(4)))
            await asyncio.sleep(0.02)
        connection.answer(request.stream_id, f"on {connection.index}".encode())
        await connection.drain()

    async with scripted_peer(script) as peer, h2c(peer.target) as channel:
        first, _, _ = await channel.unary("/test.Echo/Echo", b"x", [], 1.0)
        second, _, _ = await channel.unary("/test.Echo/Echo", b"x", [], 1.0)
    assert (first, second) == (b"on 0", b"on 1")


async def test_http_503_without_grpc_status_is_unavailable() -> None:
    """An HTTP error (a proxy's, say) maps by grpc's HTTP-to-gRPC table."""

    def answer(connection: PeerConnection, stream: int) -> None:
        connection.send(
            connection.headers(stream, [(":status", "503"), ("content-type", "text/plain")]),
            f.frame(f.DATA, f.END_STREAM, stream, b"service unavailable"),
        )

    error, _ = await _one_answer(answer)
    assert isinstance(error, grpc.aio.AioRpcError)
    assert error.code() is grpc.StatusCode.UNAVAILABLE
    assert "503" in error.details()


async def test_a_missing_grpc_status_is_unknown() -> None:
    """A 200 answer whose trailers carry no grpc-status fails UNKNOWN."""

    def answer(connection: PeerConnection, stream: int) -> None:
        connection.send(
            connection.headers(stream, OK_HEAD),
            f.frame(f.DATA, 0, stream, grpc_message(b"body")),
            connection.headers(stream, [("x-other", "1")], f.END_STREAM),
        )

    error, _ = await _one_answer(answer)
    assert isinstance(error, grpc.aio.AioRpcError)
    assert error.code() is grpc.StatusCode.UNKNOWN


@pytest.mark.parametrize(
    "body",
    [
        b"",  # no message at all
        b"\x00\x00\x00",  # a cut prefix
        grpc_message(b"one") + grpc_message(b"two"),  # two messages
        grpc_message(b"short")[:-1],  # a prefix longer than the body
    ],
    ids=["none", "cut-prefix", "two", "short"],
)
async def test_an_answer_that_is_not_exactly_one_message_is_internal(body: bytes) -> None:
    """A unary answer must be one length-prefixed message."""

    def answer(connection: PeerConnection, stream: int) -> None:
        connection.send(
            connection.headers(stream, OK_HEAD),
            f.frame(f.DATA, 0, stream, body),
            connection.headers(stream, [("grpc-status", "0")], f.END_STREAM),
        )

    error, _ = await _one_answer(answer)
    assert isinstance(error, grpc.aio.AioRpcError)
    assert error.code() is grpc.StatusCode.INTERNAL


@pytest.mark.parametrize(
    ("encoding", "compress"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
    ],
)
async def test_compressed_answers_are_decoded(
    encoding: str, compress: Callable[[bytes], bytes]
) -> None:
    """gzip and deflate, the encodings we offer, are inflated."""
    plain = b"compress me " * 1000

    def answer(connection: PeerConnection, stream: int) -> None:
        connection.send(
            connection.headers(stream, [*OK_HEAD, ("grpc-encoding", encoding)]),
            f.frame(f.DATA, 0, stream, grpc_message(compress(plain), compressed=True)),
            connection.headers(stream, [("grpc-status", "0")], f.END_STREAM),
        )

    (response, initial, _), _ = await _one_answer(answer)
    assert response == plain
    assert "grpc-encoding" not in initial


@pytest.mark.parametrize(
    ("encoding", "body", "expected"),
    [
        ("snappy", b"whatever", grpc.StatusCode.INTERNAL),  # not offered
        ("gzip", b"not gzip at all", grpc.StatusCode.INTERNAL),  # corrupt
        ("gzip", gzip.compress(b"cut short " * 100)[:-12], grpc.StatusCode.INTERNAL),  # cut
        ("gzip", gzip.compress(bytes(4 * MiB)), grpc.StatusCode.RESOURCE_EXHAUSTED),  # a bomb
    ],
    ids=["unoffered", "corrupt", "truncated", "over-limit"],
)
async def test_bad_compressed_answers_fail(
    encoding: str, body: bytes, expected: grpc.StatusCode
) -> None:
    """An unoffered encoding or a corrupt body is INTERNAL; inflating past the limit is not done."""

    def answer(connection: PeerConnection, stream: int) -> None:
        connection.send(
            connection.headers(stream, [*OK_HEAD, ("grpc-encoding", encoding)]),
            f.frame(f.DATA, 0, stream, grpc_message(body, compressed=True)),
            connection.headers(stream, [("grpc-status", "0")], f.END_STREAM),
        )

    error, _ = await _one_answer(answer, max_bytes=MiB)
    assert isinstance(error, grpc.aio.AioRpcError)
    assert error.code() is expected


async def test_a_response_over_the_limit_resets_the_stream() -> None:
    """The client stops reading an oversized answer: RST_STREAM CANCEL, RESOURCE_EXHAUSTED."""
    resets = []

    async def answer(connection: PeerConnection, stream: int) -> None:
        connection.send(connection.headers(stream, OK_HEAD))
        chunk = b"z" * 16_000
        connection.send(f.frame(f.DATA, 0, stream, grpc_message(chunk * 4)[:16_000]))
        for _ in range(3):
            connection.send(f.frame(f.DATA, 0, stream, chunk))
        resets.append(await connection.read_until(f.RST_STREAM))

    error, _ = await _one_answer(answer, max_bytes=40_000)
    assert isinstance(error, grpc.aio.AioRpcError)
    assert error.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert resets == [(f.RST_STREAM, 0, 1, f.CANCEL.to_bytes(4, "big"))]


async def test_garbage_from_the_peer_fails_the_call_instead_of_hanging() -> None:
    """An HTTP/1.1 answer to our preface is no HTTP/2: the call fails at once, not at a deadline."""

    async def script(connection: PeerConnection) -> None:
        await connection.reader.readexactly(len(f.PREFACE))
        connection.send(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        await connection.drain()

    async with scripted_peer(script) as peer, h2c(peer.target) as channel:
        started = time.monotonic()
        error = await _error(channel.unary("/test.Echo/Echo", b"x", [], None))
        assert error.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.INTERNAL)
        assert time.monotonic() - started < 1


async def test_an_undecodable_header_block_fails_the_call() -> None:
    """HPACK that does not decode breaks the connection: the call fails UNAVAILABLE."""

    def answer(connection: PeerConnection, stream: int) -> None:
        connection.send(f.frame(f.HEADERS, f.END_HEADERS, stream, b"\xff\xff\xff\xff\xff\xff"))

    error, connections = await _one_answer(answer, timeout_s=None)
    assert isinstance(error, grpc.aio.AioRpcError)
    assert error.code() is grpc.StatusCode.UNAVAILABLE
    goaways = [frame for frame in connections[0].received if frame[0] == f.GOAWAY]
    assert goaways
    assert goaways[0][3][4:8] == f.PROTOCOL_ERROR.to_bytes(4, "big")


async def test_the_peer_closing_mid_call_is_unavailable() -> None:
    """The socket closing under an open stream fails that call UNAVAILABLE."""

    async def answer(connection: PeerConnection, stream: int) -> None:
        connection.send(connection.headers(stream, OK_HEAD))
        await connection.writer.drain()
        connection.writer.close()

    error, _ = await _one_answer(answer, timeout_s=None)
    assert isinstance(error, grpc.aio.AioRpcError)
    assert error.code() is grpc.StatusCode.UNAVAILABLE


async def test_a_peer_that_closes_on_accept_fails_the_call_instead_of_hanging() -> None:
    """A connection that dies before the call starts on it is not waited on forever."""

    async def script(connection: PeerConnection) -> None:
        connection.writer.close()

    async with scripted_peer(script) as peer, h2c(peer.target) as channel:
        started = time.monotonic()
        error = await _error(channel.unary("/test.Echo/Echo", b"x", [], None))
        assert error.code() is grpc.StatusCode.UNAVAILABLE
        assert time.monotonic() - started < 1


@pytest.mark.parametrize(
    "greeting",
    [
        f.settings({}) + f.frame(f.GOAWAY, 0, 0, bytes(8)),  # going away at once
        f.frame(f.SETTINGS, 0, 0, bytes(5)),  # a broken SETTINGS: we abort the connection
    ],
    ids=["goaway", "broken"],
)
async def test_on_uvloop_a_connection_gone_before_the_call_starts_fails_it(greeting: bytes) -> None:
    """uvloop reads a new connection before its waiters resume: calls must not start on it."""

    async def script(connection: PeerConnection) -> None:
        connection.send(greeting)
        await connection.drain()

    async def scenario() -> list[Any]:
        async with scripted_peer(script) as peer, h2c(peer.target) as channel:
            calls = [channel.unary("/test.Echo/Echo", b"x", [], None) for _ in range(5)]
            results = await asyncio.wait_for(asyncio.gather(*calls, return_exceptions=True), 2)
        return [getattr(r, "code", lambda r=r: r)() for r in results]

    codes = await asyncio.to_thread(uvloop.run, scenario())
    assert codes == [grpc.StatusCode.UNAVAILABLE] * 5


async def test_a_silent_peer_gives_deadline_exceeded_and_a_reset() -> None:
    """No answer at all: DEADLINE_EXCEEDED on time, and the stream is reset with CANCEL."""
    resets = []

    async def answer(connection: PeerConnection, stream: int) -> None:
        resets.append(await connection.read_until(f.RST_STREAM))

    started = time.monotonic()
    error, _ = await _one_answer(answer, timeout_s=0.2)
    assert isinstance(error, grpc.aio.AioRpcError)
    assert error.code() is grpc.StatusCode.DEADLINE_EXCEEDED
    assert time.monotonic() - started < 0.5
    assert resets == [(f.RST_STREAM, 0, 1, f.CANCEL.to_bytes(4, "big"))]


async def test_a_late_answer_to_a_reset_stream_keeps_hpack_in_step() -> None:
    """Headers for a stream we gave up on are still decoded, so later blocks still make sense."""

    async def script(connection: PeerConnection) -> None:
        await connection.handshake()
        first = await connection.request()
        await connection.read_until(f.RST_STREAM)
        # The encoder indexes these: the next answer refers to them by dynamic table index.
        meta = [("x-dynamic", "indexed value")]
        connection.answer(first.stream_id, b"too late", initial=meta, trailers=meta)
        second = await connection.request()
        connection.answer(second.stream_id, b"in time", initial=meta, trailers=meta)
        await connection.drain()

    async with scripted_peer(script) as peer, h2c(peer.target) as channel:
        error = await _error(channel.unary("/test.Echo/Echo", b"1", [], 0.1))
        assert error.code() is grpc.StatusCode.DEADLINE_EXCEEDED
        response, initial, trailing = await channel.unary("/test.Echo/Echo", b"2", [], 1.0)
    assert response == b"in time"
    assert dict(initial)["x-dynamic"] == dict(trailing)["x-dynamic"] == "indexed value"


async def test_the_request_respects_the_peers_windows_and_frame_size() -> None:
    """A small peer window: never more DATA than granted, no frame over 16 KiB, all of it sent."""
    request = bytes(range(256)) * 800  # 204,800 bytes, over the 65,535 connection window
    report: dict[str, Any] = {"overshoot": 0, "biggest": 0}

    async def script(connection: PeerConnection) -> None:
        await connection.handshake({f.INITIAL_WINDOW_SIZE: 10_000})
        connection_window = f.DEFAULT_WINDOW
        windows: dict[int, int] = {}
        data: dict[int, bytearray] = {}
        while True:
            kind, flags, sid, payload = await connection.read_frame()
            if kind == f.HEADERS:
                windows[sid], data[sid] = 10_000, bytearray()
            if kind != f.DATA:
                continue
            windows[sid] -= len(payload)
            connection_window -= len(payload)
            report["overshoot"] = min(report["overshoot"], windows[sid], connection_window)
            report["biggest"] = max(report["biggest"], len(payload))
            data[sid] += payload
            if flags & f.END_STREAM:
                connection.answer(sid, str(len(data[sid]) - 5).encode())
            else:  # grant a little at a time, on the stream and on the connection
                windows[sid] += len(payload)
                connection.send(f.window_update(sid, len(payload)))
            connection_window += len(payload)
            connection.send(f.window_update(0, len(payload)))

    async with scripted_peer(script) as peer, h2c(peer.target) as channel:
        # The first call makes sure our SETTINGS arrived before the big request starts.
        warm, _, _ = await channel.unary("/test.Echo/Echo", b"warm", [], 2.0)
        response, _, _ = await channel.unary("/test.Echo/Echo", request, [], 2.0)
    assert (warm, response) == (b"4", str(len(request)).encode())
    assert report == {"overshoot": 0, "biggest": 10_000}


async def test_a_header_block_over_the_frame_size_goes_out_in_continuations() -> None:
    """Metadata over 16 KiB is split into HEADERS and CONTINUATION frames that join back."""
    value = "m" * 40_000
    seen = []

    async def script(connection: PeerConnection) -> None:
        await connection.handshake()
        request = await connection.request()
        seen.append(request)
        connection.answer(request.stream_id, b"ok")
        await connection.drain()

    async with scripted_peer(script) as peer, h2c(peer.target) as channel:
        await channel.unary("/test.Echo/Echo", b"x", [("x-huge", value)], 1.0)
        kinds = [frame[0] for frame in peer.connections[0].received]
    assert seen[0].headers["x-huge"] == value
    assert kinds.count(f.CONTINUATION) >= 2
    assert all(len(frame[3]) <= f.DEFAULT_MAX_FRAME for frame in peer.connections[0].received)


# --- pure functions ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "parts"),
    [
        ("127.0.0.1:50051", ("127.0.0.1", 50051, None)),
        ("backend.internal:8080", ("backend.internal", 8080, None)),
        ("dns:///backend:443", ("backend", 443, None)),
        ("[::1]:50051", ("::1", 50051, None)),
        ("dns:///[::1]:7", ("::1", 7, None)),
        ("unix:relative/path.sock", (None, None, "relative/path.sock")),
        ("unix:/abs/path.sock", (None, None, "/abs/path.sock")),
        ("unix:///abs/path.sock", (None, None, "/abs/path.sock")),
    ],
)
def test_parse_target_splits_supported_targets(
    target: str, parts: tuple[str | None, int | None, str | None]
) -> None:
    """host:port, dns:///, bracketed IPv6 and unix: forms split into host, port and path."""
    assert parse_target(target) == parts
    assert H2cChannel.supports(target)


@pytest.mark.parametrize(
    "target", ["host", "a/b:1", "host:", ":50051", "host:port", "dns://authority/host:1"]
)
def test_parse_target_rejects_what_it_cannot_reach(target: str) -> None:
    """A target without a numeric port, or with a path, is refused."""
    with pytest.raises(ValueError, match="host:port"):
        parse_target(target)
    assert not H2cChannel.supports(target)


@pytest.mark.parametrize(
    ("seconds", "encoded"),
    [
        (0.5, b"500000u"),
        (30, b"30000000u"),
        (0.000_000_1, b"1u"),
        (0, b"1u"),
        (99.9, b"99900000u"),
        (100, b"100000m"),
        (3600, b"3600000m"),
        (100_000, b"100000S"),
        (100_000_000, b"1666667M"),
        (10**12, b"99999999H"),
    ],
)
def test_grpc_timeout_encodes_with_at_most_eight_digits(seconds: float, encoded: bytes) -> None:
    """Microseconds while they fit in 8 digits, then coarser units, rounded up."""
    assert grpc_timeout(seconds) == encoded


def test_grpc_timeout_never_exceeds_eight_digits_nor_shortens_the_timeout() -> None:
    """Across the units' borders the value stays 8 digits or fewer and at least the timeout."""
    units = {b"u": 1e-6, b"m": 1e-3, b"S": 1.0, b"M": 60.0, b"H": 3600.0}
    borders = [1e8 * 1e-6, 1e8 * 1e-3, 1e8, 1e8 * 60]
    for border in borders:
        for delta in (-1.5e-6, -1e-6, -5e-7, -1e-9, 0, 1e-9, 5e-7, 1e-3, 0.5, 1):
            for scale in (1, 1 - 1e-9, 1 - 1e-12):
                seconds = border * scale + delta
                value = grpc_timeout(seconds)
                digits, unit = value[:-1], value[-1:]
                assert digits.isdigit(), (seconds, value)
                assert 1 <= len(digits) <= 8, (seconds, value)
                assert int(digits) * units[unit] >= seconds - 1e-6, (seconds, value)
