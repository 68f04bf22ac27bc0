"""HTTP headers to gRPC metadata and back, request ids, and Grpc-Timeout deadlines."""

from __future__ import annotations

import base64
import binascii
import random
import re
from collections.abc import Iterable

import grpc

from gateway.errors import GatewayError, bad_request

METADATA_PREFIX = "grpc-metadata-"
TRAILER_PREFIX = "grpc-trailer-"
_METADATA_PREFIX = METADATA_PREFIX.encode()
REQUEST_ID = "x-request-id"
ACCESS_TOKEN_PARAM = "access_token"  # noqa: S105 -- a parameter name, not a secret
_REQUEST_ID_OK = re.compile(r"^[A-Za-z0-9._:/+=-]{1,128}$")
_TIMEOUT = re.compile(r"^([0-9]{1,8})([HMSmun])$")
_UNITS = {"H": 3600.0, "M": 60.0, "S": 1.0, "m": 1e-3, "u": 1e-6, "n": 1e-9}
# Metadata gRPC manages itself or that must not cross the bridge.
_RESERVED = ("grpc-", ":")
_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "te", "trailer", "transfer-encoding", "upgrade", "content-length"}
)
_METADATA_KEY = re.compile(r"^[0-9a-z_.-]+$")
# Printable ASCII (0x20-0x7e): what deleting it leaves of a value is what is not.
_PRINTABLE_BYTES = bytes(range(0x20, 0x7F))
_NOT_PRINTABLE = "the value must be printable ASCII"
# Our tokens are under 1 KB, and gRPC servers refuse large metadata with RESOURCE_EXHAUSTED and
# internal sizes: oversized headers get a plain 431 here instead.
MAX_AUTHORIZATION_BYTES = 4096
MAX_METADATA_BYTES = 16 * 1024

Metadata = list[tuple[str, str | bytes]]


def request_id_from(value: str | None) -> str:
    """Return the client's request id when it is sane, else a new one."""
    if value and _REQUEST_ID_OK.match(value):
        return value
    # An id only tells requests apart, it guards nothing: the process's PRNG suffices, and it
    # spares every request the getrandom call that the secrets module makes.
    return f"{random.getrandbits(128):032x}"


def parse_timeout(value: str) -> float:
    """Parse a gRPC-style timeout ("10S", "500m") into seconds."""
    found = _TIMEOUT.match(value.strip())
    if found is None:
        raise bad_request(
            "Grpc-Timeout", "expected digits and a unit of H, M, S, m, u or n, e.g. 5S or 500m"
        )
    return int(found.group(1)) * _UNITS[found.group(2)]


def outgoing_metadata(
    headers: Iterable[tuple[bytes, bytes]],
    request_id: str,
    client: str | None,
    access_token: str | None = None,
    *,
    trusted_peer: bool = False,
    strict: bool = True,
) -> Metadata:
    """Build the call metadata: Authorization, Grpc-Metadata-*, request id, forwarding info.

    X-Forwarded-For is extended with the client when the client is a trusted proxy, and
    otherwise replaced by it: anyone else's header is only their word. Not strict, a
    Grpc-Metadata-* header with a bad key or a non-ASCII value is skipped, as grpc-gateway does.
    """
    metadata: Metadata = [(REQUEST_ID, request_id)]
    authorization = None
    forwarded_for = None
    for raw_name, raw_value in headers:
        # Compared as bytes: decoding every header's name costs more than the few it keeps.
        name = raw_name.lower()
        if name == b"authorization":
            authorization = _printable_header("Authorization", raw_value)
        elif name.startswith(_METADATA_PREFIX):
            key = name[len(_METADATA_PREFIX) :].decode("latin-1")
            if not _METADATA_KEY.match(key) or key.startswith(_RESERVED) or key == REQUEST_ID:
                if not strict:
                    continue
                raise bad_request(raw_name.decode("latin-1"), "not an allowed metadata key")
            if not strict and not key.endswith("-bin") and not _printable_bytes(raw_value):
                continue
            metadata.append((key, _metadata_value(key, raw_value)))
        elif name == b"x-forwarded-for" and _printable_bytes(raw_value):
            forwarded_for = raw_value.decode("latin-1")
        elif name == b"user-agent" and _printable_bytes(raw_value):
            metadata.append(("grpcgateway-user-agent", raw_value.decode("latin-1")))
    if authorization is None and access_token:
        # Browsers cannot set headers on EventSource or WebSocket: the token may come as a query.
        authorization = f"Bearer {_printable(ACCESS_TOKEN_PARAM, access_token)}"
    if authorization is not None:
        if len(authorization) > MAX_AUTHORIZATION_BYTES:
            raise _too_large(f"Authorization is longer than {MAX_AUTHORIZATION_BYTES} bytes")
        metadata.append(("authorization", authorization))
    if client:
        trusted = trusted_peer and forwarded_for
        metadata.append(("x-forwarded-for", f"{forwarded_for}, {client}" if trusted else client))
    size = 0
    for key, value in metadata:  # a plain loop: a generator's frame costs more than the sums
        size += len(key) + len(value)
    if size > MAX_METADATA_BYTES:
        raise _too_large(f"the headers sent on to the service exceed {MAX_METADATA_BYTES} bytes")
    return metadata


def _too_large(message: str) -> GatewayError:
    """Return a 431 (INVALID_ARGUMENT) for request headers too large to forward."""
    return GatewayError(grpc.StatusCode.INVALID_ARGUMENT, message, http=431)


def _metadata_value(key: str, raw: bytes) -> str | bytes:
    if key.endswith("-bin"):
        try:
            return base64.b64decode(raw + b"=" * (-len(raw) % 4), validate=True)
        except (binascii.Error, ValueError):
            raise bad_request(METADATA_PREFIX + key, "a -bin header must be base64") from None
    return _printable_header(METADATA_PREFIX + key, raw)


def _printable_header(name: str, raw: bytes) -> str:
    """Return a header's value as text if gRPC can carry it as ASCII metadata, else a 400."""
    # Checked as bytes, as _printable checks text: a bearer token is hundreds of them.
    if not _printable_bytes(raw):
        raise bad_request(name, _NOT_PRINTABLE)
    return raw.decode("latin-1")


def _printable(name: str, text: str) -> str:
    """Return the value if gRPC can carry it as ASCII metadata, else raise a 400."""
    # For ASCII text, isprintable() is exactly 0x20-0x7e; both run in C, where a regex
    # stepped through each of a bearer token's hundreds of characters.
    if not (text.isascii() and text.isprintable()):
        raise bad_request(name, _NOT_PRINTABLE)
    return text


def _printable_bytes(raw: bytes) -> bool:
    """Tell whether a header value is printable ASCII throughout."""
    return not raw.translate(None, _PRINTABLE_BYTES)


def _header_value(key: str, value: str | bytes) -> bytes:
    if isinstance(value, bytes):
        return base64.b64encode(value)
    return value.encode("latin-1", "replace")


def response_headers(
    initial: Iterable[tuple[str, str | bytes]] | None,
    trailing: Iterable[tuple[str, str | bytes]] | None,
) -> list[tuple[bytes, bytes]]:
    """Return response metadata as Grpc-Metadata-* and trailers as Grpc-Trailer-* headers."""
    headers: list[tuple[bytes, bytes]] = []
    for prefix, items in ((METADATA_PREFIX, initial), (TRAILER_PREFIX, trailing)):
        for key, value in items or ():
            if key.startswith(_RESERVED) or key in _HOP_BY_HOP:
                continue
            headers.append(((prefix + key).encode("latin-1"), _header_value(key, value)))
    return headers
