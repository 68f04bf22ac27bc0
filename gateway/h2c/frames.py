"""HTTP/2 frame layout (RFC 9113) and the HPACK encoding (RFC 7541) the client sends."""

from __future__ import annotations

import struct

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE = 0, 1, 2, 3, 4, 5
PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = 6, 7, 8, 9

END_STREAM, ACK, END_HEADERS, PADDED, PRIORITY_FLAG = 0x1, 0x1, 0x4, 0x8, 0x20

HEADER_TABLE_SIZE, ENABLE_PUSH, MAX_CONCURRENT_STREAMS = 1, 2, 3
INITIAL_WINDOW_SIZE, MAX_FRAME_SIZE, MAX_HEADER_LIST_SIZE = 4, 5, 6

NO_ERROR, PROTOCOL_ERROR, FLOW_CONTROL_ERROR, FRAME_SIZE_ERROR = 0, 1, 3, 6
REFUSED_STREAM, CANCEL, ENHANCE_YOUR_CALM, INADEQUATE_SECURITY = 7, 8, 11, 12

MAX_WINDOW = 2**31 - 1
DEFAULT_WINDOW = 65_535
DEFAULT_MAX_FRAME = 16_384

_HEAD = struct.Struct(">I B I")  # length << 8 | type, flags, stream id
_SETTING = struct.Struct(">HI")


class ProtocolError(Exception):
    """The peer broke HTTP/2: the connection cannot go on."""


def frame(kind: int, flags: int, stream_id: int, payload: bytes = b"") -> bytes:
    """Return one frame: the 9-byte header and its payload."""
    return _HEAD.pack(len(payload) << 8 | kind, flags, stream_id) + payload


def parse_head(buffer: bytes | bytearray, offset: int) -> tuple[int, int, int, int]:
    """Return length, type, flags and stream id of the frame header at `offset`."""
    first, flags, stream_id = _HEAD.unpack_from(buffer, offset)
    return first >> 8, first & 0xFF, flags, stream_id & 0x7FFFFFFF


def settings(values: dict[int, int]) -> bytes:
    """Return a SETTINGS frame carrying `values`."""
    return frame(SETTINGS, 0, 0, b"".join(_SETTING.pack(k, v) for k, v in values.items()))


def parse_settings(payload: bytes) -> list[tuple[int, int]]:
    """Return the (identifier, value) pairs of a SETTINGS payload."""
    if len(payload) % 6:
        raise ProtocolError("a SETTINGS payload is not a multiple of 6 bytes")
    return [_SETTING.unpack_from(payload, i) for i in range(0, len(payload), 6)]


def window_update(stream_id: int, increment: int) -> bytes:
    """Return a WINDOW_UPDATE frame."""
    return frame(WINDOW_UPDATE, 0, stream_id, increment.to_bytes(4, "big"))


def rst_stream(stream_id: int, code: int) -> bytes:
    """Return a RST_STREAM frame."""
    return frame(RST_STREAM, 0, stream_id, code.to_bytes(4, "big"))


def unpad(flags: int, payload: bytes) -> bytes:
    """Strip the padding of a PADDED DATA or HEADERS payload."""
    if not flags & PADDED:
        return payload
    if not payload or payload[0] >= len(payload):
        raise ProtocolError("padding longer than the frame")
    return payload[1 : len(payload) - payload[0]]


def split_headers(stream_id: int, block: bytes, flags: int, max_frame: int) -> list[bytes]:
    """Return HEADERS and, for a block over the peer's frame size, CONTINUATION frames."""
    if len(block) <= max_frame:
        return [frame(HEADERS, flags | END_HEADERS, stream_id, block)]
    pieces = [block[i : i + max_frame] for i in range(0, len(block), max_frame)]
    frames = [frame(HEADERS, flags, stream_id, pieces[0])]
    frames += [frame(CONTINUATION, 0, stream_id, piece) for piece in pieces[1:-1]]
    frames.append(frame(CONTINUATION, END_HEADERS, stream_id, pieces[-1]))
    return frames


# --- HPACK, encoding side: literals only, so the client keeps no dynamic table -----------------


def _integer(value: int, prefix: int, flags: int) -> bytes:
    limit = (1 << prefix) - 1
    if value < limit:
        return bytes((flags | value,))
    out = bytearray((flags | limit,))
    value -= limit
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _string(value: bytes) -> bytes:
    return _integer(len(value), 7, 0) + value


def indexed(index: int) -> bytes:
    """Return a header field taken whole from the static table."""
    return _integer(index, 7, 0x80)


def literal(name: bytes | int, value: bytes, *, sensitive: bool = False) -> bytes:
    """Return a literal header field without indexing (never indexed when sensitive)."""
    if isinstance(name, int):  # the name's index in the static table
        return _integer(name, 4, 0x10 if sensitive else 0x00) + _string(value)
    return literal_name(name, sensitive=sensitive) + literal_value(value)


def literal_name(name: bytes, *, sensitive: bool = False) -> bytes:
    """Return a literal field (see `literal`) up to its value: a name sent often is kept."""
    return bytes((0x10 if sensitive else 0x00,)) + _string(name)


def literal_value(value: bytes) -> bytes:
    """Return the value that ends a literal field begun by `literal_name`."""
    if len(value) < 0x7F:
        return bytes((len(value),)) + value
    return _string(value)


# Static table indices (RFC 7541 appendix A) of the names a gRPC request uses.
STATIC_METHOD_POST, STATIC_SCHEME_HTTP = 3, 6
STATIC_AUTHORITY, STATIC_PATH, STATIC_CONTENT_TYPE, STATIC_USER_AGENT = 1, 4, 31, 58
