"""One HTTP/2 connection to a gRPC server, multiplexing unary calls on the event loop."""

from __future__ import annotations

import asyncio
import logging
from typing import cast

import grpc

from gateway.h2c import frames as f
from gateway.h2c.headerblock import HeaderBlockError, HeaderDecoder
from gateway.h2c.streams import CONNECTION_LOST, Headers, Stream, StreamReset, rpc_error

log = logging.getLogger(__name__)

# Our receive windows: as large as HTTP/2 allows, so the peer never waits on us; every message
# is bounded by the call's own size limit instead.
_RECEIVE_WINDOW = f.MAX_WINDOW
_REPLENISH_AT = 1 << 30
_MAX_HEADER_BLOCK = 1 << 20


class Connection(asyncio.Protocol):
    """An HTTP/2 client connection: frames in, header blocks decoded, calls completed."""

    def __init__(self, max_message_bytes: int) -> None:
        self.max_message_bytes = max_message_bytes
        self.transport: asyncio.Transport | None = None
        # Its loop, once connected: asking asyncio for the running loop costs a getpid() call.
        self.loop: asyncio.AbstractEventLoop | None = None
        self.streams: dict[int, Stream] = {}
        self.next_id = 1
        self.closed = False
        self.goaway = False
        self._buffer = bytearray()
        # As large as the header blocks we join (1 MiB): big error details must not kill it.
        self._decoder = HeaderDecoder(max_list_bytes=_MAX_HEADER_BLOCK)
        self._window = f.DEFAULT_WINDOW  # what the peer lets us send on the connection
        self._initial_window = f.DEFAULT_WINDOW
        self._max_frame = f.DEFAULT_MAX_FRAME
        self._max_streams = 2**31
        self._unacked = 0  # bytes received since our last connection WINDOW_UPDATE
        self._continuing: Stream | None = None
        self._outgoing: list[bytes] = []  # frames of this turn of the event loop (_write)
        # Streams whose message waits for window, oldest first: a WINDOW_UPDATE looks at these
        # alone, not at every open stream.
        self._blocked: dict[int, Stream] = {}

    # --- asyncio.Protocol ---------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Send the preface, our settings and the connection window."""
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self.transport = cast(asyncio.Transport, transport)
        self.loop = asyncio.get_running_loop()
        ours = {f.ENABLE_PUSH: 0, f.INITIAL_WINDOW_SIZE: _RECEIVE_WINDOW}
        raise_window = f.window_update(0, _RECEIVE_WINDOW - f.DEFAULT_WINDOW)
        self.transport.write(f.PREFACE + f.settings(ours) + raise_window)

    def connection_lost(self, exc: Exception | None) -> None:
        """Fail every call still open."""
        self.closed = True
        reason = f"the connection to the server was lost: {exc or 'closed by the peer'}"
        for stream in list(self.streams.values()):
            self._fail(stream, StreamReset(CONNECTION_LOST, reason))
        self.streams.clear()

    def data_received(self, data: bytes) -> None:
        """Parse every whole frame received so far."""
        buffer = self._buffer
        buffer += data
        offset, size = 0, len(buffer)
        try:
            while size - offset >= 9:
                length, kind, flags, stream_id = f.parse_head(buffer, offset)
                if length > f.DEFAULT_MAX_FRAME:  # we never allow more (RFC 9113 §4.2)
                    raise f.ProtocolError(f"a frame of {length} bytes (not HTTP/2?)")
                end = offset + 9 + length
                if end > size:
                    break
                self._frame(kind, flags, stream_id, bytes(buffer[offset + 9 : end]))
                offset = end
        except f.ProtocolError as error:
            self.abort(f.PROTOCOL_ERROR, str(error))
            return
        del buffer[:offset]

    # --- calls --------------------------------------------------------------------------------

    @property
    def usable(self) -> bool:
        """Whether a new call may start here."""
        return not (self.closed or self.goaway) and self.next_id < 2**31 - 1

    @property
    def full(self) -> bool:
        """Whether the peer's limit on concurrent streams is reached."""
        return len(self.streams) >= self._max_streams

    def start(self, block: bytes, message: bytes, *, end: bool = True) -> Stream:
        """Open a stream: send the header block and the framed message, as window allows.

        With `end` False the request stays open for `send` to add to.
        """
        assert self.transport is not None
        assert self.loop is not None
        stream = Stream(
            self.next_id,
            self.loop.create_future(),
            self.max_message_bytes + 5,
            window=self._initial_window,
            closing=end,
        )
        if not self.usable or self.transport.is_closing():
            # It went away while the call waited for it to open: never sent, so safe to resend.
            gone = "the connection to the server was lost before the call started"
            self._fail(stream, StreamReset(f.REFUSED_STREAM, gone, unprocessed=True))
            return stream
        self.next_id += 2
        self.streams[stream.id] = stream
        out = f.split_headers(stream.id, block, 0, self._max_frame)
        stream.unsent = memoryview(message)
        self._send_data(stream, out)
        self._write(b"".join(out))
        return stream

    def send(self, stream: Stream, data: bytes, *, end: bool) -> None:
        """Add to an open request stream (and end it with `end`), as window allows."""
        if self.streams.get(stream.id) is not stream or self.closed:
            return  # answered, reset or lost: its outcome says which
        assert self.transport is not None
        rest = bytes(stream.unsent) if stream.unsent is not None else b""
        stream.unsent, stream.closing = memoryview(rest + data), end
        out: list[bytes] = []
        self._send_data(stream, out)
        if out:
            self._write(b"".join(out))

    def cancel(self, stream: Stream, code: int = f.CANCEL) -> None:
        """Reset a stream the caller gave up on."""
        if self.streams.pop(stream.id, None) is not None and not self.closed:
            self._write(f.rst_stream(stream.id, code))
        self._maybe_close()

    def abort(self, code: int, message: str) -> None:
        """Close the connection after telling the peer why."""
        if self.transport is not None and not self.closed:
            last = max(self.streams, default=0)
            payload = last.to_bytes(4, "big") + code.to_bytes(4, "big") + message.encode()[:256]
            self._write(f.frame(f.GOAWAY, 0, 0, payload))
            self._write_out()
            self.transport.close()
        log.warning("HTTP/2 connection to the backend closed: %s", message)
        self.connection_lost(ConnectionError(message))

    def _send_data(self, stream: Stream, out: list[bytes]) -> None:
        """Queue as much of the stream's message as both windows allow."""
        view = stream.unsent
        assert view is not None
        while view or stream.closing:
            size = min(len(view), self._max_frame, stream.window, self._window)
            if size <= 0 and view:
                stream.unsent = view
                self._blocked[stream.id] = stream
                return
            last = size == len(view)
            flags = f.END_STREAM if last and stream.closing else 0
            out.append(f.frame(f.DATA, flags, stream.id, bytes(view[:size])))
            stream.window -= size
            self._window -= size
            view = view[size:]
            if last:
                break
        stream.unsent = None
        if stream.drained is not None and not stream.drained.done():
            stream.drained.set_result(None)

    # --- frames in ----------------------------------------------------------------------------

    def _frame(self, kind: int, flags: int, stream_id: int, payload: bytes) -> None:
        if self._continuing is not None and kind != f.CONTINUATION:
            raise f.ProtocolError("a header block was interrupted")
        if kind == f.DATA:
            self._data(flags, stream_id, payload)
        elif kind == f.HEADERS:
            self._headers(flags, stream_id, payload)
        elif kind == f.CONTINUATION:
            self._continuation(flags, stream_id, payload)
        elif kind == f.RST_STREAM:
            self._reset(stream_id, payload)
        elif kind == f.SETTINGS:
            self._settings(flags, payload)
        elif kind == f.PING:
            if not flags & f.ACK:
                self._write(f.frame(f.PING, f.ACK, 0, payload))
        elif kind == f.GOAWAY:
            self._goaway(payload)
        elif kind == f.WINDOW_UPDATE:
            self._window_update(stream_id, payload)
        elif kind == f.PUSH_PROMISE:
            raise f.ProtocolError("server push was disabled")
        # PRIORITY and unknown types carry nothing a client must act on (RFC 9113 §5.5).

    def _data(self, flags: int, stream_id: int, payload: bytes) -> None:
        self._unacked += len(payload)
        if self._unacked >= _REPLENISH_AT:
            self._write(f.window_update(0, self._unacked))
            self._unacked = 0
        stream = self.streams.get(stream_id)
        if stream is None:
            return  # a stream we reset; its window is gone with it
        if stream.headers is None:
            raise f.ProtocolError("DATA before HEADERS")
        stream.data += f.unpad(flags, payload)
        if len(stream.data) > stream.limit:
            self.cancel(stream)
            too_big = "the response exceeds the message size limit"
            self._fail(stream, rpc_error(grpc.StatusCode.RESOURCE_EXHAUSTED, too_big))
            return
        if flags & f.END_STREAM:
            self._finish(stream)

    def _headers(self, flags: int, stream_id: int, payload: bytes) -> None:
        payload = f.unpad(flags, payload)
        if flags & f.PRIORITY_FLAG:
            payload = payload[5:]
        stream = self.streams.get(stream_id) or Stream(stream_id, None, 0)
        if not flags & f.END_HEADERS:
            stream.block = bytearray(payload)
            stream.block_ends_stream = bool(flags & f.END_STREAM)
            self._continuing = stream
            return
        self._header_block(stream, payload, bool(flags & f.END_STREAM))

    def _continuation(self, flags: int, stream_id: int, payload: bytes) -> None:
        stream = self._continuing
        if stream is None or stream.id != stream_id or stream.block is None:
            raise f.ProtocolError("CONTINUATION without its HEADERS")
        stream.block += payload
        if len(stream.block) > _MAX_HEADER_BLOCK:
            raise f.ProtocolError("a header block over 1 MiB")
        if flags & f.END_HEADERS:
            self._continuing = None
            block, stream.block = bytes(stream.block), None
            self._header_block(stream, block, stream.block_ends_stream)

    def _header_block(self, stream: Stream, block: bytes, ends_stream: bool) -> None:
        try:
            # Every block is decoded, even for reset streams: the dynamic table must stay in step.
            headers: Headers = self._decoder.decode(block)
        except HeaderBlockError as error:
            raise f.ProtocolError(f"undecodable header block: {error}") from None
        if stream.id not in self.streams:
            return
        if stream.headers is None:
            stream.headers = headers
        elif ends_stream:
            stream.trailers = headers
        else:
            raise f.ProtocolError("a second header block that does not end the stream")
        if ends_stream:
            self._finish(stream)

    def _reset(self, stream_id: int, payload: bytes) -> None:
        if len(payload) != 4:
            raise f.ProtocolError("RST_STREAM of the wrong size")
        stream = self.streams.pop(stream_id, None)
        if stream is not None:
            code = int.from_bytes(payload, "big")
            refused = code == f.REFUSED_STREAM
            message = f"the server reset the stream (HTTP/2 error {code})"
            self._fail(stream, StreamReset(code, message, unprocessed=refused))
            self._maybe_close()

    def _settings(self, flags: int, payload: bytes) -> None:
        if flags & f.ACK:
            return
        for key, value in f.parse_settings(payload):
            if key == f.INITIAL_WINDOW_SIZE:
                if value > f.MAX_WINDOW:
                    raise f.ProtocolError("initial window over 2^31-1")
                delta, self._initial_window = value - self._initial_window, value
                for stream in self.streams.values():
                    stream.window += delta
            elif key == f.MAX_FRAME_SIZE:
                if not f.DEFAULT_MAX_FRAME <= value <= 2**24 - 1:
                    raise f.ProtocolError("max frame size out of range")
                self._max_frame = value
            elif key == f.MAX_CONCURRENT_STREAMS:
                self._max_streams = value
        self._write(f.frame(f.SETTINGS, f.ACK, 0))
        self._flush()

    def _goaway(self, payload: bytes) -> None:
        if len(payload) < 8:
            raise f.ProtocolError("GOAWAY too short")
        last = int.from_bytes(payload[:4], "big") & 0x7FFFFFFF
        self.goaway = True
        for stream_id in [s for s in self.streams if s > last]:
            stream = self.streams.pop(stream_id)
            gone = StreamReset(f.REFUSED_STREAM, "the server is going away", unprocessed=True)
            self._fail(stream, gone)
        self._maybe_close()

    def _window_update(self, stream_id: int, payload: bytes) -> None:
        if len(payload) != 4:
            raise f.ProtocolError("WINDOW_UPDATE of the wrong size")
        increment = int.from_bytes(payload, "big") & 0x7FFFFFFF
        if stream_id == 0:
            self._window += increment
        elif (stream := self.streams.get(stream_id)) is not None:
            stream.window += increment
        self._flush()

    # --- completion ---------------------------------------------------------------------------

    def _flush(self) -> None:
        """Send what waited for window, oldest stream first."""
        if not self._blocked:
            return
        out: list[bytes] = []
        blocked, self._blocked = self._blocked, {}
        for stream in blocked.values():
            # One reset, answered or cancelled meanwhile has nothing more to send.
            if stream.unsent is not None and self.streams.get(stream.id) is stream:
                self._send_data(stream, out)
        if out:
            self._write(b"".join(out))

    def _write(self, data: bytes) -> None:
        """Send `data` at the end of this turn of the event loop, with all else written in it.

        The calls that one batch of client requests starts go out as one write: one system
        call, and one wake-up of the server, where each call's own write cost as much CPU as
        the rest of the gateway's work on it (a py-spy profile under REST load: 17%).
        """
        if not self._outgoing:
            assert self.loop is not None
            self.loop.call_soon(self._write_out)
        self._outgoing.append(data)

    def _write_out(self) -> None:
        """Write what this turn of the event loop sent, in order, as one write."""
        out, self._outgoing = self._outgoing, []
        if out and self.transport is not None and not self.transport.is_closing():
            self.transport.write(b"".join(out))

    def _finish(self, stream: Stream) -> None:
        self.streams.pop(stream.id, None)
        if stream.done is not None and not stream.done.done():
            stream.done.set_result(None)
        self._maybe_close()

    @staticmethod
    def _fail(stream: Stream, error: Exception) -> None:
        if stream.done is not None and not stream.done.done():
            stream.done.set_exception(error)

    def _maybe_close(self) -> None:
        if self.goaway and not self.streams and self.transport is not None and not self.closed:
            self._write_out()
            self.transport.close()
