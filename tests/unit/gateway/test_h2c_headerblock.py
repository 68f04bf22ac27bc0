"""The h2c client's HPACK decoder: RFC 7541's examples, hpack's encoder, and hostile blocks."""

from __future__ import annotations

import random

import hpack
import pytest
from hpack.struct import NeverIndexedHeaderTuple

from gateway.h2c.headerblock import HeaderBlockError, HeaderDecoder

LIMIT = 1 << 20


def test_decodes_rfc_7541_c3_requests_keeping_the_table_across_blocks() -> None:
    decoder = HeaderDecoder(LIMIT)
    first = bytes.fromhex("828684410f7777772e6578616d706c652e636f6d")
    second = bytes.fromhex("828684be58086e6f2d6361636865")
    third = bytes.fromhex("828785bf400a637573746f6d2d6b65790c637573746f6d2d76616c7565")
    assert decoder.decode(first) == [
        (b":method", b"GET"),
        (b":scheme", b"http"),
        (b":path", b"/"),
        (b":authority", b"www.example.com"),
    ]
    assert decoder.decode(second)[-2:] == [
        (b":authority", b"www.example.com"),  # index 62: the first block's entry
        (b"cache-control", b"no-cache"),
    ]
    assert decoder.decode(third) == [
        (b":method", b"GET"),
        (b":scheme", b"https"),
        (b":path", b"/index.html"),
        (b":authority", b"www.example.com"),  # now index 63, behind cache-control
        (b"custom-key", b"custom-value"),
    ]


def test_a_repeated_block_decodes_as_the_table_stands_when_it_comes() -> None:
    decoder = HeaderDecoder(LIMIT)
    decoder.decode(b"\x40\x01a\x01b")  # (a, b) at index 62
    first = decoder.decode(b"\xbe")
    first.append((b"changed", b"by the caller"))
    assert decoder.decode(b"\xbe") == [(b"a", b"b")]
    decoder.decode(b"\x40\x01c\x01d")  # (c, d) at 62 now, (a, b) at 63
    assert decoder.decode(b"\xbe") == [(b"c", b"d")]
    adding = b"\x40\x01e\x01f"
    assert decoder.decode(adding) == decoder.decode(adding) == [(b"e", b"f")]
    assert decoder.decode(b"\xbe\xbf\xc0") == [(b"e", b"f"), (b"e", b"f"), (b"c", b"d")]
    decoder.decode(b"\x20")  # a size update to 0 empties the table
    with pytest.raises(HeaderBlockError, match="no table entry 62"):
        decoder.decode(b"\xbe")


def test_decodes_huffman_coded_strings() -> None:
    block = bytes.fromhex("828684418cf1e3c2e5f23a6ba0ab90f4ff")  # RFC 7541 C.4.1
    assert HeaderDecoder(LIMIT).decode(block)[-1] == (b":authority", b"www.example.com")


def header_lists(rng: random.Random, count: int) -> list[list[tuple[bytes, bytes]]]:
    """Header lists like a gRPC server's: repeated names, some repeated values, some huge."""
    names = [b"grpc-status", b"grpc-message", b"x-request-id", b"content-type", b"date", b"x-b"]
    lists = []
    for _ in range(count):
        headers = [(b":status", rng.choice([b"200", b"404", b"503"]))]
        for _ in range(rng.randrange(6)):
            size = rng.choice([0, 3, 20, 300, 3000])
            value = bytes(rng.randrange(32, 127) for _ in range(size))
            headers.append((rng.choice(names), rng.choice([value, b"0", b"application/grpc"])))
        lists.append(headers)
    return lists


@pytest.mark.parametrize("seed", range(20))
def test_decodes_what_hpacks_encoder_writes_block_after_block(seed: int) -> None:
    rng = random.Random(seed)  # noqa: S311 - seeded, so every run tries the same blocks
    encoder, decoder = hpack.Encoder(), HeaderDecoder(LIMIT)
    for headers in header_lists(rng, 40):
        if rng.random() < 0.1:
            encoder.header_table_size = rng.choice([0, 64, 256, 4096])  # a size update
        sent = [NeverIndexedHeaderTuple(*h) if rng.random() < 0.1 else h for h in headers]
        block = encoder.encode(sent, huffman=rng.random() < 0.5)
        assert decoder.decode(block) == headers


@pytest.mark.parametrize("seed", range(30))
def test_hostile_blocks_fail_cleanly_and_never_disagree_with_hpack(seed: int) -> None:
    """Damaged blocks: ours raises HeaderBlockError or decodes exactly what hpack decodes."""
    rng = random.Random(seed)  # noqa: S311 - seeded, so every run tries the same blocks
    encoder = hpack.Encoder()
    ours, theirs = HeaderDecoder(LIMIT), hpack.Decoder(max_header_list_size=LIMIT)
    for headers in header_lists(rng, 30):
        block = bytearray(encoder.encode(headers, huffman=rng.random() < 0.5))
        damaged = rng.random() < 0.5
        if damaged:
            for _ in range(rng.randrange(1, 4)):
                block[rng.randrange(len(block))] = rng.randrange(256)
            block = block[: rng.randrange(1, len(block) + 1)]
        try:
            expected = [tuple(h) for h in theirs.decode(bytes(block), raw=True)]
        except hpack.HPACKError:
            expected = None
        try:
            got = ours.decode(bytes(block))
        except HeaderBlockError:
            got = None
        if expected is None or got is None:
            assert got is None, f"accepted what hpack refuses: {bytes(block).hex()}"
            return  # the tables may now differ: this connection would be closed
        assert got == expected


@pytest.mark.parametrize(
    ("block", "why"),
    [
        (b"\x80", "no table entry 0"),
        (b"\xbe", "no table entry 62"),  # the dynamic table is empty
        (b"\xff\xff\xff\xff\xff\x7f", "integer too large"),
        (b"\xff", "cut off inside an integer"),
        (b"\x40", "cut off before a string"),
        (b"\x40\x05ab", "cut off inside a string"),
        (b"\x00\x81\xff", "bad Huffman coding"),  # padding longer than 7 bits
        (b"\x88\x20", "size update after a header field"),
        (b"\x3f\xe1\x1f", "a table size of 4096, over 4095"),
    ],
)
def test_malformed_blocks_are_header_block_errors(block: bytes, why: str) -> None:
    limit = 4095 if b"\x3f" in block else 4096
    with pytest.raises(HeaderBlockError, match=why):
        HeaderDecoder(LIMIT, max_table_bytes=limit).decode(block)


def test_references_to_a_large_entry_cannot_inflate_past_the_limit() -> None:
    value = b"v" * 4000
    block = b"\x40\x01x" + bytes([0x7F, 4000 - 127 & 0x7F | 0x80, (4000 - 127) >> 7]) + value
    decoder = HeaderDecoder(64 * 1024)
    assert decoder.decode(block) == [(b"x", value)]
    with pytest.raises(HeaderBlockError, match="header list over 65536 bytes"):
        decoder.decode(b"\xbe" * 17)  # 17 one-byte references of 4 KB each


def test_an_entry_larger_than_the_table_empties_it() -> None:
    decoder = HeaderDecoder(LIMIT, max_table_bytes=100)
    decoder.decode(b"\x40\x01a\x01b")  # 34 bytes: fits
    assert decoder.decode(b"\xbe") == [(b"a", b"b")]
    decoder.decode(b"\x40\x01c" + bytes([80]) + b"d" * 80)  # 113 bytes: empties the table
    with pytest.raises(HeaderBlockError, match="no table entry 62"):
        decoder.decode(b"\xbe")
