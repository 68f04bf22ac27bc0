"""HPACK decoding (RFC 7541) of the header blocks a server sends, lean enough for every call.

The `hpack` package's Decoder costs about a seventh of the gateway's CPU on a unary call (a
memoryview slice, a copy and a debug log per field); this one walks the block once with plain
integers and slices. It keeps hpack's Huffman table and static table, and its limits: a table
no larger than our SETTINGS allow, a size update only before the first field, and a bound on
the decoded list (so a block of 1-byte references to a large entry cannot inflate without end).
"""

from __future__ import annotations

from collections import deque

from hpack.exceptions import HPACKDecodingError
from hpack.huffman_table import decode_huffman
from hpack.table import HeaderTable

from gateway.h2c.frames import ProtocolError

Header = tuple[bytes, bytes]

_STATIC: tuple[Header, ...] = HeaderTable.STATIC_TABLE
_ENTRY_OVERHEAD = 32  # what an entry costs beyond its name and value (RFC 7541 §4.1)
_INTEGER_BITS = 28  # larger integers are no length or index we could honour
# A server sends the same few short blocks again and again (a unary answer's headers are three
# references, "88c0bf" from grpc): while the table stands, the same bytes decode the same way.
_MEMO_BLOCK_BYTES = 32
_MEMO_BLOCKS = 64


class HeaderBlockError(ProtocolError):
    """A header block that cannot be decoded: the connection cannot go on."""


class HeaderDecoder:
    """One connection's decoding context: its dynamic table, shared by every block in order."""

    def __init__(self, max_list_bytes: int, max_table_bytes: int = 4096) -> None:
        self._table: deque[Header] = deque()  # newest first: index 62 is _table[0]
        self._table_bytes = 0
        self._table_limit = max_table_bytes  # what the peer may grow the table to
        self._table_max = max_table_bytes  # what the peer last set it to
        self._max_list_bytes = max_list_bytes
        self._known: dict[bytes, tuple[Header, ...]] = {}  # short blocks decoded at this table
        self._changes = 0  # of the table: a block that changed it must be decoded every time

    def decode(self, block: bytes) -> list[Header]:
        """Decode one complete header block into (name, value) pairs, in order."""
        known = self._known.get(block)
        if known is not None:
            return list(known)
        changes = self._changes
        headers = self._decode(block)
        # Kept only while the table is as it was: every change of it empties `_known`.
        if changes == self._changes and len(block) <= _MEMO_BLOCK_BYTES:
            if len(self._known) >= _MEMO_BLOCKS:
                self._known.clear()
            self._known[block] = tuple(headers)
        return headers

    def _decode(self, block: bytes) -> list[Header]:
        headers: list[Header] = []
        pos, end, inflated = 0, len(block), 0
        while pos < end:
            first = block[pos]
            if first & 0x80:  # indexed field
                index, pos = _integer(block, pos, 0x7F)
                header = self._entry(index)
            elif first & 0x20 and not first & 0x40:  # dynamic table size update
                if headers:
                    raise HeaderBlockError("a table size update after a header field")
                size, pos = _integer(block, pos, 0x1F)
                if size > self._table_limit:
                    raise HeaderBlockError(f"a table size of {size}, over {self._table_limit}")
                self._table_max = size
                self._evict(0)
                self._changed()
                continue
            else:  # a literal, with incremental indexing (01) or without (0000, never: 0001)
                indexing = first & 0x40
                index, pos = _integer(block, pos, 0x3F if indexing else 0x0F)
                if index:
                    name = self._entry(index)[0]
                else:
                    name, pos = _string(block, pos)
                value, pos = _string(block, pos)
                header = (name, value)
                if indexing:
                    self._add(header)
            headers.append(header)
            inflated += _entry_size(header)
            if inflated > self._max_list_bytes:
                raise HeaderBlockError(f"a header list over {self._max_list_bytes} bytes")
        return headers

    def _entry(self, index: int) -> Header:
        if 0 < index <= len(_STATIC):
            return _STATIC[index - 1]
        dynamic = index - len(_STATIC) - 1
        if 0 <= dynamic < len(self._table):
            return self._table[dynamic]
        raise HeaderBlockError(f"no table entry {index}")

    def _add(self, header: Header) -> None:
        self._changed()
        size = _entry_size(header)
        if size > self._table_max:
            # An entry larger than the table empties it and is not added (RFC 7541 §4.4).
            self._table.clear()
            self._table_bytes = 0
            return
        self._evict(size)
        self._table.appendleft(header)
        self._table_bytes += size

    def _changed(self) -> None:
        """Forget the blocks decoded so far: their indices may name other entries now."""
        self._changes += 1
        self._known.clear()

    def _evict(self, room: int) -> None:
        """Drop the oldest entries until `room` more bytes fit."""
        while self._table and self._table_bytes + room > self._table_max:
            self._table_bytes -= _entry_size(self._table.pop())


def _entry_size(header: Header) -> int:
    """Return what a field costs in the table and in the list limit (RFC 7541 §4.1)."""
    return len(header[0]) + len(header[1]) + _ENTRY_OVERHEAD


def _integer(block: bytes, pos: int, mask: int) -> tuple[int, int]:
    """Decode the integer whose prefix is `mask` of block[pos]; return it and the next pos."""
    value = block[pos] & mask
    pos += 1
    if value < mask:
        return value, pos
    shift = 0
    while pos < len(block):
        byte = block[pos]
        pos += 1
        value += (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7
        if shift >= _INTEGER_BITS:
            raise HeaderBlockError("an integer too large for a header block")
    raise HeaderBlockError("a header block cut off inside an integer")


def _string(block: bytes, pos: int) -> tuple[bytes, int]:
    """Decode the string literal at `pos` (Huffman-coded or not); return it and the next pos."""
    if pos >= len(block):
        raise HeaderBlockError("a header block cut off before a string")
    huffman = block[pos] & 0x80
    length, pos = _integer(block, pos, 0x7F)
    end = pos + length
    if end > len(block):
        raise HeaderBlockError("a header block cut off inside a string")
    raw = block[pos:end]
    if not huffman:
        return raw, end
    try:
        return decode_huffman(raw), end
    except HPACKDecodingError as error:
        raise HeaderBlockError(f"bad Huffman coding: {error}") from None
