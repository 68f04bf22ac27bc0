"""A scripted raw HTTP/2 server, for the protocol edge cases a real gRPC server never produces."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import hpack

from gateway.h2c import frames as f

Frame = tuple[int, int, int, bytes]  # type, flags, stream id, payload


@dataclass
class Request:
    """One call as the peer received it."""

    stream_id: int
    headers: dict[str, str]
    message: bytes  # the gRPC message, without its 5-byte prefix
    never_indexed: set[str]  # the names the client marked sensitive


@dataclass
class PeerConnection:
    """One accepted connection: read the client's frames, answer with frames built by hand."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    index: int
    encoder: hpack.Encoder = field(default_factory=hpack.Encoder)
    decoder: hpack.Decoder = field(default_factory=hpack.Decoder)
    received: list[Frame] = field(default_factory=list)
    preface: bytes = b""

    async def handshake(self, values: dict[int, int] | None = None) -> None:
        """Read the client preface and send our SETTINGS (and nothing else)."""
        self.preface = await self.reader.readexactly(len(f.PREFACE))
        self.send(f.settings(values or {}))

    async def read_frame(self) -> Frame:
        """Return the next frame from the client (EOF raises IncompleteReadError)."""
        head = await self.reader.readexactly(9)
        length, kind, flags, stream_id = f.parse_head(head, 0)
        payload = await self.reader.readexactly(length)
        frame = (kind, flags, stream_id, payload)
        self.received.append(frame)
        if kind == f.SETTINGS and not flags & f.ACK:
            self.send(f.frame(f.SETTINGS, f.ACK, 0))
        return frame

    async def drain(self) -> None:
        """Read (and record) frames until the client hangs up."""
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                await self.read_frame()

    async def read_until(self, kind: int, flags: int = 0) -> Frame:
        """Skip frames until one of `kind` with every bit of `flags` set."""
        while True:
            frame = await self.read_frame()
            if frame[0] == kind and frame[1] & flags == flags:
                return frame

    async def request(self) -> Request:
        """Read one whole call: its header block and its message, up to END_STREAM."""
        block = bytearray()
        stream_id = 0
        while True:
            kind, flags, sid, payload = await self.read_frame()
            if kind in (f.HEADERS, f.CONTINUATION):
                stream_id = sid
                block += payload
                if flags & f.END_HEADERS:
                    break
        fields = self.decoder.decode(bytes(block))
        headers = {name: value for name, value in fields}
        never_indexed = {field[0] for field in fields if not field.indexable}
        data = bytearray()
        while True:
            kind, flags, sid, payload = await self.read_frame()
            if kind == f.DATA and sid == stream_id:
                data += payload
                if flags & f.END_STREAM:
                    break
        return Request(stream_id, headers, bytes(data[5:]), never_indexed)

    def send(self, *frames: bytes) -> None:
        """Write frames (or any bytes) to the client."""
        self.writer.write(b"".join(frames))

    def block(self, headers: list[tuple[str, str]]) -> bytes:
        """Return an HPACK header block (Huffman, dynamic table: the client must keep up)."""
        return self.encoder.encode(headers)

    def headers(self, stream_id: int, headers: list[tuple[str, str]], flags: int = 0) -> bytes:
        """Return one HEADERS frame with END_HEADERS."""
        return f.frame(f.HEADERS, flags | f.END_HEADERS, stream_id, self.block(headers))

    def answer(
        self,
        stream_id: int,
        message: bytes,
        *,
        status: str = "0",
        initial: list[tuple[str, str]] | None = None,
        trailers: list[tuple[str, str]] | None = None,
    ) -> None:
        """Send a whole gRPC answer: headers, one message, trailers."""
        head = [(":status", "200"), ("content-type", "application/grpc"), *(initial or [])]
        tail = [("grpc-status", status), *(trailers or [])]
        self.send(
            self.headers(stream_id, head),
            f.frame(f.DATA, 0, stream_id, grpc_message(message)),
            self.headers(stream_id, tail, f.END_STREAM),
        )


def grpc_message(body: bytes, compressed: bool = False) -> bytes:
    """Return `body` with gRPC's length prefix."""
    return bytes((int(compressed),)) + len(body).to_bytes(4, "big") + body


Script = Callable[[PeerConnection], Awaitable[None]]


@dataclass
class Peer:
    """A listening scripted peer and every connection it accepted."""

    server: asyncio.Server
    port: int
    connections: list[PeerConnection]

    @property
    def target(self) -> str:
        """Return 127.0.0.1:PORT."""
        return f"127.0.0.1:{self.port}"


@contextlib.asynccontextmanager
async def scripted_peer(script: Script) -> AsyncIterator[Peer]:
    """Serve on 127.0.0.1, port 0, running `script` on each connection; closed on exit."""
    connections: list[PeerConnection] = []
    tasks: set[asyncio.Task[None]] = set()

    async def run(connection: PeerConnection) -> None:
        try:
            await script(connection)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the client went away: the script had nothing more to do
        finally:
            connection.writer.close()

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connection = PeerConnection(reader, writer, len(connections))
        connections.append(connection)
        task = asyncio.current_task()
        assert task is not None
        tasks.add(task)
        try:
            await run(connection)
        finally:
            tasks.discard(task)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield Peer(server, port, connections)
    finally:
        server.close()
        # Hanging up ends every script's reads; cancelling an accept task instead makes
        # Python 3.11's asyncio log an error for it.
        for connection in connections:
            connection.writer.close()
        if tasks:
            _, stuck = await asyncio.wait(tasks, timeout=1)
            for task in stuck:
                task.cancel()
        await server.wait_closed()
