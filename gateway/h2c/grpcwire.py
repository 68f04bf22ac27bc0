"""gRPC's conventions on HTTP/2: targets, the grpc-timeout header, metadata, TCP keepalive."""

from __future__ import annotations

import base64
import socket

from gateway.h2c.streams import Headers

# Metadata as (key, value) pairs: what the gateway reads of it, without grpcio's Metadata.
MetadataPairs = list[tuple[str, str | bytes]]

_MAX_TIMEOUT_SECONDS = 99_999_999 * 3600.0
# Headers gRPC itself manages: never handed to the caller as metadata.
_TRANSPORT = frozenset(
    {b"content-type", b"grpc-status", b"grpc-message", b"grpc-encoding", b"grpc-accept-encoding"}
)


def parse_target(target: str) -> tuple[str | None, int | None, str | None]:
    """Split `host:port`, `dns:///host:port`, `[v6]:port` or `unix:path` into its parts."""
    if target.startswith("unix:"):
        path = target.removeprefix("unix:")
        return None, None, "/" + path.lstrip("/") if path.startswith("//") else path
    host, sep, port = target.removeprefix("dns:///").rpartition(":")
    if not sep or not port.isdigit() or not host or "/" in host:
        raise ValueError(f"not a host:port target: {target!r}")
    return host.strip("[]"), int(port), None


def grpc_timeout(seconds: float) -> bytes:
    """Encode a timeout the way gRPC's header wants it: at most 8 digits and a unit."""
    # Past gRPC's largest encodable timeout (99999999 hours) a call has, in effect, none.
    micros = max(int(min(seconds, _MAX_TIMEOUT_SECONDS) * 1_000_000), 1)
    units = ((b"u", 1), (b"m", 1000), (b"S", 10**6), (b"M", 60 * 10**6), (b"H", 3600 * 10**6))
    for unit, size in units:
        if (value := -(-micros // size)) < 100_000_000:
            return str(value).encode() + unit
    return b"99999999H"


def response_metadata(headers: Headers) -> MetadataPairs:
    """Return the caller's view of response headers: no transport headers, -bin decoded."""
    items: list[tuple[str, str | bytes]] = []
    for raw_key, raw_value in headers:
        if raw_key.startswith(b":") or raw_key in _TRANSPORT:
            continue
        key = raw_key.decode("latin-1")
        if key.endswith("-bin"):
            items.append((key, base64.b64decode(raw_value + b"=" * (-len(raw_value) % 4))))
        else:
            items.append((key, raw_value.decode("latin-1")))
    return items


def keepalive(sock: socket.socket | None) -> None:
    """Let the kernel find a dead peer: probes after 30 s of silence, given up after 60 s."""
    if sock is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
        return
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    for option, value in (("TCP_KEEPIDLE", 30), ("TCP_KEEPINTVL", 10), ("TCP_KEEPCNT", 3)):
        if hasattr(socket, option):
            sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, option), value)
